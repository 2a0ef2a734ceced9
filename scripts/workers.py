"""Warm worker processes for the spectrogram jobs of one Snakemake process.

The spectrogram rules are ``run:`` rules that Snakemake runs in threads of
its own process (``force-use-threads``): a new process per job would pay
librosa's start-up (seconds) for milliseconds of work. Threads share the
GIL, though, so the computation and Snakemake's bookkeeping would take turns
on one core. A job therefore hands its files to a pool of worker processes
that lives as long as the Snakemake process: the imports are paid once per
worker (in a fork server that forks warm workers), every core computes, and
the bookkeeping keeps the GIL of the Snakemake process to itself.

The pool degrades to computing in the calling process where it cannot help:
with one core (``--cores 1``, a cluster job of one core), for the first job of
a process when that job has a single file (a lone ``snakemake
results/specs/x.npy``), and where worker processes cannot be started (no
working semaphores, e.g. a container without ``/dev/shm``). A pool whose
worker died is dropped and its batch is computed in the calling process.
"""

import concurrent.futures
import multiprocessing
import os
import threading

# Imported once, in the fork server: every worker forked from it starts warm.
PRELOAD = ["numpy", "soundfile", "librosa", "PIL.PngImagePlugin", "audio_processing"]

_lock = threading.Lock()
_state = {"pool": None, "size": 0, "calls": 0, "broken": False}


def chunks(items, n):
    """Split ``items`` into at most ``n`` contiguous chunks of near-equal size (none empty)."""
    if not items:
        return []
    n = max(1, min(n, len(items)))
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for i in range(n):
        stop = start + size + (1 if i < extra else 0)
        out.append(items[start:stop])
        start = stop
    return out


def compute(jobs, settings, windows=None):
    """Both branches of every ``(audio, npy, png)`` in ``jobs``, in this process.

    With ``windows`` (``length``, ``hop``, ``last``) each file is cut into
    fixed windows (``audio_processing.process_windows``); without, it is one clip.

    Returns
    -------
    tuple of (str, str) or None
        ``(audio path, reason)`` of the first file that is not usable audio
        (an ``audio_io.AudioError``), after which nothing more is
        computed; ``None`` when every file was written.
    """
    import audio_processing

    for audio, npy, png in jobs:
        try:
            if windows is not None:
                audio_processing.process_windows(audio, npy, png, settings, windows)
            else:
                audio_processing.process_file(audio, npy, png, settings)
        except audio_processing.AudioError as err:
            return audio, str(err)
    return None


def _context():
    """A fork server where the platform has one (imports paid once, in the server), else spawn."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(PRELOAD)
    return context


def usable_cpus():
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def get_pool(size):
    """This process's pool of ``size`` warm workers, created on first use (thread-safe).

    Returns ``None`` when worker processes cannot be started here; later calls
    do not try again.
    """
    with _lock:
        if _state["broken"]:
            return None
        if _state["pool"] is None or _state["size"] != size:
            if _state["pool"] is not None:
                _state["pool"].shutdown(wait=False, cancel_futures=True)
            try:
                _state["pool"] = concurrent.futures.ProcessPoolExecutor(size, mp_context=_context())
            except (OSError, ImportError, NotImplementedError, ValueError):
                _state["broken"] = True
                return None
            _state["size"] = size
        return _state["pool"]


def _drop_pool(pool, broken=False):
    """Forget ``pool`` (a worker died); ``broken``: never start another in this process."""
    with _lock:
        if _state["pool"] is pool:
            _state["pool"], _state["size"] = None, 0
        _state["broken"] = _state["broken"] or broken
    pool.shutdown(wait=False, cancel_futures=True)


def use_pool(cores, n_files):
    """Whether a job of ``n_files`` files in a process with ``cores`` cores should use the pool."""
    with _lock:
        _state["calls"] += 1
        calls, running = _state["calls"], _state["pool"] is not None
    return cores >= 2 and (running or n_files >= 2 or calls >= 2)


def process_files(jobs, settings, cores, windows=None):
    """Compute every ``(audio, npy, png)`` of ``jobs``, on the pool where it helps.

    Parameters
    ----------
    jobs : list of tuple of str
        ``(audio path, npy path, png path)`` per file.
    settings : dict
        Spectrogram settings (the ``spectrogram:`` section of the configuration).
    cores : int
        Cores this process may use (Snakemake's ``--cores``); the pool has
        ``min(cores, usable CPUs)`` workers.
    windows : dict or None
        Fixed windows of long recordings (the ``windows:`` section), or
        ``None`` for one clip per file.

    Returns
    -------
    tuple of (str, str) or None
        As :func:`compute`: the first unusable file and why, or ``None``.
    """
    jobs = [tuple(job) for job in jobs]
    size = min(cores, usable_cpus())
    pool = get_pool(size) if jobs and use_pool(size, len(jobs)) else None
    if pool is None:
        return compute(jobs, settings, windows)
    try:
        futures = [pool.submit(compute, part, settings, windows) for part in chunks(jobs, 2 * size)]
    except OSError:  # workers cannot be started here: this process computes from now on
        _drop_pool(pool, broken=True)
        return compute(jobs, settings, windows)
    try:
        problems = [future.result() for future in futures]
    except concurrent.futures.process.BrokenProcessPool:  # a worker died: this batch here, a new pool next time
        _drop_pool(pool)
        return compute(jobs, settings, windows)
    return next((problem for problem in problems if problem is not None), None)


def run_job(audio, npy, png, settings, log, cores, windows=None):
    """The body of a spectrogram job: both branches of every file, one computation each.

    Called by the spectrogram rules (``rules/spectrogram.smk``) in a thread of
    the Snakemake process; the files go to this process's pool of warm
    workers (:func:`process_files`).

    Parameters
    ----------
    audio, npy, png : list of str
        The job's audio files and the spectrograms each one makes, in order.
    settings : dict
        Spectrogram settings.
    log : str
        The job's log; written only when a file is not usable audio.
    cores : int
        Cores of the Snakemake process.
    windows : dict or None
        See :func:`process_files`.

    Raises
    ------
    snakemake.exceptions.WorkflowError
        Naming the first file that is not usable audio, and why.
    """
    problem = process_files(list(zip(audio, npy, png)), settings, cores or 1, windows)
    if problem is not None:
        from snakemake.exceptions import WorkflowError

        message = "{}: {}".format(*problem)
        with open(log, "w", encoding="utf-8") as f:
            f.write(f"{message}\n")
        raise WorkflowError(message)
