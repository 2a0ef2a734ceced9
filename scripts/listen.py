"""Listening check: a spectrogram of the NPY branch turned back into audio (Griffin-Lim).

An approximation, to hear what the model sees: the phase is lost and estimated,
the [0, 1] normalisation is undone with the file's dB range (recomputed from the
audio with ``normalize: minmax``, ``db_range`` with ``fixed_db``), levels below
``top_db`` and detail removed by pooling are gone, and the result is scaled to a
fixed peak.
"""

import sys

import numpy as np

from atomic import atomic_path
from inversion import file_db_bounds, invert
from settings import spectrogram_settings

#: Peak level of the written audio (full scale = 1).
PEAK = 0.9


def spectrogram_rate(audio_path, settings):
    """Sample rate the spectrogram was computed at: ``sr``, or the file's own rate when that is ``None``.

    ``settings`` are complete spectrogram settings.
    """
    import librosa

    from spectrogram_math import spectrogram_rate as rate_of

    # the file's header is read only when its own rate is the one
    return rate_of(None if settings["sr"] is not None else librosa.get_samplerate(audio_path), settings)


def scale_to_peak(y, peak=PEAK):
    """Scale audio so that its largest absolute sample is ``peak`` (silence stays silence)."""
    top = float(np.max(np.abs(y))) if y.size else 0.0
    return y if top == 0.0 else (y * (peak / top)).astype(np.float32)


def listen(npy_path, audio_path, wav_path, settings=None, n_iter=32):
    """Write ``wav_path``: the inversion of the spectrogram in ``npy_path``.

    Parameters
    ----------
    npy_path : str
        Spectrogram of the NPY branch (float32 in [0, 1]).
    audio_path : str
        The audio file it was computed from (for its dB range and sample rate).
    wav_path : str
        Output WAV (16-bit PCM, mono or stereo), written atomically.
    settings : dict or None
        The spectrogram settings it was computed with (missing keys take the
        schema's defaults).
    n_iter : int
        Griffin-Lim iterations.

    Returns
    -------
    np.ndarray
        The written audio, ``(n,)`` or ``(2, n)``.
    """
    import soundfile

    s = spectrogram_settings(settings)
    x = np.load(npy_path)
    sr = spectrogram_rate(audio_path, s)
    bounds = file_db_bounds(audio_path, s)
    y = scale_to_peak(invert(x, sr, bounds, s, n_iter=n_iter))
    with atomic_path(wav_path) as tmp:
        soundfile.write(tmp, y.T, sr, subtype="PCM_16", format="WAV")
    return y


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    listen(
        snakemake.input.npy,
        snakemake.input.audio,
        snakemake.output[0],
        snakemake.params.settings,
        snakemake.params.n_iter,
    )
