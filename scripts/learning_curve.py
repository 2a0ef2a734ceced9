"""A learning curve for the user's own data: the CNN and its baseline trained on nested shares of the train split.

Would more labels help? For every fraction of ``training.learning_curve`` the
CNN (``train.train``, the run's own settings) and the baseline
(``baseline.run_baseline``) are trained on that share of the training split
and measured on the same val and test splits as the full model; the full
split's row is the trained model's own ``metrics.json``. The shares are
nested (each holds the smaller ones) and keep whole groups together: an
author's files when the split is by author, a recording's windows, so that a
share never holds part of what the split keeps together (:func:`nested_shares`).

Writes ``results/{branch}/learning_curve.csv``, one row per fraction:
``fraction``, ``train_examples``, ``train_groups``, ``train_classes`` (classes
with at least one training example), then the accuracy and macro-F1 of the CNN
and the baseline on val and test (empty where a split is empty), and the CNN's
optimiser ``steps``. :func:`still_rising` reads the curve's end.
"""

import json
import math
import sys
from dataclasses import replace

import numpy as np
import pandas as pd

COLUMNS = ["fraction", "train_examples", "train_groups", "train_classes"] + [
    f"{model}_{split}_{metric}" for model in ("cnn", "baseline") for split in ("val", "test")
    for metric in ("accuracy", "macro_f1")
] + ["steps"]


def training_groups(data, split_by):
    """The group of every row that a share keeps whole: its author (split by author), recording or clip.

    Parameters
    ----------
    data : loaders.Dataset
    split_by : str
        ``split.by``: ``'author'`` or ``'file'``.

    Returns
    -------
    np.ndarray
        One group name per row.
    """
    if split_by == "author":
        return np.asarray(data.authors).astype(str)
    if data.recordings is not None:
        return np.asarray(data.recordings).astype(str)
    return np.asarray(data.ids).astype(str)


def nested_shares(rows, labels, groups, fractions, seed):
    """Nested shares of the training rows, whole groups at a time, each class's groups drawn in turn.

    The groups are put in one seeded order, round robin over the classes (each
    group counted under its most frequent class), so that the first groups
    cover as many classes as there are; a fraction ``f`` takes the shortest
    prefix of that order holding at least ``f`` of the rows. The same order for
    every fraction makes the shares nested.

    Parameters
    ----------
    rows : np.ndarray
        Row numbers of the training split.
    labels, groups : np.ndarray
        Class id and group of every row of the data (indexed by ``rows``).
    fractions : sequence of float
        In (0, 1].
    seed : int

    Returns
    -------
    dict
        Fraction → sorted row numbers (a subset of ``rows``).

    Examples
    --------
    >>> rows = np.arange(8)
    >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> groups = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
    >>> shares = nested_shares(rows, labels, groups, [0.25, 0.5, 1.0], seed=0)
    >>> [len(shares[f]) for f in (0.25, 0.5, 1.0)], sorted(set(labels[shares[0.5]].tolist()))
    ([2, 4, 8], [0, 1])
    """
    rows = np.asarray(rows)
    frame = pd.DataFrame({"row": rows, "label": np.asarray(labels)[rows], "group": np.asarray(groups)[rows]})
    names = sorted(frame["group"].unique())
    rng = np.random.default_rng(seed)
    shuffled = [names[i] for i in rng.permutation(len(names))]
    main_class = frame.groupby("group")["label"].agg(lambda c: c.value_counts().index[0])
    queues = {}
    for name in shuffled:
        queues.setdefault(main_class[name], []).append(name)
    order, turn = [], [queues[c] for c in sorted(queues)]
    while any(turn):
        for queue in turn:
            if queue:
                order.append(queue.pop(0))
    sizes = frame.groupby("group").size()[order].to_numpy()
    reached = np.cumsum(sizes)
    shares = {}
    for fraction in fractions:
        count = int(np.searchsorted(reached, math.ceil(fraction * len(rows) - 1e-9))) + 1
        chosen = set(order[: min(count, len(order))])
        shares[fraction] = np.sort(frame.loc[frame["group"].isin(chosen), "row"].to_numpy())
    return shares


def still_rising(curve, n_val):
    """Whether the CNN's val accuracy still rose over the last doubling of the data, by more than chance.

    Compares the last row with the row of half its examples or fewer (the
    largest such); the rise must exceed ``1 / sqrt(n_val)``, twice the largest
    standard error of an accuracy over ``n_val`` clips (as ``advice.far_below``).

    Parameters
    ----------
    curve : pandas.DataFrame
        The learning curve (:data:`COLUMNS`), rows in increasing fraction.
    n_val : int
        Val clips.

    Returns
    -------
    bool or None
        None when no row has half the examples or fewer, or val is empty.
    """
    if n_val == 0 or curve["cnn_val_accuracy"].isna().any():
        return None
    last = curve.iloc[-1]
    half = curve[curve["train_examples"] <= last["train_examples"] / 2]
    if half.empty:
        return None
    return bool(last["cnn_val_accuracy"] - half.iloc[-1]["cnn_val_accuracy"] > 1 / math.sqrt(n_val))


def row(fraction, data, rows, groups, cnn, base, steps):
    """One row of the curve: the share's size and the CNN's and baseline's val and test metrics."""
    values = {
        "fraction": fraction,
        "train_examples": int(len(rows)),
        "train_groups": int(len(set(groups[rows]))),
        "train_classes": int(len(set(data.labels[rows]))),
        "steps": steps,
    }
    for model, metrics in (("cnn", cnn), ("baseline", base)):
        for split in ("val", "test"):
            for metric in ("accuracy", "macro_f1"):
                found = metrics.get(split)
                values[f"{model}_{split}_{metric}"] = None if found is None else found[metric]
    return values


def learning_curve(data, training, fractions, split_by, full_metrics, threads=None, spectrograms=None):
    """Train the CNN and the baseline on every share and tabulate them with the full model's metrics.

    Parameters
    ----------
    data : loaders.Dataset
    training : dict
        The ``training`` section (its ``seed`` also draws the shares).
    fractions : sequence of float
        ``training.learning_curve``; 1.0 is always the last row.
    split_by : str
        ``split.by``.
    full_metrics : dict
        The trained model's ``metrics.json`` (the row of fraction 1.0).
    threads : int or None
    spectrograms : loaders.Dataset or None
        For the birdnet branch: the same rows' spectrograms, on which the baseline is fitted
        (``train.baseline_data``); None fits it on ``data``.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, one row per fraction, in increasing order.
    """
    import baseline
    import train

    rows = data.indices("train")
    groups = training_groups(data, split_by)
    shares = nested_shares(rows, data.labels, groups, sorted(set(fractions) - {1.0}), training["seed"])
    table = []
    for fraction, chosen in shares.items():
        split = np.array(data.split, dtype=object)
        split[np.setdiff1d(rows, chosen)] = "unused"  # out of the share: in no split
        share = replace(data, split=split)
        fitted = share if spectrograms is None else replace(spectrograms, split=split)
        _, base = baseline.run_baseline(fitted, ("val", "test"), training["seed"])
        model, _, summary = train.train(share, training, threads)
        cnn = train.evaluate(model, share, training["batch_size"])[0]
        table.append(row(fraction, data, chosen, groups, cnn, base, summary["steps"]))
        print(f"fraction {fraction}: {len(chosen)} training examples, CNN val "
              f"{cnn['val']['accuracy'] if cnn['val'] else 'n/a'}, baseline val "
              f"{base['val']['accuracy'] if base['val'] else 'n/a'}", file=sys.stderr)
    table.append(row(1.0, data, rows, groups, full_metrics, full_metrics["baseline"],
                     full_metrics["training"]["steps"]))
    return pd.DataFrame(table, columns=COLUMNS)


def main(branch, data_path, channels, training, split_by, metrics_path, threads, out_csv, baseline_path=None,
         baseline_branch=None):
    """Load the branch (the NPY manifest's arrays, the pixel table or the embeddings), draw the curve, write it.

    For the birdnet branch, ``baseline_path`` and ``baseline_branch`` give the spectrograms its baseline is fitted on.
    """
    import loaders
    from tables import write_csv
    from train import baseline_data

    data = loaders.load_branch(branch, data_path, channels=channels)
    spectrograms = baseline_data(data, baseline_branch, baseline_path, channels) if baseline_path else None
    with open(metrics_path, encoding="utf-8") as f:
        full = json.load(f)
    curve = learning_curve(data, training, training["learning_curve"], split_by, full, threads, spectrograms)
    write_csv(curve, out_csv)
    rising = still_rising(curve, len(data.indices("val")))
    if rising is not None:
        print(f"{branch}: the CNN's val accuracy {'still rose' if rising else 'no longer rose by more than chance'} "
              "over the last doubling of the training data"
              f"{': more labels would likely help' if rising else ''}", file=sys.stderr)


if "snakemake" in globals():
    sys.stderr = sys.stdout = open(snakemake.log[0], "w")
    main(
        snakemake.wildcards.branch,
        snakemake.input.data,
        snakemake.params.channels,
        snakemake.params.training,
        snakemake.params.split_by,
        snakemake.input.metrics,
        snakemake.threads,
        snakemake.output[0],
        snakemake.input.get("baseline"),
        snakemake.params.baseline_branch,
    )
