"""Overlapping sounds through the workflow: multi-hot windows, sigmoid CNNs, per-class thresholds, every metric,
predictions with overlapping selections (labels.multi_label)."""

import json

import numpy as np
import pandas as pd
import pytest

import loaders
import predict
from test_windows_workflow import CONFIG as WINDOWS_CONFIG
from test_windows_workflow import recording
from workflow import copy_workflow, run

CLASSES = ["jay", "owl"]  # label columns in class-id order
CONFIG = (  # the windowed test's configuration, with several classes per window
    WINDOWS_CONFIG.replace("files_per_job: 1\n", "files_per_job: 4\n")
    .replace("  background: quiet\n", "  background: quiet\n  multi_label: true\n")
    .replace("epochs: 2,", "epochs: 3,")
)
# Calls that overlap a call of the other class, a call alone, and quiet stretches.
EVENTS = [[(0.6, 1.6, "owl"), (1.0, 2.0, "jay"), (3.0, 3.6, "owl"), (4.6, 5.4, "jay")],
          [(0.4, 1.2, "jay"), (2.2, 3.4, "owl"), (2.6, 3.2, "jay"), (5.0, 5.6, "owl")]]
TARGETS = ["all", "results/predictions/fresh.csv"]  # every default output (gallery, report pages) and predictions


@pytest.fixture(scope="module")
def chorus(tmp_path_factory):
    base = tmp_path_factory.mktemp("multilabel")
    work = copy_workflow(base / "wf")
    audio, fresh = base / "audio", base / "fresh"
    audio.mkdir()
    fresh.mkdir()
    for a, author in enumerate(("ann", "bob", "cyd")):
        for i, events in enumerate(EVENTS):
            recording(audio, f"{author}_{i}", 6.3, events, seed=10 * a + i)
    recording(fresh, "dan_0", 4.0, EVENTS[0][:2], seed=99)
    (work / "test.yaml").write_text(CONFIG.format(audio_dir=audio, fresh=fresh))
    run(work, *TARGETS, "--cores", "2", "--configfile", "test.yaml", timeout=1200)
    return work, audio, fresh


def test_windows_carry_every_class_that_overlaps_them_on_both_branches(chorus):
    work, _, _ = chorus
    results = work / "results"
    manifest = pd.read_csv(results / "final_specs.csv")
    assert list(manifest.filter(like="label_").columns) == [f"label_{c}" for c in CLASSES]
    assert "class_id" not in manifest.columns
    both = manifest[(manifest["label_jay"] == 1) & (manifest["label_owl"] == 1)]
    assert len(both) >= 6 and set(both["class"]) == {"jay;owl"}  # ann_0's [0.5, 1.5] holds owl and jay
    assert ((manifest["id"] == "ann_0") & (manifest["window"] == 1)).loc[both.index].any()
    quiet = manifest[manifest[["label_jay", "label_owl"]].sum(axis=1) == 0]
    assert len(quiet) and set(quiet["class"]) == {"quiet"}
    npy = loaders.load_npy_data(str(results / "final_specs.csv"))
    png = loaders.load_csv_data(str(results / "train_data.csv"))
    assert npy.multi_label and png.multi_label and npy.classes == png.classes == CLASSES
    np.testing.assert_array_equal(npy.targets, manifest[["label_jay", "label_owl"]].to_numpy())
    np.testing.assert_array_equal(npy.targets, png.targets)
    assert pd.read_csv(results / "classes.csv").values.tolist() == [["jay", 0], ["owl", 1]]
    summary = pd.read_csv(results / "split_summary.csv")  # a window counts under each of its classes
    counted = summary.groupby("class")["files"].sum()
    assert counted["jay"] == manifest["label_jay"].sum() and counted["owl"] == manifest["label_owl"].sum()
    assert counted["quiet"] == len(quiet) and (results / "figures" / "gallery.png").stat().st_size > 1000


@pytest.mark.parametrize("branch", ["npy", "png"])
def test_a_sigmoid_model_with_a_threshold_per_class_and_every_metric(chorus, branch):
    work, _, _ = chorus
    results = work / "results"
    metrics = json.loads((results / branch / "metrics.json").read_text())
    provenance = json.loads((results / f"model_{branch}.provenance.json").read_text())
    assert metrics["multi_label"] is True
    assert set(metrics["thresholds"]) == set(CLASSES) and provenance["thresholds"] == metrics["thresholds"]
    assert all(0 <= t <= 1 for t in metrics["thresholds"].values())
    for who in (metrics, metrics["baseline"]):
        for split in ("val", "test"):
            m = who[split]
            assert {"n", "accuracy", "macro_f1", "micro_f1", "macro_map", "micro_map"} <= set(m)
            for name in CLASSES:
                entry = m["per_class"][name]
                assert entry["support"] > 0 and 0 <= entry["average_precision"] <= 1 and 0 <= entry["roc_auc"] <= 1
                assert {"precision", "recall", "f1", "threshold"} <= set(entry)
            aps = [m["per_class"][name]["average_precision"] for name in CLASSES]
            assert m["macro_map"] == pytest.approx(np.mean(aps))
        level = who["test"]["event_level"]
        assert level["events"] == 8  # cyd's two recordings, four calls each
        assert 0 <= level["caught"] <= 8 and level["recall"] == pytest.approx(level["caught"] / 8)
        if level["detections"]:
            assert level["precision"] == pytest.approx(level["correct"] / level["detections"])
    assert metrics["beats_baseline_on_val"] in (True, False)
    from model import setup_keras  # the saved model ends in one sigmoid per class

    keras = setup_keras()

    model = keras.models.load_model(results / f"model_{branch}.keras")
    assert model.layers[-1].activation.__name__ == "sigmoid" and model.output_shape[-1] == 2
    scores = pd.read_csv(results / branch / "scores.csv")
    assert list(scores.columns) == ["id", "split", "label_jay", "label_owl", "p_jay", "p_owl"]
    assert set(scores["split"]) == {"val", "test"} and len(scores) == metrics["val"]["n"] + metrics["test"]["n"]
    confusion = pd.read_csv(results / branch / "confusion_matrix.csv", index_col=0)
    assert list(confusion.columns) == ["tn", "fp", "fn", "tp"] and list(confusion.index) == CLASSES
    assert (confusion.sum(axis=1) == metrics["test"]["n"]).all()
    assert (confusion["tp"] + confusion["fn"]).tolist() == [metrics["test"]["per_class"][c]["support"] for c in CLASSES]
    assert (results / "figures" / f"{branch}_pr_curves.png").stat().st_size > 1000


def test_the_comparison_shows_map_and_event_scores(chorus):
    work, _, _ = chorus
    text = (work / "results" / "branch_comparison.md").read_text()
    assert "macro mAP" in text and "event precision" in text and "event recall" in text
    assert "macro mAP" in text.split("npy:")[1].splitlines()[0]  # the verdict compares macro mAP


def test_predictions_give_each_class_its_threshold_and_selections_that_may_overlap(chorus, tmp_path):
    work, _, fresh = chorus
    results = work / "results"
    thresholds = json.loads((results / "model_npy.provenance.json").read_text())["thresholds"]
    table = pd.read_csv(results / "predictions" / "fresh.csv", keep_default_na=False)
    assert len(table) == 7 and list(table.columns) == ["file", "start", "end", "predicted", "score", "p_jay", "p_owl"]
    for row in table.itertuples(index=False):
        expected = [c for c in CLASSES if getattr(row, f"p_{c}") >= thresholds[c] - 1e-6]
        assert row.predicted == ";".join(expected)
    # every class above a zero threshold: one selection per class over the whole recording, overlapping
    predict.cli(["--model", str(results / "model_npy.keras"), str(fresh), "--out", str(tmp_path / "p.csv"),
                 "--selections", str(tmp_path / "sel"), "--threshold", "0"])
    rows = (tmp_path / "sel" / "dan_0.selections.txt").read_text().splitlines()
    selections = [line.split("\t") for line in rows[1:]]
    assert sorted(s[7] for s in selections) == CLASSES
    assert all((s[3], s[4]) == ("0.000", "4.000") for s in selections)
