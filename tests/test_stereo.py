"""Stereo end to end: both branches train on two-channel spectrograms and predict on stereo input."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import loaders
from workflow import ROOT, SMALL_CONFIG, copy_workflow, planned, run, tone_clip

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
  learning_curve: [0.5]
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
    targets = ["results/model_npy.keras", "results/model_png.keras", "results/branch_comparison.json",
               "results/figures/npy_learning_curve.png", "results/figures/png_learning_curve.png"]
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


@pytest.mark.parametrize("branch", ["npy", "png"])
def test_learning_curve_trains_on_half_the_training_authors_and_ends_with_the_model(stereo_run, branch):
    """Split by author, every author with 6 clips: half the split is the fewest whole authors holding half its clips."""
    results = stereo_run / "results"
    curve = pd.read_csv(results / branch / "learning_curve.csv")
    metrics = json.loads((results / branch / "metrics.json").read_text())
    catalog = pd.read_csv(results / "catalog.csv")
    train = catalog[catalog["split"] == "train"]
    per_author = train.groupby("author").size()
    assert len(per_author) >= 2 and per_author.nunique() == 1
    half_authors = -(-len(per_author) // 2)
    assert list(curve["fraction"]) == [0.5, 1.0] and list(curve["train_groups"]) == [half_authors, len(per_author)]
    assert list(curve["train_examples"]) == [half_authors * per_author.iloc[0], len(train)]
    full = curve.iloc[-1]
    assert full["cnn_test_accuracy"] == metrics["test"]["accuracy"]
    assert full["baseline_val_macro_f1"] == metrics["baseline"]["val"]["macro_f1"]
    assert full["steps"] == metrics["training"]["steps"]
    half = curve.iloc[0]
    assert 0 <= half["cnn_val_accuracy"] <= 1 and 0 <= half["baseline_test_accuracy"] <= 1 and half["steps"] == 3
    assert (results / "figures" / f"{branch}_learning_curve.png").stat().st_size > 1000
    log = (stereo_run / "logs" / f"learning_curve_{branch}.log").read_text()
    assert f"fraction 0.5: {curve['train_examples'].iloc[0]} training examples" in log


def test_other_fractions_redraw_the_curves_and_retrain_no_model(stereo_run):
    config = (stereo_run / "test.yaml").read_text()
    (stereo_run / "other.yaml").write_text(config.replace("learning_curve: [0.5]", "learning_curve: [0.3, 0.6]"))
    targets = ["results/model_npy.keras", "results/figures/npy_learning_curve.png",
               "results/figures/png_learning_curve.png"]
    rules, _ = planned(stereo_run, *targets, "--configfile", "other.yaml")
    assert rules == {"learning_curve": 2, "plot_learning_curve": 2}
    assert sum(planned(stereo_run, *targets, "--configfile", "test.yaml")[0].values()) == 0
