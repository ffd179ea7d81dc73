"""Emotion probabilities derived from blendshapes, used when mini-Xception is absent.

Each emotion gets a score from the action units that define it (FACS-style):
happy = smile + 0.3 cheek squint; surprise = jaw open, brows up, eyes wide;
sad = frown + inner brows up - smile; angry = brows down + lips pressed;
fear = eyes wide + mouth stretch + inner brows up; disgust = brows down with
frown (no nose-wrinkle measurement exists in the geometry engine);
neutral = 0.7 minus the strongest other score. Scores go through a softmax
with temperature 0.15, so a clear expression dominates and a relaxed face
reads mostly neutral.
"""

from __future__ import annotations

import numpy as np

from expressions.engines.common import EMOTIONS

TEMPERATURE = 0.15
NEUTRAL_LEVEL = 0.7


def emotion_from_blendshapes(bs: dict[str, float]) -> dict[str, float]:
    def g(name: str) -> float:
        return float(bs.get(name, 0.0))

    def pair(stem: str) -> float:
        return (g(stem + "Left") + g(stem + "Right")) / 2.0

    smile, frown = pair("mouthSmile"), pair("mouthFrown")
    scores = {
        "happy": smile + 0.3 * pair("cheekSquint"),
        "surprise": 0.4 * g("jawOpen") + 0.3 * (g("browInnerUp") + pair("browOuterUp")) / 2.0 + 0.3 * pair("eyeWide"),
        "sad": frown + 0.5 * g("browInnerUp") - 0.5 * smile,
        "angry": pair("browDown") + 0.3 * (g("mouthClose") + g("mouthPucker")) / 2.0 - 0.5 * smile,
        "fear": 0.4 * pair("eyeWide") + 0.3 * pair("mouthStretch") + 0.3 * g("browInnerUp"),
        "disgust": 0.5 * pair("browDown") * (0.5 + frown) + 0.2 * g("noseSneerLeft") + 0.2 * g("noseSneerRight"),
    }
    scores["neutral"] = NEUTRAL_LEVEL - max(scores.values())
    logits = np.array([scores[e] for e in EMOTIONS]) / TEMPERATURE
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return {e: float(v) for e, v in zip(EMOTIONS, p)}
