"""Warm worker processes for the spectrogram jobs of one Snakemake process.

The spectrogram rules are ``run:`` rules that Snakemake runs in threads of
its own process (``force-use-threads``): a new process per job would pay
librosa's start-up (seconds) for milliseconds of work. Threads share the
GIL, though, so the computation and Snakemake's bookkeeping would take turns
on one core. A job therefore hands its files to a pool of worker processes
that lives as long as the Snakemake process: the imports are paid once per
worker (in a fork server that forks warm workers), every core computes, and
the bookkeeping keeps the GIL of the Snakemake process to itself.

The pool degrades to computing in the calling process only for the first job
of a process when that job has a single file and no fork server was started
ahead (:func:`prestart`, which a real local run calls while Snakemake builds
its DAG), and where worker processes cannot be started (no working
semaphores, e.g. a container without ``/dev/shm``). With one core
(``--cores 1``, a cluster job of one core) the pool has one worker: it computes
no faster than the calling process would (which would import librosa all the
same), but a crashing or hanging decoder is isolated and timed out there too.

A decoder that crashes (a segfault, an out-of-memory kill) or hangs must not
take the Snakemake process down: a chunk whose worker died, or that takes
longer than ``file_timeout`` seconds per file, is never computed in the
calling process. The pool is torn down (its stuck workers killed) and the
chunk's files are retried one at a time, each in a fresh worker process; a
file that crashes or runs out of time again is the job's problem, named with
its reason. Workers die with their parent, so none outlives a ``kill -9`` of
Snakemake to rename an old output over a fresh one.
"""

import concurrent.futures
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time

# Imported once, in the fork server: every worker forked from it starts warm. librosa loads its
# submodules lazily, on first use: the ones a spectrogram uses are named, or every worker (and every
# one-file retry) would pay seconds of imports on its first file.
PRELOAD = [
    "numpy",
    "soundfile",
    "librosa",
    "librosa.core.audio",
    "librosa.core.spectrum",
    "librosa.feature.spectral",
    "librosa.filters",
    "PIL.PngImagePlugin",
    "audio_processing",
]

_lock = threading.Lock()
_state = {"pool": None, "size": 0, "calls": 0, "broken": False, "prestarted": False}


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


def process_one(audio, outputs, settings, windows=None, refuse_silent=False, image=None):
    """Every output of one file (``outputs``: form → path): one clip, or fixed windows with ``windows``.

    The default per-file work of :func:`compute`; tests pass a stand-in (a
    decoder that crashes or hangs) with the same signature. With
    ``refuse_silent`` a silent or constant recording is an ``audio_io.SilentAudio``;
    ``image`` holds the ``image:`` settings (see ``audio_processing.process_file``).
    """
    import audio_processing

    if windows is not None:
        audio_processing.process_windows(audio, outputs, settings, windows, refuse_silent, image)
    else:
        audio_processing.process_file(audio, outputs, settings, refuse_silent, image)


def compute(jobs, settings, windows=None, work=process_one):
    """Every output of every ``(audio, outputs)`` in ``jobs``, in this process.

    With ``windows`` (``length``, ``hop``, ``last``) each file is cut into
    fixed windows (``audio_processing.process_windows``); without, it is one clip.
    ``work`` is the per-file function (:func:`process_one`; a module-level
    function, so that it reaches worker processes).

    Returns
    -------
    tuple of (str, str) or None
        ``(audio path, reason)`` of the first file that is not usable audio
        (an ``audio_io.AudioError``), after which nothing more is
        computed; ``None`` when every file was written.
    """
    from audio_io import AudioError

    for audio, outputs in jobs:
        try:
            work(audio, outputs, settings, windows)
        except AudioError as err:
            return audio, str(err)
    return None


def _share_path():
    """Put this folder (scripts/) on ``PYTHONPATH``, so that the fork server can import :data:`PRELOAD`.

    Python 3.11's fork server does not take its parent's ``sys.path`` (it is
    sent, then ignored) and skips a preload module it cannot import without a
    word: without this, ``audio_processing`` was imported again by every worker.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if here not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([here] + paths)


def _context():
    """A fork server where the platform has one (imports paid once, in the server), else spawn."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        _share_path()
        context.set_forkserver_preload(PRELOAD)
    return context


def usable_cpus():
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def default_file_timeout():
    """The schema's default of ``file_timeout`` (seconds per file), for callers outside the workflow."""
    import settings

    return settings._schema()["properties"]["file_timeout"]["default"]


# Linux's prctl option that sends this process a signal when the thread that forked it ends.
PR_SET_PDEATHSIG = 1


def _parent_death_signal(signum):
    """Ask Linux to send ``signum`` to this process when its parent ends; whether that worked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent, interval=0.5):
    """End this process as soon as its parent ``parent`` is gone (it is then adopted by another)."""
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(1)


def _alive(pid):
    """Whether a process ``pid`` exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _release_fork_server():
    """Close this process's copy of the fork server's "Snakemake is alive" pipe (a fork-server child only).

    The fork server ends when the write ends of that pipe are all closed, and
    multiprocessing hands one to every process it forks: while a worker holds
    it, the fork server outlives Snakemake, and so the worker outlives its parent.
    """
    server = getattr(getattr(multiprocessing, "forkserver", None), "_forkserver", None)
    fd = getattr(server, "_forkserver_alive_fd", None)
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass
        server._forkserver_alive_fd = None


def die_with_parent(use_prctl, owner):
    """Make this worker process end when its parent does (the initializer of every worker).

    A worker's parent is the fork server, which ends when the Snakemake process
    does once no worker holds its pipe (:func:`_release_fork_server`), or
    Snakemake itself under spawn. On Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``
    then kills the worker at once, even inside a decoder that never returns;
    elsewhere, and under spawn (where the "parent" prctl watches would be
    whichever Snakemake thread started the worker), a daemon thread polls
    ``os.getppid()``. A parent or owner that died before the signal was armed
    is caught by checking both afterwards.

    Parameters
    ----------
    use_prctl : bool
        Whether the parent is the fork server, single-threaded for as long as
        it lives, so that prctl may watch it.
    owner : int
        Process id of the process that owns the pool (Snakemake).
    """
    _release_fork_server()
    parent = os.getppid()
    armed = use_prctl and _parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent or not _alive(owner):
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="watch-parent").start()


def _death_watch(context):
    """Arguments of :func:`die_with_parent` for a worker started from ``context`` by this process."""
    return context.get_start_method() == "forkserver", os.getpid()


def prestart():
    """Start this process's fork server now, in the background, so that the first job finds it warm.

    The fork server imports :data:`PRELOAD` (2-3 s) once; started while
    Snakemake still builds its DAG, that time overlaps with the DAG instead of
    delaying the first spectrogram job. Does nothing where there is no fork
    server (spawn) or it cannot be started (the pool then finds out itself).
    Once it is started, even a first job of one file goes to the pool
    (:func:`use_pool`): the imports are under way there already.
    """
    context = _context()
    if context.get_start_method() != "forkserver":
        return
    import multiprocessing.forkserver

    try:
        multiprocessing.forkserver.ensure_running()
    except (OSError, ValueError):
        return
    with _lock:
        _state["prestarted"] = True


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
                context = _context()
                _state["pool"] = concurrent.futures.ProcessPoolExecutor(
                    size, mp_context=context, initializer=die_with_parent, initargs=_death_watch(context)
                )
            except (OSError, ImportError, NotImplementedError, ValueError):
                _state["broken"] = True
                return None
            _state["size"] = size
        return _state["pool"]


def _kill_workers(pool):
    """Kill every worker process of ``pool`` (a stuck decoder does not return by itself)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            process.kill()
        except (OSError, ValueError):  # already gone, or already closed
            pass


def _drop_pool(pool, broken=False, kill=False):
    """Forget ``pool`` (a worker died or hangs); ``kill``: kill its workers; ``broken``: never start another."""
    with _lock:
        if _state["pool"] is pool:
            _state["pool"], _state["size"] = None, 0
        _state["broken"] = _state["broken"] or broken
    if kill:
        _kill_workers(pool)
    pool.shutdown(wait=False, cancel_futures=True)


def use_pool(cores, n_files):
    """Whether a job of ``n_files`` files in a process with ``cores`` cores should use the pool.

    Always, but for the first job of a process when it has one file and no
    fork server was started ahead: computing that file here imports librosa
    into this process (2-3 s) no slower than a fork server would. Once
    :func:`prestart` has started the fork server, whose imports overlap the
    DAG, the pool is used from the first file on: computing here would import
    everything a second time, in Snakemake's process (with ``files_per_job: 1``,
    the job of one added file took 3.2 to 4.7 s that way, 1.2 to 1.9 s on the
    pool: docs/performance.md).
    """
    with _lock:
        _state["calls"] += 1
        calls = _state["calls"]
        running = _state["pool"] is not None or _state["prestarted"]
    return running or n_files >= 2 or calls >= 2


def crash_reason(exitcode):
    """Why a worker process that ended with ``exitcode`` without an answer is gone (a sentence).

    Examples
    --------
    >>> crash_reason(-11)
    'the decoder crashed (worker killed by signal 11, SIGSEGV)'
    """
    if exitcode is not None and exitcode < 0:
        try:
            name = f", {signal.Signals(-exitcode).name}"
        except ValueError:
            name = ""
        hint = " - out of memory?" if -exitcode == signal.SIGKILL else ""
        return f"the decoder crashed (worker killed by signal {-exitcode}{name}{hint})"
    return f"the decoder crashed (worker exited with code {exitcode})"


def file_limit(file_timeout, seconds=None):
    """Seconds one file may take: ``file_timeout`` per minute of its audio, and at least ``file_timeout``.

    A recording of an hour may take 60 times what a clip may, so a time limit
    that catches a hung decoder on clips does not kill the work on long
    recordings (``seconds``: the file's length from its header; None counts
    as a clip).

    Examples
    --------
    >>> file_limit(300), file_limit(300, 30.0), file_limit(300, 3600.0)
    (300.0, 300.0, 18000.0)
    """
    return float(file_timeout) * max(1.0, float(seconds or 0.0) / 60.0)


def timeout_reason(limit, file_timeout=None):
    """The reason given for a file whose work took longer than ``limit`` seconds (:func:`file_limit`)."""
    file_timeout = limit if file_timeout is None else file_timeout
    return (f"reading and computing it took longer than {limit:g} s (file_timeout: {file_timeout:g} s per minute of "
            "audio, at least that per file), a hung decoder or a very slow disk; its worker was killed")


def _alone(send, job, settings, windows, work, death_watch):
    """Body of a fresh worker process for one file: say it is ready, compute, send the outcome to ``send``."""
    die_with_parent(*death_watch)
    send.send(("ready", None))
    try:
        outcome = ("done", compute([job], settings, windows, work))
    except Exception as err:  # raised in the job's thread, as the pool would
        outcome = ("raised", err)
    try:
        send.send(outcome)
    except Exception:  # an exception that does not pickle
        send.send(("raised", RuntimeError(repr(outcome[1]))))


def _next_message(receive, timeout, late):
    """The next message of a one-file worker: ``("late", late)`` after ``timeout`` s, ``("crashed", None)`` if it died."""
    try:
        return receive.recv() if receive.poll(timeout) else ("late", late)
    except EOFError:
        return "crashed", None


def compute_alone(job, settings, windows, work, file_timeout, start_timeout=600, limit=None):
    """One file in a fresh worker process, which is killed after ``limit`` (default ``file_timeout``) seconds of work.

    The clock starts when the worker is ready: its start-up (a fork server's
    imports on a busy machine) does not count, up to ``start_timeout`` seconds.

    Returns
    -------
    tuple of (str, str) or None
        As :func:`compute`, and ``(audio path, reason)`` also when the worker
        crashed (:func:`crash_reason`), ran out of time (:func:`timeout_reason`)
        or could not be started.

    Raises
    ------
    Exception
        What the work raised in the worker (other than an unusable file).
    """
    context = _context()
    receive, send = context.Pipe(duplex=False)
    args = (send, job, settings, windows, work, _death_watch(context))
    process = context.Process(target=_alone, args=args, daemon=True)
    try:
        process.start()
    except OSError as err:
        return job[0], f"no worker process could be started to retry it ({err})"
    finally:
        send.close()
    try:
        message = _next_message(receive, start_timeout, f"no worker process started within {start_timeout:g} s")
        if message[0] == "ready":
            limit = file_timeout if limit is None else limit
            message = _next_message(receive, limit, timeout_reason(limit, file_timeout))
    finally:
        receive.close()
    if message[0] == "late":
        process.kill()
    process.join()
    kind, value = message
    if kind == "raised":
        raise value
    if kind == "crashed":
        return job[0], crash_reason(process.exitcode)
    return (job[0], value) if kind == "late" else value


def compute_one_at_a_time(jobs, settings, windows, work, file_timeout, seconds=None):
    """Every file of ``jobs`` in a fresh worker process of its own (:func:`compute_alone`), in order.

    ``seconds`` (audio path → length) scales each file's time limit (:func:`file_limit`).

    Returns
    -------
    tuple of (str, str) or None
        The first file's problem, after which nothing more is computed, or ``None``.
    """
    seconds = seconds or {}
    for job in jobs:
        limit = file_limit(file_timeout, seconds.get(job[0]))
        problem = compute_alone(job, settings, windows, work, file_timeout, limit=limit)
        if problem is not None:
            return problem
    return None


# A chunk without a result: its worker died, it ran out of time, or the pool was torn down.
UNFINISHED = object()


def _results(pool, futures, parts, file_timeout, seconds=None):
    """The result of each chunk, or :data:`UNFINISHED`; a chunk waits at most the sum of its files' limits.

    A file's limit is :func:`file_limit` of its length (``seconds``: audio path → seconds).

    A chunk out of time tears the pool down (its workers killed); a broken pool
    is dropped. Either way the next job starts a new pool.
    """
    out = []
    for future, part in zip(futures, parts):
        try:
            out.append(future.result(timeout=sum(file_limit(file_timeout, (seconds or {}).get(job[0]))
                                                 for job in part)))
        except concurrent.futures.TimeoutError:
            _drop_pool(pool, kill=True)
            out.append(UNFINISHED)
        except (concurrent.futures.process.BrokenProcessPool, concurrent.futures.CancelledError):
            _drop_pool(pool)
            out.append(UNFINISHED)
    return out


def process_files(jobs, settings, cores, windows=None, file_timeout=None, work=process_one, seconds=None):
    """Compute every ``(audio, outputs)`` of ``jobs``, on the pool where it helps.

    Parameters
    ----------
    jobs : list of tuple
        ``(audio path, {form: output path})`` per file (see :func:`process_one`).
    settings : dict
        Spectrogram settings (the ``spectrogram:`` section of the configuration).
    cores : int
        Cores this process may use (Snakemake's ``--cores``); the pool has
        ``min(cores, usable CPUs)`` workers.
    windows : dict or None
        Fixed windows of long recordings (the ``windows:`` section), or
        ``None`` for one clip per file.
    file_timeout : float or None
        Seconds a file may take on the pool per minute of its audio, at least
        this per file (``file_timeout``; ``None``: the schema's default;
        :func:`file_limit`). A chunk of files waits at most the sum of its
        files' limits; then its workers are killed and its files retried one
        at a time.
    work : callable
        The per-file function (see :func:`compute`).
    seconds : dict or None
        Audio path → its length in seconds (from its header), for the limits; a file not in it counts as a clip.

    Returns
    -------
    tuple of (str, str) or None
        As :func:`compute`: the first unusable file and why, or ``None``; a
        file whose worker crashed, or that ran out of time, again when retried
        alone counts as unusable.
    """
    jobs = [tuple(job) for job in jobs]
    file_timeout = default_file_timeout() if file_timeout is None else file_timeout
    size = min(cores, usable_cpus())
    pool = get_pool(size) if jobs and use_pool(size, len(jobs)) else None
    if pool is None:
        return compute(jobs, settings, windows, work)
    parts = chunks(jobs, 2 * size)
    futures = []
    try:
        for part in parts:
            futures.append(pool.submit(compute, part, settings, windows, work))
    except OSError:  # workers cannot be started here: this process computes from now on
        _drop_pool(pool, broken=True)
        return compute(jobs, settings, windows, work)
    except RuntimeError:  # the pool broke, or was torn down by another job: the rest go one at a time
        _drop_pool(pool)
    results = _results(pool, futures, parts, file_timeout, seconds)
    results += [UNFINISHED] * (len(parts) - len(results))
    for part, result in zip(parts, results):
        if result is UNFINISHED:  # never in this process: a crash here would take Snakemake down
            result = compute_one_at_a_time(part, settings, windows, work, file_timeout, seconds)
        if result is not None:
            return result
    return None


def read_facts_on_pool(files, outputs, channels, file_timeout=None):
    """``file_facts.job_facts`` of a job's files, read by a worker of the pool when one is running.

    Reading a job's 30 to 100 file headers takes milliseconds, but in the
    Snakemake process they add up to seconds of its one busy core over a
    run; a worker reads them instead while this thread waits. Without a
    running pool, or if it fails, this process reads them.
    """
    from file_facts import job_facts

    with _lock:
        pool = _state["pool"]
    if pool is not None:
        file_timeout = default_file_timeout() if file_timeout is None else file_timeout
        try:
            return pool.submit(job_facts, files, outputs, channels).result(timeout=len(files) * file_timeout)
        except Exception:  # noqa: BLE001 - a broken or torn-down pool: read them here
            pass
    return job_facts(files, outputs, channels)


def as_list(paths):
    """A job's file or files as a list (a rule with one file per job names a single path)."""
    return [paths] if isinstance(paths, str) else list(paths)


def run_job(audio, outputs, settings, log, cores, windows=None, file_timeout=None, on_bad_audio="fail",
            on_silent="keep", image=None, progress=None, facts=None, channels=1, seconds=None, work=None):
    """The body of a spectrogram job: every output of every file, one computation each.

    Called by the spectrogram rules (``rules/spectrogram.smk``) in a thread of
    the Snakemake process; the files go to this process's pool of warm
    workers (:func:`process_files`).

    A file found unusable only now (damaged audio data, a decoder that crashes
    or runs out of time, a silent recording) stops the job naming it under
    ``on_bad_audio: fail``. Under ``skip`` (and for silence under
    ``on_silent: skip``) it gets marked outputs instead
    (``audio_processing.save_rejected``), the other files are computed, and
    the catalog job leaves it out of every table and lists it in
    ``results/rejected.csv``.

    Parameters
    ----------
    audio : str or list of str
        The job's audio files (a single path when the job has one file).
    outputs : dict
        Form (``'npy'``, ``'png'``, ``'color'``) → the path, or the list of
        paths in the order of ``audio``, that each file makes in that form.
    settings : dict
        Spectrogram settings.
    log : str
        The job's log; written only when a file is not usable audio.
    cores : int
        Cores of the Snakemake process.
    windows : dict or None
        See :func:`process_files`.
    file_timeout : float or None
        Seconds a file may take per minute of audio (``file_timeout``); see :func:`process_files`.
    on_bad_audio : {'fail', 'skip'}
        What an unusable file does to the job.
    on_silent : {'keep', 'skip'}
        Whether a silent or constant recording is kept (an all-zero
        spectrogram) or left out.
    image : dict or None
        The ``image:`` settings (size and colormap of the PNGs).
    progress : callable or None
        Called with the number of files once the job's files are done (the
        run's progress line, see :class:`Progress`).
    facts : str or None
        Where to write the job's file facts (``file_facts.write_facts``, read by :func:`read_facts_on_pool`:
        rejections, audio facts and shapes, which the catalog and manifests read).
    channels : int
        Channels per spectrogram array (for the shapes of the facts).
    seconds : dict or None
        Audio path → length in seconds: a long recording's time limit grows with it (:func:`file_limit`).
    work : callable or None
        The per-file work (:func:`compute`); None: :func:`process_one` (every spectrogram form). The
        embedding jobs pass ``birdnet.process_one``, with ``outputs`` ``{'npy': paths}``.

    Raises
    ------
    snakemake.exceptions.WorkflowError
        Under ``on_bad_audio: fail``, naming the first file that is not usable
        audio (or whose decoder crashed or ran out of time), and why.
    """
    import functools

    from audio_io import SILENT_REASON

    if work is None:
        work = functools.partial(process_one, refuse_silent=on_silent == "skip", image=image)
    files = as_list(audio)
    paths = {form: as_list(path) for form, path in outputs.items()}
    pending = [(file, {form: paths[form][i] for form in paths}) for i, file in enumerate(files)]
    notes = []
    while pending:
        problem = process_files(pending, settings, cores or 1, windows, file_timeout, work=work, seconds=seconds)
        if problem is None:
            break
        bad, reason = problem
        message = f"{bad}: {reason}"
        if on_bad_audio != "skip" and reason != SILENT_REASON:
            with open(log, "w", encoding="utf-8") as f:
                f.write("".join(notes) + f"{message}\n")
            from snakemake.exceptions import WorkflowError

            raise WorkflowError(message)
        import audio_processing

        audio_processing.save_rejected(next(out for file, out in pending if file == bad), reason)
        notes.append(f"left out: {message}\n")
        pending = [(file, out) for file, out in pending if not all(os.path.exists(p) for p in out.values())]
    if notes:
        with open(log, "w", encoding="utf-8") as f:
            f.write("".join(notes))
    if facts is not None:
        from file_facts import write_facts

        write_facts(facts, read_facts_on_pool(files, paths, channels, file_timeout))
    if progress is not None:
        progress(len(files))


class Progress:
    """Files done of a total, and files per second, as a line a person reads at a glance.

    The spectrogram jobs of a run call :meth:`add` (from several threads) as
    their files are done; it gives a line at most every ``interval`` seconds,
    and always for the last file.

    Parameters
    ----------
    total : int
        Files the run computes.
    interval : float
        Fewest seconds between two lines.
    clock : callable
        The time in seconds (``time.monotonic``; tests pass their own).
    start : float or None
        When the work began, on ``clock`` (the first job's start; ``None``: now).
        The rate counts from there, not from the first job's end.
    """

    def __init__(self, total, interval=10.0, clock=None, start=None):
        self.total = total
        self.interval = interval
        self.clock = clock or time.monotonic
        self.start = self.clock() if start is None else start
        self.last = self.start
        self.done = 0
        self.lock = threading.Lock()

    def add(self, n):
        """Count ``n`` more files done; the progress line when one is due, else ``None``."""
        with self.lock:
            self.done += n
            now = self.clock()
            if self.done < self.total and now - self.last < self.interval:
                return None
            self.last = now
            return self.line(now)

    def line(self, now):
        """``spectrograms: 1,200 of 3,000 files (40%), 85.1 files/s, about 21 s left``."""
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        share = 100.0 * self.done / self.total if self.total else 100.0
        text = f"spectrograms: {self.done:,} of {self.total:,} files ({share:.0f}%), {rate:.1f} files/s"
        left = self.total - self.done
        if left > 0 and rate > 0:
            text += f", about {left / rate:.0f} s left"
        return text
