"""Train/val/test/holdout splits that are grouped, reproducible and stable.

Every group key (an author, or a file id when splitting by file) is mapped
to a number in ``[0, 1)`` by hashing it together with the seed, the way
the ``which_set`` function of Google's Speech Commands data set does.  A
group's split depends only on its own key, the seed and the configuration,
so adding files or authors never moves an existing file to another split.

Authors named in ``holdout_authors`` or ``assign`` go to their split
directly, whatever ``by`` is.  Every other group is held out if its
``"holdout"`` hash is below ``holdout_fraction``; the rest go to train, val
or test by thresholding a second (``"split"``) hash on the cumulative
fractions, in the order train, val, test.  Held-out groups never enter
train, val or test.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping

import pandas as pd

from settings import defaults

__all__ = [
    "SPLITS",
    "SplitError",
    "check_fractions",
    "check_holdout_fraction",
    "stable_unit",
    "assign_splits",
    "split_summary",
    "class_warnings",
    "deal_folds",
    "fold_order",
    "fold_split",
]

#: Split names in their canonical order.
SPLITS = ("train", "val", "test", "holdout")

_HASHED = ("train", "val", "test")
_HEX_DIGITS = 15
_TOLERANCE = 1e-6


class SplitError(ValueError):
    """A split configuration that cannot be satisfied or is malformed.

    The message is one line and names the configuration key to change
    (``split.fractions``, ``split.holdout_authors``, ``split.assign.<split>``,
    ``split.by``).
    """


def stable_unit(key, seed, salt):
    """Map a key to a reproducible pseudo-random number in ``[0, 1)``.

    Parameters
    ----------
    key : object
        Group key (an author or a file id).  It is converted with ``str``.
    seed : int or str
        Seed; a different seed gives an independent mapping.
    salt : str
        Purpose of the draw (``"holdout"`` or ``"split"``), so that
        different decisions about the same key are independent.

    Returns
    -------
    u : float
        ``int(sha256(f"{seed}:{salt}:{key}").hexdigest()[:15], 16) / 16**15``.

    Examples
    --------
    >>> u = stable_unit("alice", seed=42, salt="split")
    >>> 0.0 <= u < 1.0
    True
    >>> u == stable_unit("alice", seed=42, salt="split")
    True
    >>> u == stable_unit("alice", seed=43, salt="split")
    False
    """
    digest = hashlib.sha256(f"{seed}:{salt}:{key}".encode("utf-8")).hexdigest()
    return int(digest[:_HEX_DIGITS], 16) / 16**_HEX_DIGITS


def _yaml_fractions(fractions):
    """Format fractions as a YAML flow mapping, e.g. ``{train: 0.8, val: 0.2}``."""
    return "{" + ", ".join(f"{k}: {v:g}" for k, v in fractions.items()) + "}"


def check_fractions(fractions):
    """Validate fractions and return them as an ordered dict over train/val/test.

    The one check of ``split.fractions`` (run at parse time by
    ``config_checks`` and by :func:`assign_splits`).

    Raises
    ------
    SplitError
        If they are malformed or do not add up to 1.
    """
    if fractions is None:
        fractions = defaults("split")["fractions"]
    if not isinstance(fractions, Mapping):
        raise SplitError(
            f"split.fractions must be a mapping like {_yaml_fractions(defaults('split')['fractions'])}, "
            f"got {fractions!r}"
        )
    unknown = sorted(str(k) for k in fractions if k not in _HASHED)
    if unknown:
        raise SplitError(
            f"split.fractions has unknown key(s) {unknown}; allowed keys are "
            f"train, val, test (holdout is set with split.holdout_authors / "
            f"split.holdout_fraction)"
        )
    out = {}
    for name in _HASHED:
        value = fractions.get(name, 0.0)
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise SplitError(f"split.fractions.{name} must be a number, got {value!r}") from None
        if not math.isfinite(value) or value < 0:
            raise SplitError(f"split.fractions.{name} must be a non-negative number, got {value!r}")
        out[name] = value
    total = sum(out.values())
    if abs(total - 1.0) > _TOLERANCE:
        raise SplitError(f"split.fractions {_yaml_fractions(out)} sum to {total:g}, not 1")
    return out


def check_holdout_fraction(holdout_fraction):
    """Validate ``split.holdout_fraction``: a number in [0, 1) (1 would leave nothing to train on)."""
    try:
        value = float(holdout_fraction)
    except (TypeError, ValueError):
        raise SplitError(
            f"split.holdout_fraction must be a number in [0, 1), got {holdout_fraction!r}"
        ) from None
    if not (0.0 <= value < 1.0):
        raise SplitError(f"split.holdout_fraction must be in [0, 1), got {holdout_fraction!r}")
    return value


def _as_names(names):
    """Turn a config value (a name or a list of names) into a list of strings."""
    if names is None:
        return []
    if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
        names = [names]
    return [str(n) for n in names]


def _named_authors(holdout_authors, assign, known):
    """Validate named authors; return ``{author: split}``.

    Raises ``SplitError`` for unknown authors, unknown splits in ``assign``
    and authors named more than once.
    """
    if assign is None:
        assign = {}
    if not isinstance(assign, Mapping):
        raise SplitError(
            f"split.assign must be a mapping like {{val: [author, ...]}}, got {assign!r}"
        )
    bad = sorted(str(k) for k in assign if k not in _HASHED)
    if bad:
        hint = " (use split.holdout_authors for holdout)" if "holdout" in bad else ""
        raise SplitError(
            f"split.assign has unknown split(s) {bad}; allowed are train, val, test{hint}"
        )

    sources = [("split.holdout_authors", "holdout", _as_names(holdout_authors))]
    sources += [
        (f"split.assign.{name}", name, _as_names(assign[name]))
        for name in _HASHED
        if name in assign
    ]

    named = {}
    where = {}
    for config_key, split, names in sources:
        for author in names:
            if author not in known:
                raise SplitError(f"{config_key} names author {author!r}, which has no file in the table")
            if author in where:
                raise SplitError(
                    f"author {author!r} is named twice: in {where[author]} and in {config_key}"
                )
            where[author] = config_key
            named[author] = split
    return named


def _hashed_split(u, fractions):
    """Split for a number ``u`` in ``[0, 1)`` given ordered fractions."""
    upper = 0.0
    last = None
    for name, frac in fractions.items():
        if frac <= 0:
            continue
        upper += frac
        last = name
        if u < upper:
            return name
    # Only reachable through rounding of the cumulative sum just below 1.
    return last


def _too_few(lead, by, example_split, example_author):
    """Append the suggestion to a one-line 'too few groups' message."""
    if by == "author":
        name = example_author if example_author is not None else "<author>"
        hint = (
            f"name authors with split.assign (e.g. split.assign.{example_split}: [{name}]) "
            f"or set split.by: file"
        )
    else:
        hint = f"add files, or set split.fractions.{example_split}: 0 and rebalance split.fractions"
    return f"{lead}; {hint}"


def assign_splits(
    table,
    by="author",
    fractions=None,
    seed=42,
    holdout_authors=(),
    holdout_fraction=0.0,
    assign=None,
):
    """Assign every file to ``train``, ``val``, ``test`` or ``holdout``.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per file with columns ``id`` (unique file id), ``class`` and
        ``author``.
    by : {"author", "file"}
        Grouping.  With ``"author"`` all files of an author go to the same
        split.  With ``"file"`` each file id is hashed on its own (for
        ``holdout_fraction`` too) and the files of one author may land in
        several splits; ``holdout_authors`` and ``assign`` still name
        authors.
    fractions : dict, optional
        Fractions of train, val and test (missing keys count as 0).  They
        must be non-negative and sum to 1.  Default: the schema's
        ``split.fractions`` (``{"train": 0.8, "val": 0.1, "test": 0.1}``).  They are fractions of
        the groups that are neither held out nor named, so the
        realised file fractions vary with group sizes.
    seed : int or str
        Seed of the hashes.  The same seed gives the same splits.
    holdout_authors : str or iterable of str
        Authors that go to holdout (config key ``split.holdout_authors``).
    holdout_fraction : float in [0, 1)
        Expected fraction of the groups not named in ``holdout_authors`` or
        ``assign`` (authors, or files when ``by="file"``) that go to holdout
        (config key ``split.holdout_fraction``).
    assign : dict, optional
        ``{"train": [...], "val": [...], "test": [...]}``: authors put in a
        split directly, regardless of their hash (config key
        ``split.assign.<split>``).  Useful when there are few authors.

    Returns
    -------
    split : pandas.Series
        Split names aligned to ``table.index``, named ``"split"``.

    Raises
    ------
    SplitError
        If the table lacks a column, has duplicate ids or (when splitting by
        author) files without author; if ``fractions``, ``holdout_fraction``
        or ``assign`` are malformed; if a named author has no file or is
        named twice; if a split with a positive fraction receives no file.

    See Also
    --------
    stable_unit : the hash behind the assignment.
    split_summary : realised counts per split and class.

    Notes
    -----
    Stability: a group's split depends only on its key, ``seed`` and the
    configuration, never on the other groups.  Adding files (to existing or
    new authors) therefore never moves an existing file.  Changing the
    seed, the fractions, ``by``, ``holdout_*`` or ``assign`` can.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({
    ...     "id": [f"f{i}" for i in range(40)],
    ...     "class": ["dog", "cat"] * 20,
    ...     "author": [f"a{i // 2}" for i in range(40)],
    ... })
    >>> split = assign_splits(table, holdout_authors=["a0"])
    >>> sorted(split.unique())
    ['holdout', 'test', 'train', 'val']
    >>> split[table["author"] == "a0"].unique().tolist()
    ['holdout']
    >>> bool(table.groupby("author").apply(lambda g: split[g.index].nunique()).eq(1).all())
    True
    """
    if by not in ("author", "file"):
        raise SplitError(f"split.by must be 'author' or 'file', got {by!r}")
    missing = [c for c in ("id", "class", "author") if c not in table.columns]
    if missing:
        raise SplitError(f"the file table lacks column(s) {missing}; it needs id, class and author")
    if len(table) == 0:
        raise SplitError("the file table is empty; there is nothing to split")
    ids = table["id"].astype(str)
    duplicated = ids[ids.duplicated()].unique().tolist()
    if duplicated:
        raise SplitError(f"the file table has duplicate id(s) {duplicated[:5]}; ids must be unique")

    has_author = table["author"].notna() & (table["author"].astype(str).str.strip() != "")
    if by == "author" and not has_author.all():
        examples = ids[~has_author].tolist()[:5]
        raise SplitError(
            f"{int((~has_author).sum())} file(s) have no author (e.g. {examples}); "
            f"fill in author or set split.by: file"
        )
    authors = table["author"].where(has_author).astype(object)
    authors = authors.where(authors.isna(), authors.astype(str))

    fractions = check_fractions(fractions)
    holdout_fraction = check_holdout_fraction(holdout_fraction)
    named = _named_authors(holdout_authors, assign, set(authors.dropna().unique()))

    # Named authors first; the other groups are hashed on their own key.
    fixed = authors.map(named).astype(object)  # NaN: not named

    keys = authors if by == "author" else ids
    free = fixed.isna()
    hashed = {}
    for key in keys[free].unique():
        if holdout_fraction > 0 and stable_unit(key, seed, "holdout") < holdout_fraction:
            hashed[key] = "holdout"
        else:
            hashed[key] = _hashed_split(stable_unit(key, seed, "split"), fractions)
    split = fixed.copy()
    split[free] = keys[free].map(hashed)
    split = split.rename("split")

    unit = "author" if by == "author" else "file"
    nonzero = [name for name, frac in fractions.items() if frac > 0]
    empty = [name for name in nonzero if not (split == name).any()]
    if empty:
        n_groups = keys[split != "holdout"].nunique()
        groups = f"{n_groups} {unit}{'s' * (n_groups != 1)}"
        context = f"split.fractions {_yaml_fractions(fractions)} when splitting by {by}"
        if n_groups < len(nonzero):
            lead = (
                f"split {empty[0]!r} received no {unit}: {groups} outside holdout cannot "
                f"fill the {len(nonzero)} splits of {context}"
            )
        else:
            verb = "are" if n_groups != 1 else "is"
            lead = f"split {empty[0]!r} received no {unit}: {groups} {verb} too few for {context}"
        example = _example_author(authors, split, empty[0], named) if by == "author" else None
        raise SplitError(_too_few(lead, by, empty[0], example))
    return split


def _example_author(authors, split, missing, named):
    """An author that could be named in ``split.assign.<missing>``.

    Picks the first (by name) hashed, not yet named author of the split
    with most authors, so that this split most likely keeps one.
    """
    frame = pd.DataFrame({"author": authors, "split": split}).dropna()
    frame = frame[
        frame["split"].isin(_HASHED)
        & (frame["split"] != missing)
        & ~frame["author"].isin(list(named))
    ]
    if frame.empty:
        return None
    per_split = frame.groupby("split")["author"].nunique().sort_values(ascending=False, kind="stable")
    donor = per_split.index[0]
    return sorted(frame.loc[frame["split"] == donor, "author"].unique())[0]


def _ordered_splits(values):
    """Split names present in ``values``, canonical ones first."""
    present = list(pd.unique(values))
    return [s for s in SPLITS if s in present] + sorted(str(s) for s in present if s not in SPLITS)


def split_summary(table):
    """Realised number of files and authors per split and class.

    Parameters
    ----------
    table : pandas.DataFrame
        File table with columns ``split``, ``class`` and ``author`` (for
        example ``table.assign(split=assign_splits(table))``).

    Returns
    -------
    summary : pandas.DataFrame
        Columns ``split``, ``class``, ``files``, ``authors``; one row per
        split and class present, ordered train, val, test, holdout and then
        by class.  ``files`` sums to ``len(table)``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({
    ...     "class": ["dog", "cat", "dog"],
    ...     "author": ["a", "a", "b"],
    ...     "split": ["val", "val", "train"],
    ... })
    >>> split_summary(table)
       split class  files  authors
    0  train   dog      1        1
    1    val   cat      1        1
    2    val   dog      1        1
    """
    order = _ordered_splits(table["split"])
    summary = (
        table.groupby(["split", "class"], sort=False)
        .agg(files=("class", "size"), authors=("author", "nunique"))
        .reset_index()
    )
    summary["_order"] = summary["split"].map({s: i for i, s in enumerate(order)})
    summary = summary.sort_values(["_order", "class"], kind="stable").drop(columns="_order")
    summary[["files", "authors"]] = summary[["files", "authors"]].astype(int)
    return summary.reset_index(drop=True)[["split", "class", "files", "authors"]]


def class_warnings(table):
    """Messages for classes that are absent from a non-empty split.

    Splits are grouped by author, so they can only be as stratified as the
    authors allow; these messages tell the user where a class is missing.

    Parameters
    ----------
    table : pandas.DataFrame
        File table with columns ``split``, ``class`` and ``author``.

    Returns
    -------
    messages : list of str
        One line per (split, class) pair where the class has files in the
        table but none in that split, in split order then class order.
        Empty if every non-empty split has every class.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({
    ...     "class": ["dog", "cat", "dog"],
    ...     "author": ["a", "a", "b"],
    ...     "split": ["train", "train", "val"],
    ... })
    >>> class_warnings(table)
    ["class 'cat' has no file in split 'val' (1 file, 1 author; the class has 1 file overall); stratification is limited by author groups: consider split.assign or more data"]
    """
    classes = sorted(table["class"].unique(), key=str)
    messages = []
    for name in _ordered_splits(table["split"]):
        part = table[table["split"] == name]
        present = set(part["class"].unique())
        n_files = len(part)
        n_authors = part["author"].nunique()
        for cls in classes:
            if cls in present:
                continue
            overall = int((table["class"] == cls).sum())
            messages.append(
                f"class {cls!r} has no file in split {name!r} "
                f"({n_files} file{'s' * (n_files != 1)}, {n_authors} author{'s' * (n_authors != 1)}; "
                f"the class has {overall} file{'s' * (overall != 1)} overall); "
                f"stratification is limited by author groups: consider split.assign or more data"
            )
    return messages


# --- cross-validation folds ----------------------------------------------------------------------

#: What a fold's name may hold: it names a folder (results/folds/{fold}/).
FOLD_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


def deal_folds(keys, k, seed):
    """Deal group keys (authors, or file ids) into ``k`` folds named ``"1"`` … ``str(k)``.

    The keys are put in the order of their stable hash (:func:`stable_unit`, salt ``"fold"``) and dealt
    like cards, so fold sizes differ by at most one group and the same keys and seed give the same folds.
    Unlike the splits, a key added later can move others to another fold.

    Parameters
    ----------
    keys : iterable
        Group keys; repeats count once.
    k : int
        Number of folds, at least 2.
    seed : int or str
        Seed of the hash (``split.seed``).

    Returns
    -------
    dict
        Key → fold name.

    Examples
    --------
    >>> folds = deal_folds(["ann", "bob", "cyd", "dan", "eve"], 2, seed=42)
    >>> sorted(folds.values())
    ['1', '1', '1', '2', '2']
    >>> folds == deal_folds(["eve", "dan", "cyd", "bob", "ann", "ann"], 2, seed=42)
    True
    """
    order = sorted(set(keys), key=lambda key: (stable_unit(key, seed, "fold"), str(key)))
    return {key: str(i % k + 1) for i, key in enumerate(order)}


def fold_order(names):
    """Fold names in their order: by number when every name is a whole number, else as text.

    Examples
    --------
    >>> fold_order(["10", "2", "1", "2"])
    ['1', '2', '10']
    >>> fold_order(["b", "a"])
    ['a', 'b']
    """
    names = sorted({str(name) for name in names})
    if names and all(name.isdigit() for name in names):
        return sorted(names, key=int)
    return names


def fold_split(splits, row_folds, fold, names, val="next"):
    """The split of every row for the model of one fold: its fold is test, the next one val, the rest train.

    Parameters
    ----------
    splits : array-like of str
        Each row's split in the default model (rows in ``holdout`` stay there).
    row_folds : array-like of str
        Each row's fold (``""`` for a held-out row).
    fold : str
        The fold tested.
    names : list of str
        Every fold, in :func:`fold_order`.
    val : {"next", "none"}
        ``next``: the fold after ``fold`` (the first after the last) is val; ``none``: no val split.

    Returns
    -------
    numpy.ndarray
        ``train``, ``val``, ``test`` or ``holdout`` per row.

    Examples
    --------
    >>> fold_split(["train", "test", "val", "holdout"], ["1", "2", "3", ""], "3", ["1", "2", "3"]).tolist()
    ['val', 'train', 'test', 'holdout']
    >>> fold_split(["train", "test"], ["1", "2"], "1", ["1", "2"], val="none").tolist()
    ['test', 'train']
    """
    import numpy as np

    if fold not in names:
        raise SplitError(f"fold {fold!r} is not one of the folds {', '.join(names)}")
    val_fold = names[(names.index(fold) + 1) % len(names)] if val == "next" and len(names) > 1 else None
    splits, row_folds = np.asarray(splits, dtype=object), np.asarray(row_folds, dtype=object)
    out = np.where(row_folds == fold, "test", np.where(row_folds == val_fold, "val", "train")).astype(object)
    out[(splits == "holdout") | (row_folds == "")] = "holdout"
    return out
