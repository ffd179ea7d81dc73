"""Real test media made on the fly: the scikit-image astronaut and espeak-ng speech."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

SENTENCES = "Hello there. My name is Paksa. I can speak any sentence you type, and my lips will follow."


def astronaut_bgr() -> np.ndarray:
    import cv2
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def write_astronaut(path: Path) -> Path:
    import cv2

    cv2.imwrite(str(path), astronaut_bgr())
    return path


def espeak_wav(path: Path, text: str = SENTENCES, *, voice: str = "en-us", words_per_minute: int = 150) -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(path), text], check=True, capture_output=True)
    return path


def faceless_image(path: Path, size: int = 256) -> Path:
    """A smooth gradient with shapes: an image, but no face."""
    import cv2

    yy, xx = np.mgrid[0:size, 0:size]
    img = np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=-1).astype(np.uint8)
    cv2.rectangle(img, (40, 40), (120, 200), (20, 200, 20), -1)
    cv2.imwrite(str(path), img)
    return path


# --- multilingual speech with its own phone times ------------------------------

# Short sentences, rich in bilabials and tongue consonants, in several languages and scripts.
PHRASES = {
    "en": "Bob may buy a pan. Tell Sam to sit down.",
    "es": "Pablo bebe un poco de vino. Tomás dice que no.",
    "de": "Bitte bring mir das Brot. Der Tisch ist nass.",
    "fr": "Le bébé boit un peu de bière. Tu dis non.",
    "ru": "Папа купил большой барабан. Там сидит кот.",
    "hi": "बाबा पानी में बैठे। तुम सही हो।",
    "el": "Ο παππούς πίνει μπύρα. Τα δέντρα είναι ψηλά.",
    "ar": "بابا يشرب الماء. أنت تدرس كثيرا.",
    "it": "Il bambino beve latte. Tu sei qui.",
}


# Longer passages (6-8 s) for figures that need more than a handful of consonants.
PASSAGES = {
    "en": "Hello there. My name is Paksa. I can speak any sentence you type, and my lips will follow. "
          "Maybe the big brown bear will bring some bread.",
    "es": "Buenos días, me llamo Paksa. Puedo hablar cualquier frase que escribas, y mis labios la seguirán. "
          "Pablo bebe un poco de vino blanco.",
    "de": "Guten Morgen, mein Name ist Paksa. Ich kann jeden Satz sprechen, den du schreibst, und meine Lippen folgen. "
          "Bitte bring mir das Brot.",
    "fr": "Bonjour, je m'appelle Paksa. Je peux prononcer toutes les phrases que vous tapez, et mes lèvres suivront. "
          "Le bébé boit un peu de bière.",
}


def espeak_speech(text: str, voice: str, *, rate_wpm: int = 175):
    """libespeak-ng speech with its own phone and word events (an EspeakSpeech)."""
    from generation.pipeline.speech import espeak

    return espeak.synthesize(text, voice, rate_wpm=rate_wpm)


# Festival voices installed by Debian's festvox-* packages, with the language they speak.
FESTIVAL_VOICES = {"kal_diphone": "en", "cmu_us_slt_arctic_hts": "en", "pc_diphone": "it"}


def festival_available(voice: str) -> bool:
    import shutil

    return shutil.which("festival") is not None and any(Path("/usr/share/festival/voices").glob(f"*/{voice}"))


def festival_speech(path: Path, text: str, voice: str = "kal_diphone"):
    """Festival speech (not espeak-ng) as a WAV, with its segment times: [(phone, start, end)].

    Pauses are "pau" or "#". Festival's Italian and Catalan voices read Latin-1 text.
    """
    from generation.pipeline.speech.units import PAUSE, TimedUnit

    path = Path(path)
    segs = path.with_suffix(".segs")
    quoted = text.replace("\\", " ").replace('"', " ")
    script = (f'(voice_{voice})\n(set! utt (Utterance Text "{quoted}"))\n(utt.synth utt)\n'
              f'(utt.save.wave utt "{path.name}" \'riff)\n(utt.save.segs utt "{segs.name}")\n')
    scm = path.with_suffix(".scm")
    encoding = "latin-1" if voice in ("pc_diphone", "lp_diphone", "upc_ca_ona_hts") else "utf-8"
    scm.write_bytes(script.encode(encoding))
    subprocess.run(["festival", "-b", scm.name], cwd=path.parent, check=True, capture_output=True, timeout=120)
    phones, start = [], 0.0
    for line in segs.read_text(encoding="latin-1").splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[1] != "100":
            continue
        end, label = float(parts[0]), parts[2]
        if end > start:
            phones.append(TimedUnit(PAUSE if label in ("pau", "#") else label, start, end))
        start = end
    return path, phones


def render_native(out: Path, image_bgr: np.ndarray, wav: Path, timeline, *, height: int = 360, fps: int = 25) -> Path:
    """A native-engine talking head of ``wav`` driven by ``timeline``, face-cropped at ``height`` (even)."""
    from generation.bench.lipsync import render_clip
    from generation.pipeline.speech.timeline import load_audio

    out = Path(out)
    clip = load_audio(wav, out.parent / (out.stem + "_audio"))
    return render_clip(out, image_bgr, clip, timeline, height=height, fps=fps)


def default_avatar_bgr() -> np.ndarray:
    """The project's own synthesised portrait: lips closed at rest (the astronaut smiles with parted lips)."""
    from generation.pipeline.avatar.portrait import render_default_avatar

    return render_default_avatar()
