"""Ranking, multi-label and event-level metrics, and detections from window scores (pure functions)."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

import detections
import evaluation
import plots

FAST = settings(max_examples=40, deadline=None)


# ---------------------------------------------------------------- ranking metrics


def test_ranking_metrics_on_a_hand_example():
    classes = ["owl", "frog", "jay", "background"]
    y = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 1], [0, 1, 0, 1]])
    s = np.array([[0.9, 0.9, 0.3, 0.0], [0.8, 0.8, 0.3, 0.1], [0.2, 0.2, 0.3, 0.9], [0.1, 0.1, 0.3, 0.8]])
    m = evaluation.ranking_metrics(y, s, classes, exclude=("background",))
    assert "background" not in m["per_class"]
    # owl: both positives score highest: a perfect ranking, AP 1 and ROC-AUC 1
    assert m["per_class"]["owl"] == {"average_precision": 1.0, "roc_auc": 1.0, "positives": 2}
    # frog: the same scores, the positives last: ROC-AUC 0; AP = Σ ΔR·P = 1/2 · 1/3 (first positive at rank 3)
    #       + 1/2 · 2/4 (second at rank 4) = 1/6 + 1/4 = 5/12
    assert m["per_class"]["frog"]["roc_auc"] == 0.0
    assert m["per_class"]["frog"]["average_precision"] == pytest.approx(5 / 12)
    # jay: no positive: AP and ROC-AUC undefined, and left out of the macro mean
    assert m["per_class"]["jay"] == {"average_precision": None, "roc_auc": None, "positives": 0}
    assert m["macro_map"] == pytest.approx((1 + 5 / 12) / 2)
    # micro: the 12 (row, class) pairs of owl, frog, jay ranked together (background excluded). Thresholds:
    # 0.9 → tp 1 fp 1 (P 1/2, R 1/4); 0.8 → tp 2 fp 2 (1/2, 1/2); 0.3 → 4 jay negatives, R stays 1/2;
    # 0.2 → tp 3 fp 7 (3/10, 3/4); 0.1 → tp 4 fp 8 (1/3, 1). AP = Σ ΔR·P = 1/4·(1/2 + 1/2 + 3/10 + 1/3)
    assert m["micro_map"] == pytest.approx(0.25 * (0.5 + 0.5 + 0.3 + 1 / 3))
    json.dumps(m)  # plain Python values


def test_ranking_metrics_with_no_positive_at_all_are_none():
    m = evaluation.ranking_metrics(np.zeros((3, 2), dtype=int), np.full((3, 2), 0.5), ["owl", "jay"])
    assert m["macro_map"] is None and m["micro_map"] is None
    m = evaluation.ranking_metrics(np.ones((2, 1), dtype=int), np.array([[0.2], [0.4]]), ["owl"])
    assert m["per_class"]["owl"] == {"average_precision": 1.0, "roc_auc": None, "positives": 2}  # no negative


multi_hot = st.integers(1, 12).flatmap(
    lambda n: st.integers(1, 4).flatmap(
        lambda c: st.tuples(
            st.lists(st.lists(st.integers(0, 1), min_size=c, max_size=c), min_size=n, max_size=n),
            st.lists(st.lists(st.floats(0, 1), min_size=c, max_size=c), min_size=n, max_size=n),
        )
    )
).map(lambda pair: (np.array(pair[0], dtype=int), np.array(pair[1], dtype=float)))


@FAST
@given(multi_hot)
def test_ranking_metrics_of_scores_equal_to_the_truth_are_perfect(data):
    y, _ = data
    classes = [f"c{i}" for i in range(y.shape[1])]
    m = evaluation.ranking_metrics(y, y.astype(float), classes)
    for i, name in enumerate(classes):
        entry = m["per_class"][name]
        assert entry["average_precision"] == (1.0 if y[:, i].any() else None)
        assert entry["roc_auc"] == (1.0 if 0 < y[:, i].sum() < len(y) else None)
    assert m["micro_map"] == (1.0 if y.any() else None)


@FAST
@given(multi_hot)
def test_metrics_of_random_scores_lie_between_0_and_1(data):
    y, s = data
    classes = [f"c{i}" for i in range(y.shape[1])]
    m = evaluation.multilabel_split_metrics(y, s, classes, evaluation.f1_thresholds(y, s))
    values = [m["accuracy"], m["macro_f1"], m["micro_f1"], m["macro_map"], m["micro_map"]]
    values += [v for entry in m["per_class"].values() for k, v in entry.items() if k not in ("support", "threshold")]
    assert all(0.0 <= v <= 1.0 for v in values if v is not None)
    assert m["n"] == len(y) and sum(e["support"] for e in m["per_class"].values()) == y.sum()


# ---------------------------------------------------------------- thresholds


def test_f1_thresholds_on_a_hand_example():
    # rows ranked by score 0.9, 0.8, 0.7, 0.1 (0.6 for "tie"):
    # best: truth 1,0,1,0 → F1 at each cut = 2/3, 1/2, 4/5, 2/3: the cut 0.7, placed halfway to 0.1: 0.4
    # tie:  truth 1,0,0,1 → F1 = 2/3, 1/2, 2/5, 2/3: equal at 0.9 and 0.6, the highest (0.9) wins; halfway to 0.8
    # none: no positive → the fallback
    y = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0]])
    s = np.array([[0.9, 0.9, 0.9], [0.8, 0.8, 0.8], [0.7, 0.7, 0.7], [0.1, 0.6, 0.1]])
    thresholds = evaluation.f1_thresholds(y, s)
    assert thresholds.dtype == np.float64 and thresholds.tolist() == pytest.approx([0.4, 0.85, 0.5])
    assert evaluation.f1_thresholds(y, s, fallback=0.3)[2] == 0.3


def f1_at(truth, scores, cut):
    """F1 = 2 tp / (2 tp + fp + fn) of predicting where the score is at least ``cut`` (the oracle, by hand)."""
    predicted = scores >= cut
    tp = np.sum(predicted & (truth == 1))
    return 2 * tp / (2 * tp + np.sum(predicted != (truth == 1)))


@FAST
@given(multi_hot)
def test_f1_thresholds_give_the_best_f1_of_any_cut_among_the_scores(data):
    y, s = data
    thresholds = evaluation.f1_thresholds(y, s)
    for i in range(y.shape[1]):
        if not y[:, i].any():
            assert thresholds[i] == 0.5
            continue
        chosen = f1_at(y[:, i], s[:, i], thresholds[i])
        assert chosen == pytest.approx(f1_score(y[:, i], s[:, i] >= thresholds[i]))
        assert all(chosen >= f1_at(y[:, i], s[:, i], cut) - 1e-12 for cut in s[:, i])


# ---------------------------------------------------------------- split metrics


def test_multilabel_split_metrics_on_a_hand_example():
    classes = ["owl", "jay", "frog"]
    y = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0]])
    s = np.array([[0.9, 0.1, 0.2], [0.8, 0.7, 0.1], [0.6, 0.4, 0.3], [0.2, 0.1, 0.6]])
    # predicted at 0.5: [1,0,0], [1,1,0], [1,0,0], [0,0,1]: rows 0 and 1 exactly right → accuracy 1/2
    # owl tp 2 fp 1: P 2/3 R 1 F1 4/5; jay tp 1 fn 1: P 1 R 1/2 F1 2/3; frog tp 0 fp 1: F1 0 (predicted: counts)
    # micro: tp 3 fp 2 fn 1 → F1 = 6 / (6 + 3) = 2/3
    m = evaluation.multilabel_split_metrics(y, s, classes, np.array([0.5, 0.5, 0.5]))
    assert m["n"] == 4 and m["accuracy"] == 0.5
    assert m["macro_f1"] == pytest.approx((4 / 5 + 2 / 3 + 0) / 3)
    assert m["micro_f1"] == pytest.approx(2 / 3)
    assert m["per_class"]["owl"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2, "threshold": 0.5, "average_precision": 1.0,
         "roc_auc": 1.0})
    assert m["per_class"]["jay"]["f1"] == pytest.approx(2 / 3)
    # jay ranked: 0.7 (yes), 0.4 (yes), 0.1, 0.1: perfect ranking even though 0.4 is under the threshold
    assert m["per_class"]["jay"]["average_precision"] == 1.0
    assert m["per_class"]["frog"]["average_precision"] is None and m["per_class"]["frog"]["support"] == 0
    assert m["macro_map"] == 1.0  # frog, with no positive, is left out
    assert evaluation.multilabel_split_metrics(y[:0], s[:0], classes, np.full(3, 0.5)) is None
    # a class neither present nor predicted is left out of macro-F1
    m = evaluation.multilabel_split_metrics(y[:3], s[:3], classes, np.array([0.5, 0.5, 0.5]))
    assert m["macro_f1"] == pytest.approx((4 / 5 + 2 / 3) / 2)
    json.dumps(m)

    wrong = evaluation.multilabel_misclassified(["a", "b", "c", "d"], ["test"] * 4, y, s, classes, [0.5] * 3)
    assert wrong.to_dict("records") == [
        {"id": "c", "split": "test", "true": "jay", "predicted": "owl"},
        {"id": "d", "split": "test", "true": "", "predicted": "frog"},
    ]


def test_one_class_multilabel_metrics_count_that_class():
    # sklearn would read one column as a binary target with classes 0 and 1
    y, s = np.array([[1], [0], [1]]), np.array([[0.9], [0.8], [0.2]])
    m = evaluation.multilabel_split_metrics(y, s, ["owl"], np.array([0.5]))
    # predicted 1, 1, 0: tp 1 fp 1 fn 1 → P = R = F1 = 1/2; exact match only in row 0 → 1/3
    assert m["per_class"]["owl"]["f1"] == 0.5 and m["micro_f1"] == 0.5 and m["macro_f1"] == 0.5
    assert m["per_class"]["owl"]["support"] == 2 and m["accuracy"] == pytest.approx(1 / 3)


def test_split_metrics_with_probabilities_adds_one_vs_rest_ranking():
    classes = ["owl", "jay", "background"]
    y_true = np.array([0, 1, 2, 2])
    p = np.array([[0.7, 0.2, 0.1], [0.5, 0.4, 0.1], [0.1, 0.3, 0.6], [0.2, 0.1, 0.7]])
    y_pred = p.argmax(axis=1)
    plain = evaluation.split_metrics(y_true, y_pred, classes)
    assert set(plain) == {"n", "accuracy", "macro_f1", "per_class"}
    assert set(plain["per_class"]["owl"]) == {"precision", "recall", "f1", "support"}
    m = evaluation.split_metrics(y_true, y_pred, classes, probabilities=p, exclude=("background",))
    for name in classes:  # the counts do not change
        assert {k: m["per_class"][name][k] for k in plain["per_class"][name]} == plain["per_class"][name]
    assert m["accuracy"] == plain["accuracy"] == 0.75  # the jay of row 1 is taken for an owl
    # owl one-vs-rest: its only example scores 0.7, the highest: AP 1, ROC-AUC 1
    assert m["per_class"]["owl"]["average_precision"] == 1.0 and m["per_class"]["owl"]["roc_auc"] == 1.0
    # jay: scores 0.2, 0.4 (yes), 0.3, 0.1: first in the ranking: AP 1 even though owl won that row
    assert m["per_class"]["jay"]["average_precision"] == 1.0
    assert m["per_class"]["background"]["average_precision"] is None
    assert m["per_class"]["background"]["roc_auc"] is None
    assert m["macro_map"] == 1.0
    # micro over owl and jay columns: 0.7 (yes), 0.5, 0.4 (yes), 0.3, 0.2, 0.2, 0.1, 0.1: P 1 at R 1/2, 2/3 at R 1
    assert m["micro_map"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    json.dumps(m)


# ---------------------------------------------------------------- detections


def reference_merge(rows, threshold=0.5, background=None, duration=None):
    """The loop predict.merge_detections was before it moved to detections.py (the oracle of the move)."""
    selections, current = [], None
    for start, end, label, score in rows[["start", "end", "predicted", "score"]].itertuples(index=False):
        hit = score >= threshold and label != background
        if hit and current is not None and current[2] == label and start <= current[1]:
            current = (current[0], max(current[1], end), label, max(current[3], score))
            continue
        if current is not None:
            selections.append(current)
        current = (start, end, label, score) if hit else None
    if current is not None:
        selections.append(current)
    if duration is not None:
        selections = [(s, min(e, duration), c, p) for s, e, c, p in selections]
    return [(float(s), float(e), str(c), float(p)) for s, e, c, p in selections]


def test_merge_detections_is_the_one_of_predict():
    rows = pd.DataFrame(
        {
            "start": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "end": [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "predicted": ["owl", "owl", "owl", "background", "jay", "owl", "owl"],
            "score": [0.9, 0.6, 0.3, 0.99, 0.7, 0.8, 0.95],
        }
    )
    assert detections.merge_detections(rows, threshold=0.5, background="background", duration=7.5) == [
        (0.0, 3.0, "owl", 0.9), (4.0, 6.0, "jay", 0.7), (5.0, 7.5, "owl", 0.95)]
    assert detections.merge_detections(rows.iloc[:0]) == []


window_rows = st.lists(
    st.tuples(st.integers(0, 8), st.integers(1, 4), st.sampled_from(["owl", "jay", "bg"]), st.floats(0, 1)),
    max_size=12,
).map(lambda rows: pd.DataFrame(
    [(s / 2, (s + n) / 2, c, p) for s, n, c, p in sorted(rows, key=lambda r: r[0])],
    columns=["start", "end", "predicted", "score"]))


@FAST
@given(window_rows, st.sampled_from([0.0, 0.5]), st.sampled_from([None, "bg"]), st.sampled_from([None, 3.0]))
def test_merge_detections_selects_as_before_the_move(rows, threshold, background, duration):
    assert detections.merge_detections(rows, threshold, background, duration) == reference_merge(
        rows, threshold, background, duration)


def test_two_overlapping_classes_give_overlapping_selections():
    starts, ends = np.array([0.0, 1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0, 5.0])
    scores = np.array([[0.9, 0.1], [0.8, 0.7], [0.1, 0.9], [0.1, 0.2]])  # owl, then jay calling over its end
    found = detections.multilabel_detections(starts, ends, scores, ["owl", "jay"], np.array([0.5, 0.5]))
    assert found == [(0.0, 3.0, "owl", 0.9), (1.0, 4.0, "jay", 0.9)]
    clipped = detections.multilabel_detections(starts, ends, scores, ["owl", "jay"], [0.5, 0.5], duration=3.5)
    assert clipped == [(0.0, 3.0, "owl", 0.9), (1.0, 3.5, "jay", 0.9)]


def test_a_window_under_the_threshold_inside_a_run_does_not_split_it():
    # 2 s windows every 0.5 s: the middle one misses, but the first already covers it: one selection
    runs = detections.class_runs([0.0, 0.5, 1.0], [2.0, 2.5, 3.0], [0.9, 0.1, 0.8], 0.5, "owl")
    assert runs == [(0.0, 3.0, "owl", 0.9)]
    # a gap: two selections; windows in any order
    runs = detections.class_runs([5.0, 0.0], [6.0, 2.0], [0.6, 0.7], 0.5, "owl")
    assert runs == [(0.0, 2.0, "owl", 0.7), (5.0, 6.0, "owl", 0.6)]


recording_windows = st.integers(1, 10).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 20), min_size=n, max_size=n),
        st.lists(st.integers(1, 6), min_size=n, max_size=n),
        st.lists(st.lists(st.floats(0, 1), min_size=2, max_size=2), min_size=n, max_size=n),
        st.lists(st.floats(0.05, 0.95), min_size=2, max_size=2),
    )
)


@FAST
@given(recording_windows)
def test_multilabel_selections_of_a_class_never_overlap_and_cover_its_windows(data):
    starts, lengths, scores, thresholds = data
    starts, scores = np.array(starts) / 2, np.array(scores)
    ends = starts + np.array(lengths) / 2
    found = detections.multilabel_detections(starts, ends, scores, ["owl", "jay"], thresholds)
    assert found == sorted(found, key=lambda sel: (sel[0], sel[2]))
    for i, name in enumerate(["owl", "jay"]):
        mine = [sel for sel in found if sel[2] == name]
        assert all(a[1] < b[0] for a, b in zip(mine, mine[1:]))  # in start order, each ends before the next
        for start, end, score in zip(starts, ends, scores[:, i]):
            if score >= thresholds[i]:
                assert any(s <= start and end <= e and score <= p for s, e, _, p in mine)
        for s, e, _, p in mine:  # the score of a selection is that of one of its windows
            inside = (starts >= s) & (ends <= e) & (scores[:, i] >= thresholds[i])
            assert p == scores[inside, i].max()


def test_split_detections_single_label_is_merge_detections_per_recording():
    classes = ["owl", "jay", "background"]
    rng = np.random.default_rng(0)
    recordings = np.array(["b"] * 6 + ["a"] * 5)
    times = np.array([[t, t + 2.0] for t in [*range(6), *range(5)]], dtype=float)
    scores = rng.dirichlet(np.ones(3), size=len(recordings))
    shuffled = rng.permutation(len(recordings))
    table = detections.split_detections(recordings[shuffled], times[shuffled], scores[shuffled], classes,
                                        background="background")
    assert list(table.columns) == ["id", "start", "end", "class", "score"]
    expected = []
    for recording in ["a", "b"]:
        rows = np.flatnonzero(recordings == recording)
        best = scores[rows].argmax(axis=1)
        window_rows = pd.DataFrame({"start": times[rows, 0], "end": times[rows, 1],
                                    "predicted": np.array(classes)[best], "score": scores[rows, best]})
        expected += [(recording, *sel) for sel in reference_merge(window_rows, 0.0, "background")]
    assert list(table.itertuples(index=False, name=None)) == expected
    assert len(expected) > 2 and "background" not in set(table["class"])


def test_split_detections_multilabel_per_recording():
    scores = np.array([[0.9, 0.1], [0.8, 0.7], [0.1, 0.9], [0.6, 0.2]])
    table = detections.split_detections(["a", "a", "a", "b"], [[0, 2], [1, 3], [2, 4], [0, 2]], scores,
                                        ["owl", "jay"], thresholds=np.array([0.5, 0.5]))
    assert list(table.itertuples(index=False, name=None)) == [
        ("a", 0.0, 3.0, "owl", 0.9), ("a", 1.0, 4.0, "jay", 0.9), ("b", 0.0, 2.0, "owl", 0.6)]
    empty = detections.split_detections([], np.zeros((0, 2)), np.zeros((0, 2)), ["owl", "jay"], [0.5, 0.5])
    assert list(empty.columns) == ["id", "start", "end", "class", "score"] and len(empty) == 0


# ---------------------------------------------------------------- event metrics


EVENTS = pd.DataFrame(
    [("a", 1.0, 2.0, "owl"), ("a", 2.5, 2.8, "owl"), ("a", 4.0, 5.0, "jay"), ("b", 0.0, 1.0, "owl"),
     ("b", 3.0, 4.0, "frog")],
    columns=["id", "start", "end", "class"],
)
DETECTIONS = pd.DataFrame(
    [
        ("a", 1.5, 3.0, "owl", 0.9),  # right: overlaps both owl events of a (catches both)
        ("a", 4.0, 5.0, "owl", 0.8),  # wrong: where the jay is (and the jay is not caught by it)
        ("a", 0.2, 0.8, "owl", 0.7),  # wrong: the owl at that time is on recording b
        ("b", 0.0, 1.0, "jay", 0.6),  # wrong: where b's owl is (which it does not catch)
        ("b", 4.0, 5.0, "frog", 0.9),  # wrong: only touches the frog event at 4 s
        ("b", 3.5, 3.6, "frog", 0.5),  # right: inside the frog event
    ],
    columns=["id", "start", "end", "class", "score"],
)


def test_event_metrics_on_a_hand_table():
    # caught: owl a 1-2, owl a 2.5-2.8, frog b 3-4 → 3 of 5; correct: 2 of 6 detections
    assert detections.event_metrics(EVENTS, DETECTIONS) == {
        "events": 5, "caught": 3, "recall": 0.6, "detections": 6, "correct": 2, "precision": 2 / 6}
    assert detections.event_metrics(EVENTS.iloc[:0], DETECTIONS) is None
    assert detections.event_metrics(EVENTS, DETECTIONS.iloc[:0]) == {
        "events": 5, "caught": 0, "recall": 0.0, "detections": 0, "correct": 0, "precision": None}
    per_class = detections.per_class_event_metrics(EVENTS, DETECTIONS)
    assert per_class["owl"] == {"events": 3, "caught": 2, "recall": 2 / 3, "detections": 3, "correct": 1,
                                "precision": 1 / 3}
    assert per_class["jay"] == {"events": 1, "caught": 0, "recall": 0.0, "detections": 1, "correct": 0,
                                "precision": 0.0}
    assert per_class["frog"]["recall"] == 1.0 and per_class["frog"]["precision"] == 0.5


def test_event_recall_of_single_label_detections_is_that_of_the_windows():
    # the hand table of test_windows.py: events caught by a window of their class are caught by its selection
    events = pd.DataFrame({"id": ["a", "a", "b"], "start": [1.2, 3.9, 0.5], "end": [1.8, 5.0, 0.9],
                           "class": ["owl", "jay", "owl"]})
    recordings = np.array(["a", "a", "a", "b"])
    times = np.array([[0.0, 2.0], [1.0, 3.0], [3.0, 5.0], [0.0, 2.0]])
    p = np.array([[0.1, 0.1, 0.8], [0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.5, 0.4, 0.1]])  # quiet, owl, owl, owl
    found = detections.split_detections(recordings, times, p, ["owl", "jay", "quiet"], background="quiet")
    metrics = detections.event_metrics(events, found)
    assert metrics["recall"] == 2 / 3  # owl a (window 1-3 is owl) and owl b (window 0-2); not jay a (owl)
    assert (metrics["detections"], metrics["correct"]) == (2, 2)  # owl a 1-5 covers the owl a event; owl b


def brute_force_overlaps(intervals, others):
    return np.array([any(i.id == o.id and i[4] == o[4] and min(i.end, o.end) - max(i.start, o.start) > 0
                         for o in others.itertuples()) for i in intervals.itertuples()], dtype=bool)


intervals = st.lists(
    st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 10), st.integers(1, 4), st.sampled_from(["owl", "jay"])),
    max_size=10,
).map(lambda rows: pd.DataFrame([(r, s / 2, (s + n) / 2, c) for r, s, n, c in rows],
                                columns=["id", "start", "end", "class"]))


@FAST
@given(intervals, intervals)
def test_event_metrics_match_a_brute_force_count(events, found):
    metrics = detections.event_metrics(events, found)
    if len(events) == 0:
        assert metrics is None
        return
    caught, correct = brute_force_overlaps(events, found).sum(), brute_force_overlaps(found, events).sum()
    assert (metrics["caught"], metrics["correct"]) == (caught, correct)
    assert 0.0 <= metrics["recall"] <= 1.0
    assert metrics["precision"] is None if len(found) == 0 else 0.0 <= metrics["precision"] <= 1.0


# ---------------------------------------------------------------- figure


def test_plot_pr_curves_writes_a_png_and_skips_a_class_with_no_positive(tmp_path):
    table = pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(6)],
            "split": ["val", "val", "test", "test", "test", "test"],
            "label_owl": [1, 0, 1, 0, 1, 0],
            "p_owl": [0.9, 0.1, 0.8, 0.3, 0.4, 0.6],
            "label_=jay": [1, 0, 0, 0, 0, 0],  # a positive in val only; a name a spreadsheet would run
            "p_=jay": [0.7, 0.2, 0.1, 0.2, 0.3, 0.4],
        }
    )
    split, curves, skipped = plots.pr_curves(table)
    # test owl ranked 0.8 (yes), 0.6, 0.4 (yes), 0.3: P 1 at R 1/2, then 2/3 at R 1 → AP 1/2 + 1/3
    assert split == "test" and skipped == ["=jay"] and list(curves) == ["owl"]
    assert curves["owl"][2] == pytest.approx(0.5 + 1 / 3)
    split, curves, skipped = plots.pr_curves(table[table["split"] == "val"])  # no test row: val
    assert split == "val" and skipped == [] and curves["=jay"][2] == 1.0

    from tables import write_csv

    write_csv(table, tmp_path / "scores.csv")
    out = tmp_path / "pr.png"
    plots.plot_pr_curves(tmp_path / "scores.csv", out, title="NPY branch: precision-recall per class")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
