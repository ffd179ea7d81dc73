from __future__ import annotations

import numpy as np
import pytest

from generation.pipeline.engines.native.visemes import JAW_APART, LIP_ANTICIPATION_S, VISEMES, mouth_track, viseme
from generation.pipeline.speech.phonemes import ARPABET, SILENCE
from generation.pipeline.types import Phone, PhoneTimeline

FPS = 25


def timeline_of(spec, envelope=False):
    """[(label, seconds), ...] laid end to end."""
    phones, t = [], 0.0
    for label, dur in spec:
        phones.append(Phone(label, t, t + dur))
        t += dur
    tl = PhoneTimeline(phones=phones, words=[], duration=t, method="align")
    if envelope:
        tl.envelope_times = np.arange(0.005, t, 0.01)
        tl.envelope = np.array([0.0 if viseme_label(phones, x) == SILENCE else 0.8 for x in tl.envelope_times])
    return tl


def viseme_label(phones, t):
    return next(p.label for p in phones if p.start <= t < p.end)


def frame_at(track, t):
    return track.frames[int(t * track.fps)]


def test_every_arpabet_phone_has_a_viseme_and_ipa_shares_it():
    assert viseme("ʃ") == viseme("SH") and viseme("ɔ̃").rounding > 0.3 and viseme("m̥").lip_press == 1.0
    for phone in list(ARPABET) + [SILENCE]:
        assert phone in VISEMES
        p = VISEMES[phone]
        for name in ("jaw_open", "rounding", "upper_lip_raise", "lip_press", "lower_lip_tuck", "teeth", "tongue"):
            assert 0.0 <= getattr(p, name) <= 1.0
        assert -1.0 <= p.lip_width <= 1.0
    assert viseme("P").lip_press == 1.0 and viseme("B").jaw_open == 0.0
    assert viseme("F").lower_lip_tuck == 1.0 and viseme("V").teeth > 0.5
    assert viseme("AA").jaw_open == max(VISEMES[v].jaw_open for v in VISEMES)
    assert viseme("UW").rounding > 0.5 and viseme("W").rounding > 0.5 and viseme("OW").rounding > 0.5
    for tongue in ("L", "TH", "DH", "D", "T", "N"):
        assert viseme(tongue).tongue > 0.3
    assert viseme(SILENCE).jaw_open == 0.0


def test_short_bilabial_between_vowels_closes():
    tl = timeline_of([("SIL", 0.3), ("AA", 0.2), ("P", 0.06), ("AA", 0.2), ("SIL", 0.3)])
    track = mouth_track(tl, FPS, int(round(tl.duration * FPS)))
    centre = int(round((0.5 + 0.03) * FPS - 0.5))
    assert track.frames[centre].lip_press == pytest.approx(1.0)
    assert track.frames[centre].jaw_open < 0.05
    # The vowels either side still open wide.
    assert frame_at(track, 0.4).jaw_open > 0.6 and frame_at(track, 0.66).jaw_open > 0.6


@pytest.mark.parametrize("start", [0.5, 0.513, 0.527, 0.54])
def test_bilabial_closure_survives_any_phase(start):
    tl = timeline_of([("SIL", start), ("AH", 0.15), ("M", 0.05), ("IY", 0.15), ("SIL", 0.2)])
    track = mouth_track(tl, FPS, int(np.ceil(tl.duration * FPS)))
    m = tl.phones[2]
    presses = [f.lip_press for f in track.frames[int(m.start * FPS) - 1 : int(m.end * FPS) + 2]]
    assert max(presses) == pytest.approx(1.0)


def test_open_vowel_opens_more_than_close_vowel():
    tl = timeline_of([("SIL", 0.3), ("AA", 0.3), ("SIL", 0.4), ("IY", 0.3), ("SIL", 0.3)])
    track = mouth_track(tl, FPS, int(round(tl.duration * FPS)))
    aa = frame_at(track, 0.45).jaw_open
    iy = frame_at(track, 1.15).jaw_open
    assert aa > 3 * iy > 0
    assert frame_at(track, 1.15).lip_width > 0.4  # EE spreads the lips


def test_long_silence_relaxes_short_pause_does_not():
    tl = timeline_of([("AA", 0.3), ("SIL", 0.4), ("AA", 0.3), ("SIL", 0.08), ("AA", 0.3)])
    track = mouth_track(tl, FPS, int(round(tl.duration * FPS)))
    closed = frame_at(track, 0.5)
    assert closed.jaw_open < 0.02 and closed.lip_press < 0.05
    pause = frame_at(track, 1.04)
    assert pause.jaw_open > 0.2


def test_rounding_starts_about_100_ms_ahead():
    tl = timeline_of([("SIL", 0.5), ("u", 0.3), ("SIL", 0.4)])
    track = mouth_track(tl, 50, int(round(tl.duration * 50)))
    assert LIP_ANTICIPATION_S >= 0.09
    # 100 ms before the vowel the lips are visibly rounding, 40 ms before well on their way.
    assert track.frames[int(0.40 * 50)].rounding > 0.1
    assert track.frames[int(0.46 * 50)].rounding > 0.3
    assert track.frames[int(0.15 * 50)].rounding < 0.02
    # The jaw is not dragged along that early.
    assert track.frames[int(0.40 * 50)].jaw_open < 0.1


def test_frame_count_energy_and_intensity():
    tl = timeline_of([("SIL", 0.2), ("HH", 0.05), ("AH", 0.2), ("L", 0.08), ("OW", 0.25), ("SIL", 0.3)], envelope=True)
    for count in (1, 26, 27, 40):
        track = mouth_track(tl, FPS, count)
        assert len(track.frames) == count and len(track.energy) == count
    track = mouth_track(tl, FPS, 27)
    assert track.energy.min() >= 0.0 and track.energy.max() <= 1.0
    assert track.energy[2] == pytest.approx(0.0) and track.energy[8] > 0.5
    calm = mouth_track(tl, FPS, 27, intensity=0.6)
    lively = mouth_track(tl, FPS, 27, intensity=1.3)
    peak = lambda tr: max(f.jaw_open for f in tr.frames)  # noqa: E731
    assert peak(calm) < peak(track) < peak(lively)
    assert mouth_track(tl, FPS, 0).frames == []


@pytest.mark.parametrize("start", [0.5, 0.513, 0.527])
def test_held_bilabial_is_closed_on_every_frame_and_opens_quickly(start):
    tl = timeline_of([("SIL", 0.2), ("AA", start - 0.2), ("M", 0.12), ("AA", 0.3)], envelope=True)
    track = mouth_track(tl, FPS, int(round(tl.duration * FPS)))
    inside = [i for i in range(len(track.frames)) if start <= (i + 0.5) / FPS < start + 0.12]
    assert len(inside) == 3
    for i in inside:
        assert track.frames[i].lip_press == 1.0 and track.frames[i].jaw_open == 0.0
    # Two frames past the closure the vowel is open again (quick transitions).
    assert track.frames[inside[-1] + 3].jaw_open > 0.5


def test_quiet_sound_never_presses_the_lips():
    # A stop closure of t (silent) between vowels: quiet, but the lips stay apart.
    tl = timeline_of([("a", 0.4), ("t", 0.1), ("a", 0.4)])
    tl.envelope_times = np.arange(0.005, tl.duration, 0.01)
    tl.envelope = np.where((tl.envelope_times > 0.4) & (tl.envelope_times < 0.5), 0.0, 0.9)
    for intensity in (0.6, 1.0):
        track = mouth_track(tl, FPS, int(round(tl.duration * FPS)), intensity=intensity)
        assert frame_at(track, 0.45).lip_press == 0.0
        assert frame_at(track, 0.45).jaw_open >= JAW_APART - 1e-9
        assert frame_at(track, 0.45).jaw_open < frame_at(track, 0.2).jaw_open


@pytest.mark.parametrize("labels", [("s", "t", "n", "k"), ("ʃ", "rʲ", "ɖ", "ɡ"), ("S", "T", "N", "K")])
def test_tongue_consonants_in_any_notation_keep_the_lips_apart(labels):
    spec = [("SIL", 0.3)] + [item for lab in labels for item in ((lab, 0.07), ("i", 0.08))] + [("SIL", 0.3)]
    tl = timeline_of(spec, envelope=True)
    track = mouth_track(tl, FPS, int(round(tl.duration * FPS)))
    for ph in tl.phones[1:-1]:
        frame = track.frames[min(len(track.frames) - 1, int((ph.start + ph.end) / 2 * FPS))]
        assert frame.lip_press == 0.0 and frame.jaw_open >= JAW_APART - 1e-9


def test_bilabials_of_every_language_close_on_time():
    # Russian "papa": p, ɑ, p, a; each p is shut at the frame of its start.
    tl = timeline_of([("SIL", 0.3), ("p", 0.05), ("ɑ", 0.15), ("p", 0.06), ("a", 0.2), ("SIL", 0.3)], envelope=True)
    track = mouth_track(tl, FPS, int(round(tl.duration * FPS)))
    for ph in tl.phones:
        if ph.label == "p":
            first = int(round(ph.start * FPS - 0.5))
            assert track.frames[first].lip_press == 1.0 or track.frames[first + 1].lip_press == 1.0
            assert max(track.frames[i].lip_press for i in range(int(ph.start * FPS) - 1, int(ph.end * FPS) + 1)) == 1.0
    assert frame_at(track, 0.43).jaw_open > 0.5


def test_jaw_opening_follows_loudness():
    # The same open vowel throughout, its loudness swelling and fading: the jaw follows it.
    tl = timeline_of([("a", 2.0)])
    tl.envelope_times = np.arange(0.005, tl.duration, 0.01)
    tl.envelope = 0.5 + 0.5 * np.sin(2 * np.pi * tl.envelope_times / 0.8)
    track = mouth_track(tl, FPS, int(round(tl.duration * FPS)))
    jaw = np.array([f.jaw_open for f in track.frames])
    assert np.corrcoef(jaw, track.energy)[0, 1] > 0.93  # the loudest frames saturate at jaw_open 1
    assert jaw[track.energy > 0.9].min() > 3.0 * jaw[track.energy < 0.15].max()


def test_loud_vowel_beside_a_closure_stays_open_quiet_one_leans_shut():
    # "ama": the m ends 5 ms into a frame; the rest of that frame is loud vowel.
    tl = timeline_of([("SIL", 0.2), ("a", 0.31), ("m", 0.095), ("a", 0.31), ("SIL", 0.2)], envelope=True)
    track = mouth_track(tl, FPS, int(round(tl.duration * FPS)))
    after = int(0.61 * FPS)  # the frame the closure ends in
    assert track.frames[after - 1].lip_press == 1.0
    assert track.frames[after].lip_press < 0.3 and track.frames[after].jaw_open > 0.2
    # The same frame, silent: it leans toward the closure (a missed closure time).
    tl.envelope = np.where((tl.envelope_times > 0.6) & (tl.envelope_times < 0.66), 0.0, tl.envelope)
    quiet = mouth_track(tl, FPS, int(round(tl.duration * FPS)))
    assert quiet.frames[after].lip_press > 0.6
