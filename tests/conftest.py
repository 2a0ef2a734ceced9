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
