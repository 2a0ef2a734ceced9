"""Metrics of a trained model per split (scikit-learn does the counting).

Single-label models (one class per example, softmax outputs): accuracy,
macro-F1, per-class precision/recall/F1, the confusion matrix and the
misclassified files (:func:`split_metrics`, :func:`confusion_table`,
:func:`misclassified`); with the probabilities, also the ranking metrics below.

Multi-label models (overlapping sounds: any number of classes per example,
one independent score per class): per-class thresholds chosen on the
validation split (:func:`f1_thresholds`), then exact-match accuracy,
macro/micro-F1 and per-class precision/recall/F1 (:func:`multilabel_split_metrics`)
and the misclassified examples (:func:`multilabel_misclassified`).

Ranking metrics, which need no threshold and are what bioacoustic papers
report (:func:`ranking_metrics`): per-class average precision (AP, the area
under the precision-recall curve) and ROC-AUC, their macro mean (mAP) and the
micro AP over every (example, class) pair.
"""

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_recall_fscore_support,
    roc_auc_score,
)


def _per_class(classes, precision, recall, f1, support):
    """``{name: {precision, recall, f1, support}}`` of the arrays of :func:`precision_recall_fscore_support`."""
    return {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(classes)
    }


def _with_ranking(metrics, ranking):
    """``metrics`` with each class's AP and ROC-AUC (None for a class ``ranking`` left out) and the mAPs."""
    for name, entry in metrics["per_class"].items():
        ranked = ranking["per_class"].get(name, {})
        entry["average_precision"] = ranked.get("average_precision")
        entry["roc_auc"] = ranked.get("roc_auc")
    metrics["macro_map"] = ranking["macro_map"]
    metrics["micro_map"] = ranking["micro_map"]
    return metrics


def ranking_metrics(y_true, scores, classes, exclude=()):
    """Average precision and ROC-AUC of each class, and their means: metrics of the ranking, with no threshold.

    Parameters
    ----------
    y_true : np.ndarray
        ``(N, C)`` 0/1: whether each class is present in each example.
    scores : np.ndarray
        ``(N, C)`` the model's score of each class (probabilities or any score that ranks).
    classes : list of str
        The ``C`` class names.
    exclude : iterable of str
        Classes left out of everything (e.g. the background class of a single-label model,
        which is no sound to detect).

    Returns
    -------
    dict
        ``per_class``: ``{name: {average_precision, roc_auc, positives}}`` of the included classes,
        AP None for a class with no positive, ROC-AUC None for a class with no positive or no negative;
        ``macro_map``: the mean of the APs that are not None (None if none is);
        ``micro_map``: the AP of every (example, included class) pair ranked together
        (None when there is no positive at all). Plain floats, ready for JSON.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1, 0], [0, 0], [1, 0]])
    >>> s = np.array([[0.9, 0.2], [0.1, 0.3], [0.8, 0.1]])
    >>> m = ranking_metrics(y, s, ["owl", "jay"])
    >>> m["per_class"]["owl"], m["per_class"]["jay"]["average_precision"], m["macro_map"]
    ({'average_precision': 1.0, 'roc_auc': 1.0, 'positives': 2}, None, 1.0)
    """
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    excluded = set(exclude)
    kept = [i for i, name in enumerate(classes) if name not in excluded]
    per_class = {}
    for i in kept:
        truth, positives = y_true[:, i], int(y_true[:, i].sum())
        per_class[classes[i]] = {
            "average_precision": float(average_precision_score(truth, scores[:, i])) if positives else None,
            "roc_auc": float(roc_auc_score(truth, scores[:, i])) if 0 < positives < len(truth) else None,
            "positives": positives,
        }
    aps = [entry["average_precision"] for entry in per_class.values() if entry["average_precision"] is not None]
    any_positive = bool(kept) and y_true[:, kept].sum() > 0
    return {
        "per_class": per_class,
        "macro_map": float(np.mean(aps)) if aps else None,
        "micro_map": float(average_precision_score(y_true[:, kept], scores[:, kept], average="micro"))
        if any_positive
        else None,
    }


def f1_thresholds(y_true, scores, fallback=0.5):
    """The score threshold of each class that maximises its F1 on these examples (those of the val split).

    A multi-label model gives each class its own score, and no single cut-off suits every class: a rare class
    often scores low even when present. Each class gets the threshold with the best F1 on the validation split
    (of the thresholds :func:`sklearn.metrics.precision_recall_curve` tries, i.e. the scores seen); among
    thresholds of equal F1 the highest, which predicts the class least often. The threshold is then placed
    halfway between that score and the next lower score of the class on val: the F1 on val is the same (no val
    score lies between them), and a new recording whose scores run a little lower than val's (another recorder,
    another noise floor) is not cut off at the very edge of val's lowest kept score. Where val separates a class
    perfectly, the edge is its lowest positive score (0.93 for a demo class whose negatives stay below 0.2), and
    half a gap is the margin a maximum-margin rule would keep.

    A class with no positive in these examples has no F1 to maximise: recall is undefined and F1 is 0 at every
    threshold, so any "best" threshold would be arbitrary, possibly its lowest score, and the class would then
    fire on nearly every window of new recordings. It gets ``fallback`` instead: 0.5, where a sigmoid says
    "more likely than not", keeps such a rare class from firing everywhere.

    Parameters
    ----------
    y_true : np.ndarray
        ``(N, C)`` 0/1.
    scores : np.ndarray
        ``(N, C)`` scores; a class is predicted where its score is at least its threshold.
    fallback : float
        Threshold of a class with no positive.

    Returns
    -------
    np.ndarray
        ``(C,)`` float64 thresholds.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1, 0], [0, 0], [1, 0], [0, 0]])
    >>> s = np.array([[0.9, 0.1], [0.8, 0.7], [0.7, 0.2], [0.1, 0.3]])
    >>> f1_thresholds(y, s).round(6).tolist()  # owl: F1 0.8 from 0.7 down to above 0.1, halfway: 0.4; jay: none
    [0.4, 0.5]
    """
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    thresholds = np.full(y_true.shape[1], float(fallback), dtype=np.float64)
    for i in range(y_true.shape[1]):
        if not y_true[:, i].any():
            continue
        precision, recall, cuts = precision_recall_curve(y_true[:, i], scores[:, i])
        precision, recall = precision[:-1], recall[:-1]  # the last point (recall 0) has no threshold
        total = precision + recall
        f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(total), where=total > 0)
        best = np.flatnonzero(f1 >= f1.max() - 1e-12)  # equal up to rounding: cuts increase, take the highest
        cut = cuts[best[-1]]
        below = scores[:, i][scores[:, i] < cut]
        thresholds[i] = (cut + below.max()) / 2 if len(below) else cut
    return thresholds


def split_metrics(y_true, y_pred, classes, probabilities=None, exclude=()):
    """Metrics of one split of a single-label model.

    Parameters
    ----------
    y_true, y_pred : np.ndarray
        Class ids.
    classes : list of str
        Class names indexed by id.
    probabilities : np.ndarray or None
        ``(N, C)`` the model's outputs: when given, the ranking metrics too, one class against the rest.
    exclude : iterable of str
        Classes left out of the ranking metrics (the background class); the other metrics count every class.

    Returns
    -------
    dict or None
        ``n``, ``accuracy``, ``macro_f1`` (over the classes present in the
        split) and ``per_class`` (precision, recall, f1, support); None for an
        empty split. With ``probabilities``, each class also has
        ``average_precision`` and ``roc_auc`` (None for an excluded class) and
        the dict ``macro_map`` and ``micro_map`` (:func:`ranking_metrics` of the
        one-hot truth).
    """
    if len(y_true) == 0:
        return None
    present = np.unique(np.concatenate([y_true, y_pred]))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(len(classes)), zero_division=0
    )
    metrics = {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "per_class": _per_class(classes, precision, recall, f1, support),
    }
    if probabilities is None:
        return metrics
    one_hot = np.eye(len(classes), dtype=int)[np.asarray(y_true)]
    return _with_ranking(metrics, ranking_metrics(one_hot, probabilities, classes, exclude))


def multilabel_predictions(scores, thresholds):
    """0/1 ``(N, C)``: each class predicted where its score is at least its threshold."""
    return (np.asarray(scores) >= np.asarray(thresholds)).astype(int)


def _columns(y_true, y_pred):
    """The ``y_true``, ``y_pred`` and ``labels`` arguments for sklearn to count each column of ``(N, C)`` 0/1
    arrays as one class.

    sklearn reads a single column as a binary target (classes 0 and 1), not as one class: then only its 1s count.
    """
    if y_true.shape[1] == 1:
        return {"y_true": y_true[:, 0], "y_pred": y_pred[:, 0], "labels": [1]}
    return {"y_true": y_true, "y_pred": y_pred, "labels": np.arange(y_true.shape[1])}


def multilabel_split_metrics(y_true, scores, classes, thresholds):
    """Metrics of one split of a multi-label model: a class is predicted where its score reaches its threshold.

    Parameters
    ----------
    y_true : np.ndarray
        ``(N, C)`` 0/1.
    scores : np.ndarray
        ``(N, C)`` scores.
    classes : list of str
        The ``C`` class names.
    thresholds : np.ndarray
        ``(C,)`` (:func:`f1_thresholds` of the val split).

    Returns
    -------
    dict or None
        None for an empty split, else ``n``; ``accuracy``, the share of examples with every class right
        (exact match); ``macro_f1``, the mean F1 of the classes present in the truth or in the
        predictions, and ``micro_f1``, the F1 of all (example, class) pairs (both None when no class is
        present nor predicted: there is nothing to count); ``per_class`` {precision, recall, f1, support,
        threshold, average_precision, roc_auc}; ``macro_map`` and ``micro_map`` (:func:`ranking_metrics`).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([[1, 0], [1, 1], [0, 1]])
    >>> s = np.array([[0.9, 0.2], [0.8, 0.6], [0.3, 0.4]])
    >>> m = multilabel_split_metrics(y, s, ["owl", "jay"], np.array([0.5, 0.5]))
    >>> m["accuracy"], m["per_class"]["jay"]["recall"], m["macro_map"]  # the jay of row 3 is missed
    (0.6666666666666666, 0.5, 1.0)
    """
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    if len(y_true) == 0:
        return None
    y_pred = multilabel_predictions(scores, thresholds)
    columns = _columns(y_true, y_pred)
    precision, recall, f1, support = precision_recall_fscore_support(**columns, zero_division=0)
    present = np.flatnonzero(y_true.any(axis=0) | y_pred.any(axis=0))
    per_class = _per_class(classes, precision, recall, f1, support)
    for name, threshold in zip(classes, thresholds):
        per_class[name]["threshold"] = float(threshold)
    metrics = {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(np.mean(f1[present])) if len(present) else None,
        "micro_f1": float(f1_score(**columns, average="micro", zero_division=0)) if len(present) else None,
        "per_class": per_class,
    }
    return _with_ranking(metrics, ranking_metrics(y_true, scores, classes))


def confusion_table(y_true, y_pred, classes):
    """Confusion matrix as a table: rows true class, columns predicted class."""
    matrix = confusion_matrix(y_true, y_pred, labels=np.arange(len(classes)))
    table = pd.DataFrame(matrix, index=pd.Index(classes, name="true"), columns=classes)
    return table


def misclassified(ids, split, y_true, probabilities, classes):
    """Rows the model got wrong: id, split, true, predicted, probability (of the prediction), p_true."""
    y_pred = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(y_pred != y_true)
    names = np.asarray(classes, dtype=object)
    return pd.DataFrame(
        {
            "id": np.asarray(ids)[wrong],
            "split": np.asarray(split)[wrong],
            "true": names[y_true[wrong]],
            "predicted": names[y_pred[wrong]],
            "probability": probabilities[wrong, y_pred[wrong]].round(6),
            "p_true": probabilities[wrong, y_true[wrong]].round(6),
        }
    )


def class_names(multi_hot, classes):
    """The classes of each row of a 0/1 ``(N, C)`` array joined with ``;`` (``''`` for none).

    Examples
    --------
    >>> import numpy as np
    >>> class_names(np.array([[1, 1], [0, 0]]), ["owl", "jay"])
    ['owl;jay', '']
    """
    return [";".join(name for name, on in zip(classes, row) if on) for row in np.asarray(multi_hot)]


def multilabel_misclassified(ids, split, y_true, scores, classes, thresholds):
    """Examples with any class wrong: id, split, true and predicted classes (:func:`class_names`)."""
    y_true, y_pred = np.asarray(y_true), multilabel_predictions(scores, thresholds)
    wrong = np.flatnonzero((y_pred != y_true).any(axis=1))
    return pd.DataFrame(
        {
            "id": np.asarray(ids)[wrong],
            "split": np.asarray(split)[wrong],
            "true": class_names(y_true[wrong], classes),
            "predicted": class_names(y_pred[wrong], classes),
        }
    )


def measure_splits(data, scores, splits, background=None, events=None):
    """Metrics of every split from a model's scores: the one measure of the CNN and of its baseline.

    One class per example: :func:`split_metrics` of the most probable class,
    with the ranking metrics of the scores (``background`` left out). Several
    (``data.multi_label``): each class's threshold is chosen on val
    (:func:`f1_thresholds`; 0.5 for every class when val is empty) and
    :func:`multilabel_split_metrics` measures every split at it. With
    ``events`` (windows labelled by annotations), the test split also gets
    ``event_level``: :func:`detections.event_metrics` of the detections its
    windows make (:func:`detections.split_detections`) against the events of
    its recordings. Every split also gets its metrics per author and, for
    windows, per recording (:func:`per_group`: ``per_author``,
    ``per_recording``), measured the same way, at the same thresholds.

    Parameters
    ----------
    data : loaders.Dataset
    scores : dict
        Split → ``(n_rows, n_classes)`` scores of ``data.indices(split)``; a
        split without rows may be missing.
    splits : sequence of str
    background : str or None
        The background class of single-label windows (``labels.background``).
    events : pandas.DataFrame or None
        id, start, end, class of every annotated event.

    Returns
    -------
    metrics : dict
        Split → metrics, None for a split without rows.
    thresholds : np.ndarray or None
        Each class's threshold (multi-label), else None.
    """
    import detections

    thresholds = None
    if data.multi_label:
        val = data.indices("val")
        thresholds = (f1_thresholds(data.targets[val], scores["val"]) if len(val)
                      else np.full(len(data.classes), 0.5))
    exclude = (background,) if background in data.classes else ()
    metrics = {}
    for split in splits:
        rows = data.indices(split)
        if not len(rows) or split not in scores:
            metrics[split] = None
            continue
        metrics[split] = rows_metrics(data, rows, scores[split], thresholds, exclude)
        found = None
        if split == "test" and events is not None and data.times is not None:
            found = detections.split_detections(data.recordings[rows], data.times[rows], scores[split],
                                                data.classes, thresholds, None if data.multi_label else background)
            metrics[split]["event_level"] = recording_events(events, found, data.recordings[rows])
        metrics[split].update(per_group(data, rows, scores[split], thresholds, exclude, events, found))
    return metrics, thresholds


#: The scores each group (author, recording) keeps of its metrics: the pooled ones without the per-class blow-up.
GROUP_KEYS = ("n", "accuracy", "macro_f1", "micro_f1", "macro_map", "micro_map")
#: The keys of a split's metrics that hold its groups, and what each group is.
GROUPINGS = {"per_author": "author", "per_recording": "recording"}
#: A group is flagged when its score is more than this and more than 1/sqrt(n) below the pooled score.
FLAG_MARGIN = 0.1


def rows_metrics(data, rows, scores, thresholds=None, exclude=()):
    """The metrics of some rows of ``data``: :func:`split_metrics` or, multi-label, :func:`multilabel_split_metrics`.

    Parameters
    ----------
    data : loaders.Dataset
    rows : np.ndarray
        Row numbers of ``data``.
    scores : np.ndarray
        ``(len(rows), n_classes)`` their scores.
    thresholds : np.ndarray or None
        Each class's threshold (multi-label).
    exclude : tuple of str
        Classes left out of the ranking metrics (single-label).
    """
    if data.multi_label:
        return multilabel_split_metrics(data.targets[rows], scores, data.classes, thresholds)
    return split_metrics(data.labels[rows], scores.argmax(axis=1), data.classes, probabilities=scores,
                         exclude=exclude)


def recording_events(events, found, recordings):
    """:func:`detections.event_metrics` of the detections ``found`` on ``recordings`` against their events.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> events = pd.DataFrame({"id": ["a", "b"], "start": [1.0, 1.0], "end": [2.0, 2.0], "class": ["owl", "owl"]})
    >>> recording_events(events, events.iloc[:1], np.array(["b", "b"]))["recall"]  # a's detection is not b's
    0.0
    """
    import detections

    ids = set(np.asarray(recordings).tolist())
    return detections.event_metrics(events[events["id"].isin(ids)], found[found["id"].isin(ids)])


def group_summary(metrics):
    """A group's entry: the :data:`GROUP_KEYS` its metrics have.

    Examples
    --------
    >>> group_summary({"n": 2, "accuracy": 0.5, "macro_f1": 0.4, "per_class": {}, "macro_map": None})
    {'n': 2, 'accuracy': 0.5, 'macro_f1': 0.4, 'macro_map': None}
    """
    return {key: metrics[key] for key in GROUP_KEYS if key in metrics}


def per_group(data, rows, scores, thresholds=None, exclude=(), events=None, found=None):
    """The metrics of one split's rows per author and, for windows, per recording (:data:`GROUPINGS`).

    Each group is measured as the split is (:func:`rows_metrics`, at the same thresholds) and kept compact
    (:func:`group_summary`); with ``found`` (the split's detections, :func:`detections.split_detections`) each
    group also gets ``event_level`` (:func:`recording_events` of its recordings: the same detections, none made
    again).

    Parameters
    ----------
    data : loaders.Dataset
    rows : np.ndarray
        The split's row numbers.
    scores : np.ndarray
        ``(len(rows), n_classes)``.
    thresholds, exclude
        As for :func:`rows_metrics`.
    events : pandas.DataFrame or None
        id, start, end, class of every annotated event (with ``found``).
    found : pandas.DataFrame or None
        The split's detections.

    Returns
    -------
    dict
        ``per_author`` and, when ``data.recordings`` is set, ``per_recording``: group name → entry, by name.
    """
    keys = {"per_author": data.authors, "per_recording": data.recordings}
    groups = {}
    for grouping in GROUPINGS:
        if keys[grouping] is None:
            continue
        entries = {}
        for name, positions in pd.Series(np.arange(len(rows))).groupby(keys[grouping][rows], sort=True).indices.items():
            entry = group_summary(rows_metrics(data, rows[positions], scores[positions], thresholds, exclude))
            if found is not None:
                entry["event_level"] = recording_events(events, found, data.recordings[rows[positions]])
            entries[str(name)] = entry
        groups[grouping] = entries
    return groups


def headline_key(multi_label):
    """The score groups are ranked and flagged by: macro mAP for a multi-label model, else accuracy (as the verdict)."""
    return "macro_map" if multi_label else "accuracy"


def flagged(score, pooled, n, margin=FLAG_MARGIN):
    """Whether a group's score is far enough below the pooled one to be flagged.

    Flagged when ``pooled - score`` exceeds both ``margin`` and ``1/sqrt(n)``: twice the largest standard error
    of a share measured on ``n`` independent examples (0.5/sqrt(n), at 0.5), so that a small group is not
    flagged for chance alone, and a large one only for a gap worth a look.

    Examples
    --------
    >>> flagged(0.7, 0.9, 100), flagged(0.7, 0.9, 16), flagged(0.85, 0.9, 10000), flagged(None, 0.9, 50)
    (True, False, False, False)
    """
    if score is None or pooled is None or n < 1:
        return False
    return bool(pooled - score > max(margin, 1 / np.sqrt(n)))


#: The columns of :func:`group_rows`' table (``per_group.csv``).
GROUP_COLUMNS = ("split", "by", "group", "n", "metric", "score", "pooled", "below_pooled", "flagged", "baseline",
                 "accuracy", "macro_f1", "macro_map", "event_precision", "event_recall")


def _group_row(split, by, name, entry, key, pooled, base):
    """One row of :func:`group_rows`."""
    score, level = entry.get(key), entry.get("event_level") or {}
    return {
        "split": split, "by": by, "group": name, "n": entry["n"], "metric": key, "score": score, "pooled": pooled,
        "below_pooled": None if score is None or pooled is None else pooled - score,
        "flagged": flagged(score, pooled, entry["n"]), "baseline": (base or {}).get(name, {}).get(key),
        "accuracy": entry.get("accuracy"), "macro_f1": entry.get("macro_f1"), "macro_map": entry.get("macro_map"),
        "event_precision": level.get("precision"), "event_recall": level.get("recall"),
    }


def group_rows(metrics, splits=("val", "test", "holdout")):
    """Every group of every split beside its pooled score, worst first: the table of ``per_group.csv``.

    Parameters
    ----------
    metrics : dict
        A branch's ``metrics.json``: split → metrics (with ``per_author``, ``per_recording``), ``multi_label``
        and ``baseline`` (the baseline's, the same way).
    splits : sequence of str

    Returns
    -------
    list of dict
        One per (split, grouping, group), with :data:`GROUP_COLUMNS`: ``metric`` is :func:`headline_key`,
        ``score`` the group's, ``pooled`` the split's, ``flagged`` :func:`flagged`, ``baseline`` the
        baseline's score of the group. By split, author before recording, then worst score first (groups
        without a score last).
    """
    key, baseline, rows = headline_key(metrics.get("multi_label")), metrics.get("baseline") or {}, []
    for split in splits:
        measured = metrics.get(split)
        if not measured:
            continue
        for grouping, by in GROUPINGS.items():
            base = (baseline.get(split) or {}).get(grouping)
            block = [_group_row(split, by, name, entry, key, measured.get(key), base)
                     for name, entry in (measured.get(grouping) or {}).items()]
            rows += sorted(block, key=lambda row: (row["score"] is None, row["score"] or 0.0, row["group"]))
    return rows


def group_table(metrics, splits=("val", "test", "holdout")):
    """:func:`group_rows` as a table with :data:`GROUP_COLUMNS` (scores rounded to 6 decimals)."""
    return pd.DataFrame(group_rows(metrics, splits), columns=list(GROUP_COLUMNS)).round(6)


def multilabel_confusion_table(truth, hits, classes):
    """Per class, its true negatives, false positives, false negatives and true positives (multi-label).

    Parameters
    ----------
    truth, hits : np.ndarray
        ``(N, n_classes)`` 0/1 labels and predictions.
    classes : list of str

    Returns
    -------
    pandas.DataFrame
        Index ``true`` (the class), columns ``tn``, ``fp``, ``fn``, ``tp``.
    """
    from sklearn.metrics import multilabel_confusion_matrix

    matrices = multilabel_confusion_matrix(np.asarray(truth, dtype=int), np.asarray(hits, dtype=int))
    return pd.DataFrame(matrices.reshape(len(classes), 4), index=pd.Index(classes, name="true"),
                        columns=["tn", "fp", "fn", "tp"])


def score_table(data, scores, background=None):
    """Every evaluated row's labels and scores: id, split, ``label_{class}`` (0/1) and ``p_{class}``.

    The table the precision-recall curves are drawn from. A single-label
    model's ``background`` class is left out, as from its mAP.

    Parameters
    ----------
    data : loaders.Dataset
    scores : dict
        Split → ``(n_rows, n_classes)`` scores of ``data.indices(split)``.
    background : str or None

    Returns
    -------
    pandas.DataFrame
    """
    from labelling import LABEL_PREFIX

    keep = [i for i, name in enumerate(data.classes) if data.multi_label or name != background]
    parts = []
    for split, values in scores.items():
        rows = data.indices(split)
        truth = data.targets[rows] if data.multi_label else np.eye(len(data.classes))[data.labels[rows]]
        part = pd.DataFrame({"id": data.ids[rows], "split": data.split[rows]})
        for i in keep:
            part[f"{LABEL_PREFIX}{data.classes[i]}"] = truth[:, i].astype(int)
        for i in keep:
            part[f"p_{data.classes[i]}"] = np.round(values[:, i], 6)
        parts.append(part)
    columns = ["id", "split"] + [f"{LABEL_PREFIX}{data.classes[i]}" for i in keep] + [f"p_{data.classes[i]}"
                                                                                      for i in keep]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
