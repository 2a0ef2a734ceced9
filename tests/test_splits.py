"""Tests for scripts/splits.py: grouped, reproducible and stable splits."""

import doctest
import hashlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import splits  # noqa: E402
from splits import (  # noqa: E402
    SplitError,
    assign_splits,
    class_warnings,
    split_summary,
    stable_unit,
)

CLASSES = ["dog", "cat", "bird", "rain"]


def make_table(n_authors, rng, prefix="a", files=(1, 6), start=0):
    """Random file table: each author has 1..5 files of random classes."""
    rows = []
    for a in range(start, start + n_authors):
        author = f"{prefix}{a}"
        for k in range(int(rng.integers(*files))):
            rows.append(
                {
                    "id": f"{author}_{k}",
                    "class": CLASSES[int(rng.integers(len(CLASSES)))],
                    "author": author,
                }
            )
    return pd.DataFrame(rows)


def add_files(table, rng, n_new_authors=50, n_extra_files=100):
    """Old table plus extra files for existing authors and new authors, shuffled."""
    authors = table["author"].unique()
    extra = pd.DataFrame(
        {
            "id": [f"extra_{i}" for i in range(n_extra_files)],
            "class": [CLASSES[int(i)] for i in rng.integers(len(CLASSES), size=n_extra_files)],
            "author": rng.choice(authors, size=n_extra_files),
        }
    )
    new = make_table(n_new_authors, rng, prefix="new")
    bigger = pd.concat([table, extra, new], ignore_index=True)
    # Shuffle rows and give a fresh index: position must not matter.
    bigger = bigger.sample(frac=1.0, random_state=int(rng.integers(1 << 31)))
    return bigger.reset_index(drop=True)


def splits_of(table, split):
    """Mapping id -> split."""
    return dict(zip(table["id"], split))


def author_fractions(table, split):
    per_author = pd.Series(split.values, index=table["author"].values).groupby(level=0).first()
    return per_author.value_counts(normalize=True)


# --------------------------------------------------------------------- hashing


def test_stable_unit_is_the_documented_hash():
    for key, seed, salt in [("alice", 42, "split"), ("bob", 0, "holdout"), (17, "x", "split")]:
        digest = hashlib.sha256(f"{seed}:{salt}:{key}".encode()).hexdigest()
        assert stable_unit(key, seed, salt) == int(digest[:15], 16) / 16**15


def test_stable_unit_range_and_independence_of_salt_and_seed():
    values = [stable_unit(f"k{i}", 42, "split") for i in range(1000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert 0.45 < np.mean(values) < 0.55
    assert stable_unit("k1", 42, "split") != stable_unit("k1", 42, "holdout")
    assert stable_unit("k1", 42, "split") != stable_unit("k1", 43, "split")


# ------------------------------------------------------------------- grouping


@pytest.mark.parametrize("trial", range(15))
def test_no_author_in_two_splits(trial):
    rng = np.random.default_rng(trial)
    table = make_table(int(rng.integers(30, 300)), rng)
    holdout_fraction = [0.0, 0.1, 0.3][trial % 3]
    split = assign_splits(table, seed=trial, holdout_fraction=holdout_fraction)
    assert split.index.equals(table.index)
    assert set(split) <= {"train", "val", "test", "holdout"}
    assert split.notna().all()
    per_author = split.groupby(table["author"]).nunique()
    assert (per_author == 1).all()


def test_result_is_aligned_to_a_custom_index():
    rng = np.random.default_rng(1)
    table = make_table(100, rng)
    expected = assign_splits(table)
    shuffled = table.sample(frac=1.0, random_state=3)
    shuffled.index = [f"row{i}" for i in range(len(shuffled))]
    got = assign_splits(shuffled)
    assert got.index.equals(shuffled.index)
    assert got.name == "split"
    assert splits_of(shuffled, got) == splits_of(table, expected)


# -------------------------------------------------------------------- holdout


def test_named_holdout_authors_never_in_train_val_test():
    rng = np.random.default_rng(2)
    table = make_table(200, rng)
    named = ["a3", "a50", "a199"]
    split = assign_splits(table, holdout_authors=named)
    is_named = table["author"].isin(named)
    assert (split[is_named] == "holdout").all()
    assert (split[~is_named] != "holdout").all()  # no fraction: only named ones


def test_holdout_accepts_a_single_name():
    rng = np.random.default_rng(2)
    table = make_table(50, rng)
    split = assign_splits(table, holdout_authors="a7")
    assert set(table.loc[split == "holdout", "author"]) == {"a7"}


def test_holdout_fraction_and_named_authors_together():
    rng = np.random.default_rng(3)
    table = make_table(2000, rng, files=(1, 3))
    split = assign_splits(table, holdout_fraction=0.2, holdout_authors=["a1", "a2"])
    fractions = author_fractions(table, split)
    assert abs(fractions["holdout"] - 0.2) < 0.03
    assert (split[table["author"].isin(["a1", "a2"])] == "holdout").all()
    # Holdout authors have no file elsewhere; the others are split normally.
    held = set(table.loc[split == "holdout", "author"])
    assert held.isdisjoint(table.loc[split != "holdout", "author"])
    rest = author_fractions(table[split != "holdout"], split[split != "holdout"])
    for name, expected in {"train": 0.8, "val": 0.1, "test": 0.1}.items():
        assert abs(rest[name] - expected) < 0.03


def test_file_mode_holdout_fraction_is_per_file_and_named_authors_whole():
    rng = np.random.default_rng(4)
    table = make_table(500, rng)
    split = assign_splits(table, by="file", holdout_fraction=0.2, holdout_authors=["a0"])
    assert (split[table["author"] == "a0"] == "holdout").all()
    # The fraction applies to files, as the config documents for split.by: file.
    others = table["author"] != "a0"
    assert abs((split[others] == "holdout").mean() - 0.2) < 0.04
    # So some author has files both in holdout and elsewhere.
    mixed = split[others].eq("holdout").groupby(table.loc[others, "author"]).agg(["any", "all"])
    assert (mixed["any"] & ~mixed["all"]).any()


# ------------------------------------------------------------ reproducibility


def test_reproducible_with_same_seed_and_different_with_another():
    rng = np.random.default_rng(5)
    table = make_table(200, rng)
    a = assign_splits(table, seed=42, holdout_fraction=0.1)
    b = assign_splits(table.copy(), seed=42, holdout_fraction=0.1)
    c = assign_splits(table, seed=7, holdout_fraction=0.1)
    assert a.equals(b)
    moved_authors = table.loc[a != c, "author"].nunique()
    assert moved_authors >= 20  # ~1 - (0.72² + 0.09² + 0.09² + 0.1²) ≈ 46% expected


def test_default_seed_is_42():
    rng = np.random.default_rng(6)
    table = make_table(100, rng)
    assert assign_splits(table).equals(assign_splits(table, seed=42))


# ------------------------------------------------------------------ stability


@pytest.mark.parametrize("by", ["author", "file"])
@pytest.mark.parametrize("trial", range(5))
def test_adding_files_and_authors_never_moves_existing_files(by, trial):
    rng = np.random.default_rng(100 + trial)
    table = make_table(150, rng)
    options = dict(by=by, seed=trial, holdout_fraction=0.1, holdout_authors=["a0"])
    before = splits_of(table, assign_splits(table, **options))

    bigger = add_files(table, rng)
    after = splits_of(bigger, assign_splits(bigger, **options))

    assert len(after) > len(before)
    moved = {i: (s, after[i]) for i, s in before.items() if after[i] != s}
    assert moved == {}


def test_stability_with_assign_overrides():
    rng = np.random.default_rng(8)
    table = make_table(40, rng)
    options = dict(assign={"val": ["a1"], "test": ["a2", "a3"]}, holdout_authors=["a4"])
    before = splits_of(table, assign_splits(table, **options))
    bigger = add_files(table, rng, n_new_authors=200)
    after = splits_of(bigger, assign_splits(bigger, **options))
    assert all(after[i] == s for i, s in before.items())


def test_new_files_of_an_existing_author_join_its_split():
    rng = np.random.default_rng(9)
    table = make_table(100, rng)
    bigger = add_files(table, rng)
    split = assign_splits(bigger)
    assert (split.groupby(bigger["author"]).nunique() == 1).all()


# ------------------------------------------------------------------ fractions


@pytest.mark.parametrize(
    "fractions",
    [
        None,
        {"train": 0.8, "val": 0.1, "test": 0.1},
        {"train": 0.6, "val": 0.2, "test": 0.2},
        {"train": 0.5, "test": 0.5},
    ],
)
def test_fractions_roughly_respected_on_2000_authors(fractions):
    rng = np.random.default_rng(10)
    table = make_table(2000, rng, files=(1, 4))
    split = assign_splits(table, fractions=fractions)
    realised = author_fractions(table, split)
    expected = fractions or {"train": 0.8, "val": 0.1, "test": 0.1}
    for name in ("train", "val", "test"):
        assert abs(realised.get(name, 0.0) - expected.get(name, 0.0)) < 0.03, name
    assert "holdout" not in realised


def test_zero_fraction_split_stays_empty():
    rng = np.random.default_rng(11)
    table = make_table(300, rng)
    split = assign_splits(table, fractions={"train": 0.9, "val": 0.1, "test": 0.0})
    assert "test" not in set(split)
    assert {"train", "val"} <= set(split)


@pytest.mark.parametrize(
    "fractions",
    [
        {"train": 0.8, "val": 0.1},  # sums to 0.9
        {"train": 0.8, "val": 0.2, "test": 0.1},  # sums to 1.1
        {"train": 1.2, "val": -0.1, "test": -0.1},  # negative
        {"train": 0.8, "dev": 0.2},  # unknown key
        {"train": 0.8, "val": "a lot", "test": 0.1},  # not a number
        {"train": float("nan"), "val": 0.5, "test": 0.5},
        [0.8, 0.1, 0.1],  # not a mapping
    ],
)
def test_bad_fractions_raise_naming_the_config_key(fractions):
    rng = np.random.default_rng(12)
    table = make_table(100, rng)
    with pytest.raises(SplitError, match=r"split\.fractions"):
        assign_splits(table, fractions=fractions)


def test_fractions_within_tolerance_are_accepted():
    rng = np.random.default_rng(12)
    table = make_table(100, rng)
    assign_splits(table, fractions={"train": 0.7, "val": 0.2, "test": 0.1 + 1e-9})


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, "half"])
def test_bad_holdout_fraction(value):
    rng = np.random.default_rng(12)
    table = make_table(100, rng)
    with pytest.raises(SplitError, match=r"split\.holdout_fraction"):
        assign_splits(table, holdout_fraction=value)


# ------------------------------------------------------------------ file mode


def test_file_mode_splits_one_author_over_several_splits():
    rng = np.random.default_rng(13)
    table = make_table(5, rng, files=(40, 41))  # 5 authors, 40 files each
    split = assign_splits(table, by="file")
    per_author = split.groupby(table["author"]).nunique()
    assert (per_author > 1).any()
    assert set(split) == {"train", "val", "test"}


def test_file_mode_allows_files_without_author():
    rng = np.random.default_rng(14)
    table = make_table(20, rng, files=(5, 6))
    table.loc[::3, "author"] = None
    split = assign_splits(table, by="file")
    assert split.notna().all()
    with pytest.raises(SplitError, match=r"split\.by: file"):
        assign_splits(table, by="author")


def test_bad_by():
    rng = np.random.default_rng(14)
    with pytest.raises(SplitError, match=r"split\.by"):
        assign_splits(make_table(20, rng), by="class")


# ----------------------------------------------------------- too few authors


def test_two_authors_is_a_clear_error_suggesting_split_by_file():
    rng = np.random.default_rng(15)
    table = make_table(2, rng, files=(20, 21))
    with pytest.raises(SplitError) as info:
        assign_splits(table)
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "\n" not in message
    assert "split.by: file" in message
    assert "split.assign" in message
    assert "split.fractions" in message
    # ... and the suggestion works.
    assert set(assign_splits(table, by="file")) == {"train", "val", "test"}


def test_empty_split_with_enough_authors_names_an_author_to_assign():
    table = pd.DataFrame(
        {
            "id": [f"f{i}" for i in range(6)],
            "class": ["dog", "cat"] * 3,
            "author": ["ann", "bob", "cy", "dee", "eve", "fay"],
        }
    )
    # Find a seed where the hash leaves 'val' or 'test' empty (likely with 6).
    for seed in range(100):
        try:
            assign_splits(table, seed=seed)
        except SplitError as error:
            message = str(error)
            break
    else:  # pragma: no cover - would mean the hash is far from uniform
        pytest.fail("6 authors never left a split empty")
    assert "received no author: 6 authors are too few" in message
    assert "split.by: file" in message
    assert "split.assign." in message
    example = message.split("split.assign.")[1]  # e.g. "val: [ann]) or ..."
    missing, rest = example.split(": [", 1)
    assert missing in {"val", "test"}
    assert rest.split("]")[0] in set(table["author"])


def test_holdout_that_leaves_too_few_authors_errors():
    rng = np.random.default_rng(16)
    table = make_table(4, rng, files=(3, 4))
    with pytest.raises(SplitError, match="split.by: file"):
        assign_splits(table, holdout_authors=["a0", "a1"])


# ------------------------------------------------------------- named authors


@pytest.mark.parametrize(
    "kwargs, key",
    [
        (dict(holdout_authors=["a1", "zed"]), "split.holdout_authors"),
        (dict(assign={"val": ["zed"]}), "split.assign.val"),
        (dict(assign={"test": ["a1"], "train": ["zed"]}), "split.assign.train"),
    ],
)
def test_unknown_named_author_raises_with_name_and_key(kwargs, key):
    rng = np.random.default_rng(17)
    table = make_table(50, rng)
    with pytest.raises(SplitError) as info:
        assign_splits(table, **kwargs)
    assert "'zed'" in str(info.value)
    assert key in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(holdout_authors=["a1"], assign={"val": ["a1"]}),
        dict(assign={"val": ["a1"], "test": ["a1"]}),
        dict(assign={"val": ["a1", "a1"]}),
    ],
)
def test_author_named_twice_raises(kwargs):
    rng = np.random.default_rng(18)
    table = make_table(50, rng)
    with pytest.raises(SplitError, match="'a1' is named twice"):
        assign_splits(table, **kwargs)


def test_assign_unknown_split_raises():
    rng = np.random.default_rng(18)
    table = make_table(50, rng)
    with pytest.raises(SplitError, match=r"split\.assign.*holdout_authors"):
        assign_splits(table, assign={"holdout": ["a1"]})


def test_assign_puts_named_authors_in_their_split():
    table = pd.DataFrame(
        {
            "id": [f"f{i}" for i in range(12)],
            "class": ["dog", "cat"] * 6,
            "author": ["ann", "bob", "cy", "dee", "eve", "fay"] * 2,
        }
    )
    assign = {"val": ["bob"], "test": ["cy"]}
    # Everything not named goes to train: with these fractions only named
    # authors fill val and test.
    split = assign_splits(
        table, fractions={"train": 1.0}, assign=assign, holdout_authors=["fay"]
    )
    by_author = split.groupby(table["author"]).first().to_dict()
    assert by_author == {
        "ann": "train",
        "bob": "val",
        "cy": "test",
        "dee": "train",
        "eve": "train",
        "fay": "holdout",
    }


def test_assign_wins_over_holdout_fraction_and_hash():
    rng = np.random.default_rng(19)
    table = make_table(300, rng)
    free = assign_splits(table, holdout_fraction=0.3)
    held = sorted(set(table.loc[free == "holdout", "author"]))[:3]
    trained = sorted(set(table.loc[free == "train", "author"]))[:3]
    split = assign_splits(
        table, holdout_fraction=0.3, assign={"train": held, "test": trained}
    )
    assert (split[table["author"].isin(held)] == "train").all()
    assert (split[table["author"].isin(trained)] == "test").all()
    # Nobody else moved.
    others = ~table["author"].isin(held + trained)
    assert split[others].equals(free[others])


def test_numeric_author_names_match():
    rng = np.random.default_rng(20)
    table = make_table(60, rng)
    table["author"] = table["author"].str[1:].astype(int)
    split = assign_splits(table, holdout_authors=[3], assign={"val": ["4"]})
    assert (split[table["author"] == 3] == "holdout").all()
    assert (split[table["author"] == 4] == "val").all()


# -------------------------------------------------------------- table checks


def test_missing_column_and_duplicate_ids_and_empty_table():
    rng = np.random.default_rng(21)
    table = make_table(50, rng)
    with pytest.raises(SplitError, match="author"):
        assign_splits(table.drop(columns="author"))
    duplicated = pd.concat([table, table.iloc[:1]], ignore_index=True)
    with pytest.raises(SplitError, match="duplicate id"):
        assign_splits(duplicated)
    with pytest.raises(SplitError, match="empty"):
        assign_splits(table.iloc[:0])


# ------------------------------------------------------------ summary, warnings


def test_summary_counts_add_up():
    rng = np.random.default_rng(22)
    table = make_table(300, rng)
    table["split"] = assign_splits(table, holdout_fraction=0.1)
    summary = split_summary(table)

    assert list(summary.columns) == ["split", "class", "files", "authors"]
    assert summary["files"].sum() == len(table)
    # One row per split x class present, in split order then class order.
    assert len(summary) == len(table.groupby(["split", "class"]))
    order = {"train": 0, "val": 1, "test": 2, "holdout": 3}
    keys = list(zip(summary["split"].map(order), summary["class"]))
    assert keys == sorted(keys)
    assert summary["split"].iloc[0] == "train"
    assert summary["split"].iloc[-1] == "holdout"
    # Per split, files and authors match the table.
    files = summary.groupby("split")["files"].sum()
    assert files.to_dict() == table["split"].value_counts().to_dict()
    for row in summary.itertuples():
        part = table[(table["split"] == row.split) & (table["class"] == row[2])]
        assert row.files == len(part)
        assert row.authors == part["author"].nunique()


def test_class_warnings_report_missing_classes():
    table = pd.DataFrame(
        {
            "id": ["f1", "f2", "f3", "f4", "f5"],
            "class": ["dog", "cat", "dog", "cat", "bird"],
            "author": ["a", "a", "b", "c", "c"],
            "split": ["train", "train", "val", "test", "test"],
        }
    )
    messages = class_warnings(table)
    # train lacks bird; val lacks bird and cat; test lacks dog.
    assert len(messages) == 4
    assert "'bird'" in messages[0] and "'train'" in messages[0]
    assert all("\n" not in m for m in messages)
    assert any("'cat'" in m and "'val'" in m for m in messages)
    assert any("'dog'" in m and "'test'" in m for m in messages)


def test_no_class_warnings_when_every_split_has_every_class():
    rng = np.random.default_rng(23)
    table = make_table(2000, rng)
    table["split"] = assign_splits(table)
    assert class_warnings(table) == []


def test_docstring_examples():
    result = doctest.testmod(splits, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
