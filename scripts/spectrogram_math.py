"""The spectrogram math shared by the NPY and the PNG branch: audio → float32 in [0, 1].

:func:`spectrogram` is the one computation: load (``audio_io``), pad or cut to
``duration``, mel or linear power spectrogram, decibels, normalisation to
[0, 1], pooling. :func:`frequencies` and :func:`frame_times` give the axes of
its result. The two encodings of the result are in ``audio_processing``, the
way back to audio in ``inversion``.

Every setting is a key of the ``spectrogram:`` section of ``config.yaml``,
documented (with its default) in ``schemas/config.schema.yaml``.
:func:`spectrogram` fills in missing keys once; every other function takes
complete settings (:func:`settings.spectrogram_settings`).

Array layout: ``(n_freq, n_frames)`` for one channel, ``(n_freq, n_frames,
channels)`` for more (stereo, ``channels: all`` or a list, several
``resolutions``; channels last, as Keras expects, see :func:`n_channels`).
Row 0 is the lowest frequency.
"""

import numpy as np

from audio_io import SILENT_REASON, AudioError, SilentAudio, audio_duration, load_audio
from settings import spectrogram_settings


# --- The computation ---


def spectrogram(path, settings=None, refuse_silent=False):
    """Normalised log spectrogram of an audio file: the one computation.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file (wav, flac, aiff, ogg, mp3).
    settings : dict or None
        Spectrogram settings; missing keys take the schema's defaults
        (merged here, once: the functions below take complete settings).

    Returns
    -------
    np.ndarray
        float32 in [0, 1]; see the module docstring for the layout.

    Raises
    ------
    AudioError
        If the file cannot be read or gives a non-finite result;
        :class:`audio_io.SilentAudio` with ``refuse_silent`` when all its
        samples are equal (silence, or a constant offset).
    """
    s = spectrogram_settings(settings)
    y, sr = load_audio(path, sr=s["sr"], channels=s["channels"])
    if refuse_silent and constant(y):
        raise SilentAudio(SILENT_REASON)
    x = spectrogram_from_audio(y, sr, s)
    if not np.all(np.isfinite(x)):
        raise AudioError("the spectrogram holds NaN or infinite values")
    return x


def spectrogram_from_audio(y, sr, settings):
    """Normalised log spectrogram of audio already in memory.

    Parameters
    ----------
    y : np.ndarray
        Audio at ``sr``, shape ``(n,)`` or ``(2, n)``.
    sr : int
        Sample rate.
    settings : dict
        Complete spectrogram settings (:func:`settings.spectrogram_settings`).

    Returns
    -------
    np.ndarray
        float32 in [0, 1], ``(n_freq, n_frames)`` for one channel, else
        ``(n_freq, n_frames, channels)`` (:func:`n_channels`).
    """
    s = settings
    parts = [normalize(regrid(levels(y, sr, r), sr, r, s), s) for r in resolution_settings(s)]
    x = parts[0] if len(parts) == 1 else stack_resolutions(parts)
    x = pool(x, s["time_pool"], s["freq_pool"], s["pool_mode"])
    if x.ndim == 3:  # (channels, freq, time) -> (freq, time, channels)
        x = np.moveaxis(x, 0, -1)
    return np.ascontiguousarray(x, dtype=np.float32)


def n_channels(settings, audio_channels=1):
    """Channels of the array that :func:`spectrogram` gives: audio channels times resolutions.

    Parameters
    ----------
    settings : dict
        Complete spectrogram settings.
    audio_channels : int
        Channels of the audio files, used for ``channels: all``.

    Returns
    -------
    int
        1 for a 2-D array ``(n_freq, n_frames)``, else the length of its last axis.

    Examples
    --------
    >>> n_channels({"channels": "stereo", "resolutions": [256, 1024]})
    4
    >>> n_channels({"channels": [0, 3], "resolutions": None})
    2
    """
    channels = settings["channels"]
    kept = {"mono": 1, "stereo": 2, "all": audio_channels}.get(channels) if isinstance(channels, str) else len(channels)
    return kept * len(settings["resolutions"] or [None])


def resolution_settings(settings):
    """The settings of each FFT size of ``resolutions`` (``win_length`` = that size), or ``[settings]``."""
    if not settings["resolutions"]:
        return [settings]
    return [{**settings, "n_fft": n, "win_length": None} for n in settings["resolutions"]]


def regrid(spec, sr, source, target):
    """Put a spectrogram computed with settings ``source`` on the frequency rows of settings ``target``.

    Mel spectrograms with the same bands already share their rows; a linear
    one is interpolated (linearly, along frequency) onto ``target``'s STFT
    bins, so spectrograms of several FFT sizes stack (:func:`stack_resolutions`).
    """
    if source["type"] == "mel" or source["n_fft"] == target["n_fft"]:
        return spec
    have = frequencies(sr, {**source, "freq_pool": 1})
    want = frequencies(sr, {**target, "freq_pool": 1})
    position = np.interp(want, have, np.arange(len(have)))
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, len(have) - 1)
    weight = (position - low)[:, None]
    return spec[..., low, :] * (1.0 - weight) + spec[..., high, :] * weight


def stack_resolutions(parts):
    """Stack the arrays of several FFT sizes as channels: ``(channels * n_resolutions, n_freq, n_frames)``.

    Channel ``c * n_resolutions + r`` is audio channel ``c`` at resolution ``r``.
    """
    parts = [p if p.ndim == 3 else p[np.newaxis] for p in parts]
    return np.stack([p[c] for c in range(parts[0].shape[0]) for p in parts])


def levels(y, sr, settings):
    """The spectrogram of audio in memory on the scale of ``settings['scale']``, before normalisation.

    ``'db'``: :func:`decibels`; ``'linear'``: the power (or magnitude)
    spectrogram itself, the raw magnitudes of seed 004; ``'log1p'``:
    ``log(1 + S)`` of it. Shape ``(n_freq, n_frames)`` or
    ``(channels, n_freq, n_frames)``.
    """
    if settings["scale"] == "db":
        return decibels(y, sr, settings)
    spec = power_spectrogram(clip(y, sr, settings), sr, settings)
    return np.log1p(spec) if settings["scale"] == "log1p" else spec


def decibels(y, sr, settings):
    """The dB spectrogram of audio in memory, before normalisation.

    The steps of :func:`spectrogram_from_audio` up to :func:`normalize`:
    padding or cutting to ``duration`` (:func:`clip`), :func:`power_spectrogram`,
    :func:`to_db`. Shape ``(n_freq, n_frames)`` or ``(channels, n_freq, n_frames)``.
    """
    return to_db(power_spectrogram(clip(y, sr, settings), sr, settings), settings)


def clip(y, sr, settings):
    """Audio padded or cut to ``duration`` (when set); an empty result is an :class:`AudioError`."""
    if settings["duration"] is not None:
        y = fix_duration(y, int(round(settings["duration"] * sr)), settings["pad_mode"], settings["cut_mode"])
    if y.shape[-1] < 1:
        raise AudioError("the clip is empty after padding/cutting")
    return y


# --- Windows of long recordings ---


def window_bounds(duration, length, hop=None, last="pad"):
    """Start and end, in seconds of the recording, of each fixed window.

    Window ``k`` covers ``[k * hop, k * hop + length)``. A recording shorter
    than ``length``, or a stretch at the end that no whole window covers,
    gets one more window, padded with zeros (``last='pad'``), or none
    (``last='drop'``).

    Parameters
    ----------
    duration : float
        Length of the recording in seconds.
    length : float
        Window length in seconds.
    hop : float or None
        Seconds between window starts; ``None`` means ``length`` (no overlap).
    last : {'pad', 'drop'}
        What to do with audio after the last whole window.

    Returns
    -------
    np.ndarray
        float64 ``(n_windows, 2)``: start and end of each window (the end of a
        padded window lies past the end of the recording).

    Examples
    --------
    >>> window_bounds(5.0, 2.0, 1.0).tolist()
    [[0.0, 2.0], [1.0, 3.0], [2.0, 4.0], [3.0, 5.0]]
    >>> window_bounds(5.5, 2.0, 2.0).tolist()
    [[0.0, 2.0], [2.0, 4.0], [4.0, 6.0]]
    >>> window_bounds(5.5, 2.0, 2.0, last="drop").tolist()
    [[0.0, 2.0], [2.0, 4.0]]
    """
    hop = length if hop is None else hop
    eps = 1e-9  # a window that ends within a nanosecond of the recording's end is whole
    n_whole = int(np.floor((duration - length) / hop + eps)) + 1 if duration + eps >= length else 0
    n = n_whole
    covered = (n_whole - 1) * hop + length if n_whole else 0.0
    if last == "pad" and duration > covered + eps:
        n += 1
    starts = np.arange(n, dtype=np.float64) * hop
    return np.stack([starts, starts + length], axis=1) if n else np.zeros((0, 2))


def recording_windows(path, windows):
    """:func:`window_bounds` of the recording at ``path`` (its length read from the header)."""
    return window_bounds(audio_duration(path), windows["length"], windows["hop"], windows["last"])


def spectrogram_windows(path, settings=None, windows=None, refuse_silent=False, bounds=None):
    """Normalised log spectrogram of each fixed window of a recording, one window at a time.

    Each window is the stretch ``[start, start + length)`` of the recording,
    read on its own (so memory stays at one window whatever the recording's
    length) and computed exactly as a clip of ``length`` seconds: the result
    for a window equals :func:`spectrogram` of that stretch cut out.

    Parameters
    ----------
    path : str or os.PathLike
        Audio file.
    settings : dict or None
        Spectrogram settings (missing keys take the schema's defaults);
        ``duration`` and ``pad_mode`` are replaced by the window.
    windows : dict
        ``length``, ``hop`` and ``last`` (the ``windows:`` section of the
        configuration; see :func:`window_bounds`).
    refuse_silent : bool
        See Raises.
    bounds : np.ndarray or None
        The recording's windows when the caller has them already
        (:func:`recording_windows`), so its header is read once.

    Yields
    ------
    np.ndarray
        float32 in [0, 1], the layout of :func:`spectrogram`, per window in order.

    Raises
    ------
    AudioError
        If the file cannot be read, holds non-finite audio, or has no window
        (shorter than one window with ``last='drop'``); with ``refuse_silent``,
        :class:`audio_io.SilentAudio` after the last window when every window's
        samples were all equal.
    """
    s = {**spectrogram_settings(settings), "duration": windows["length"], "pad_mode": "right", "cut_mode": "right"}
    bounds = recording_windows(path, windows) if bounds is None else bounds
    if len(bounds) == 0:
        raise AudioError(f"the recording is shorter than one window ({windows['length']:g} s; windows.last: drop)")
    heard = False
    for start, _ in bounds:
        y, sr = load_audio(path, sr=s["sr"], channels=s["channels"], offset=float(start), duration=windows["length"])
        heard = heard or not constant(y)
        x = spectrogram_from_audio(y, sr, s)
        if not np.all(np.isfinite(x)):
            raise AudioError("the spectrogram holds NaN or infinite values")
        yield x
    if refuse_silent and not heard:
        raise SilentAudio(SILENT_REASON)


def constant(y):
    """Whether audio has nothing in it: more than one sample, all equal (silence, or a constant offset)."""
    return y.shape[-1] > 1 and bool(np.ptp(y) == 0)


# --- Its steps ---


def fix_duration(y, n_samples, mode="right", cut=None):
    """Pad with zeros or cut ``y`` along its last axis to ``n_samples``.

    Parameters
    ----------
    y : np.ndarray
        Audio, time on the last axis.
    n_samples : int
        Target length.
    mode : {'right', 'left', 'center'}
        Where samples are added to a short clip: at the end (``'right'``),
        at the start (``'left'``) or evenly at both ends (``'center'``).
    cut : {'right', 'left', 'center'} or None
        Where samples are removed from a long clip: at the end (``'right'``,
        the start of the clip is kept), at the start (``'left'``, the end is
        kept) or evenly at both ends (``'center'``); ``None`` cuts where
        ``mode`` pads. ``mode='center', cut='right'`` is SpectrogramUtils'
        ``CENTER_RCUT``.

    Returns
    -------
    np.ndarray
        ``y`` with last axis of length ``n_samples``.
    """
    n = y.shape[-1]
    where = mode if n < n_samples else (cut or mode)
    if where not in ("right", "left", "center"):
        raise ValueError(f"pad_mode and cut_mode must be right, left or center, not {where!r}")
    diff = n_samples - n
    start = {"right": 0, "left": diff, "center": diff // 2}[where]
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
        Complete spectrogram settings (:func:`settings.spectrogram_settings`).

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
    """Scale decibels (or linear or log1p levels, :func:`levels`) to float32 in [0, 1].

    ``'minmax'`` maps each spectrogram's own minimum to 0 and maximum to 1, on
    any scale; a constant spectrogram (silence) gives zeros, never NaN.
    ``'fixed_db'`` maps ``db_range`` ``[low, high]`` to [0, 1] and clips, the
    same scale for every file (dB only).
    """
    low, high = db_bounds(db, settings)
    span = high - low
    if span <= 0:
        return np.zeros(db.shape, dtype=np.float32)
    return np.clip((db - low) / span, 0.0, 1.0).astype(np.float32)


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


# --- Frequency band and axes ---


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
        Complete spectrogram settings (:func:`settings.spectrogram_settings`).

    Returns
    -------
    np.ndarray
        Boolean mask over the ``n_fft // 2 + 1`` STFT bins.
    """
    import librosa

    freqs = librosa.fft_frequencies(sr=sr, n_fft=settings["n_fft"])
    return (freqs >= settings["fmin"]) & (freqs <= _fmax(sr, settings))


def frequencies(sr, settings):
    """Frequency in Hz of each row of a spectrogram, row 0 first (the lowest).

    Parameters
    ----------
    sr : int
        Sample rate the spectrogram was computed at (``settings['sr']``, or
        the file's own rate when that is ``None``).
    settings : dict
        Complete spectrogram settings (:func:`settings.spectrogram_settings`).

    Returns
    -------
    np.ndarray
        Mel: the centre frequencies of the mel filters; linear: the STFT bin
        frequencies between ``fmin`` and ``fmax``. With ``freq_pool`` > 1 the
        mean over each pooled block, so the length is the array's row count.
    """
    import librosa

    s = settings
    if s["type"] == "mel":
        edges = librosa.mel_frequencies(s["n_mels"] + 2, fmin=s["fmin"], fmax=_fmax(sr, s))
        freqs = edges[1:-1]  # filter i rises from edges[i], peaks at edges[i + 1]
    else:
        freqs = librosa.fft_frequencies(sr=sr, n_fft=s["n_fft"])[linear_band(sr, s)]
    return _pool_coordinates(freqs, s["freq_pool"])


def frame_times(n_frames, sr, settings):
    """Time in seconds of the centre of each frame (column) of a spectrogram.

    Parameters
    ----------
    n_frames : int
        Number of columns of the array (after time pooling).
    sr : int
        Sample rate the spectrogram was computed at.
    settings : dict
        Complete spectrogram settings (:func:`settings.spectrogram_settings`).

    Returns
    -------
    np.ndarray
        Shape ``(n_frames,)``; frame ``t`` of the STFT is centred at
        ``t * hop_length / sr``, and a pooled column at the mean of its block.
    """
    s = settings
    times = np.arange(n_frames * s["time_pool"]) * s["hop_length"] / float(sr)
    return _pool_coordinates(times, s["time_pool"])


def _pool_coordinates(coords, factor):
    """Coordinates of pooled rows or frames: the mean of each whole block (as :func:`pool`)."""
    n = len(coords) // factor
    return np.asarray(coords[: n * factor], dtype=float).reshape(n, factor).mean(axis=1)


# --- Axes of the saved arrays (the manifests' axes files) ---


def spectrogram_rate(file_rate, settings):
    """The sample rate, Hz, a file's spectrogram is computed at: ``settings['sr']``, or the file's own rate.

    Parameters
    ----------
    file_rate : int
        The original file's sample rate.
    settings : dict
        Spectrogram settings (only ``sr`` is read; ``None`` keeps each file's rate).

    Returns
    -------
    int

    Examples
    --------
    >>> spectrogram_rate(44100, {"sr": 16000}), spectrogram_rate(44100, {"sr": None})
    (16000, 44100)
    """
    return int(settings["sr"] if settings["sr"] is not None else file_rate)


def frame_count(seconds, sr, settings):
    """Columns of the array of a clip of ``seconds`` at ``sr`` (after ``time_pool``).

    Counted by the computation itself (:func:`spectrogram_from_audio` of that
    much silence), so the STFT's centring, several ``resolutions`` and pooling
    count exactly as they do for a real clip.

    Parameters
    ----------
    seconds : float
        Length of the clip (``duration``, or the windows' ``length``).
    sr : int
        Sample rate of the spectrogram.
    settings : dict
        Complete spectrogram settings.

    Returns
    -------
    int
    """
    silence = np.zeros(int(round(seconds * sr)), dtype=np.float32)
    return spectrogram_from_audio(silence, sr, {**settings, "duration": seconds}).shape[1]


def resampled_coordinates(coords, n):
    """The coordinates of the ``n`` pixels that a resize draws from samples at ``coords`` (a row or a column).

    Pillow's resize centres output pixel ``j`` at input position
    ``(j + 0.5) * m / n - 0.5`` (``m`` input samples), whatever the filter; its
    coordinate is interpolated linearly between the two nearest samples
    (extrapolated linearly past the ends). ``n == m`` returns ``coords``.

    Parameters
    ----------
    coords : array_like
        Coordinate (Hz, seconds) of each input sample, in order.
    n : int
        Pixels after resizing.

    Returns
    -------
    np.ndarray
        float64 ``(n,)``.

    Examples
    --------
    >>> resampled_coordinates([0.0, 1.0, 2.0, 3.0], 2).tolist()
    [0.5, 2.5]
    >>> resampled_coordinates([0.0, 10.0], 4).tolist()
    [-2.5, 2.5, 7.5, 12.5]
    """
    coords = np.asarray(coords, dtype=np.float64)
    m = len(coords)
    if n == m or m == 1:
        return np.resize(coords, n)
    position = (np.arange(n) + 0.5) * m / n - 0.5
    low = np.clip(np.floor(position).astype(int), 0, m - 2)
    weight = position - low
    return coords[low] * (1.0 - weight) + coords[low + 1] * weight


def axes(sr, settings, seconds=None, size=None):
    """Frequency and time axes of the saved spectrograms of one sample rate (what an axes file holds per rate).

    The same for every channel (audio channels and ``resolutions`` share one
    grid: :func:`regrid`). Frequencies are those of :func:`frequencies` (mel:
    the centre of each filter, ``librosa.mel_frequencies``; linear: the STFT
    bins kept by ``fmin``/``fmax``); times those of :func:`frame_times`, from
    the start of the example. A PNG drawn at another size (``size``) has the
    coordinates of its pixels' centres (:func:`resampled_coordinates`).

    Parameters
    ----------
    sr : int
        The spectrogram's sample rate (:func:`spectrogram_rate`).
    settings : dict
        Complete spectrogram settings.
    seconds : float or None
        Length of every example (``duration``, or the windows' ``length``);
        ``None``: natural lengths, so no list of times.
    size : callable or None
        For a PNG: array shape ``(n_freq, n_frames)`` → image ``(height,
        width)`` per channel (``audio_processing.image_size`` with the
        ``image:`` settings); ``None`` for the arrays themselves.

    Returns
    -------
    dict
        ``sample_rate``; ``fmin_hz``, ``fmax_hz`` (the band kept);
        ``frequency_hz`` (one per row, low to high); ``time_s`` (one per
        column, or ``None`` at natural lengths); ``seconds_per_column`` and
        ``first_column_s`` (column ``t`` is at ``first_column_s + t *
        seconds_per_column``; ``None`` at natural lengths when the image is
        resized along time, as each file's width then has its own spacing).
    """
    freqs = frequencies(sr, settings)
    step = settings["hop_length"] * settings["time_pool"] / float(sr)
    first = float(frame_times(1, sr, settings)[0])
    times = None
    if seconds is not None:
        times = frame_times(frame_count(seconds, sr, settings), sr, settings)
    if size is not None:
        n_freq, n_frames = len(freqs), len(times) if times is not None else None
        height, width = size((n_freq, n_frames or 1000))
        freqs = resampled_coordinates(freqs, height)
        if times is not None:
            times = resampled_coordinates(times, width)
            step, first = step * n_frames / width, float(times[0])
        elif width != 1000 or size((n_freq, 1001))[1] != 1001:  # the image does not keep every width
            step = first = None
    return {
        "sample_rate": int(sr),
        "fmin_hz": float(settings["fmin"]),
        "fmax_hz": float(_fmax(sr, settings)),
        "frequency_hz": freqs.tolist(),
        "time_s": None if times is None else times.tolist(),
        "seconds_per_column": step,
        "first_column_s": first,
    }
