from __future__ import annotations

import numpy as np

from generation.pipeline.engines.wav2lip.audio import (
    MEL_STEP,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
    mel_windows,
    melspectrogram,
)


def test_shape_and_range():
    rng = np.random.default_rng(0)
    wav = rng.uniform(-0.5, 0.5, 16000 + 123).astype(np.float32)
    mel = melspectrogram(wav)
    assert mel.shape == (80, 1 + len(wav) // 200)
    assert mel.dtype == np.float32 and mel.min() >= -4.0 and mel.max() <= 4.0
    silence = melspectrogram(np.zeros(8000))
    assert np.allclose(silence, -4.0)


def test_tone_lands_in_its_band():
    t = np.arange(32000) / 16000.0
    for freq in (300.0, 1000.0, 4000.0):
        mel = melspectrogram(0.5 * np.sin(2 * np.pi * freq * t))
        band = int(mel[:, 10:-10].mean(axis=1).argmax())
        fb = mel_filterbank()
        assert band == int(fb[:, int(round(freq / 20.0))].argmax())  # bins are 20 Hz apart
        centres = mel_to_hz(np.linspace(hz_to_mel(55.0), hz_to_mel(7600.0), 82))[1:-1]
        assert abs(centres[band] - freq) / freq < 0.1


def test_slaney_scale_and_filters():
    assert np.isclose(hz_to_mel(1000.0), 15.0)
    assert np.isclose(mel_to_hz(hz_to_mel(5000.0)), 5000.0)
    fb = mel_filterbank()
    assert fb.shape == (80, 401)
    assert (fb >= 0).all()
    # Slaney normalisation: each triangle's area (in Hz) is 1.
    assert np.allclose(fb.sum(axis=1) * 20.0, 1.0, atol=0.05)


def test_resampled_input_matches_length():
    mel = melspectrogram(np.zeros(44100), sample_rate=44100)
    assert mel.shape == (80, 81)


def test_windows():
    mel = np.arange(80 * 100, dtype=np.float32).reshape(80, 100)
    wins = mel_windows(mel, 25, 40)
    assert wins.shape == (40, 80, MEL_STEP)
    assert np.array_equal(wins[1], mel[:, 3:19])  # int(1 * 80 / 25) = 3
    assert np.array_equal(wins[10], mel[:, 32:48])
    assert np.array_equal(wins[-1], mel[:, -16:])  # near the end: the last 16 frames
    short = mel_windows(np.zeros((80, 5), np.float32), 25, 2)
    assert short.shape == (2, 80, 16) and short[0, 0, -1] == -4.0
