"""Cross-validation folds: ``results/folds.csv``, the fold of every file of the catalog.

One row per audio file (not per window): ``id``, ``author`` and ``fold``. With ``split.folds.k`` the
authors (``split.by: author``) or files (``split.by: file``) are dealt into k folds by a seeded hash
(:func:`splits.deal_folds`); with ``split.folds.column`` each file's fold is read from that column of a
CSV with a ``path`` column (ESC-50's ``fold``). Files in the default model's holdout split get no fold
(``""``): they stay out of every fold's training and testing. Each fold's model then tests on its fold
and validates on the next (:func:`splits.fold_split`, in ``train.py``).
"""

import csv
import os
import re

import pandas as pd

from splits import FOLD_NAME, deal_folds
from tables import read_csv, write_csv


class FoldError(ValueError):
    """A fold table that cannot be used; the message names the file and the fix."""


def read_fold_column(csv_path, column):
    """``path`` (``/`` separators) → fold of a CSV's ``column``, every value checked as a fold name.

    Raises
    ------
    FoldError
        For a missing column, an empty or unusable fold name, or a file given two folds.
    """
    folds = {}
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [name for name in ("path", column) if name not in (reader.fieldnames or ())]
        if missing:
            raise FoldError(f"{csv_path}: no column {' or '.join(map(repr, missing))} for split.folds")
        for line, row in enumerate(reader, start=2):
            rel, fold = row["path"].replace("\\", "/").strip(), (row[column] or "").strip()
            if not re.fullmatch(FOLD_NAME, fold):
                raise FoldError(f"{csv_path}, line {line}: fold {fold!r} of {rel} is not a usable fold name "
                                "(letters, digits, _ . -, not empty)")
            if folds.setdefault(rel, fold) != fold:
                raise FoldError(f"{csv_path}, line {line}: {rel} is given folds {folds[rel]!r} and {fold!r}")
    return folds


def file_folds(catalog, folds, by, seed, audio_dir, table=None):
    """The fold of every file of a catalog.

    Parameters
    ----------
    catalog : pandas.DataFrame
        ``results/catalog.csv`` (one row per file, or per window: files are taken once).
    folds : dict
        ``split.folds``: ``k`` or ``column`` (and ``csv``).
    by : {"author", "file"}
        ``split.by``: what k folds deal.
    seed : int
        ``split.seed``.
    audio_dir : str
        The folder the CSV's paths are relative to.
    table : str or None
        The CSV of ``column``.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``author``, ``fold`` per file, in the catalog's order (``fold`` empty in holdout).
    """
    files = catalog.drop_duplicates("id")[["id", "author", "split", "audio_path"]]
    kept = files["split"] != "holdout"
    if folds["k"] is not None:
        keys = files["author"] if by == "author" else files["id"]
        dealt = deal_folds(keys[kept], folds["k"], seed)
        fold = [dealt[key] if keep else "" for key, keep in zip(keys, kept)]
    else:
        given = read_fold_column(table, folds["column"])
        rels = [os.path.relpath(path, audio_dir).replace(os.sep, "/") for path in files["audio_path"]]
        unlisted = [rel for rel, keep in zip(rels, kept) if keep and rel not in given]
        if unlisted:
            raise FoldError(f"{table}: no {folds['column']!r} for {unlisted[0]} ({len(unlisted)} file(s) unlisted); "
                            "give every file its fold")
        fold = [given[rel] if keep else "" for rel, keep in zip(rels, kept)]
    return pd.DataFrame({"id": files["id"].to_numpy(), "author": files["author"].to_numpy(), "fold": fold})


def run_rule(input, output, params, log):
    """The body of rule ``folds`` (``rules/train.smk``), in the Snakemake process; errors go to its log."""
    from joblog import logged

    with logged(log[0]):
        catalog = read_csv(input.catalog, dtype={"id": str, "author": str}, keep_default_na=False)
        table = file_folds(catalog, params.folds, params.by, params.seed, params.audio_dir, params.table)
        write_csv(table, output[0])
