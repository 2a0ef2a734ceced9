"""Metrics per author and per recording beside the pooled ones (issue 27): a site that fails must show."""

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import baseline
import compare_branches
import detections
import evaluation
import loaders

CLASSES = ["owl", "jay"]


def dataset(labels, authors, split, recordings=None, times=None, targets=None, classes=CLASSES, features=None):
    """A :class:`loaders.Dataset` of the given rows (features of one cell unless given)."""
    n = len(authors)
    return loaders.Dataset(
        features=np.zeros((n, 1, 1, 1), np.float32) if features is None else features,
        labels=np.asarray(labels), authors=np.asarray(authors, dtype=object), split=np.asarray(split),
        ids=np.asarray([f"x{i}" for i in range(n)]), classes=list(classes),
        recordings=None if recordings is None else np.asarray(recordings, dtype=object),
        times=None if times is None else np.asarray(times, dtype=np.float64),
        targets=None if targets is None else np.asarray(targets, np.float32),
    )


def one_hot_scores(predicted, n_classes=2, sure=0.9):
    """Scores whose most probable class is ``predicted``."""
    scores = np.full((len(predicted), n_classes), (1 - sure) / (n_classes - 1))
    scores[np.arange(len(predicted)), predicted] = sure
    return scores


def test_doctests():
    assert doctest.testmod(evaluation).failed == 0


def test_pooled_accuracy_hides_a_failing_site_that_per_author_shows():
    # site A: 16 test clips all right; site B: 4 clips all wrong. Pooled 0.8 looks fine.
    truth = np.array([0, 1] * 8 + [0, 1, 0, 1])
    predicted = np.concatenate([truth[:16], 1 - truth[16:]])
    data = dataset(truth, ["A"] * 16 + ["B"] * 4, ["test"] * 20)
    metrics, _ = evaluation.measure_splits(data, {"test": one_hot_scores(predicted)}, ("val", "test"))
    test = metrics["test"]
    assert metrics["val"] is None and test["accuracy"] == 0.8
    assert set(test["per_author"]) == {"A", "B"} and "per_recording" not in test  # clips: no recordings
    a, b = test["per_author"]["A"], test["per_author"]["B"]
    assert (a["n"], a["accuracy"], a["macro_f1"], a["macro_map"]) == (16, 1.0, 1.0, 1.0)
    assert (b["n"], b["accuracy"], b["macro_f1"]) == (4, 0.0, 0.0)
    assert set(a) == {"n", "accuracy", "macro_f1", "macro_map", "micro_map"}  # compact: no per-class blow-up
    rows = evaluation.group_rows({"multi_label": False, **metrics})
    assert [(r["group"], r["score"], r["pooled"], r["flagged"]) for r in rows] == [("B", 0.0, 0.8, True),
                                                                                  ("A", 1.0, 0.8, False)]


def test_the_baseline_gets_the_same_groups_through_measure_splits():
    rng = np.random.default_rng(0)
    labels = np.array([0, 1] * 12)
    features = (rng.normal(size=(24, 2, 3, 1)) + 3 * labels[:, None, None, None]).astype(np.float32)
    split = ["train"] * 12 + ["test"] * 12
    authors = ["A", "B", "C"] * 4 + ["D", "E"] * 6
    _, metrics = baseline.run_baseline(dataset(labels, authors, split, features=features), ("test",))
    groups = metrics["test"]["per_author"]
    assert set(groups) == {"D", "E"} and sum(g["n"] for g in groups.values()) == metrics["test"]["n"] == 12


def test_multi_label_groups_are_measured_at_the_pooled_thresholds():
    targets = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 1], [1, 1], [0, 0]])
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.9], [0.1, 0.2],  # val
                       [0.8, 0.1], [0.3, 0.7],                          # test, site A: right
                       [0.2, 0.1], [0.9, 0.9]])                         # test, site B: everything wrong
    data = dataset(np.full(8, -1), ["V"] * 4 + ["A", "A", "B", "B"], ["val"] * 4 + ["test"] * 4, targets=targets)
    metrics, thresholds = evaluation.measure_splits(data, {"val": scores[:4], "test": scores[4:]}, ("val", "test"))
    groups = metrics["test"]["per_author"]
    for name, rows in (("A", [4, 5]), ("B", [6, 7])):
        alone = evaluation.multilabel_split_metrics(targets[rows], scores[rows], CLASSES, thresholds)
        assert groups[name] == {key: alone[key] for key in evaluation.GROUP_KEYS}
    assert groups["A"]["accuracy"] == 1.0 and groups["B"]["accuracy"] == 0.0 and metrics["test"]["accuracy"] == 0.5
    rows = evaluation.group_rows({"multi_label": True, **metrics}, ("test",))
    assert rows[0]["metric"] == "macro_map" and rows[0]["group"] == "B"  # ranked by macro mAP, as the verdict


def windows_data():
    """Test windows of three recordings (two at site A, one at site B), their scores and annotated events."""
    recordings = ["r1"] * 4 + ["r2"] * 4 + ["r3"] * 4
    times = [[t, t + 1] for t in range(4)] * 3
    truth = np.array([0, 0, 1, 1] * 3)  # owl then background in every recording
    predicted = np.concatenate([truth[:8], [1, 1, 1, 1]])  # r3 (site B): every owl missed
    events = pd.DataFrame({"id": ["r1", "r2", "r3"], "start": [0.0] * 3, "end": [2.0] * 3, "class": ["owl"] * 3})
    data = dataset(truth, ["A"] * 8 + ["B"] * 4, ["test"] * 12, recordings=recordings, times=times,
                   classes=["owl", "background"])
    return data, one_hot_scores(predicted), events


def test_windows_get_per_recording_metrics_and_event_scores_from_the_same_detections():
    data, scores, events = windows_data()
    metrics, _ = evaluation.measure_splits(data, {"test": scores}, ("test",), background="background", events=events)
    test = metrics["test"]
    assert test["event_level"]["events"] == 3 and test["event_level"]["recall"] == pytest.approx(2 / 3)
    assert set(test["per_recording"]) == {"r1", "r2", "r3"}
    r3 = test["per_recording"]["r3"]
    assert (r3["n"], r3["accuracy"], r3["event_level"]["recall"], r3["event_level"]["precision"]) == (4, 0.5, 0.0,
                                                                                                     None)
    assert test["per_recording"]["r1"]["event_level"]["recall"] == 1.0
    site_a = test["per_author"]["A"]["event_level"]
    assert (site_a["events"], site_a["caught"], site_a["detections"], site_a["correct"]) == (2, 2, 2, 2)
    found = detections.split_detections(data.recordings, data.times, scores, data.classes, None, "background")
    assert sum(g["event_level"]["detections"] for g in test["per_recording"].values()) == len(found)


def test_flag_rule_needs_a_gap_above_0_1_and_above_one_over_sqrt_n():
    assert evaluation.flagged(0.79, 0.9, 100) is True          # 0.11 > max(0.1, 0.1)
    assert evaluation.flagged(0.81, 0.9, 100) is False         # 0.09: under the margin
    assert evaluation.flagged(0.6, 0.9, 9) is False            # 0.3 < 1/3: could be chance with 9 examples
    assert evaluation.flagged(0.5, 0.9, 9) is True             # 0.4 > 1/3
    assert evaluation.flagged(0.5, 0.9, 1) is False            # one example never flags
    assert evaluation.flagged(None, 0.9, 50) is False and evaluation.flagged(0.1, None, 50) is False


def group_metrics(pooled_accuracy, groups, baseline_groups=None):
    """A single-label metrics.json with test groups ``{name: (n, accuracy)}``."""
    def split(groups_):
        return {"n": sum(n for n, _ in groups_.values()), "accuracy": pooled_accuracy,
                "per_author": {name: {"n": n, "accuracy": acc} for name, (n, acc) in groups_.items()}}
    return {"multi_label": False, "val": None, "test": split(groups),
            "baseline": {"test": split(baseline_groups or groups)}}


def test_group_table_is_worst_first_with_the_baseline_beside_and_the_comparison_shows_it():
    metrics = group_metrics(0.8, {"good": (50, 0.95), "bad": (50, 0.5), "small": (4, 0.4), "fine": (30, 0.78)},
                            {"good": (50, 0.7), "bad": (50, 0.6), "small": (4, 0.5), "fine": (30, 0.7)})
    table = evaluation.group_table(metrics)
    assert list(table.columns) == list(evaluation.GROUP_COLUMNS)
    assert list(table["group"]) == ["small", "bad", "fine", "good"]
    assert list(table["flagged"]) == [False, True, False, False]  # small: 0.4 below but 1/sqrt(4) = 0.5
    assert list(table["baseline"]) == [0.5, 0.6, 0.7, 0.7] and table["below_pooled"].iloc[1] == pytest.approx(0.3)
    record = compare_branches.comparison({"npy": metrics, "png": metrics}, 0.001)
    text = compare_branches.markdown(record)
    assert "| npy | test | author bad | 50 | accuracy | 0.500 | 0.800 | 0.600 | flagged |" in text
    assert "| png | test | author small | 4 | accuracy | 0.400 | 0.800 | 0.500 | – |" in text
    assert text.index("author small") < text.index("author good")
    many = group_metrics(0.8, {f"s{i:02d}": (10, i / 20) for i in range(12)})
    text = compare_branches.markdown(compare_branches.comparison({"npy": many}, None))
    assert "author s09" in text and "author s10" not in text and "2 better groups are left out" in text


@st.composite
def labelled_groups(draw):
    """Rows of a split with random authors, recordings, classes and scores, single- or multi-label."""
    n = draw(st.integers(1, 40))
    multi = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    authors = rng.choice(["A", "B", "C"], n)
    recordings = np.array([f"{a}{i}" for a, i in zip(authors, rng.integers(0, 3, n))])
    scores = rng.random((n, 3))
    if multi:
        targets = (rng.random((n, 3)) < 0.4).astype(int)
        return dataset(np.full(n, -1), authors, ["test"] * n, recordings, targets=targets, classes="abc"), scores
    return dataset(rng.integers(0, 3, n), authors, ["test"] * n, recordings, classes="abc"), scores


@settings(max_examples=15, deadline=None)
@given(labelled_groups())
def test_the_groups_partition_the_split_and_their_weighted_accuracy_is_the_pooled_one(case):
    data, scores = case
    metrics, _ = evaluation.measure_splits(data, {"test": scores}, ("test",))
    test = metrics["test"]
    for grouping in ("per_author", "per_recording"):
        groups = test[grouping].values()
        assert sum(g["n"] for g in groups) == test["n"] == len(scores)
        assert sum(g["n"] * g["accuracy"] for g in groups) / test["n"] == pytest.approx(test["accuracy"])
    assert set(test["per_recording"]) == set(data.recordings)
