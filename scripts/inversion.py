"""From a spectrogram back to audio: the listening check (``rules/listen.smk``).

A normalised spectrogram keeps neither phase nor, with ``normalize: minmax``,
its dB range: :func:`file_db_bounds` recomputes the range from the audio,
:func:`unpool` undoes pooling as far as it can, and :func:`invert` estimates
audio by Griffin-Lim. Every function takes complete spectrogram settings
(:func:`settings.spectrogram_settings`).
"""

import numpy as np

from audio_io import load_audio
from spectrogram_math import _fmax, db_bounds, decibels, linear_band


def file_db_bounds(path, settings):
    """The dB range that normalised the spectrogram of an audio file to [0, 1].

    With ``normalize='minmax'`` the range is each file's own and is not stored
    in the ``.npy``: it is recomputed from the audio with the same settings
    (:func:`decibels`). With ``'fixed_db'`` it is ``db_range`` and the audio
    is not read.

    Returns
    -------
    tuple of float
        ``(low, high)`` in dB.
    """
    s = settings
    if s["normalize"] != "minmax":
        return db_bounds(None, s)
    y, sr = load_audio(path, sr=s["sr"], channels=s["channels"])
    return db_bounds(decibels(y, sr, s), s)


def unpool(x, time_pool=1, freq_pool=1, n_freq=None, n_frames=None):
    """Undo :func:`pool` as far as it can be undone: repeat each block's value.

    Parameters
    ----------
    x : np.ndarray
        Shape ``(..., n_freq_pooled, n_frames_pooled)``.
    time_pool, freq_pool : int
        The pooling factors.
    n_freq, n_frames : int or None
        Rows and frames before pooling; the ones :func:`pool` dropped are
        filled with the last row or frame. ``None`` adds none.

    Returns
    -------
    np.ndarray
        Shape ``(..., n_freq, n_frames)``.
    """
    x = np.repeat(np.repeat(x, freq_pool, axis=-2), time_pool, axis=-1)
    pad_f = 0 if n_freq is None else max(0, n_freq - x.shape[-2])
    pad_t = 0 if n_frames is None else max(0, n_frames - x.shape[-1])
    if pad_f or pad_t:
        x = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(0, pad_f), (0, pad_t)], mode="edge")
    return x


def invert(x, sr, bounds, settings, n_iter=32, seed=0):
    """Audio from a normalised spectrogram: an approximation by Griffin-Lim.

    The [0, 1] values are mapped back to dB with ``bounds``, then to power
    (or magnitude), pooling is undone by repetition, a mel spectrogram is
    turned into an STFT magnitude (non-negative least squares, librosa's
    ``mel_to_stft``), and Griffin-Lim estimates the phase, which the
    spectrogram does not hold. Levels below ``top_db`` and detail removed by
    pooling are lost; with ``normalize='minmax'`` so is the absolute level.

    Parameters
    ----------
    x : np.ndarray
        float in [0, 1], ``(n_freq, n_frames)`` or ``(n_freq, n_frames, 2)``.
    sr : int
        Sample rate the spectrogram was computed at.
    bounds : tuple of float
        ``(low, high)`` dB mapped to 0 and 1 (:func:`file_db_bounds`).
    settings : dict
        The complete spectrogram settings it was computed with.
    n_iter : int
        Griffin-Lim iterations.
    seed : int
        Seed of Griffin-Lim's random initial phase (the same input gives the
        same audio).

    Returns
    -------
    np.ndarray
        float32 audio at ``sr``: ``(n,)`` for mono, ``(2, n)`` for stereo;
        ``duration * sr`` samples when ``duration`` is set.
    """
    import librosa

    s = settings
    if s["scale"] != "db":
        raise ValueError(f"the listening check inverts dB spectrograms; spectrogram.scale is {s['scale']!r}")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:  # (freq, time, channels) -> (channels, freq, time)
        x = np.moveaxis(x, -1, 0)
    band = linear_band(sr, s)
    n_rows = s["n_mels"] if s["type"] == "mel" else int(band.sum())
    length = int(round(s["duration"] * sr)) if s["duration"] is not None else None
    n_frames = 1 + length // s["hop_length"] if length is not None else None
    x = unpool(x, s["time_pool"], s["freq_pool"], n_rows, n_frames)
    low, high = bounds
    db = low + x.astype(np.float64) * (high - low)
    level = librosa.db_to_amplitude(db) if s["power"] == 1.0 else librosa.db_to_power(db)
    if s["type"] == "mel":
        magnitude = librosa.feature.inverse.mel_to_stft(
            level, sr=sr, n_fft=s["n_fft"], power=s["power"], fmin=s["fmin"], fmax=_fmax(sr, s)
        )
    else:
        magnitude = np.zeros(level.shape[:-2] + band.shape + level.shape[-1:])
        magnitude[..., band, :] = level ** (1.0 / s["power"])
    y = librosa.griffinlim(
        magnitude,
        n_iter=n_iter,
        hop_length=s["hop_length"],
        win_length=s["win_length"],
        n_fft=s["n_fft"],
        window=s["window"],
        length=length,
        random_state=seed,
    )
    return y.astype(np.float32)
