"""Experiments and cross-validation: named training variants and fold models on one spectrogram stage, the
fold rules as properties, and one comparison of every model with the mean and spread over the folds."""

import json
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import compare_experiments
import config_checks
import loaders
import splits
import train
from make_folds import FoldError, file_folds, read_fold_column
from workflow import SMALL_CONFIG, copy_workflow, make_audio_folder, planned, run

KEYS = st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=30)


# --- the fold rules ------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(keys=KEYS, k=st.integers(2, 8), seed=st.integers(0, 10**6))
def test_folds_are_dealt_evenly_the_same_whatever_the_order(keys, k, seed):
    folds = splits.deal_folds(keys, k, seed)
    assert set(folds) == set(keys)
    sizes = [list(folds.values()).count(str(i)) for i in range(1, k + 1)]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == len(set(keys))
    assert splits.deal_folds(list(reversed(keys)), k, seed) == folds


@settings(max_examples=200, deadline=None)
@given(row_folds=st.lists(st.sampled_from(["1", "2", "3", "4", ""]), min_size=1, max_size=40),
       val=st.sampled_from(["next", "none"]))
def test_every_row_is_tested_once_over_the_folds_and_validated_on_the_next(row_folds, val):
    names = ["1", "2", "3", "4"]
    default = np.where(np.asarray(row_folds) == "", "holdout", "train")
    tested = np.zeros(len(row_folds), dtype=int)
    for i, fold in enumerate(names):
        split = splits.fold_split(default, row_folds, fold, names, val)
        tested += split == "test"
        for row, (given_fold, placed) in enumerate(zip(row_folds, split)):
            if given_fold == "":
                assert placed == "holdout"
            elif given_fold == fold:
                assert placed == "test"
            elif val == "next" and given_fold == names[(i + 1) % 4]:
                assert placed == "val"
            else:
                assert placed == "train", (row, given_fold, fold)
    assert tested.tolist() == [int(f != "") for f in row_folds]


def test_numbered_folds_sort_by_number_and_a_png_table_is_placed_by_its_clip_ids(tmp_path):
    assert splits.fold_order(["10", "9", "1"]) == ["1", "9", "10"]
    folds = tmp_path / "folds.csv"
    folds.write_text("id,author,fold\nbark/ann_0,ann,1\nbark/bob_0,bob,2\nbark/cyd_0,cyd,3\n")
    data = loaders.Dataset(features=np.zeros((3, 2, 2, 1)), labels=np.zeros(3, int),
                           authors=np.array(["ann", "bob", "cyd"]), split=np.array(["train", "val", "test"]),
                           ids=np.array(["bark/ann_0", "bark/bob_0", "bark/cyd_0"]), classes=["bark"])
    fold = {"fold": "2", "names": ["1", "2", "3"], "val": "next"}
    assert train.fold_rows(data, folds, fold).tolist() == ["train", "test", "val"]


def test_a_fold_column_is_read_and_its_errors_name_the_file_and_line(tmp_path):
    table = tmp_path / "meta.csv"
    table.write_text("path,fold,class\na.wav,1,dog\nsub/b.wav,5,cat\n")
    assert read_fold_column(str(table), "fold") == {"a.wav": "1", "sub/b.wav": "5"}
    table.write_text("path,fold\na.wav,1\nb.wav,\n")
    with pytest.raises(FoldError, match=r"meta.csv, line 3: fold '' of b.wav"):
        read_fold_column(str(table), "fold")
    table.write_text("path,fold\na.wav,1\na.wav,2\n")
    with pytest.raises(FoldError, match=r"line 3: a.wav is given folds '1' and '2'"):
        read_fold_column(str(table), "fold")
    catalog = pd.DataFrame({"id": ["a", "c"], "author": ["x", "y"], "split": ["train", "train"],
                            "audio_path": [f"{tmp_path}/a.wav", f"{tmp_path}/c.wav"]})
    table.write_text("path,fold\na.wav,1\n")
    with pytest.raises(FoldError, match=r"no 'fold' for c.wav"):
        file_folds(catalog, {"k": None, "column": "fold"}, "author", 0, str(tmp_path), str(table))


def test_experiment_and_fold_settings_are_checked_before_any_job():
    training = {"learning_rate": 0.001, "epochs": 60, "learning_curve": []}
    problems = config_checks.experiment_problems(
        [{"name": "a", "training": {"learning_rate": -1}}, {"name": "a", "training": {}},
         {"name": "b", "branches": ["png"], "training": {"lerning_rate": 0.1}}], ["npy"], training)
    assert problems == [
        "experiments: 'a' training.learning_rate: -1 is less than or equal to the minimum of 0",
        "experiments: the name 'a' is given twice; each experiment needs its own name",
        "experiments: 'b' trains on branch 'png', which branches does not enable",
        "experiments: 'b' changes unknown training key(s) lerning_rate",
    ]
    both = {"k": 5, "column": "fold", "csv": None, "val": "next"}
    assert "not both" in config_checks.fold_problems(both, {"from": "pattern", "csv": None})[0]


def test_the_comparison_gives_the_mean_and_sample_spread_over_the_folds():
    def metrics(accuracy, seconds):
        return {"test": {"accuracy": accuracy, "macro_f1": accuracy - 0.1},
                "baseline": {"test": {"accuracy": 0.5, "macro_f1": 0.4}}, "training": {"seconds": seconds}}

    models = [("default", "npy", "", metrics(0.9, 10.0)), ("default", "npy", "1", metrics(0.8, 11.0)),
              ("default", "npy", "2", metrics(0.7, 12.0)), ("default", "npy", "3", metrics(0.6, 13.0))]
    table = compare_experiments.model_table(models)
    summary = compare_experiments.fold_summary(table).iloc[0]
    assert summary["folds"] == 3
    assert summary["accuracy_mean"] == pytest.approx(0.7) and summary["accuracy_std"] == pytest.approx(0.1)
    text = compare_experiments.markdown(table, compare_experiments.fold_summary(table))
    assert "| default | npy | 3 | 0.700 ± 0.100 | 0.600 ± 0.100 | 0.500 ± 0.000 |" in text
    assert "macro mAP" not in text  # no model has it


# --- through the workflow ------------------------------------------------------------------------

TRAINING = """\
training: {epochs: 2, min_steps: 0, conv_blocks: 1, filters: 4, dense_units: 8, average_epochs: 0,
           mixup_alpha: 0.0}
branches: [npy]
"""
VARIANTS = """\
split: {{folds: {{k: 3}}}}
experiments: [{{name: {name}, training: {{learning_rate: {rate}}}}}]
"""


@pytest.fixture(scope="module")
def cross_validated(tmp_path_factory):
    """The default model first, then three folds and one experiment added: the plan and the run."""
    base = tmp_path_factory.mktemp("experiments")
    work = copy_workflow(base / "wf")
    audio = base / "audio"
    make_audio_folder(audio)
    config = SMALL_CONFIG.format(audio_dir=audio).replace("  assign:", "  holdout_authors: [eve]\n  assign:")
    (work / "test.yaml").write_text(config + TRAINING)
    run(work, "results/model_npy.keras", "--cores", "2", "--configfile", "test.yaml")
    (work / "variants.yaml").write_text(VARIANTS.format(name="lr_high", rate=0.003))
    args = ("--configfile", "test.yaml", "variants.yaml")
    plan = planned(work, *args)
    run(work, "--cores", "2", *args, timeout=1200)
    return work, plan, args


def test_adding_folds_and_an_experiment_trains_only_the_new_models(cross_validated):
    _, (rules, _), _ = cross_validated
    # 3 folds of the default training, the experiment, and its 3 folds; the default model and the
    # spectrogram stage are shared
    assert rules["train"] == 7
    assert not any(rule.startswith(("spectrogram", "catalog", "manifest", "stack_npy")) for rule in rules)
    assert rules["folds"] == 1 and rules["compare_experiments"] == 1


def test_each_fold_model_tests_on_its_fold_and_validates_on_the_next(cross_validated):
    work, _, _ = cross_validated
    results = work / "results"
    folds = pd.read_csv(results / "folds.csv", dtype=str, keep_default_na=False)
    per_author = folds.groupby("author")["fold"].unique()
    assert all(len(values) == 1 for values in per_author)  # whole authors per fold
    assert per_author["eve"][0] == ""  # held out of every fold
    authors = {a: f[0] for a, f in per_author.items() if f[0]}
    assert sorted(set(authors.values())) == ["1", "2", "3"]
    manifest = pd.read_csv(results / "final_specs.csv", dtype=str)
    files = manifest.groupby("author").size()
    for prefix in ("folds/{}/", "experiments/lr_high/folds/{}/"):
        for fold, after in (("1", "2"), ("2", "3"), ("3", "1")):
            record = json.loads((results / prefix.format(fold) / "model_npy.provenance.json").read_text())
            counts = record["split_counts"]
            assert counts["test"] == sum(files[a] for a, f in authors.items() if f == fold)
            assert counts["val"] == sum(files[a] for a, f in authors.items() if f == after)
            assert counts["holdout"] == files["eve"]
            assert record["config"]["fold"] == fold


def test_an_experiment_changes_only_its_training_and_writes_under_its_name(cross_validated):
    work, _, _ = cross_validated
    results = work / "results"
    default = json.loads((results / "model_npy.provenance.json").read_text())
    experiment = json.loads((results / "experiments" / "lr_high" / "model_npy.provenance.json").read_text())
    assert default["config"]["training"]["learning_rate"] == 0.001
    assert experiment["config"]["training"]["learning_rate"] == 0.003
    assert {k: v for k, v in experiment["config"]["training"].items() if k != "learning_rate"} == {
        k: v for k, v in default["config"]["training"].items() if k != "learning_rate"}
    assert experiment["split_counts"] == default["split_counts"]  # the same split as the default model
    for figure in ("training_curves", "confusion_matrix", "pr_curves"):
        assert (results / "experiments" / "lr_high" / "figures" / f"npy_{figure}.png").stat().st_size > 1000


def test_the_comparison_lists_every_model_with_the_mean_and_spread_of_its_folds(cross_validated):
    work, _, _ = cross_validated
    results = work / "results"
    table = pd.read_csv(results / "experiments.csv", dtype={"fold": str}, keep_default_na=False)
    assert list(zip(table["experiment"], table["fold"])) == [
        ("default", ""), ("default", "1"), ("default", "2"), ("default", "3"),
        ("lr_high", ""), ("lr_high", "1"), ("lr_high", "2"), ("lr_high", "3")]
    document = json.loads((results / "experiments.json").read_text())
    for row in document["cross_validation"]:
        prefix = "" if row["experiment"] == "default" else f"experiments/{row['experiment']}/"
        accuracies = [json.loads((results / f"{prefix}folds/{f}/npy/metrics.json").read_text())["test"]["accuracy"]
                      for f in ("1", "2", "3")]
        assert row["folds"] == 3
        assert row["accuracy_mean"] == pytest.approx(statistics.mean(accuracies), abs=1e-4)
        assert row["accuracy_std"] == pytest.approx(statistics.stdev(accuracies), abs=1e-4)
    page = (results / "report" / "experiments.html").read_text()
    assert "Cross-validation" in page and " ± " in page


def test_a_second_learning_rate_plans_only_its_own_models(cross_validated):
    work, _, args = cross_validated
    (work / "more.yaml").write_text(
        "experiments: [{name: lr_high, training: {learning_rate: 0.003}}, {name: lr_low, training: "
        "{learning_rate: 0.0003}}]\n")
    rules, _ = planned(work, *args, "more.yaml")
    assert rules["train"] == 4  # lr_low and its three folds
    assert not any(rule.startswith(("spectrogram", "catalog", "manifest", "folds")) for rule in rules)
    (work / "more.yaml").write_text("experiments: [{name: lr_high, training: {learning_rate: 0.004}}]\n")
    rules, _ = planned(work, *args, "more.yaml")
    assert rules["train"] == 4  # lr_high's four models retrain; the default ones stay


def test_a_copied_project_is_up_to_date_where_it_lands(cross_validated, tmp_path):
    """Nothing of a model's params names the folder the workflow is in: a copied or moved project retrains nothing."""
    import shutil

    work, _, args = cross_validated
    moved = tmp_path / "elsewhere"
    shutil.copytree(work, moved, symlinks=True)
    rules, _ = planned(moved, *args)
    assert sum(rules.values()) == 0, rules
