"""Rates and sizes of a run, worked out at parse time from the audio files' headers.

- :func:`rate_problem` and :func:`rate_warning` say, before any job, that
  files of different rates cannot share ``spectrogram.sr: null``, and that
  files recorded far above ``spectrogram.sr`` lose their high frequencies;
- :func:`estimate` counts the examples (clips or windows) the run makes and
  the bytes each branch writes for them, and :func:`estimate_line` says it.

Standard library (``audio_processing`` for a PNG's size); the rates and lengths come from the files'
headers (``audio_io.header_facts``, remembered with the file checks, ``discovery.check_files``).
"""

import math

#: Bytes per pixel of an 8-bit grayscale PNG of a spectrogram, roughly: spectrograms hold noise, which
#: compresses poorly (measured 0.6-0.9 on the demo's and FSDD's images).
PNG_BYTES_PER_PIXEL = 0.8
#: A file recorded at this many times ``spectrogram.sr`` or more is said to be far above it.
FAR_ABOVE = 2
#: Bytes of one BirdNET embedding (1,024 float32, scripts/birdnet.py), its frame and its cost on one core
#: (46-48 ms per 3-s frame measured on this project's machine, LiteRT, one thread).
EMBEDDING_BYTES = 1024 * 4
BIRDNET_FRAME_SECONDS = 3.0
BIRDNET_SECONDS_PER_FRAME = 0.05


def rate_problem(rates, sr):
    """Under ``spectrogram.sr: null``, the message naming files whose native rates differ, or ``None``.

    Parameters
    ----------
    rates : dict
        Audio path → native sample rate (files whose header says).
    sr : int or None
        ``spectrogram.sr``.

    Examples
    --------
    >>> rate_problem({"a.wav": 48000, "b.wav": 48000, "c.wav": 96000}, None).split(": ")[2].split(";")[0]
    '96000 Hz (c.wav) and 48000 Hz (2 files, e.g. a.wav)'
    >>> rate_problem({"a.wav": 48000, "c.wav": 96000}, 16000) is None
    True
    """
    if sr is not None:
        return None
    by_rate = {}
    for path, rate in sorted(rates.items()):
        by_rate.setdefault(rate, []).append(path)
    if len(by_rate) < 2:
        return None
    order = sorted(by_rate, key=lambda rate: (len(by_rate[rate]), -rate))
    named = [
        f"{rate} Hz ({by_rate[rate][0]})" if len(by_rate[rate]) == 1
        else f"{rate} Hz ({len(by_rate[rate])} files, e.g. {by_rate[rate][0]})"
        for rate in order
    ]
    return (
        f"spectrogram.sr: null keeps each file's own rate, but the files have {len(by_rate)} rates: "
        f"{', '.join(named[:-1])} and {named[-1]}; their spectrograms would not share frequency rows or "
        f"frame times: set spectrogram.sr (e.g. {max(by_rate)}, the highest) to resample every file to one rate"
    )


def rate_warning(rates, sr, far=FAR_ABOVE):
    """The warning for files recorded at ``far`` × ``spectrogram.sr`` or more, or ``None``.

    Examples
    --------
    >>> rate_warning({"a.wav": 96000, "b.wav": 256000, "c.wav": 16000}, 16000).split(" and ")[0]
    'spectrogram.sr: 2 of 3 files are recorded at up to 256000 Hz (e.g. b.wav)'
    """
    if sr is None:
        return None
    high = sorted((rate, path) for path, rate in rates.items() if rate >= far * sr)
    if not high:
        return None
    top = high[-1][0]
    example = min(path for rate, path in high if rate == top)
    return (
        f"spectrogram.sr: {len(high)} of {len(rates)} files are recorded at up to {top} Hz (e.g. {example}) and "
        f"will be resampled to {sr} Hz, losing everything above {sr / 2:g} Hz; set spectrogram.sr to a rate that "
        "keeps the calls (e.g. twice their highest frequency), or null to keep each file's own rate"
    )


def frames(seconds, sr, hop_length):
    """STFT frames of ``seconds`` of audio at ``sr`` (centred frames, as librosa makes them)."""
    return 1 + int(round(seconds * sr)) // hop_length


def freq_rows(sr, settings):
    """Frequency rows of a spectrogram before pooling: ``n_mels``, or the linear STFT bins from fmin to fmax."""
    if settings["type"] == "mel":
        return settings["n_mels"]
    top = settings["fmax"] if settings["fmax"] is not None else sr / 2
    step = sr / settings["n_fft"]
    return sum(1 for k in range(settings["n_fft"] // 2 + 1) if settings["fmin"] <= k * step <= top)


def example_shape(seconds, sr, settings, channels=1):
    """``(n_freq, n_frames, channels)`` of the spectrogram of one example of ``seconds`` at ``sr`` (after pooling).

    Examples
    --------
    >>> settings = {"type": "mel", "n_mels": 64, "hop_length": 512, "time_pool": 1, "freq_pool": 1}
    >>> example_shape(2.0, 16000, settings)
    (64, 63, 1)
    """
    rows = freq_rows(sr, settings) // settings["freq_pool"]
    return rows, frames(seconds, sr, settings["hop_length"]) // settings["time_pool"], channels


def example_bytes(seconds, sr, spectrogram, channels=1, image=None):
    """Bytes of one example's float32 array, and of its PNG (0 without ``image``) at :data:`PNG_BYTES_PER_PIXEL`."""
    rows, cols, depth = example_shape(seconds, sr, spectrogram, channels)
    if image is None:
        return rows * cols * depth * 4, 0.0
    from audio_processing import image_size

    height, width = image_size((rows, cols), image)
    return rows * cols * depth * 4, height * depth * width * PNG_BYTES_PER_PIXEL


def estimate(durations, rates, spectrogram, windows=None, channels=1, image=None):
    """How many examples the run makes and how many bytes each branch writes for them.

    Parameters
    ----------
    durations : dict
        Audio path → length in seconds (files whose header says; the others are not counted).
    rates : dict
        Audio path → native sample rate (used under ``spectrogram.sr: null``).
    spectrogram : dict
        Complete ``spectrogram:`` settings.
    windows : dict or None
        The ``windows:`` section when recordings are cut into windows.
    channels : int
        Channels of each array (``spectrogram_math.n_channels``).
    image : dict or None
        Complete ``image:`` settings, for the PNG branch's size.

    Returns
    -------
    dict
        ``files`` (counted), ``examples`` (clips or windows), ``npy`` (bytes of float32
        arrays, headers left out), ``png`` (bytes, at :data:`PNG_BYTES_PER_PIXEL`),
        ``birdnet`` (bytes of the BirdNET embeddings, 1,024 float32 per example) and
        ``birdnet_frames`` (the 3-s frames BirdNET runs on: an example's length in whole frames, rounded up).
    """
    from spectrogram_math import window_bounds

    counts, sizes = {"files": 0, "examples": 0, "npy": 0, "png": 0, "birdnet": 0, "birdnet_frames": 0}, {}
    for path, seconds in durations.items():
        sr = spectrogram["sr"] or rates.get(path)
        if sr is None or seconds is None:
            continue
        if windows is not None:
            n = len(window_bounds(seconds, windows["length"], windows["hop"], windows["last"]))
            length = windows["length"]
        else:
            n, length = 1, spectrogram["duration"] if spectrogram["duration"] is not None else seconds
        if (length, sr) not in sizes:  # one shape per length and rate: the parse stays fast for 50,000 files
            sizes[(length, sr)] = example_bytes(length, sr, spectrogram, channels, image)
        counts["files"] += 1
        counts["examples"] += n
        counts["npy"] += n * sizes[(length, sr)][0]
        counts["png"] += n * sizes[(length, sr)][1]
        counts["birdnet"] += n * EMBEDDING_BYTES
        counts["birdnet_frames"] += n * max(1, math.ceil(length / BIRDNET_FRAME_SECONDS - 1e-9))
    counts["png"] = int(counts["png"])
    return counts


def size_text(n_bytes):
    """A size for a log line, three significant digits: ``'435 kB'``, ``'46 GB'``.

    Examples
    --------
    >>> size_text(435_000), size_text(46e9), size_text(1.25e12)
    ('435 kB', '46 GB', '1.25 TB')
    """
    value, unit = float(n_bytes), "B"
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 999.5 or unit == "TB":
            break
        value /= 1000
    return f"{value:.3g} {unit}"


def estimate_line(counts, branches, windows=None, total=None):
    """The line the run logs at the start: examples and the size each branch writes (and BirdNET's CPU time).

    Examples
    --------
    >>> estimate_line({"files": 500, "examples": 1800000, "npy": 46e9, "png": 9.2e9}, ["npy", "png"], {"length": 2})
    'this run makes 1,800,000 windows of 500 recordings: about 46 GB (npy), 9.2 GB (png) of spectrograms'
    >>> estimate_line({"files": 30, "examples": 30, "npy": 1e6, "png": 0, "birdnet": 122880, "birdnet_frames": 40},
    ...               ["npy", "birdnet"])
    'this run makes 30 clips of 30 files: about 1 MB (npy), 123 kB (birdnet) of spectrograms and embeddings; BirdNET runs on 40 frames of 3 s (about 2 CPU s)'
    """
    unit, whole = ("windows", "recordings") if windows is not None else ("clips", "files")
    sizes = ", ".join(f"{size_text(counts[branch])} ({branch})" for branch in branches)
    unknown = ""
    if total and total > counts["files"]:
        unknown = f" (and {total - counts['files']:,} files whose header gives no length)"
    line = (
        f"this run makes {counts['examples']:,} {unit} of {counts['files']:,} {whole}{unknown}: "
        f"about {sizes} of spectrograms"
    )
    if "birdnet" in branches:
        seconds = counts["birdnet_frames"] * BIRDNET_SECONDS_PER_FRAME
        cpu = f"{seconds / 3600:.3g} CPU hours" if seconds >= 3600 else f"{seconds:.0f} CPU s"
        line += f" and embeddings; BirdNET runs on {counts['birdnet_frames']:,} frames of 3 s (about {cpu})"
    return line
