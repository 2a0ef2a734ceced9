"""Shared test set-up: the scripts/ folder is importable, and one trained demo run for all who need it."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def demo_trained(tmp_path_factory):
    """A copy of the workflow run on the demo data to every default target (both models).

    Shared by the training tests and the Slurm test's local reference run: it takes a minute or two.
    """
    from workflow import copy_workflow, run

    work = copy_workflow(tmp_path_factory.mktemp("demo") / "wf")
    run(work, "--cores", "2", timeout=1800)
    return work


@pytest.fixture(scope="session")
def scaled(tmp_path_factory):
    """A windowed workflow trained on soundscapes, run locally to results/predictions/fresh.csv: four SM4-named
    recordings (tests/test_predict_scale.py's FRESH) in three predict batches (predict_seconds_per_job: 10).

    Returns ``(workdir, fresh folder, Snakemake's output)``. Shared by tests/test_predict_scale.py and the Slurm
    test, whose kill-and-resume run through Slurm compares its outputs with this run's: trained once per session.
    """
    from test_predict_scale import FRESH, SCALE, SM4
    from test_windows_workflow import CONFIG, recording, soundscapes
    from workflow import copy_workflow, run

    base = tmp_path_factory.mktemp("scale")
    work = copy_workflow(base / "wf")
    audio = soundscapes(base / "audio")
    fresh = base / "fresh"
    fresh.mkdir()
    for i, (stem, seconds) in enumerate(FRESH.items()):
        recording(fresh, stem, seconds, [(0.6, 1.2, "owl"), (2.1, 2.8, "jay")], seed=50 + i)
    config = CONFIG.replace("files_per_job: 1\n", "files_per_job: 8\n")  # fewer, bigger spectrogram jobs
    (work / "test.yaml").write_text(config.format(audio_dir=audio, fresh=fresh) + SCALE.format(pattern=SM4))
    out = run(work, "results/predictions/fresh.csv", "--cores", "2", "--configfile", "test.yaml", timeout=1200).stdout
    return work, fresh, out
