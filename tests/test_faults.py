"""Faults: a run killed with SIGKILL at any moment recovers to byte-identical outputs; two clean runs
agree to the byte; a second Snakemake on a running directory is refused and the first is unharmed; the
worker processes of a Snakemake killed alone die with it; a changed time limit reruns nothing."""

import hashlib
import os
import shutil
import signal
import time

import numpy as np
import pytest

from workflow import SMALL_CONFIG, STAGE, copy_workflow, make_audio_folder, planned, run, start

TARGETS = STAGE + ["results/rejected.csv", "results/catalog.csv"]
KILLS = 5  # random moments over the run: each costs a kill and a full rerun (about 12 s)


def outputs(work):
    """Digest of every file under results/ (the checks cache, temporary files and run-time records aside)."""
    found = {}
    for path in sorted((work / "results").rglob("*")):
        if path.is_file() and not path.name.startswith(".") and path.parent.name != "benchmarks":
            found[str(path.relative_to(work))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def fresh(work):
    """Forget every output and every record of earlier runs."""
    for name in ("results", "logs", "benchmarks", ".snakemake"):
        shutil.rmtree(work / name, ignore_errors=True)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    audio = base / "audio"
    make_audio_folder(audio, per=1)
    work = copy_workflow(base / "wf")
    config = SMALL_CONFIG.format(audio_dir=audio).replace("files_per_job: 1", "files_per_job: 2")
    (work / "c.yaml").write_text(config)
    began = time.monotonic()
    run(work, "--cores", "2", *TARGETS, "--configfile", "c.yaml")
    wall = time.monotonic() - began
    return work, audio, outputs(work), wall


def test_two_clean_runs_are_byte_identical(setup, tmp_path):
    work, audio, reference, _ = setup
    other = copy_workflow(tmp_path / "wf")
    shutil.copy(work / "c.yaml", other / "c.yaml")
    run(other, "--cores", "1", *TARGETS, "--configfile", "c.yaml")
    assert outputs(other) == reference
    assert any(name.endswith(".png") for name in reference) and any(name.endswith(".npy") for name in reference)


def test_a_changed_file_timeout_reruns_nothing(setup):
    work, _, _, _ = setup
    (work / "timeout.yaml").write_text("file_timeout: 17\n")
    rules, _ = planned(work, *TARGETS, "--configfile", "c.yaml", "timeout.yaml")
    assert sum(rules.values()) == 0, rules


def test_sigkill_at_five_moments_then_rerun(setup):
    work, _, reference, wall = setup
    moments = sorted(np.random.default_rng(2026).uniform(0.5, wall, KILLS))
    interrupted = 0
    for moment in moments:
        fresh(work)
        proc = start(work, "--cores", "2", *TARGETS, "--configfile", "c.yaml")
        time.sleep(moment)
        if proc.poll() is None:
            interrupted += 1
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        # A run killed after it locked the directory leaves the lock behind (Snakemake cannot tell a dead
        # run from one on another host): --unlock, then a plain rerun (the profile sets rerun-incomplete).
        if any((work / ".snakemake" / "locks").glob("*.lock")):
            run(work, "--unlock", *TARGETS, "--configfile", "c.yaml")
        run(work, "--cores", "2", *TARGETS, "--configfile", "c.yaml")
        assert outputs(work) == reference, f"outputs differ after a kill at {moment:.2f} s"
        leftovers = [p.name for p in (work / "results").rglob("*") if p.name.startswith(".tmp-")]
        assert not leftovers, f"temporary files left after a kill at {moment:.2f} s and a rerun: {leftovers}"
    assert interrupted >= KILLS // 2, f"only {interrupted} of {KILLS} kills hit a running workflow"


def test_second_run_is_refused_while_one_runs(setup):
    work, _, reference, _ = setup
    fresh(work)
    # The first run trains a model too, so that it is still running when the second one starts.
    first = start(work, "--cores", "1", *TARGETS, "results/model_npy.keras", "--configfile", "c.yaml")
    locks = work / ".snakemake" / "locks"
    deadline = time.monotonic() + 120
    while not (locks.is_dir() and any(locks.glob("*.lock"))):
        assert first.poll() is None, "the first run ended before it locked the directory"
        assert time.monotonic() < deadline
        time.sleep(0.1)
    second = run(work, "--cores", "1", *TARGETS, "--configfile", "c.yaml", check=False)
    still_running = first.poll() is None
    out, _ = first.communicate(timeout=600)
    assert still_running, "the first run finished before the second was refused: make the first run longer"
    assert second.returncode != 0
    assert "Directory cannot be locked" in second.stdout
    assert first.returncode == 0, out[-3000:]
    assert {name: digest for name, digest in outputs(work).items() if name in reference} == reference
    assert (work / "results/model_npy.keras").is_file()


def process_tree(root):
    """``{pid: (parent pid, command line)}`` of every live descendant of ``root`` (read from /proc)."""
    parents = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # gone
            continue
        if fields[0] not in "ZX":
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = {}, [root]
    while todo:
        parent = todo.pop()
        for child in parents.get(parent, []):
            try:
                with open(f"/proc/{child}/cmdline", "rb") as f:
                    found[child] = parent, f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            todo.append(child)
    return found


def alive(pids):
    """Those of ``pids`` that still run (zombies count as gone)."""
    running = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in "ZX":
                    running.add(pid)
        except OSError:
            pass
    return running


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process tree from /proc")
def test_workers_die_with_a_snakemake_killed_alone(setup):
    work, _, _, _ = setup
    fresh(work)
    # Training after the spectrograms keeps this Snakemake running long after its workers exist.
    proc = start(work, "--cores", "2", *TARGETS, "results/model_npy.keras", "--configfile", "c.yaml")
    try:
        deadline = time.monotonic() + 300
        workers = set()
        while not workers:
            assert proc.poll() is None, "the run ended before its spectrogram workers were seen"
            assert time.monotonic() < deadline, "no worker process appeared"
            tree = process_tree(proc.pid)
            workers = {pid for pid, (parent, _) in tree.items() if parent != proc.pid and "multiprocessing" in tree[parent][1]}
            time.sleep(0.05)
        # the workers, the fork server that forks them and the resource tracker
        multiprocessing_tree = {pid for pid, (_, cmd) in process_tree(proc.pid).items() if "multiprocessing" in cmd}
        assert workers <= multiprocessing_tree
        os.kill(proc.pid, signal.SIGKILL)  # Snakemake alone, not its process group
        proc.wait()  # not communicate(): a surviving worker still holds the output pipe open
        deadline = time.monotonic() + 10
        while alive(multiprocessing_tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = alive(multiprocessing_tree)
        assert not survivors, f"outlived Snakemake: {[process_tree(1).get(pid, pid) for pid in survivors]}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the run
        except ProcessLookupError:
            pass
        proc.wait()
        proc.stdout.close()
        fresh(work)
