"""Spectrogram batches: which files one spectrogram job computes.

A batch is a prefix of the SHA-256 of a file's id, so a file's batch does not
depend on the other files (see :func:`batch_count`). Pure standard-library
code: it runs at every Snakemake parse.
"""

import hashlib


#: Seconds of computing per second of audio of a spectrogram job, at worst: 0.19 was measured for 256 kHz audio kept
#: at its rate (sr: null; 0.067 resampled to 16 kHz, 0.033 from 96 kHz) on one core of the 2-core CI machine while
#: another job ran (2026-12-03, 2-s windows every second, the default spectrogram settings), with a quarter more.
SECONDS_PER_AUDIO_SECOND = 0.25
#: Seconds a spectrogram job needs before its first file on a cluster node: Snakemake's start, twice, and the
#: worker's imports (6-10 s measured, docs/slurm.md), with room for a slow shared file system.
STARTUP_SECONDS = 60.0
#: How many times the expected time a job asks for (a busy node, slower storage).
RUNTIME_MARGIN = 2.0
#: The fewest minutes a job asks for (the former fixed runtime of every spectrogram job).
MIN_RUNTIME = 5
#: Memory of a spectrogram job before its arrays (Snakemake, librosa and the worker's imports), in MB.
BASE_MEM_MB = 1500


def batch_count(n_files, files_per_job, seconds=0.0, seconds_per_job=None):
    """Number of spectrogram batches: the smallest power of two holding the files at both sizes.

    At least ``n_files / files_per_job`` batches and, with ``seconds_per_job``,
    ``seconds / seconds_per_job``: a batch holds about ``files_per_job``
    clips, or about ``seconds_per_job`` seconds of long recordings, whichever
    makes more batches. A power of two, so that batches are prefixes of a
    hash: when the dataset grows past a doubling, every batch splits in two;
    between doublings a new file joins one existing batch and leaves the
    others untouched.

    Examples
    --------
    >>> batch_count(3000, 32), batch_count(500, 32, seconds=500 * 3600.0, seconds_per_job=3600)
    (128, 512)
    """
    needed = max(1, -(-n_files // max(1, files_per_job)))
    if seconds_per_job:
        needed = max(needed, int(-(-float(seconds) // float(seconds_per_job))))
    return 1 << (needed - 1).bit_length()


def batch_index(clip_id, n_batches):
    """The batch of a clip: the top bits of a SHA-256 of its id (independent of the other files)."""
    if n_batches == 1:
        return 0
    bits = n_batches.bit_length() - 1
    return int(hashlib.sha256(clip_id.encode("utf-8")).hexdigest()[:8], 16) >> (32 - bits)


def plan_batches(clip_ids, files_per_job, seconds=None, seconds_per_job=None):
    """Group clip ids into spectrogram jobs.

    Parameters
    ----------
    clip_ids : iterable of str
        Ids of the run's clips.
    files_per_job : int
        Target files per job (about half to the full number per batch).
    seconds : dict or None
        Clip id → seconds of audio (for ``seconds_per_job``).
    seconds_per_job : float or None
        Target seconds of audio per job (:func:`batch_count`).

    Returns
    -------
    dict
        Batch name (``b0007`` …) → sorted clip ids; empty batches are left out.
    """
    clip_ids = list(clip_ids)
    total = sum((seconds or {}).get(clip, 0.0) for clip in clip_ids)
    n_batches = batch_count(len(clip_ids), files_per_job, total, seconds_per_job)
    width = max(2, len(str(n_batches - 1)))
    batches = {}
    for clip in sorted(clip_ids):
        batches.setdefault(f"b{batch_index(clip, n_batches):0{width}d}", []).append(clip)
    return dict(sorted(batches.items()))


def batch_digest(members):
    """What a spectrogram job's outputs are made of, as 12 hex digits: a part of its facts table's name.

    Parameters
    ----------
    members : iterable of (str, str, str)
        ``(clip id, audio path, content digest)`` of each file of the job.

    Returns
    -------
    str
        A digest that changes whenever a file joins or leaves the job, is
        renamed or moved, or its content changes. Naming the facts table by it
        changes the catalog's set of inputs, so the catalog reruns and
        Snakemake runs exactly the jobs whose facts tables it then finds
        missing, whatever it recorded (or did not record) about those jobs'
        earlier outputs.
    """
    digest = hashlib.sha256()
    for member in sorted(members):
        digest.update("\0".join(member).encode("utf-8") + b"\n")
    return digest.hexdigest()[:12]


# --- prediction batches: sized by seconds of audio -------------------------------------------------

#: Seconds of computing per second of audio of a ``predict`` job (every window's spectrogram and the CNN):
#: 0.033 measured on the 2-core CI machine under a load of about 7 (wall clock; 0.011 s of CPU), with the
#: windowed model of tests/test_windows_workflow.py (1-s windows every 0.5 s, 24 mel bands) on a 30-minute
#: 96 kHz recording resampled to 16 kHz (2026-12-03; a 10-minute 16 kHz one: 0.018). Bigger models cost more:
#: hence the margin.
PREDICT_SECONDS_PER_AUDIO_SECOND = 0.033
#: How many times the expected time a prediction job asks for (a bigger model, a busy node, slower storage).
PREDICT_RUNTIME_MARGIN = 3.0
#: Seconds a prediction job needs before its first window: Snakemake twice, TensorFlow and the model
#: (30 s measured under load on the CI machine, 14 s of CPU).
PREDICT_STARTUP_SECONDS = 60.0
#: Memory of a prediction job, in MB: it reads a chunk of 256 windows at a time, so it does not grow with the
#: audio (816 MB peak measured for 10- and 30-minute recordings alike), with room for a bigger model.
PREDICT_MEM_MB = 3000


def plan_prediction_batches(seconds, target_seconds):
    """Group recordings into prediction jobs of about ``target_seconds`` of audio each.

    Recordings are taken in the order given (the folder's, as discovered) and added to the current batch while
    it stays within the target; a recording that would take it past the target starts the next batch, so a
    recording longer than the target is a batch of its own. The same recordings always give the same batches (a
    killed run resumes them); recordings named by their start time that are added later join the last batches
    only, but one added in the middle of the order moves the batches after it (they rerun).

    Parameters
    ----------
    seconds : dict
        Relative path → seconds of audio (None or unknown counts as 0), in the order of the predictions.
    target_seconds : float
        Seconds of audio per batch to aim at.

    Returns
    -------
    dict
        Batch name (``p0000`` …) → relative paths, in the order given; no batch is empty.

    Examples
    --------
    >>> plan_prediction_batches({"a": 40.0, "b": 30.0, "c": 200.0, "d": 10.0}, 100)
    {'p0000': ['a', 'b'], 'p0001': ['c'], 'p0002': ['d']}
    """
    batches, current, total = [], [], 0.0
    for rel, length in seconds.items():
        length = float(length or 0.0)
        if current and total + length > target_seconds:
            batches.append(current)
            current, total = [], 0.0
        current.append(rel)
        total += length
    if current:
        batches.append(current)
    width = max(4, len(str(len(batches) - 1)))
    return {f"p{i:0{width}d}": members for i, members in enumerate(batches)}


def prediction_runtime(audio_seconds, rate=PREDICT_SECONDS_PER_AUDIO_SECOND, margin=PREDICT_RUNTIME_MARGIN,
                       startup=PREDICT_STARTUP_SECONDS):
    """Minutes a prediction job of ``audio_seconds`` of audio asks for, at least ``MIN_RUNTIME``.

    ``margin`` × (``startup`` + ``audio_seconds`` × ``rate``), rounded up to whole minutes. The
    spectrogram jobs' runtime is the same with their own rate, margin and start-up (:func:`job_resources`).

    Examples
    --------
    >>> prediction_runtime(4 * 3600.0)  # four hours of audio: 3 x (60 s + 475 s)
    27
    >>> prediction_runtime(30.0)
    5
    """
    return max(MIN_RUNTIME, int(-(-margin * (startup + float(audio_seconds) * rate) // 60)))


#: Seconds of one core per 3-s BirdNET frame (46-48 ms measured, LiteRT, one thread; scripts/birdnet.py).
BIRDNET_SECONDS_PER_FRAME = 0.05
#: Memory of a worker that holds the BirdNET interpreter, beyond BASE_MEM_MB (measured: about 380 MB).
BIRDNET_MEM_MB = 500


def birdnet_rate(windows=None):
    """Seconds of one core BirdNET takes per second of audio: 3-s frames of clips, or one frame per 3 s of each window.

    Windows overlap (``hop`` < ``length``): each second of audio is in ``length / hop`` windows.

    Examples
    --------
    >>> round(birdnet_rate(), 4), round(birdnet_rate({"length": 1.0, "hop": 0.5}), 4)
    (0.0167, 0.1)
    """
    if windows is None:
        return BIRDNET_SECONDS_PER_FRAME / 3.0
    hop = windows.get("hop") or windows["length"]
    frames_per_window = max(1, -(-windows["length"] // 3.0))
    return BIRDNET_SECONDS_PER_FRAME * frames_per_window / hop


def embedding_resources(seconds, windows=None):
    """Slurm ``runtime`` (minutes) and ``mem_mb`` of an embedding job of ``seconds`` of audio (:func:`birdnet_rate`).

    Examples
    --------
    >>> embedding_resources(32 * 3600.0, {"length": 2.0, "hop": 1.0})  # 32 one-hour recordings
    {'runtime': 194, 'mem_mb': 2000}
    """
    runtime = prediction_runtime(float(seconds), birdnet_rate(windows), RUNTIME_MARGIN, STARTUP_SECONDS)
    return {"runtime": runtime, "mem_mb": BASE_MEM_MB + BIRDNET_MEM_MB}


def job_resources(seconds, array_bytes, channels=1):
    """Slurm ``runtime`` (minutes) and ``mem_mb`` of a spectrogram job from the audio it holds.

    Parameters
    ----------
    seconds : float
        Seconds of audio of all the job's files.
    array_bytes : float
        Bytes of float32 arrays of its largest file (all in memory at once;
        ``scale.estimate`` of that file).
    channels : int
        Channels computed per file (each costs as much as a mono file).

    Returns
    -------
    dict
        ``runtime``: ``RUNTIME_MARGIN`` × (``STARTUP_SECONDS`` + seconds ×
        channels × ``SECONDS_PER_AUDIO_SECOND``), in whole minutes, at least
        ``MIN_RUNTIME``; ``mem_mb``: ``BASE_MEM_MB`` plus three copies of the
        largest file's arrays (the NPY array, the PNG strip and its 8-bit copy).

    Examples
    --------
    >>> job_resources(32 * 3600.0, 3600 * 64 * 126 * 4)  # 32 one-hour recordings, 2-s windows every second
    {'runtime': 962, 'mem_mb': 1849}
    >>> job_resources(32 * 0.5, 64 * 32 * 4)  # 32 half-second clips
    {'runtime': 5, 'mem_mb': 1501}
    """
    runtime = prediction_runtime(float(seconds) * channels, SECONDS_PER_AUDIO_SECOND, RUNTIME_MARGIN, STARTUP_SECONDS)
    mem_mb = BASE_MEM_MB + int(-(-3 * float(array_bytes) // 1e6))
    return {"runtime": runtime, "mem_mb": mem_mb}
