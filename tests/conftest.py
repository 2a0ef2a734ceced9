"""Shared test set-up: the scripts/ folder is importable, and the shared trained runs, started in the background."""

import os
import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


#: The shared runs started in the background when the tests were collected: fixture name → (what it makes, process).
BACKGROUND = {}


def _wait(name, factory, timeout):
    """The shared run ``name`` (the one started at collection, or one started now), completed: (what it makes,
    process)."""
    from workflow import finish

    made, child = BACKGROUND.pop(name, None) or STARTS[name](factory)
    return made, finish(child, timeout=timeout)


def _start_demo(factory):
    """The demo run to every default target (both models)."""
    from workflow import copy_workflow, start

    base = factory.mktemp("demo")
    work = copy_workflow(base / "wf")
    return work, start(work, "--cores", "2", log=base / "snakemake.log")


def _start_scaled(factory):
    """A windowed workflow trained on soundscapes, to results/predictions/fresh.csv (see :func:`scaled`)."""
    from test_predict_scale import FRESH, SCALE, SM4
    from test_windows_workflow import CONFIG, recording, soundscapes
    from workflow import copy_workflow, start

    base = factory.mktemp("scale")
    work = copy_workflow(base / "wf")
    audio = soundscapes(base / "audio")
    fresh = base / "fresh"
    fresh.mkdir()
    for i, (stem, seconds) in enumerate(FRESH.items()):
        recording(fresh, stem, seconds, [(0.6, 1.2, "owl"), (2.1, 2.8, "jay")], seed=50 + i)
    config = CONFIG.replace("files_per_job: 1\n", "files_per_job: 8\n")  # fewer, bigger spectrogram jobs
    (work / "test.yaml").write_text(config.format(audio_dir=audio, fresh=fresh) + SCALE.format(pattern=SM4))
    child = start(work, "results/predictions/fresh.csv", "--cores", "2", "--configfile", "test.yaml",
                  log=base / "snakemake.log")
    return (work, fresh), child


STARTS = {"demo_trained": _start_demo, "scaled": _start_scaled}


def pytest_collection_finish(session):
    """Start the shared runs the collected tests need, in the background: each takes a minute or two, and the
    many light tests before their first user leave a core idle. Their fixtures wait for them."""
    if session.config.option.collectonly:
        return
    wanted = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    for name in STARTS:
        if name in wanted and name not in BACKGROUND:
            BACKGROUND[name] = STARTS[name](session.config._tmp_path_factory)


def pytest_sessionfinish(session):
    """A background run no test waited for (a session cut short) is stopped with its jobs."""
    for _, proc in BACKGROUND.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    BACKGROUND.clear()


@pytest.fixture(scope="session")
def demo_trained(tmp_path_factory):
    """A copy of the workflow run on the demo data to every default target (both models).

    Shared by the training tests and the Slurm test's local reference run: it takes a minute or two, started
    in the background when the tests were collected.
    """
    return _wait("demo_trained", tmp_path_factory, timeout=1800)[0]


@pytest.fixture(scope="session")
def scaled(tmp_path_factory):
    """A windowed workflow trained on soundscapes, run locally to results/predictions/fresh.csv: four SM4-named
    recordings (tests/test_predict_scale.py's FRESH) in three predict batches (predict_seconds_per_job: 10).

    Returns ``(workdir, fresh folder, Snakemake's output)``. Shared by tests/test_predict_scale.py and the Slurm
    test, whose kill-and-resume run through Slurm compares its outputs with this run's: trained once per session,
    started in the background when the tests were collected.
    """
    (work, fresh), proc = _wait("scaled", tmp_path_factory, timeout=1200)
    return work, fresh, proc.stdout
