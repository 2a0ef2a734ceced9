"""Reading audio: the parse-time probe of a file and the loader of the spectrogram jobs.

:func:`check_audio` is the cheap check made before any job runs (the header,
and NaN or infinity in floating-point files); :func:`load_audio` decodes a
file for the spectrogram math. Both say in plain words why a file cannot be
used (:class:`AudioError`, or the reason string).
"""

import os

import numpy as np


class AudioError(ValueError):
    """An audio file that cannot be turned into a spectrogram."""


class SilentAudio(AudioError):
    """A recording with nothing in it: silent or constant (all samples equal), so its spectrogram is all zeros."""


#: The reason given for a silent recording (``on_silent: skip``).
SILENT_REASON = "the recording is silent or constant (all samples equal); on_silent: keep keeps such files"


def load_audio(path, sr=None, channels="mono", offset=0.0, duration=None):
    """Load an audio file (or a stretch of it) as float32, resampled to ``sr``.

    Parameters
    ----------
    path : str or os.PathLike
        The audio file.
    sr : int or None
        Target sample rate; ``None`` keeps the file's own rate.
    channels : {'mono', 'stereo', 'all'} or list of int
        ``'mono'`` averages the channels; ``'stereo'`` keeps the first two
        channels and duplicates a mono file, so every clip has two;
        ``'all'`` keeps every channel; a list keeps those channels (counted
        from 0) in its order. One channel kept gives ``(n,)``.
    offset : float
        Start reading this many seconds into the file.
    duration : float or None
        Read at most this many seconds; ``None`` reads to the end. Only the
        stretch read is decoded, so memory follows ``duration``, not the file.

    Returns
    -------
    y : np.ndarray
        Shape ``(n,)`` for one channel, ``(channels, n)`` for more.
    sr : int
        The sample rate of ``y``.

    Raises
    ------
    AudioError
        If the file cannot be decoded, is empty, or holds NaN or inf.
    """
    import librosa

    try:
        y, sr = librosa.load(path, sr=sr, mono=(channels == "mono"), offset=offset, duration=duration)
    except Exception as err:  # decoders raise many types; the message names the cause
        if "not finite" in str(err):  # librosa refuses to resample NaN/inf
            raise AudioError("the audio holds NaN or infinite samples") from err
        raise AudioError(f"cannot decode audio: {_decode_reason(path, err)}") from err
    if y.size == 0:
        raise AudioError("the file holds no audio samples")
    if not np.all(np.isfinite(y)):
        raise AudioError("the audio holds NaN or infinite samples")
    y = pick_channels(y, channels)
    return y.astype(np.float32, copy=False), int(sr)


def pick_channels(y, channels):
    """The channels of decoded audio that ``channels`` asks for (see :func:`load_audio`).

    Parameters
    ----------
    y : np.ndarray
        Audio as decoded: ``(n,)`` (mono, or already averaged) or ``(n_channels, n)``.
    channels : {'mono', 'stereo', 'all'} or list of int
        What to keep.

    Returns
    -------
    np.ndarray
        ``(n,)`` for one channel kept, else ``(channels, n)``.

    Raises
    ------
    AudioError
        If a listed channel is not in the file.
    """
    if channels == "mono":
        return y
    y = np.atleast_2d(y)
    if channels == "stereo":
        return np.repeat(y, 2, axis=0) if y.shape[0] == 1 else y[:2]
    if channels != "all":
        missing = [c for c in channels if c >= y.shape[0]]
        if missing:
            raise AudioError(
                f"the file has {y.shape[0]} channel(s) but spectrogram.channels asks for channel {missing[0]} "
                "(counted from 0)"
            )
        y = y[list(channels)]
    return y[0] if y.shape[0] == 1 else y


#: Sample formats that can hold NaN or infinity: :func:`check_audio` decodes these.
FLOAT_SUBTYPES = ("FLOAT", "DOUBLE")


def check_audio(path, block_frames=1 << 18, min_duration=None):
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
    min_duration : float or None
        Refuse a file shorter than this many seconds (a recording with no
        whole window under ``windows.last: drop``).

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
    if min_duration is not None and info.frames / info.samplerate < min_duration:
        return (
            f"the recording ({info.frames / info.samplerate:g} s) is shorter than one window ({min_duration:g} s) "
            "and windows.last is drop: set windows.last: pad to keep it"
        )
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
    else:  # the header is fine: the audio data is damaged (libsndfile says where when it reads it)
        try:
            for _ in soundfile.blocks(path, blocksize=1 << 16):
                pass
        except Exception as sf_err:  # noqa: BLE001
            return f"the audio data is damaged ({' '.join(str(sf_err).split())})"
    lines = str(err).strip().splitlines()
    reason = lines[-1].strip() if lines else type(err).__name__
    return reason.removeprefix(f"Error opening {os.fspath(path)!r}: ")


def audio_duration(path):
    """Length of an audio file in seconds, read from its header (or by the decoder when it has none)."""
    seconds = header_seconds(path)
    if seconds is not None:
        return seconds
    import librosa  # formats libsndfile cannot read

    try:
        return float(librosa.get_duration(path=path))
    except Exception as err:  # noqa: BLE001
        raise AudioError(f"cannot decode audio: {_decode_reason(path, err)}") from err


def header_facts(path):
    """Length in seconds and sample rate of an audio file from its header alone: ``(seconds, rate)``.

    ``(None, None)`` when the header does not say (e.g. formats libsndfile cannot read). The
    ``measure`` of ``discovery.check_files``, which remembers both with each file's check.
    """
    import soundfile

    try:
        info = soundfile.info(path)
    except Exception:  # noqa: BLE001 - e.g. formats libsndfile cannot read
        return None, None
    if info.samplerate <= 0:
        return None, None
    return info.frames / info.samplerate, int(info.samplerate)


def header_seconds(path):
    """Length of an audio file in seconds from its header alone, or ``None`` when the header does not say."""
    return header_facts(path)[0]


def audio_facts(path):
    """Duration in seconds, original sample rate and channel count of an audio file.

    Read from the header; for formats libsndfile cannot read, librosa decodes
    the file and the channel count is given as 0 (unknown).

    Returns
    -------
    tuple of (float, int, int)
        ``frames / samplerate`` exactly, the sample rate and the channels.
    """
    import soundfile

    try:
        info = soundfile.info(path)
        return info.frames / info.samplerate, int(info.samplerate), int(info.channels)
    except Exception:  # noqa: BLE001 - formats libsndfile cannot read (e.g. some mp3): ask librosa
        import librosa

        sr = librosa.get_samplerate(path)
        return librosa.get_duration(path=path), int(sr), 0


def header_channels(path):
    """Number of channels of an audio file, from its header (decoding it when the header cannot be read)."""
    import soundfile

    try:
        return int(soundfile.info(path).channels)
    except Exception:  # noqa: BLE001 - e.g. mp3 on an old libsndfile: decode it
        y, _ = load_audio(path, channels="all", duration=0.1)
        return 1 if y.ndim == 1 else y.shape[0]
