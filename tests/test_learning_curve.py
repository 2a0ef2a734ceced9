"""The learning curve (issue 25): nested shares of the train split, whole groups kept, and the curve's rows."""

import doctest
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings as hsettings, strategies as st

import learning_curve
import settings
import train
from test_models import tiny_dataset, tiny_training


def test_doctests():
    assert doctest.testmod(learning_curve).failed == 0


@st.composite
def training_splits(draw):
    """Rows of a train split (among other rows), each with a class and a group; groups hold one class or several."""
    n = draw(st.integers(1, 60))
    n_groups = draw(st.integers(1, n))
    groups = np.array([f"g{draw(st.integers(0, n_groups - 1))}" for _ in range(n)])
    per_group = draw(st.booleans())  # files: one class per group; authors: classes mixed
    classes = draw(st.integers(1, 6))
    if per_group:
        of = {g: draw(st.integers(0, classes - 1)) for g in sorted(set(groups))}
        labels = np.array([of[g] for g in groups])
    else:
        labels = np.array([draw(st.integers(0, classes - 1)) for _ in range(n)])
    others = draw(st.integers(0, 10))  # rows of val and test before the train split
    rows = np.arange(others, others + n)
    labels = np.concatenate([np.zeros(others, int), labels])
    groups = np.concatenate([np.array([f"v{i}" for i in range(others)]), groups])
    fractions = sorted(draw(st.sets(st.floats(0.01, 1.0), min_size=1, max_size=5)))
    return rows, labels, groups, fractions, per_group, draw(st.integers(0, 2**31))


@hsettings(max_examples=100, deadline=None)
@given(training_splits())
def test_shares_are_nested_whole_groups_holding_the_fraction_classes_in_turn(case):
    rows, labels, groups, fractions, per_group, seed = case
    shares = learning_curve.nested_shares(rows, labels, groups, fractions, seed)
    assert list(shares) == fractions
    again = learning_curve.nested_shares(rows, labels, groups, fractions, seed)
    previous = np.array([], int)
    for fraction in fractions:
        share = shares[fraction]
        np.testing.assert_array_equal(share, again[fraction])  # the seed decides
        assert np.all(np.diff(share) > 0) and set(share) <= set(rows)
        assert set(previous) <= set(share)  # nested
        chosen = set(groups[share])
        assert set(share) == {r for r in rows if groups[r] in chosen}  # whole groups
        assert len(share) >= fraction * len(rows) - 1e-9
        previous = share
    if per_group:  # groups of one class each are drawn class by class: the first k cover min(k, classes) classes
        k = len(set(groups[shares[fractions[0]]]))
        assert len(set(labels[shares[fractions[0]]])) == min(k, len(set(labels[rows])))


def test_a_share_is_the_shortest_prefix_of_whole_groups():
    rows = np.arange(10)
    labels = np.zeros(10, int)
    groups = np.repeat(["a", "b", "c", "d", "e"], 2)
    shares = learning_curve.nested_shares(rows, labels, groups, [0.1, 0.3, 0.41, 1.0], seed=3)
    assert [len(shares[f]) for f in (0.1, 0.3, 0.41, 1.0)] == [2, 4, 6, 10]


def test_groups_are_authors_when_split_by_author_else_recordings_or_clips():
    data = tiny_dataset()
    assert list(learning_curve.training_groups(data, "author")) == list(data.authors)
    assert list(learning_curve.training_groups(data, "file")) == list(data.ids)
    windows = tiny_dataset()
    windows.recordings = np.array([f"r{i // 3}" for i in range(len(windows.ids))])
    assert list(learning_curve.training_groups(windows, "file")) == list(windows.recordings)


def curve(examples, val):
    return pd.DataFrame({"train_examples": examples, "cnn_val_accuracy": val})


@pytest.mark.parametrize("examples, val, n_val, rising", [
    ([10, 20, 40], [0.5, 0.6, 0.8], 25, True),  # +0.2 over the last doubling, more than 1/sqrt(25)
    ([10, 20, 40], [0.5, 0.7, 0.8], 25, False),  # +0.1: within chance
    ([10, 20, 40], [0.5, 0.7, 0.8], 400, True),  # +0.1 is more than 1/sqrt(400)
    ([30, 40], [0.5, 0.9], 25, None),  # no row with half the examples
    ([10, 40], [0.5, 0.9], 0, None),  # no val
])
def test_still_rising_compares_the_last_doubling_with_chance(examples, val, n_val, rising):
    assert learning_curve.still_rising(curve(examples, val), n_val) is rising


def test_the_curve_trains_each_share_on_its_rows_and_ends_with_the_full_model(monkeypatch):
    data = tiny_dataset(per_split=(24, 9, 9, 0))
    training = tiny_training(epochs=2, learning_curve=[0.25, 0.5])
    trained_on = []
    real = train.train

    def spy(share, training, threads=None):
        trained_on.append(share.indices("train"))
        assert set(share.indices("val")) == set(data.indices("val"))
        assert set(share.indices("test")) == set(data.indices("test"))
        return real(share, training, threads)

    monkeypatch.setattr(train, "train", spy)
    full = {"val": {"accuracy": 0.9, "macro_f1": 0.8, "n": 9}, "test": {"accuracy": 0.7, "macro_f1": 0.6, "n": 9},
            "baseline": {"val": {"accuracy": 0.5, "macro_f1": 0.4}, "test": {"accuracy": 0.3, "macro_f1": 0.2},
                         "holdout": None},
            "training": {"steps": 34}}
    table = learning_curve.learning_curve(data, training, training["learning_curve"], "file", full, threads=None)
    assert list(table.columns) == learning_curve.COLUMNS
    assert list(table["fraction"]) == [0.25, 0.5, 1.0] and list(table["train_examples"]) == [6, 12, 24]
    assert [len(rows) for rows in trained_on] == [6, 12] and set(trained_on[0]) <= set(trained_on[1])
    assert table["train_classes"].tolist() == [3, 3, 3]  # clips drawn class by class
    last = table.iloc[-1]
    assert (last["cnn_val_accuracy"], last["cnn_test_macro_f1"], last["baseline_test_accuracy"], last["steps"]) == (
        0.9, 0.6, 0.3, 34)
    first = table.iloc[0]
    assert 0 <= first["cnn_val_accuracy"] <= 1 and 0 <= first["baseline_test_accuracy"] <= 1
    assert first["steps"] == 2  # 6 clips in one batch of 16, 2 epochs, min_steps 0


def test_learning_curve_is_a_list_of_fractions_in_the_schema():
    assert settings.defaults("training")["learning_curve"] == []
    assert settings.complete("training", {"learning_curve": [0.5]})["learning_curve"] == [0.5]
    json.dumps(settings.defaults("training"))
