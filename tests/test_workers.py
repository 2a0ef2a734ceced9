"""The pool of warm worker processes that spectrogram jobs hand their files to (scripts/workers.py)."""

import functools
import os
import signal
import time

import numpy as np
import pytest
import soundfile as sf

import fake_decoders
import workers
from workflow import tone_clip

SETTINGS = {"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512, "hop_length": 256}


@pytest.fixture
def fresh(monkeypatch):
    """A process state without a pool, restored afterwards (the pool itself is shut down)."""
    state = {"pool": None, "size": 0, "calls": 0, "broken": False, "prestarted": False}
    monkeypatch.setattr(workers, "_state", state)
    yield state
    if state["pool"] is not None:
        state["pool"].shutdown()


def clips(folder, n):
    jobs = []
    for i in range(n):
        sf.write(folder / f"c{i}.wav", tone_clip(300.0 + 40 * i, seed=i), 16000)
        jobs.append((str(folder / f"c{i}.wav"), {"npy": str(folder / f"c{i}.npy"), "png": str(folder / f"c{i}.png")}))
    return jobs


@pytest.mark.parametrize("n, parts", [(10, 4), (3, 4), (1, 1), (0, 4)])
def test_chunks_keep_every_item_in_order_without_empty_chunks(n, parts):
    out = workers.chunks(list(range(n)), parts)
    assert [x for part in out for x in part] == list(range(n))
    assert len(out) == min(n, parts) and all(out)
    assert max(map(len, out), default=0) - min(map(len, out), default=0) <= 1


def test_the_pool_writes_what_this_process_would(fresh, tmp_path):
    (tmp_path / "pool").mkdir()
    (tmp_path / "here").mkdir()
    pooled = clips(tmp_path / "pool", 6)
    assert workers.process_files(pooled, SETTINGS, cores=2) is None
    assert fresh["pool"] is not None and fresh["size"] == min(2, workers.usable_cpus())
    here = clips(tmp_path / "here", 6)
    assert workers.compute(here, SETTINGS) is None
    for (_, a), (_, b) in zip(pooled, here):
        assert np.array_equal(np.load(a["npy"]), np.load(b["npy"]))
        assert open(a["png"], "rb").read() == open(b["png"], "rb").read()
    files = [audio for audio, _ in pooled]
    outputs = {form: [out[form] for _, out in pooled] for form in ("npy", "png")}
    import file_facts

    assert fresh["pool"] is not None  # the facts are read by a worker, and are what this process reads
    assert workers.read_facts_on_pool(files, outputs, 1) == file_facts.job_facts(files, outputs, 1)


def test_an_unusable_file_is_named_with_its_reason(fresh, tmp_path):
    jobs = clips(tmp_path, 3)
    (tmp_path / "c1.wav").write_bytes(b"not audio at all")
    audio, reason = workers.process_files(jobs, SETTINGS, cores=2)
    assert audio == jobs[1][0] and reason


def test_one_core_has_a_pool_of_one_worker(fresh, tmp_path):
    assert workers.process_files(clips(tmp_path, 2), SETTINGS, cores=1) is None
    assert fresh["pool"] is not None and fresh["size"] == 1


def test_one_core_still_isolates_a_crashing_decoder(fresh, tmp_path):
    jobs = clips(tmp_path, 3)
    work = functools.partial(fake_decoders.segfault_on, "c1.wav")
    audio, reason = workers.process_files(jobs, SETTINGS, cores=1, file_timeout=60, work=work)
    assert audio == jobs[1][0] and reason.startswith("the decoder crashed")
    assert os.path.isfile(jobs[0][1]["npy"])


def test_a_lone_file_uses_the_pool_from_the_second_job_on(fresh):
    assert workers.use_pool(2, 1) is False  # `snakemake results/specs/x.npy`: no pool for one file
    assert workers.use_pool(2, 1) is True  # per-file jobs (files_per_job: 1) share it from the second on
    assert workers.use_pool(1, 32) is True  # one core: one worker, so a crash or a hang is isolated there too


def test_a_lone_file_uses_the_pool_once_the_fork_server_was_started_ahead(fresh, monkeypatch):
    import multiprocessing.forkserver

    def cannot_start():
        raise OSError("no fork server here")

    with monkeypatch.context() as patched:
        patched.setattr(multiprocessing.forkserver, "ensure_running", cannot_start)
        workers.prestart()
    assert not fresh["prestarted"] and workers.use_pool(2, 1) is False  # nothing started: this process computes
    fresh["calls"] = 0
    workers.prestart()  # a real local run starts it while Snakemake builds the DAG
    assert fresh["prestarted"] == ("forkserver" in multiprocessing.get_all_start_methods())
    assert workers.use_pool(2, 1) is fresh["prestarted"]  # its imports are under way: not a second time here


def test_without_worker_processes_it_falls_back_to_this_process(fresh, tmp_path, monkeypatch):
    def no_semaphores():
        raise OSError("no working sem_open here")

    monkeypatch.setattr(workers, "_context", no_semaphores)
    jobs = clips(tmp_path, 3)
    assert workers.process_files(jobs, SETTINGS, cores=4) is None
    assert fresh["broken"] and fresh["pool"] is None
    assert all(np.load(out["npy"]).dtype == np.float32 for _, out in jobs)


def gone(pid, within=5.0):
    """Whether process ``pid`` ends (or is a zombie) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as f:
                if f.read().rsplit(")", 1)[1].split()[0] in "ZX":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_a_crashing_decoder_is_named_and_never_crashes_this_process(fresh, tmp_path):
    # Today's code recomputed a broken pool's batch in the calling process: the segfault would end pytest.
    jobs = clips(tmp_path, 4)
    work = functools.partial(fake_decoders.segfault_on, "c2.wav")
    audio, reason = workers.process_files(jobs, SETTINGS, cores=2, file_timeout=60, work=work)
    assert audio == jobs[2][0]
    assert reason == "the decoder crashed (worker killed by signal 11, SIGSEGV)"
    assert all(os.path.isfile(out["npy"]) and os.path.isfile(out["png"]) for _, out in jobs[:2])
    # the next job gets a new pool that works
    assert workers.process_files(clips(tmp_path, 3), SETTINGS, cores=2, file_timeout=60) is None
    assert fresh["pool"] is not None and not fresh["broken"]


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_hanging_decoder_is_killed_and_named(fresh, tmp_path):
    (tmp_path / "warm").mkdir()
    assert workers.process_files(clips(tmp_path / "warm", 4), SETTINGS, cores=2) is None  # start-up is not a hang
    jobs = clips(tmp_path, 4)
    work = functools.partial(fake_decoders.hang_on, "c1.wav")
    began = time.monotonic()
    audio, reason = workers.process_files(jobs, SETTINGS, cores=2, file_timeout=1, work=work)
    assert time.monotonic() - began < 30
    assert (audio, reason) == (jobs[1][0], workers.timeout_reason(1))
    assert "longer than 1 s" in reason
    assert os.path.isfile(jobs[0][1]["npy"])
    pid = int(open(jobs[1][1]["npy"] + ".pid", encoding="ascii").read())  # the retry's worker, hanging on c1
    assert gone(pid), "the stuck worker was not killed"


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_a_long_recording_gets_time_in_proportion_to_its_audio(fresh, tmp_path):
    """file_timeout counts per minute of audio: 4 s of work passes for a recording of 10 minutes (limit 10 s at
    1 s per minute) and is killed, naming the limit, for a clip (limit 1 s)."""
    (tmp_path / "warm").mkdir()
    assert workers.process_files(clips(tmp_path / "warm", 2), SETTINGS, cores=2) is None  # start-up is not work
    jobs = clips(tmp_path, 2)
    work = functools.partial(fake_decoders.slow_on, "c1.wav", 4.0)
    long = {jobs[1][0]: 600.0}
    assert workers.process_files(jobs, SETTINGS, cores=2, file_timeout=1, work=work, seconds=long) is None
    audio, reason = workers.process_files(jobs, SETTINGS, cores=2, file_timeout=1, work=work)
    assert (audio, reason) == (jobs[1][0], workers.timeout_reason(1))
    assert workers.file_limit(1, 600.0) == 10.0 and "per minute of audio" in reason


def test_crash_reasons_name_the_signal():
    assert workers.crash_reason(-9).startswith("the decoder crashed (worker killed by signal 9, SIGKILL")
    assert workers.crash_reason(3) == "the decoder crashed (worker exited with code 3)"


def test_run_job_raises_naming_the_crashed_file(fresh, tmp_path, monkeypatch):
    from snakemake.exceptions import WorkflowError

    jobs = clips(tmp_path, 2)
    real = workers.process_files
    monkeypatch.setattr(
        workers,
        "process_files",
        lambda *args, **kwargs: real(*args, **{**kwargs, "work": functools.partial(fake_decoders.segfault_on, "c0.wav")}),
    )
    log = tmp_path / "job.log"
    with pytest.raises(WorkflowError, match="c0.wav: the decoder crashed"):
        audio = [a for a, _ in jobs]
        outputs = {form: [out[form] for _, out in jobs] for form in ("npy", "png")}
        workers.run_job(audio, outputs, SETTINGS, str(log), 2, None, 60)
    assert "c0.wav: the decoder crashed" in log.read_text()
