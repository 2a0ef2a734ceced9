"""Stereo end to end: both branches train on two-channel spectrograms and predict on stereo input."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import loaders
from workflow import ROOT, SMALL_CONFIG, copy_workflow, run, tone_clip

CLASSES = {"bark": 400.0, "chirp": 1200.0, "hum": 2400.0}
AUTHORS = ("ann", "bob", "cyd", "dan", "eve")
TINY_TRAINING = """\
training:
  epochs: 3
  min_steps: 0
  conv_blocks: 2
  filters: 4
  dense_units: 8
  early_stopping_patience: 0
"""


def stereo_folder(folder, authors=AUTHORS, per=2):
    """``{class}/{author}_{i}.wav`` in two channels that differ (the right one is time-reversed)."""
    for name, freq in CLASSES.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for a, author in enumerate(authors):
            for i in range(per):
                sf.write(folder / name / f"{author}_{i}.wav", tone_clip(freq + 15 * a, seed=10 * a + i, stereo=True), 16000)
    return folder


@pytest.fixture(scope="module")
def stereo_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("stereo")
    work = copy_workflow(base / "wf")
    audio = stereo_folder(base / "audio")
    config = SMALL_CONFIG.format(audio_dir=audio).replace("spectrogram:\n", "spectrogram:\n  channels: stereo\n")
    (work / "test.yaml").write_text(config + TINY_TRAINING)
    targets = ["results/model_npy.keras", "results/model_png.keras", "results/branch_comparison.json"]
    run(work, *targets, "--cores", "2", "--configfile", "test.yaml", timeout=1200)
    return work


def test_both_branches_see_the_same_two_channel_arrays(stereo_run):
    results = stereo_run / "results"
    npy = loaders.load_npy_data(str(results / "final_specs.csv"))
    png = loaders.load_csv_data(str(results / "train_data.csv"), channels=2)
    assert npy.features.shape[-1] == 2 and npy.features.shape == png.features.shape
    assert list(png.ids) == list(npy.ids)
    assert np.max(np.abs(png.features - npy.features)) <= 1 / 510 + 1e-7
    assert not np.array_equal(npy.features[..., 0], npy.features[..., 1])  # two real channels, not a copy
    shapes = {branch: json.loads((results / f"model_{branch}.provenance.json").read_text())["input_shape"]
              for branch in ("npy", "png")}
    assert shapes["npy"] == shapes["png"] == list(npy.features.shape[1:])
    comparison = json.loads((results / "branch_comparison.json").read_text())
    assert comparison["max_abs_png_minus_npy"] <= comparison["bound"]


@pytest.mark.parametrize("branch", ["npy", "png"])
def test_prediction_on_stereo_recordings(stereo_run, tmp_path, branch):
    folder = stereo_folder(tmp_path / "new", authors=("fay",), per=1)
    out = tmp_path / f"{branch}.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "predict.py"), "--model",
         str(stereo_run / "results" / f"model_{branch}.keras"), str(folder), "--out", str(out)],
        check=True, capture_output=True, text=True, timeout=600,
    )
    table = pd.read_csv(out)
    assert len(table) == len(CLASSES) and set(table["predicted"]) <= set(CLASSES)
    probabilities = table[[f"p_{name}" for name in sorted(CLASSES)]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
