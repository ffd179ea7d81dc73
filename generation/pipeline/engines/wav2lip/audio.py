"""The mel-spectrogram front end Wav2Lip's audio encoder was trained on.

16 kHz, pre-emphasis 0.97, centred STFT (n_fft 800, hop 200, Hann 800),
80 Slaney-style mel bands (55-7600 Hz, area-normalised like librosa's
default), amplitude to dB minus 20, normalised to [-4, 4]. 80 mel frames per
second, so video frame ``i`` takes the 16-frame window starting at
``int(i * 80 / fps)``.
"""

from __future__ import annotations

import functools

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 800
HOP = 200
WIN = 800
N_MELS = 80
FMIN = 55.0
FMAX = 7600.0
PREEMPHASIS = 0.97
REF_LEVEL_DB = 20.0
MIN_LEVEL_DB = -100.0
MAX_ABS = 4.0
MEL_STEP = 16  # mel frames per window (0.2 s)
MEL_FPS = SAMPLE_RATE / HOP  # 80


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """Slaney's scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3.0
    mel = hz / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, mel)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    f_sp = 200.0 / 3.0
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


@functools.lru_cache(maxsize=4)
def mel_filterbank(sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS, fmin: float = FMIN, fmax: float = FMAX) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) triangular filters, each scaled to unit area (Slaney norm)."""
    fft_freqs = np.linspace(0.0, sr / 2.0, 1 + n_fft // 2)
    mel_pts = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    hz_pts = mel_to_hz(mel_pts)
    widths = np.diff(hz_pts)
    ramps = hz_pts[:, None] - fft_freqs[None, :]
    weights = np.zeros((n_mels, fft_freqs.size))
    for i in range(n_mels):
        rising = -ramps[i] / widths[i]
        falling = ramps[i + 2] / widths[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (hz_pts[2:n_mels + 2] - hz_pts[:n_mels]))[:, None]
    weights.setflags(write=False)
    return weights


def stft_magnitude(wav: np.ndarray) -> np.ndarray:
    """|STFT|, centred (reflect-padded by n_fft/2): (1 + n_fft/2, 1 + len // hop)."""
    pad = N_FFT // 2
    x = np.asarray(wav, dtype=np.float64)
    mode = "reflect" if x.size > pad else "constant"
    x = np.pad(x, pad, mode=mode)
    n_frames = 1 + (x.size - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(x, shape=(n_frames, N_FFT), strides=(x.strides[0] * HOP, x.strides[0]))
    from scipy import signal  # only when Wav2Lip runs: scipy.signal takes ~1 s to import

    window = signal.get_window("hann", WIN, fftbins=True)
    return np.abs(np.fft.rfft(frames * window, n=N_FFT, axis=1)).T


def melspectrogram(wav: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The normalised mel spectrogram, float32 (80, T) in [-4, 4], T = 1 + len // 200 at 16 kHz."""
    from scipy import signal

    wav = np.asarray(wav, dtype=np.float64).reshape(-1)
    if sample_rate != SAMPLE_RATE:
        g = np.gcd(int(sample_rate), SAMPLE_RATE)
        wav = signal.resample_poly(wav, SAMPLE_RATE // g, int(sample_rate) // g)
    emphasised = signal.lfilter([1.0, -PREEMPHASIS], [1.0], wav)
    mel = mel_filterbank() @ stft_magnitude(emphasised)
    db = 20.0 * np.log10(np.maximum(1e-5, mel)) - REF_LEVEL_DB
    norm = 2 * MAX_ABS * ((db - MIN_LEVEL_DB) / -MIN_LEVEL_DB) - MAX_ABS
    return np.clip(norm, -MAX_ABS, MAX_ABS).astype(np.float32)


def mel_windows(mel: np.ndarray, fps: float, n_frames: int) -> np.ndarray:
    """(n_frames, 80, 16): the window of each video frame; the last 16 frames near the end."""
    if mel.shape[1] < MEL_STEP:
        # Shorter than 0.2 s: pad with silence (the normalised floor).
        mel = np.pad(mel, ((0, 0), (0, MEL_STEP - mel.shape[1])), constant_values=-MAX_ABS)
    last = mel.shape[1] - MEL_STEP
    out = np.empty((n_frames, mel.shape[0], MEL_STEP), dtype=np.float32)
    for i in range(n_frames):
        start = min(int(i * MEL_FPS / fps), last)
        out[i] = mel[:, start:start + MEL_STEP]
    return out
