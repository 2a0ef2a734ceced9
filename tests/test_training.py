"""Training on the demo data: loaders, determinism, what reruns, evaluation outputs, prediction."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import loaders
import settings
from workflow import ROOT, planned, run

DOWNSTREAM_OF_TRAINING = {"train", "plot_history", "plot_confusion", "plot_pr_curves", "compare_branches",
                          "comparison_page", "all"}


@pytest.fixture(scope="module")
def demo(demo_trained):
    """The demo workflow trained to both models with the default configuration (see conftest.py)."""
    return demo_trained


def load_keras_model(path):
    from model import setup_keras

    return setup_keras().models.load_model(path)


def test_demo_model_clearly_beats_chance(demo):
    metrics = json.loads((demo / "results" / "npy" / "metrics.json").read_text())
    n_classes = len(pd.read_csv(demo / "results" / "classes.csv"))
    assert metrics["test"]["n"] == 40
    assert metrics["test"]["accuracy"] > 2.5 / n_classes  # chance is 1/5
    assert set(metrics["test"]["per_class"]) == {"clicks", "downsweep", "harmonic", "noise_burst", "upsweep"}
    assert metrics["holdout"] is None


def test_every_evaluation_output_is_written(demo):
    results = demo / "results"
    defaults = settings.defaults("training")
    epochs, first = defaults["epochs"], defaults["epochs"] - defaults["average_epochs"] + 1
    for branch in ("npy", "png"):
        history = pd.read_csv(results / branch / "history.csv")
        assert {"epoch", "loss", "accuracy", "val_loss", "val_accuracy"} <= set(history.columns)
        confusion = pd.read_csv(results / branch / "confusion_matrix.csv", index_col=0)
        assert confusion.shape == (5, 5) and confusion.to_numpy().sum() == 40
        wrong = pd.read_csv(results / branch / "misclassified.csv")
        assert list(wrong.columns) == ["id", "split", "true", "predicted", "probability", "p_true"]
        assert (wrong["true"] != wrong["predicted"]).all()
        metrics = json.loads((results / branch / "metrics.json").read_text())
        n_wrong = sum(round(metrics[s]["n"] * (1 - metrics[s]["accuracy"])) for s in ("val", "test", "holdout")
                      if metrics[s])
        assert len(wrong) == n_wrong
        # the baseline beside the CNN, on the same splits; the epoch kept and the time per epoch
        assert metrics["baseline"]["test"]["n"] == metrics["test"]["n"] and metrics["baseline"]["holdout"] is None
        training = metrics["training"]
        assert 1 <= training["kept_epoch"] <= training["epochs_run"] == len(history)
        assert training["averaged_epochs"] == defaults["average_epochs"] and training["kept_val_loss"] > 0
        assert training["seconds_per_epoch"] > 0
        # one pass over the demo's 240 training clips per epoch already makes min_steps: the demo trains as before
        n_train = int((pd.read_csv(results / "final_specs.csv")["split"] == "train").sum())
        per_pass = -(-n_train // defaults["batch_size"])
        assert training["passes_per_epoch"] == 1 and training["steps_per_epoch"] == per_pass
        assert training["steps"] == per_pass * training["epochs_run"] >= defaults["min_steps"]
        assert isinstance(metrics["beats_baseline_on_val"], bool)
        for figure in ("training_curves", "confusion_matrix"):
            assert (results / "figures" / f"{branch}_{figure}.png").stat().st_size > 1000
    comparison = json.loads((results / "branch_comparison.json").read_text())
    assert 0 < comparison["max_abs_png_minus_npy"] <= 1 / 510 + 1e-6
    assert set(comparison["branches"]) == {"npy", "png"}
    page = (results / "branch_comparison.md").read_text()
    assert "| npy | test | 40 |" in page and "baseline accuracy" in page and "epoch kept" in page
    for branch in ("npy", "png"):
        entry = comparison["branches"][branch]
        assert entry["baseline"]["test"]["n"] == 40 and entry["training"]["kept_epoch"] >= 1
        assert f"{branch}: {entry['verdict']}." in page
        log = (demo / "logs" / f"train_{branch}.log").read_text()
        assert entry["verdict"] in log and f"kept the mean weights of epochs {first}-{epochs}" in log


def test_provenance_records_what_the_model_was_trained_with(demo):
    record = json.loads((demo / "results" / "model_npy.provenance.json").read_text())
    assert record["branch"] == "npy"
    assert record["classes"] == ["clicks", "downsweep", "harmonic", "noise_burst", "upsweep"]
    assert record["input_shape"] == [64, 63, 1]
    assert record["spectrogram"]["n_mels"] == 64 and record["config"]["training"]["seed"] == 42
    import hashlib

    manifest = (demo / "results" / "final_specs.csv").read_bytes()
    assert record["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert record["packages"]["keras"] and record["packages"]["librosa"]
    assert record["keras_backend"] == "tensorflow"
    assert "git_commit" in record
    # where it was computed: the same seed gives the same weights only with the same threads and kind of CPU
    numerics = record["numerics"]
    assert numerics["threads"] == 1  # the train rule's default
    assert numerics["cpu"] and isinstance(numerics["cpu_isa"], list)
    assert numerics["tf_enable_onednn_opts"] == os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1")


def test_thread_count_retrains_nothing(demo):
    # docs/training.md, "Which runs give the same weights": a model keeps the threads it was trained with
    # (Snakemake leaves thread counts out of its rerun triggers); --forcerun train retrains with new ones
    rules, _ = planned(demo, "--set-threads", "train=2")
    assert sum(rules.values()) == 0


def test_load_npy_data_lines_up_with_the_manifest(demo, tmp_path):
    results = demo / "results"
    data = loaders.load_npy_data(str(results / "final_specs.csv"))
    manifest = loaders.read_manifest(results / "final_specs.csv")
    assert data.features.shape == (320, 64, 63, 1) and data.features.dtype == np.float32
    assert 0.0 <= data.features.min() and data.features.max() <= 1.0
    np.testing.assert_array_equal(data.labels, manifest["class_id"])
    np.testing.assert_array_equal(data.authors, manifest["author"])
    np.testing.assert_array_equal(data.split, manifest["split"])
    np.testing.assert_array_equal(data.features[7, ..., 0], np.load(results / manifest["filename"][7]))
    loaders.stack_npy(str(results / "final_specs.csv"), str(tmp_path / "stack.npy"))
    mapped = loaders.load_npy_data(str(results / "final_specs.csv"), stack=str(tmp_path / "stack.npy"))
    assert isinstance(mapped.features, np.memmap)
    np.testing.assert_array_equal(np.asarray(mapped.features), data.features)


def test_load_csv_data_is_the_legacy_path(demo):
    results = demo / "results"
    legacy = loaders.load_csv_data(str(results / "train_data.csv"))
    exact = loaders.load_npy_data(str(results / "final_specs.csv"))
    assert legacy.features.shape == exact.features.shape and legacy.features.dtype == np.float32
    order = {clip: i for i, clip in enumerate(exact.ids)}
    rows = np.array([order[clip] for clip in legacy.ids])
    np.testing.assert_array_equal(legacy.labels, exact.labels[rows])
    np.testing.assert_array_equal(legacy.authors, exact.authors[rows])
    diff = np.abs(legacy.features - exact.features[rows])
    assert diff.max() <= 1 / 510 + 1e-6  # the /255 step undoes round(255 x), flip included
    pixel_values = np.unique(np.rint(legacy.features * 255))
    assert pixel_values.min() >= 0 and pixel_values.max() <= 255


def test_normaliser_holds_training_split_statistics_only(demo):
    from model import frequency_statistics

    results = demo / "results"
    data = loaders.load_npy_data(str(results / "final_specs.csv"))
    model = load_keras_model(str(results / "model_npy.keras"))
    layer = model.get_layer("per_frequency")
    mean = np.ravel(layer.mean)
    train_mean, _ = frequency_statistics(data.features, data.indices("train"))
    everything_mean, _ = frequency_statistics(data.features, np.arange(len(data.labels)))
    np.testing.assert_allclose(mean, train_mean, rtol=1e-5, atol=1e-6)
    assert not np.allclose(mean, everything_mean, rtol=1e-5, atol=1e-6)


def test_nothing_changed_plans_nothing(demo):
    rules, _ = planned(demo)
    assert sum(rules.values()) == 0


def test_training_setting_reruns_only_training(demo):
    (demo / "change.yaml").write_text("training:\n  epochs: 3\n")
    rules, _ = planned(demo, "--configfile", "change.yaml")
    # the stacked NPY file is temp(): it is rebuilt for the new training, nothing upstream is
    # effective_config: the configuration changed; stack_npy: its output is temp()
    assert set(rules) == DOWNSTREAM_OF_TRAINING | {"stack_npy", "effective_config"} and rules["train"] == 2


def test_same_seed_gives_the_same_weights_and_metrics(demo, tmp_path):
    again = tmp_path / "again"
    shutil.copytree(demo, again, symlinks=True)
    def without_seconds(path):  # wall-clock seconds differ between runs; nothing else may
        metrics = json.loads(path.read_text())
        metrics["training"] = {k: v for k, v in metrics["training"].items() if not k.startswith("seconds")}
        return metrics

    before = without_seconds(again / "results" / "npy" / "metrics.json")
    run(again, "results/model_npy.keras", "--cores", "2", "--forcerun", "train", timeout=900)
    assert without_seconds(again / "results" / "npy" / "metrics.json") == before
    # like with like: the same threads on the same CPU (the same seed on other threads can give other weights)
    numerics = [json.loads((d / "results" / "model_npy.provenance.json").read_text())["numerics"]
                for d in (demo, again)]
    assert numerics[0] == numerics[1]
    first = load_keras_model(str(demo / "results" / "model_npy.keras")).get_weights()
    second = load_keras_model(str(again / "results" / "model_npy.keras")).get_weights()
    assert len(first) == len(second)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_predictions_use_the_stored_settings(demo, tmp_path):
    results = demo / "results"
    manifest = loaders.read_manifest(results / "final_specs.csv")
    test_rows = manifest[manifest["split"] == "test"]
    folder = tmp_path / "new"
    for path in test_rows["audio_path"]:
        target = folder / path.split("results/demo_audio/", 1)[1]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(demo / path, target)
    # a config.yaml with other spectrogram settings must not matter: the provenance decides
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "config.yaml").write_text("spectrogram:\n  n_mels: 32\n  sr: 8000\n")
    out = tmp_path / "pred.csv"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "predict.py"), "--model", str(results / "model_npy.keras"),
         str(folder), "--out", str(out)],
        cwd=elsewhere, check=True, capture_output=True, text=True, timeout=600,
    )
    table = pd.read_csv(out)
    assert len(table) == 40
    probabilities = table[[c for c in table.columns if c.startswith("p_")]].to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    truth = [f.split("/new/", 1)[1].split("/")[0] for f in table["file"]]
    accuracy = np.mean(np.array(truth) == table["predicted"].to_numpy())
    metrics = json.loads((results / "npy" / "metrics.json").read_text())
    assert accuracy == pytest.approx(metrics["test"]["accuracy"])


def test_predict_rule_runs_only_prediction(demo, tmp_path):
    folder = tmp_path / "field"
    folder.mkdir()
    source = demo / "results" / "demo_audio" / "clicks"
    for wav in sorted(source.iterdir())[:3]:
        shutil.copy(wav, folder / wav.name)
    (demo / "predict.yaml").write_text(f"predict:\n  field: {folder}\n")
    rules, _ = planned(demo, "results/predictions/field.csv", "--configfile", "predict.yaml")
    assert set(rules) == {"predict", "predictions"}  # one job per batch of recordings, and their aggregate
    run(demo, "results/predictions/field.csv", "--cores", "2", "--configfile", "predict.yaml")
    table = pd.read_csv(demo / "results" / "predictions" / "field.csv")
    assert len(table) == 3 and {"file", "predicted", "probability", "p_clicks"} <= set(table.columns)
