"""Spectrogram math shared by the NPY and the PNG branch.

One computation, two encodings: :func:`spectrogram` turns a file into a
float32 array in [0, 1]; :func:`get_spec_npy` saves it exactly as ``.npy``
and :func:`get_spec_image` as an 8-bit grayscale ``.png`` whose pixel is
``round(255 * x)`` with low frequencies at the bottom.

Every setting is a key of the ``spectrogram:`` section of ``config.yaml``;
:data:`DEFAULTS` holds their defaults and ``schemas/config.schema.yaml``
documents them.

Array layout: ``(n_freq, n_frames)`` for mono, ``(n_freq, n_frames, 2)`` for
stereo (channels last, as Keras expects). Row 0 is the lowest frequency.
"""

import io
import os

import numpy as np

from atomic import write_bytes

DEFAULTS = {
    "sr": 16000,
    "channels": "mono",
    "duration": 1.0,
    "pad_mode": "right",
    "type": "mel",
    "n_fft": 1024,
    "win_length": None,
    "hop_length": 256,
    "window": "hann",
    "n_mels": 64,
    "fmin": 0.0,
    "fmax": None,
    "power": 2.0,
    "top_db": 80.0,
    "normalize": "minmax",
    "db_range": [-100.0, 20.0],
    "time_pool": 1,
    "freq_pool": 1,
    "pool_mode": "avg",
}


class AudioError(ValueError):
    """An audio file that cannot be turned into a spectrogram."""


def settings_with_defaults(settings=None):
    """Merge user settings over :data:`DEFAULTS`.

    Parameters
    ----------
    settings : dict or None
        Any subset of the keys of :data:`DEFAULTS`.

    Returns
    -------
    dict
        A complete settings dictionary.

    Raises
    ------
    KeyError
        If ``settings`` holds a key that is not a spectrogram setting.
    """
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise KeyError(f"unknown spectrogram setting(s): {', '.join(unknown)}")
    return {**DEFAULTS, **settings}


def load_audio(path, sr=DEFAULTS["sr"], channels="mono"):
    """Load an audio file as float32, resampled to ``sr``.

    Parameters
    ----------
    path : str or os.PathLike
        The audio file.
    sr : int or None
        Target sample rate; ``None`` keeps the file's own rate.
    channels : {'mono', 'stereo'}
        ``'mono'`` averages the channels; ``'stereo'`` keeps the first two
        channels and duplicates a mono file, so every clip has two.

    Returns
    -------
    y : np.ndarray
        Shape ``(n,)`` for mono, ``(2, n)`` for stereo.
    sr : int
        The sample rate of ``y``.

    Raises
    ------
    AudioError
        If the file cannot be decoded, is empty, or holds NaN or inf.
    """
    import librosa

    try:
        y, sr = librosa.load(path, sr=sr, mono=(channels == "mono"))
    except Exception as err:  # decoders raise many types; the message names the cause
        if "not finite" in str(err):  # librosa refuses to resample NaN/inf
            raise AudioError("the audio holds NaN or infinite samples") from err
        raise AudioError(f"cannot decode audio: {_decode_reason(path, err)}") from err
    if y.size == 0:
        raise AudioError("the file holds no audio samples")
    if not np.all(np.isfinite(y)):
        raise AudioError("the audio holds NaN or infinite samples")
    if channels == "stereo":
        y = np.atleast_2d(y)
        y = np.repeat(y, 2, axis=0) if y.shape[0] == 1 else y[:2]
    return y.astype(np.float32, copy=False), int(sr)


#: Sample formats that can hold NaN or infinity: :func:`check_audio` decodes these.
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")


def check_audio(path, block_frames=1 << 18):
    """Why an audio file cannot be used, or ``None`` if it can.

    A cheap check made before any job runs: it reads the header, and decodes
    only files stored as floating point (the only ones that can hold NaN or
    infinity), block by block so memory stays small.

    Parameters
    ----------
    path : str or os.PathLike
        The audio file.
    block_frames : int
        Frames decoded at a time for the finiteness check.

    Returns
    -------
    str or None
        The reason in plain words (e.g. ``'the file is empty (0 bytes)'``),
        or ``None`` for a usable file.

    Notes
    -----
    Integer and compressed files are not decoded here: damage inside their
    audio data is found by the spectrogram job, which names the file.
    """
    import soundfile

    try:
        if os.path.getsize(path) == 0:
            return "the file is empty (0 bytes)"
        info = soundfile.info(path)
    except Exception as err:  # noqa: BLE001 - libsndfile says why in its message
        return f"cannot decode audio: {_decode_reason(path, err)}"
    if info.samplerate <= 0 or info.channels <= 0:
        return f"the header gives {info.samplerate} Hz and {info.channels} channels"
    if info.frames <= 0:
        return "the file holds no audio samples"
    if info.subtype in FLOAT_SUBTYPES:
        try:
            for block in soundfile.blocks(path, blocksize=block_frames, dtype="float32"):
                if not np.all(np.isfinite(block)):
                    return "the audio holds NaN or infinite samples"
        except Exception as err:  # noqa: BLE001
            return f"cannot decode audio: {_decode_reason(path, err)}"
    return None


def _decode_reason(path, err):
    """One line saying why ``path`` could not be decoded (libsndfile's words if it has any)."""
    import soundfile

    try:
        soundfile.info(path)
    except Exception as sf_err:  # noqa: BLE001 - we only want its message
        err = sf_err
    lines = str(err).strip().splitlines()
    reason = lines[-1].strip() if lines else type(err).__name__
    return reason.removeprefix(f"Error opening {os.fspath(path)!r}: ")


def fix_duration(y, n_samples, mode="right"):
    """Pad with zeros or cut ``y`` along its last axis to ``n_samples``.

    Parameters
    ----------
    y : np.ndarray
        Audio, time on the last axis.
    n_samples : int
        Target length.
    mode : {'right', 'left', 'center'}
        Where samples are added or removed: at the end (``'right'``, the
        start of the clip is kept), at the start (``'left'``, the end is
        kept), or evenly at both ends (``'center'``).

    Returns
    -------
    np.ndarray
        ``y`` with last axis of length ``n_samples``.
    """
    import librosa

    n = y.shape[-1]
    if mode == "right" or n == n_samples:
        return librosa.util.fix_length(y, size=n_samples, axis=-1)
    if mode not in ("left", "center"):
        raise ValueError(f"pad_mode must be right, left or center, not {mode!r}")
    diff = n_samples - n
    start = diff if mode == "left" else diff // 2
    if diff > 0:
        pad = [(0, 0)] * (y.ndim - 1) + [(start, diff - start)]
        return np.pad(y, pad)
    offset = -start
    return y[..., offset : offset + n_samples]


def power_spectrogram(y, sr, settings):
    """Mel or linear power spectrogram of ``y``, band-limited to fmin–fmax.

    Parameters
    ----------
    y : np.ndarray
        Audio, shape ``(n,)`` or ``(channels, n)``.
    sr : int
        Sample rate of ``y``.
    settings : dict
        Complete spectrogram settings (see :data:`DEFAULTS`).

    Returns
    -------
    np.ndarray
        Shape ``(n_freq, n_frames)`` or ``(channels, n_freq, n_frames)``;
        row 0 is the lowest frequency kept.
    """
    import librosa

    fmax = _fmax(sr, settings)
    stft = dict(
        n_fft=settings["n_fft"],
        hop_length=settings["hop_length"],
        win_length=settings["win_length"],
        window=settings["window"],
    )
    if settings["type"] == "mel":
        return librosa.feature.melspectrogram(
            y=y,
            sr=sr,
            n_mels=settings["n_mels"],
            fmin=settings["fmin"],
            fmax=fmax,
            power=settings["power"],
            **stft,
        )
    spec = np.abs(librosa.stft(y, **stft)) ** settings["power"]
    return spec[..., linear_band(sr, settings), :]


def to_db(spec, settings):
    """Power (or amplitude) spectrogram to decibels.

    With ``normalize='minmax'`` the reference is the spectrogram's own
    maximum (0 dB at its loudest bin, as ``ref=np.max``); with
    ``'fixed_db'`` it is 1.0, so levels compare across files.
    ``top_db`` limits the dynamic range below the peak in both cases.
    """
    import librosa

    ref = np.max if settings["normalize"] == "minmax" else 1.0
    convert = librosa.amplitude_to_db if settings["power"] == 1.0 else librosa.power_to_db
    return convert(spec, ref=ref, top_db=settings["top_db"])


def normalize(db, settings):
    """Scale decibels to float32 in [0, 1].

    ``'minmax'`` maps each spectrogram's own minimum to 0 and maximum to 1; a
    constant spectrogram (silence) gives zeros, never NaN. ``'fixed_db'``
    maps ``db_range`` ``[low, high]`` to [0, 1] and clips, the same scale
    for every file.
    """
    low, high = db_bounds(db, settings)
    span = high - low
    if span <= 0:
        return np.zeros(db.shape, dtype=np.float32)
    return np.clip((db - low) / span, 0.0, 1.0).astype(np.float32)


def pool(x, time_pool=1, freq_pool=1, mode="avg"):
    """Downsample an array of shape ``(..., n_freq, n_frames)`` by blocks.

    Trailing rows or frames that do not fill a whole block are dropped.
    ``mode`` is ``'avg'`` or ``'max'``.
    """
    if time_pool == 1 and freq_pool == 1:
        return x
    n_f = x.shape[-2] // freq_pool
    n_t = x.shape[-1] // time_pool
    if n_f == 0 or n_t == 0:
        raise AudioError(
            f"pooling {freq_pool}x{time_pool} is larger than the spectrogram {x.shape[-2]}x{x.shape[-1]}"
        )
    blocks = x[..., : n_f * freq_pool, : n_t * time_pool].reshape(
        x.shape[:-2] + (n_f, freq_pool, n_t, time_pool)
    )
    reduce = np.mean if mode == "avg" else np.max
    return reduce(blocks, axis=(-3, -1)).astype(np.float32)


def spectrogram_from_audio(y, sr, settings=None):
    """Normalised log spectrogram of audio already in memory.

    Parameters
    ----------
    y : np.ndarray
        Audio at ``sr``, shape ``(n,)`` or ``(2, n)``.
    sr : int
        Sample rate.
    settings : dict or None
        Spectrogram settings; missing keys take :data:`DEFAULTS`.

    Returns
    -------
    np.ndarray
        float32 in [0, 1], ``(n_freq, n_frames)`` or ``(n_freq, n_frames, 2)``.
    """
    s = settings_with_defaults(settings)
    x = normalize(decibels(y, sr, s), s)
    x = pool(x, s["time_pool"], s["freq_pool"], s["pool_mode"])
    if x.ndim == 3:  # (channels, freq, time) -> (freq, time, channels)
        x = np.moveaxis(x, 0, -1)
    return np.ascontiguousarray(x, dtype=np.float32)


def spectrogram(path, settings=None):
    """Normalised log spectrogram of an audio file: the one computation.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file (wav, flac, aiff, ogg, mp3).
    settings : dict or None
        Spectrogram settings; missing keys take :data:`DEFAULTS`.

    Returns
    -------
    np.ndarray
        float32 in [0, 1]; see the module docstring for the layout.

    Raises
    ------
    AudioError
        If the file cannot be read or gives a non-finite result.
    """
    s = settings_with_defaults(settings)
    y, sr = load_audio(path, sr=s["sr"], channels=s["channels"])
    x = spectrogram_from_audio(y, sr, s)
    if not np.all(np.isfinite(x)):
        raise AudioError("the spectrogram holds NaN or infinite values")
    return x


def to_pixels(x):
    """Array in [0, 1] to the 8-bit image of the PNG branch.

    Pixel = ``round(255 * x)``; rows are flipped so that low frequencies are
    at the bottom; stereo channels are stacked vertically (channel 0 on top).
    """
    q = np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)
    if q.ndim == 3:
        return np.concatenate([q[::-1, :, c] for c in range(q.shape[2])], axis=0)
    return np.ascontiguousarray(q[::-1, :])


def from_pixels(pixels, channels=1):
    """Undo :func:`to_pixels`: 8-bit image to float32 in [0, 1] (the /255 step).

    Parameters
    ----------
    pixels : np.ndarray
        uint8 image, shape ``(channels * n_freq, n_frames)``.
    channels : int
        Number of stacked channels.

    Returns
    -------
    np.ndarray
        ``(n_freq, n_frames)`` for one channel, else ``(n_freq, n_frames, channels)``.
    """
    x = pixels.astype(np.float32) / 255.0
    if channels == 1:
        return x[::-1, :]
    parts = np.split(x, channels, axis=0)
    return np.stack([p[::-1, :] for p in parts], axis=-1)


def save_npy(x, path):
    """Save the float32 array exactly, atomically."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(x, dtype=np.float32), allow_pickle=False)
    write_bytes(path, buf.getvalue())


def save_png(x, path):
    """Save the 8-bit grayscale PNG of ``x`` atomically, without metadata."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(to_pixels(x), mode="L").save(buf, format="PNG", optimize=False)
    write_bytes(path, buf.getvalue())


def load_png(path, channels=1):
    """Read a PNG of the PNG branch back as float32 in [0, 1]."""
    from PIL import Image

    with Image.open(path) as img:
        return from_pixels(np.asarray(img.convert("L")), channels)


def get_spec_npy(audio_path, npy_path, settings=None):
    """Compute the spectrogram of ``audio_path`` and save it as float32 ``.npy``.

    Parameters
    ----------
    audio_path : str
        Audio file.
    npy_path : str
        Where the array goes (written atomically).
    settings : dict or None
        Spectrogram settings.

    Returns
    -------
    np.ndarray
        The saved array.
    """
    x = spectrogram(audio_path, settings)
    save_npy(x, npy_path)
    return x


def get_spec_image(audio_path, png_path, settings=None):
    """Compute the spectrogram of ``audio_path`` and save it as an 8-bit ``.png``.

    The legacy branch: the same array as :func:`get_spec_npy`, quantised to
    ``round(255 * x)``, low frequencies at the bottom.

    Returns
    -------
    np.ndarray
        The float array before quantisation.
    """
    x = spectrogram(audio_path, settings)
    save_png(x, png_path)
    return x


def process_file(audio_path, npy_path, png_path, settings=None):
    """Both branches from one computation: the per-file work of the workflow.

    Returns
    -------
    tuple of int
        The array's shape.
    """
    x = spectrogram(audio_path, settings)
    save_npy(x, npy_path)
    save_png(x, png_path)
    return x.shape


# --- Axes of a spectrogram, and back to audio (the report's gallery, the listening check) ---


def _fmax(sr, settings):
    """The highest frequency kept, Hz: ``fmax``, or ``sr / 2`` when it is ``None``."""
    return settings["fmax"] if settings["fmax"] is not None else sr / 2.0


def linear_band(sr, settings):
    """Which STFT bins a linear spectrogram keeps: ``fmin <= f <= fmax``.

    Parameters
    ----------
    sr : int
        Sample rate of the audio.
    settings : dict
        Complete spectrogram settings (see :data:`DEFAULTS`).

    Returns
    -------
    np.ndarray
        Boolean mask over the ``n_fft // 2 + 1`` STFT bins.
    """
    import librosa

    freqs = librosa.fft_frequencies(sr=sr, n_fft=settings["n_fft"])
    return (freqs >= settings["fmin"]) & (freqs <= _fmax(sr, settings))


def _pool_coordinates(coords, factor):
    """Coordinates of pooled rows or frames: the mean of each whole block (as :func:`pool`)."""
    n = len(coords) // factor
    return np.asarray(coords[: n * factor], dtype=float).reshape(n, factor).mean(axis=1)


def frequencies(sr, settings=None):
    """Frequency in Hz of each row of a spectrogram, row 0 first (the lowest).

    Parameters
    ----------
    sr : int
        Sample rate the spectrogram was computed at (``settings['sr']``, or
        the file's own rate when that is ``None``).
    settings : dict or None
        Spectrogram settings; missing keys take :data:`DEFAULTS`.

    Returns
    -------
    np.ndarray
        Mel: the centre frequencies of the mel filters; linear: the STFT bin
        frequencies between ``fmin`` and ``fmax``. With ``freq_pool`` > 1 the
        mean over each pooled block, so the length is the array's row count.
    """
    import librosa

    s = settings_with_defaults(settings)
    if s["type"] == "mel":
        edges = librosa.mel_frequencies(s["n_mels"] + 2, fmin=s["fmin"], fmax=_fmax(sr, s))
        freqs = edges[1:-1]  # filter i rises from edges[i], peaks at edges[i + 1]
    else:
        freqs = librosa.fft_frequencies(sr=sr, n_fft=s["n_fft"])[linear_band(sr, s)]
    return _pool_coordinates(freqs, s["freq_pool"])


def frame_times(n_frames, sr, settings=None):
    """Time in seconds of the centre of each frame (column) of a spectrogram.

    Parameters
    ----------
    n_frames : int
        Number of columns of the array (after time pooling).
    sr : int
        Sample rate the spectrogram was computed at.
    settings : dict or None
        Spectrogram settings; missing keys take :data:`DEFAULTS`.

    Returns
    -------
    np.ndarray
        Shape ``(n_frames,)``; frame ``t`` of the STFT is centred at
        ``t * hop_length / sr``, and a pooled column at the mean of its block.
    """
    s = settings_with_defaults(settings)
    times = np.arange(n_frames * s["time_pool"]) * s["hop_length"] / float(sr)
    return _pool_coordinates(times, s["time_pool"])


def decibels(y, sr, settings):
    """The dB spectrogram of audio in memory, before normalisation.

    The steps of :func:`spectrogram_from_audio` up to :func:`normalize`:
    padding or cutting to ``duration``, :func:`power_spectrogram`,
    :func:`to_db`. Shape ``(n_freq, n_frames)`` or ``(channels, n_freq, n_frames)``.
    """
    s = settings_with_defaults(settings)
    if s["duration"] is not None:
        y = fix_duration(y, int(round(s["duration"] * sr)), s["pad_mode"])
    if y.shape[-1] < 1:
        raise AudioError("the clip is empty after padding/cutting")
    return to_db(power_spectrogram(y, sr, s), s)


def db_bounds(db, settings):
    """The dB values that :func:`normalize` maps to 0 and 1.

    Parameters
    ----------
    db : np.ndarray or None
        The dB spectrogram (only read with ``normalize='minmax'``).
    settings : dict
        Complete spectrogram settings.

    Returns
    -------
    tuple of float
        ``(low, high)``: the array's own minimum and maximum for ``'minmax'``,
        ``db_range`` for ``'fixed_db'``.
    """
    if settings["normalize"] == "minmax":
        return float(np.min(db)), float(np.max(db))
    low, high = settings["db_range"]
    return float(low), float(high)


def file_db_bounds(path, settings=None):
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
    s = settings_with_defaults(settings)
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


def invert(x, sr, bounds, settings=None, n_iter=32, seed=0):
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
    settings : dict or None
        The spectrogram settings it was computed with.
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

    s = settings_with_defaults(settings)
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
