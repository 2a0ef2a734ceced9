"""Metrics of a trained model per split: accuracy, macro-F1, per-class precision/recall/F1,
confusion matrix and the misclassified files (scikit-learn does the counting)."""

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def split_metrics(y_true, y_pred, classes):
    """Metrics of one split.

    Parameters
    ----------
    y_true, y_pred : np.ndarray
        Class ids.
    classes : list of str
        Class names indexed by id.

    Returns
    -------
    dict or None
        ``n``, ``accuracy``, ``macro_f1`` (over the classes present in the
        split) and ``per_class`` (precision, recall, f1, support); None for an
        empty split.
    """
    if len(y_true) == 0:
        return None
    present = np.unique(np.concatenate([y_true, y_pred]))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=np.arange(len(classes)), zero_division=0
    )
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
    }


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
