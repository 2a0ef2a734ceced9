"""The pool of warm worker processes that spectrogram jobs hand their files to (scripts/workers.py)."""

import numpy as np
import pytest
import soundfile as sf

import workers
from workflow import tone_clip

SETTINGS = {"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512, "hop_length": 256}


@pytest.fixture
def fresh(monkeypatch):
    """A process state without a pool, restored afterwards (the pool itself is shut down)."""
    state = {"pool": None, "size": 0, "calls": 0, "broken": False}
    monkeypatch.setattr(workers, "_state", state)
    yield state
    if state["pool"] is not None:
        state["pool"].shutdown()


def clips(folder, n):
    jobs = []
    for i in range(n):
        sf.write(folder / f"c{i}.wav", tone_clip(300.0 + 40 * i, seed=i), 16000)
        jobs.append((str(folder / f"c{i}.wav"), str(folder / f"c{i}.npy"), str(folder / f"c{i}.png")))
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
    for (_, npy_a, png_a), (_, npy_b, png_b) in zip(pooled, here):
        assert np.array_equal(np.load(npy_a), np.load(npy_b))
        assert open(png_a, "rb").read() == open(png_b, "rb").read()


def test_an_unusable_file_is_named_with_its_reason(fresh, tmp_path):
    jobs = clips(tmp_path, 3)
    (tmp_path / "c1.wav").write_bytes(b"not audio at all")
    audio, reason = workers.process_files(jobs, SETTINGS, cores=2)
    assert audio == jobs[1][0] and reason


def test_one_core_computes_here(fresh, tmp_path):
    assert workers.process_files(clips(tmp_path, 2), SETTINGS, cores=1) is None
    assert fresh["pool"] is None


def test_a_lone_file_uses_the_pool_from_the_second_job_on(fresh):
    assert workers.use_pool(2, 1) is False  # `snakemake results/specs/x.npy`: no pool for one file
    assert workers.use_pool(2, 1) is True  # per-file jobs (files_per_job: 1) share it from the second on
    assert workers.use_pool(1, 32) is False


def test_without_worker_processes_it_falls_back_to_this_process(fresh, tmp_path, monkeypatch):
    def no_semaphores():
        raise OSError("no working sem_open here")

    monkeypatch.setattr(workers, "_context", no_semaphores)
    jobs = clips(tmp_path, 3)
    assert workers.process_files(jobs, SETTINGS, cores=4) is None
    assert fresh["broken"] and fresh["pool"] is None
    assert all(np.load(npy).dtype == np.float32 for _, npy, _ in jobs)
