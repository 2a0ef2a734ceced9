"""The baseline beside every CNN: per-band summary statistics and a logistic regression.

Each spectrogram ``(n_freq, n_frames, channels)`` becomes one vector: the mean,
standard deviation and maximum over time of every frequency row and channel.
The vectors are standardised and classified by a logistic regression with
balanced class weights (scikit-learn; one per class, one-vs-rest, with
``labels.multi_label``). Both the scaler and the regression are
fitted on the train split only; val, test and holdout are only predicted. If
the CNN does not beat this, it has learned nothing a trivial model would not.
"""

import numpy as np

import evaluation

STATISTICS = ("mean", "std", "max")


def band_statistics(x):
    """Mean, standard deviation and maximum over time of every frequency row and channel.

    Parameters
    ----------
    x : np.ndarray
        ``(N, n_freq, n_frames, channels)``.

    Returns
    -------
    np.ndarray
        float64 ``(N, 3 · n_freq · channels)``: all means, then all standard
        deviations, then all maxima.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    return np.concatenate([x.mean(axis=2).reshape(n, -1), x.std(axis=2).reshape(n, -1), x.max(axis=2).reshape(n, -1)],
                          axis=1)


def summary_features(features, batch=512):
    """:func:`band_statistics` of every row, read batch by batch (``features`` may be memory-mapped).

    Parameters
    ----------
    features : np.ndarray
        ``(N, n_freq, n_frames, channels)``.
    batch : int
        Rows read at a time.

    Returns
    -------
    np.ndarray
        ``(N, 3 · n_freq · channels)``.
    """
    return np.concatenate([band_statistics(features[start : start + batch])
                           for start in range(0, max(1, features.shape[0]), batch)])


def fit_baseline(x_train, y_train, seed=0):
    """Standardise and fit a balanced logistic regression on the training rows only.

    Parameters
    ----------
    x_train : np.ndarray
        Summary features of the train split, ``(n, d)``.
    y_train : np.ndarray
        Their class ids, or ``(n, n_classes)`` 0/1 targets (``labels.multi_label``).
    seed : int
        ``random_state`` of the regression.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``StandardScaler`` then ``LogisticRegression(class_weight="balanced")``,
        one per class (one-vs-rest) for multi-hot targets.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    regression = LogisticRegression(class_weight="balanced", max_iter=2000, random_state=seed)
    if np.ndim(y_train) == 2:
        regression = OneVsRestClassifier(regression)
    return make_pipeline(StandardScaler(), regression).fit(x_train, y_train)


def baseline_scores(model, x, n_classes):
    """The fitted baseline's probability of every class for the rows ``x``: ``(n, n_classes)``.

    A single-label regression knows only the classes of the training split;
    the columns of the others are 0.
    """
    probabilities = model.predict_proba(x)
    if probabilities.shape[1] == n_classes:
        return probabilities
    full = np.zeros((len(x), n_classes))
    full[:, model.classes_.astype(int)] = probabilities
    return full


def run_baseline(data, splits, seed=0, background=None, events=None):
    """Fit the baseline on ``data``'s train split and measure it on every split of ``splits``.

    Measured as the CNN is (:func:`evaluation.measure_splits`): with
    ``labels.multi_label`` at thresholds of its own, chosen on val.

    Parameters
    ----------
    data : loaders.Dataset
        Features, labels and split of a branch.
    splits : sequence of str
        Splits to evaluate (val, test, holdout).
    seed : int
        ``random_state`` of the regression.
    background, events
        As for :func:`evaluation.measure_splits`.

    Returns
    -------
    model : sklearn.pipeline.Pipeline or None
        None when the train split has fewer than two classes.
    metrics : dict
        Split → metrics (None for an empty split or no model).
    """
    x = summary_features(data.features)
    train_rows = data.indices("train")
    y = data.targets if data.multi_label else data.labels
    kinds = np.unique(y[train_rows], axis=0)
    if len(kinds) < 2:
        return None, {split: None for split in splits}
    model = fit_baseline(x[train_rows], y[train_rows], seed)
    scores = {split: baseline_scores(model, x[rows], len(data.classes))
              for split in splits if len(rows := data.indices(split))}
    metrics, _ = evaluation.measure_splits(data, scores, splits, background, events)
    return model, metrics


def verdict(cnn, baseline, split="val"):
    """Whether the CNN beats the baseline on ``split``, and a sentence saying so with the figures.

    Compared by accuracy, or by macro mAP when ``cnn`` says ``multi_label``
    (exact-match accuracy punishes every class missed in a chorus alike).

    Parameters
    ----------
    cnn, baseline : dict
        Split → metrics (:func:`evaluation.measure_splits`, None for an empty split); ``cnn``'s
        ``multi_label`` key says how to compare.
    split : str
        The split compared (val: the one the CNN's early stopping already sees).

    Returns
    -------
    beats : bool or None
        None when the split is empty or there is no baseline.
    message : str
    """
    ours, theirs = cnn.get(split), baseline.get(split) if baseline else None
    if ours is None or theirs is None:
        return None, f"CNN and baseline not compared: no {split} split"
    if cnn.get("multi_label"):
        if ours["macro_map"] is None or theirs["macro_map"] is None:
            return None, f"CNN and baseline not compared: no class has a positive in {split}"
        figures = (
            f"{split} macro mAP {ours['macro_map']:.3f} (macro-F1 {ours['macro_f1']:.3f}) against the baseline's "
            f"{theirs['macro_map']:.3f} ({theirs['macro_f1']:.3f})"
        )
        better = ours["macro_map"] > theirs["macro_map"]
    else:
        figures = (
            f"{split} accuracy {ours['accuracy']:.3f} (macro-F1 {ours['macro_f1']:.3f}) against the baseline's "
            f"{theirs['accuracy']:.3f} ({theirs['macro_f1']:.3f})"
        )
        better = ours["accuracy"] > theirs["accuracy"]
    if better:
        return True, f"the CNN beats the baseline: {figures}"
    return False, (
        f"WARNING: the CNN does not beat the baseline (logistic regression on per-band mean/std/max): {figures}; "
        "see docs/training.md#when-the-cnn-does-not-beat-the-baseline"
    )
