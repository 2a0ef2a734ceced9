"""The advice given when the CNN does not beat its baseline: its rules, and where it appears."""

import doctest
import json
import re

import numpy as np
import pytest
import yaml

import advice
import compare_branches
import loaders
import report_pages
import settings
import train
from test_models import tiny_dataset, tiny_training
from workflow import ROOT

AUGMENTED = settings.defaults("training")
NOT_AUGMENTED = {**AUGMENTED, "freq_warp": 0, "time_shift": 0, "time_masks": 0, "freq_masks": 0, "mixup_alpha": 0}


def facts(**changes):
    """The issue's chord set trained one pass per epoch (``min_steps: 0``): 53 clips, 2 steps per epoch, 120 in all."""
    values = {
        "steps_per_epoch": 2, "epochs_run": 60, "epochs": 60, "min_steps": 0, "train_accuracy": 0.09,
        "val_accuracy": 0.1,
        "n_val": 20, "baseline_val_accuracy": 0.6, "class_counts": {"C": 4, "G": 4, "D": 4},
        "augmentation": {key: AUGMENTED[key] for key in advice.AUGMENTATION},
    }
    values.update(changes)
    return values


CASES = {
    "few steps": facts(),
    "early stopped": facts(epochs_run=20),
    "not learning": facts(steps_per_epoch=20),
    "not learning, no augmentation": facts(steps_per_epoch=20,
                                           augmentation={key: 0 for key in advice.AUGMENTATION}),
    "overfitting": facts(steps_per_epoch=20, train_accuracy=1.0, val_accuracy=0.5, n_val=40),
    "rare classes": facts(steps_per_epoch=20, train_accuracy=1.0, val_accuracy=0.95, baseline_val_accuracy=0.97,
                          class_counts={"C": 30, "G": 1, "D": 2, "E": 0, "A": 3}),
    "tie": facts(steps_per_epoch=20, train_accuracy=1.0, val_accuracy=1.0, baseline_val_accuracy=1.0),
    "nothing stands out": facts(steps_per_epoch=20, train_accuracy=0.9, val_accuracy=0.85, n_val=200,
                                baseline_val_accuracy=0.88),
}


def first_words(tips):
    return [tip.split(":")[0].split(" (")[0] for tip in tips]


def test_doctests():
    assert doctest.testmod(advice).failed == 0


def test_few_steps_and_low_training_accuracy_say_train_longer_by_how_much():
    tips = advice.advice(CASES["few steps"])
    assert first_words(tips) == ["Train longer"]
    assert "120 optimiser steps in all (2 per epoch × 60 epochs)" in tips[0]
    assert f"training.min_steps to at least {advice.FEW_STEPS}" in tips[0] and "training.batch_size" in tips[0]
    assert "early_stopping" not in tips[0]
    stopped = advice.advice(CASES["early stopped"])[0]
    assert "40 optimiser steps" in stopped and "after 20 of 60 epochs" in stopped
    assert "training.early_stopping_patience" in stopped
    # with min_steps at its default, only early stopping can have cut the run short: min_steps is not named
    stopped = advice.advice(facts(epochs_run=20, min_steps=advice.FEW_STEPS))[0]
    assert "after 20 of 60 epochs" in stopped and "min_steps" not in stopped
    assert advice.FEW_STEPS == settings.defaults("training")["min_steps"]
    # enough steps already in the training data learned: not "train longer"
    assert "Train longer" not in " ".join(advice.advice(facts(train_accuracy=0.97, val_accuracy=0.5)))


def test_low_training_accuracy_after_many_steps_points_at_the_augmentation_switched_on():
    tips = advice.advice(CASES["not learning"])
    assert first_words(tips) == ["The CNN does not learn its own training data"]
    assert "training accuracy 0.09 after 1200 optimiser steps, 20 per epoch" in tips[0]
    assert "training.freq_warp: 0 when pitch defines the classes" in tips[0]
    assert "training.time_masks" in tips[0] and "training.mixup_alpha: 0" in tips[0]
    no_warp = dict(CASES["not learning"]["augmentation"], freq_warp=0)
    assert "freq_warp" not in advice.advice(facts(steps_per_epoch=20, augmentation=no_warp))[0]
    plain = advice.advice(CASES["not learning, no augmentation"])[0]
    assert "no augmentation on" in plain and "training.learning_rate" in plain and "freq_warp" not in plain


def test_training_data_learned_and_val_far_below_is_overfitting():
    tips = advice.advice(CASES["overfitting"])
    assert first_words(tips) == ["Overfitting"]
    assert "training accuracy 1.00, val 0.50 (40 clips)" in tips[0] and "training.weight_decay" in tips[0]
    # the warp (on by default) comes first: on pitch-defined classes a warped model fits its training data and
    # fails on new takes, which looks like overfitting (docs/training.md, Which augmentation for which sound)
    assert tips[0].index("training.freq_warp: 0 first") < tips[0].index("more augmentation")
    unwarped = dict(CASES["overfitting"]["augmentation"], freq_warp=0)
    assert "freq_warp" not in advice.advice(dict(CASES["overfitting"], augmentation=unwarped))[0]
    # within val's sampling noise (1/sqrt(25) = 0.2) it is not called overfitting
    assert "Overfitting" not in " ".join(advice.advice(facts(steps_per_epoch=20, train_accuracy=1.0,
                                                             val_accuracy=0.84, n_val=25)))
    assert advice.far_below(1.0, 0.84, 400) and not advice.far_below(1.0, 0.91, 400)


def test_classes_with_one_or_two_training_examples_are_named_fewest_first():
    tips = advice.advice(CASES["rare classes"])
    assert first_words(tips) == ["Label more examples of E"]
    assert tips[0].startswith("Label more examples of E (0), G (1), D (2):") and "A (" not in tips[0]
    many = {f"k{i:02d}": 1 for i in range(13)}
    assert "k09 (1) and 3 more:" in advice.advice(facts(class_counts=many))[-1]
    # after what the training run says, in the order of the rules
    assert first_words(advice.advice(facts(class_counts={"C": 1, "G": 5}))) == ["Train longer",
                                                                                 "Label more examples of C"]


def test_a_tie_and_nothing_standing_out_have_their_own_advice():
    tie = advice.advice(CASES["tie"])
    assert first_words(tie) == ["The CNN ties the baseline on val"] and "split.fractions" in tie[0]
    rest = advice.advice(CASES["nothing stands out"])
    assert first_words(rest) == ["No single cause stands out"] and "spectrogram.n_mels" in rest[0]


def test_every_key_the_advice_names_is_in_the_schema():
    schema = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())["properties"]
    named = set()
    for case in CASES.values():
        for tip in advice.advice(case):
            named |= set(re.findall(r"\b([a-z]+)\.([a-z_]+)\b", tip))
    named -= {("history", "csv"), ("training", "md"), ("e", "g")}  # a file, a page, "e.g."
    assert {section for section, _ in named} == {"training", "split", "spectrogram"}
    for section, key in named:
        assert key in schema[section]["properties"], f"{section}.{key} is not a configuration key"


def test_run_facts_counts_steps_and_examples_per_class_recordings_for_windows():
    training = settings.complete("training", {"batch_size": 16, "epochs": 30})
    labels = np.array([0, 0, 0, 1, 1, 1, 1])
    found = advice.run_facts(training, {"epochs_run": 12, "steps_per_epoch": 7}, labels, ["a", "b", "c"], 0.5,
                             {"n": 9, "accuracy": 0.4}, {"n": 9, "accuracy": 0.6})
    assert found["steps_per_epoch"] == 7 and found["epochs_run"] == 12 and found["epochs"] == 30
    assert found["min_steps"] == training["min_steps"]
    assert found["class_counts"] == {"a": 3, "b": 4, "c": 0} and found["n_val"] == 9
    windows = advice.run_facts(training, {"epochs_run": 12, "steps_per_epoch": 7}, labels, ["a", "b", "c"], 0.5,
                               {"n": 9, "accuracy": 0.4}, {"n": 9, "accuracy": 0.6},
                               train_recordings=np.array(["r1", "r1", "r2", "r3", "r3", "r3", "r3"]))
    assert windows["class_counts"] == {"a": 2, "b": 1, "c": 0}


def test_a_run_whose_cnn_does_not_beat_the_baseline_logs_and_writes_the_advice(tmp_path, monkeypatch, capsys):
    """One epoch of two steps on bands the baseline separates perfectly (val 1.0): the CNN cannot beat it."""
    monkeypatch.setattr(loaders, "load_branch", lambda *args: tiny_dataset())
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("id\n")
    out = {name: str(tmp_path / "npy" / f"{name}.{ext}") for name, ext in (
        ("history", "csv"), ("metrics", "json"), ("confusion", "csv"), ("misclassified", "csv"), ("scores", "csv"),
        ("provenance", "json"), ("model", "keras"), ("per_group", "csv"))}
    train.main("npy", str(manifest), None, "mono", tiny_training(epochs=1), {"spectrogram": {}}, str(tmp_path), None,
               out)
    log = capsys.readouterr().err
    metrics = json.loads((tmp_path / "npy" / "metrics.json").read_text())
    assert metrics["baseline"]["val"]["accuracy"] == 1.0 and metrics["beats_baseline_on_val"] is False
    assert set(metrics) == {"multi_label", "val", "test", "holdout", "baseline", "training", "beats_baseline_on_val", "advice"}
    assert metrics["advice"][0].startswith("Train longer: 2 optimiser steps in all (2 per epoch × 1 epoch)")
    for tip in metrics["advice"]:
        assert f"npy: advice: {tip}" in log
    assert log.index("WARNING: the CNN does not beat the baseline") < log.index("npy: advice: ")

    # the comparison and its report page carry it as a list under the warning
    record = compare_branches.comparison({"npy": metrics, "png": {**metrics, "advice": None}}, 0.001)
    assert record["branches"]["npy"]["advice"] == metrics["advice"] and record["branches"]["png"]["advice"] == []
    text = compare_branches.markdown(record)
    assert f"npy: what to try first:\n\n- {metrics['advice'][0]}\n" in text
    assert "png: what to try first" not in text
    (tmp_path / "c.md").write_text(text)
    report_pages.markdown_page(tmp_path / "c.md", tmp_path / "c.html", "comparison")
    page = (tmp_path / "c.html").read_text()
    items = re.findall(r"<li>([^<]*)</li>", page)
    assert len(items) == len(metrics["advice"]) and "Train longer: 2 optimiser steps" in items[0]
    assert page.index("npy: what to try first") < page.index("<ul>") < page.index("png: WARNING")


@pytest.mark.parametrize("text, tags", [
    ("a\n- one\n- two\n| x | y |\n| --- | --- |\n| 1 | 2 |\nb\n", ["<p>", "<ul>", "<table>", "<p>"]),
    ("| x |\n| --- |\n| 1 |\n- one\nb\n", ["<table>", "<ul>", "<p>"]),
])
def test_markdown_lists_and_tables_keep_their_order(text, tags):
    page = report_pages.markdown_html(text)
    assert re.findall(r"<(?:p|ul|table)>", page) == tags
