"""How closures.py's model was fitted (a developer tool, not used at run time).

Training speech: the sentences below in eight languages, each spoken by two
espeak-ng voice variants at different rates, plus Festival's kal_diphone (built
from human recordings) on the English ones when it is installed. None of these
sentences or voice/rate pairs is in the lip-sync benchmark (generation/bench/
lipsync.py), which measures the model on speech it never saw. The truth is the
synthesiser's own phone times: a dip is a bilabial when a p/b/m covers its
middle or a third of it, a tongue consonant likewise; other dips are not used.

    from generation.bench.closure_fit import fit
    weights, bias, held_out = fit(Path("/tmp/closure-fit"))

``held_out`` is each language's accuracy under a model fitted without it.
It lives with the benchmarks (it uses their Festival speech); nothing at run time imports it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from generation.bench.lipsync import festival_available, festival_speech
from generation.pipeline.speech import sphinx
from generation.pipeline.speech.closures import dip_features, find_dips
from generation.pipeline.speech.inventory import phone_info

logger = logging.getLogger(__name__)

SENTENCES = {
    "en": ["My mother baked a big apple pie for the party.", "Bob met Tim at the bus stop near the market.",
           "The doctor kept a number of maps in a metal box.", "Maybe the puppy will sleep by the warm lamp tonight.",
           "Ten people came to the meeting about the budget.", "Paul dropped the cup and a bottle of milk."],
    "es": ["Mi padre compra pan y bebe vino tinto.", "La bomba de agua no funciona bien desde ayer.",
           "Pablo toma el tren a Madrid cada mes.", "Tomamos sopa caliente en el comedor pequeño.",
           "El bebé duerme en la cama de su mamá.", "Ponemos las manzanas en una caja de madera."],
    "de": ["Mein Vater kauft jeden Morgen Brot beim Bäcker.", "Die Mutter bringt dem Kind einen Ball mit.",
           "Wir haben am Mittwoch eine Probe im Theater.", "Der Baum im Garten bekommt bald neue Blätter.",
           "Paul malt ein Bild von einem Pferd am Meer.", "Im Sommer baden wir oft im kalten Teich."],
    "fr": ["Ma mère prépare une bonne soupe de pommes.", "Le bateau part du port à midi pile.",
           "Paul a mis le beurre dans le panier.", "Nous buvons du vin blanc au bord de la mer.",
           "Mon ami Pierre habite dans un bel appartement.", "Le bébé dort paisiblement dans sa chambre."],
    "it": ["Mia madre prepara una buona minestra.", "Il bambino mangia pane e burro ogni mattina."],
    "pt": ["Meu pai bebe muito café pela manhã.", "O menino brinca com a bola no parque."],
    "nl": ["Mijn moeder bakt een mooie appeltaart.", "Bob neemt de bus naar het museum."],
    "pl": ["Mój brat pije mleko po obiedzie.", "Babcia piecze pyszne bułki z masłem."],
}
# espeak-ng variant and rate (wpm); sentence j gets variants j and j+3.
VOICES = (("", 175), ("+m1", 160), ("+f4", 185), ("+m5", 170), ("+f1", 200), ("+m2", 150))
FESTIVAL_VOICE = "kal_diphone"


def _clip(wav: Path, work: Path) -> tuple[np.ndarray, int]:
    from generation.pipeline.speech.timeline import load_audio

    clip = load_audio(wav, work)
    return clip.samples, clip.sample_rate


def training_speech(work: Path) -> list[tuple[str, np.ndarray, int, list]]:
    """(language, 16 kHz samples, rate, reference TimedUnit phones) of every training clip."""
    from generation.pipeline.speech import espeak
    from generation.pipeline.speech.language import espeak_voice

    out = []
    for lang, sentences in SENTENCES.items():
        for j, text in enumerate(sentences):
            for variant, rate in (VOICES[j % len(VOICES)], VOICES[(j + 3) % len(VOICES)]):
                speech = espeak.synthesize(text, espeak_voice(lang) + variant, rate_wpm=rate)
                name = f"{lang}{j}{variant.strip('+')}{rate}"
                out.append((lang, *_clip(speech.write_wav(work / f"{name}.wav"), work / name), list(speech.phones)))
    if festival_available(FESTIVAL_VOICE):
        english = SENTENCES["en"]
        for k, text in enumerate((" ".join(english[:3]), " ".join(english[3:]))):
            speech = festival_speech(work, "en", FESTIVAL_VOICE, f"festival{k}", text=text)
            out.append(("en", *_clip(speech.wav, work / f"festival{k}"), speech.reference))
    return out


def _truth(reference: list, start: float, end: float) -> int:
    """1 bilabial, 0 tongue consonant, -1 neither (see module doc)."""
    label = -1
    for unit in reference:
        overlap = min(unit.end, end) - max(unit.start, start)
        if (overlap > 0 and overlap >= 0.3 * (end - start)) or unit.start <= (start + end) / 2.0 < unit.end:
            info = phone_info(unit.text)
            if info.is_bilabial:
                return 1
            if info.is_tongue_consonant:
                label = 0
    return label


def examples(clips: list[tuple[str, np.ndarray, int, list]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features, truth (1/0) and language of every judged dip in ``clips``."""
    rows, truth, langs = [], [], []
    for lang, samples, rate, reference in clips:
        with sphinx.decoder_lock:
            decoded = sphinx.allphone(sphinx.pcm_bytes(samples))
        for start, end in find_dips(samples, rate):
            label = _truth(reference, start, end)
            if label >= 0:
                rows.append(dip_features(samples, rate, decoded, start, end))
                truth.append(label)
                langs.append(lang)
    return np.array(rows), np.array(truth), langs


def fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
    return model.coef_[0], float(model.intercept_[0])


def fit(work: Path) -> tuple[np.ndarray, float, dict[str, float]]:
    """(weights, bias, held-out accuracy per language) from the training speech (see module doc)."""
    x, y, langs = examples(training_speech(Path(work)))
    langs_arr = np.array(langs)
    held_out = {}
    for lang in dict.fromkeys(langs):
        mine = langs_arr == lang
        w, b = fit_logistic(x[~mine], y[~mine])
        held_out[lang] = round(float(((x[mine] @ w + b > 0) == (y[mine] == 1)).mean()), 3)
    weights, bias = fit_logistic(x, y)
    logger.info("closure model from %d dips: weights %s bias %.4f; held-out accuracy %s", len(y), weights, bias, held_out)
    return weights, bias, held_out
