"""Train the CNN of one branch (npy or png) and evaluate it on val, test and holdout.

Writes the model (``results/model_{branch}.keras``), its provenance
(``results/model_{branch}.provenance.json``: effective config, package
versions, git commit, manifest hash, classes, input shape, and the thread
count and CPU it trained with), the training
history, metrics per split (the CNN's, the baseline's beside them, and the
epoch kept with the seconds per epoch), each author's and recording's score
beside the pooled one (``per_group.csv``), the test confusion matrix and the
misclassified files. The input normaliser, when enabled, is fitted on the training split
only and saved inside the model.
"""

import hashlib
import json
import os
import platform
import subprocess
import sys
from importlib import metadata

import numpy as np
import pandas as pd

import advice
import baseline
import evaluation
import loaders
import splits
from atomic import atomic_path, write_text
from tables import read_csv, write_csv

PACKAGES = ["snakemake", "librosa", "soundfile", "soxr", "numpy", "pandas", "pillow", "keras", "tensorflow-cpu",
            "scikit-learn", "matplotlib"]
EVALUATED = ("val", "test", "holdout")
ISA_FLAGS = ("sse4_1", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile")
"""The CPU flags (of /proc/cpuinfo) that decide which of oneDNN's kernels train the model."""


def sha256_of(path):
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions():
    """Installed versions of the packages the results depend on."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(repo):
    """The repository's commit (``-dirty`` when it has uncommitted changes), or None outside git."""
    try:
        commit = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        status = subprocess.run(["git", "-C", repo, "status", "--porcelain"], capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit.stdout.strip() + ("-dirty" if status.stdout.strip() else "")


def numerics(threads):
    """Where a model was computed, beyond its configuration, data and packages: its weights depend on it too.

    The same seed gives the same weights only with the same thread count and the
    same kind of CPU: TensorFlow's kernels split their sums over the threads, in
    a way that depends on the CPU's instruction set (docs/training.md).

    Parameters
    ----------
    threads : int or None
        The threads training ran with (None: TensorFlow's default).

    Returns
    -------
    dict
        ``threads``, ``cpu`` (the processor's name), ``cpu_isa`` (which of
        :data:`ISA_FLAGS` it has; empty where /proc/cpuinfo is missing) and
        ``tf_enable_onednn_opts``.
    """
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:  # the first processor's block
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    cpu = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
    except OSError:
        pass
    return {
        "threads": int(threads) if threads else None,
        "cpu": cpu,
        "cpu_isa": [flag for flag in ISA_FLAGS if flag in flags],
        "tf_enable_onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
    }


def class_weights(labels, n_classes, mode):
    """``'balanced'`` weights (n / (k · count)) of the classes present, 1 for the others; None for ``'none'``.

    Returns
    -------
    np.ndarray or None
        float32 weight per class id.
    """
    if mode != "balanced":
        return None
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(labels)
    full = np.ones(n_classes, dtype=np.float32)
    full[present] = compute_class_weight("balanced", classes=present, y=labels)
    return full


def sample_weights(data, rows, mode):
    """The weight of every row of ``data`` for training, from the classes of the training ``rows``.

    One class per row: :func:`class_weights` of its class. Several
    (``labels.multi_label``): :func:`multi_label_weights`. Rows outside
    ``rows`` get the weight of their classes too (never used in training).

    Returns
    -------
    np.ndarray or None
        float32 ``(N,)``; None for ``mode='none'``.
    """
    if mode != "balanced":
        return None
    if data.multi_label:
        return multi_label_weights(data.targets, data.targets[rows])
    return class_weights(data.labels[rows], len(data.classes), mode)[data.labels]


def multi_label_weights(targets, train_targets):
    """``'balanced'`` weights of multi-hot rows: each row weighs as its rarest class (or the background's).

    A class, and the rows with no class (background), weigh ``n / (k · count)``
    over the ``n`` training rows (``k`` kinds present, ``count`` rows holding
    it), as scikit-learn's ``'balanced'`` class weights do for one class per
    row; a row takes the largest weight among its classes, so a rare sound
    is not drowned by the common one it overlaps.

    Parameters
    ----------
    targets : np.ndarray
        ``(N, n_classes)`` 0/1 rows to weigh.
    train_targets : np.ndarray
        ``(n, n_classes)`` 0/1 rows of the training split, that the counts come from.

    Returns
    -------
    np.ndarray
        float32 ``(N,)``.

    Examples
    --------
    >>> train = np.array([[1, 0], [1, 0], [1, 1], [0, 0]])
    >>> [round(float(w), 3) for w in multi_label_weights(train, train)]
    [0.444, 0.444, 1.333, 1.333]
    """
    train_targets = np.asarray(train_targets) > 0
    n = len(train_targets)
    counts = np.append(train_targets.sum(axis=0), np.sum(~train_targets.any(axis=1))).astype(np.float64)
    kinds = max(1, int(np.count_nonzero(counts)))
    per_kind = np.where(counts > 0, n / (kinds * np.maximum(counts, 1)), 1.0)
    held = np.asarray(targets) > 0
    held = np.concatenate([held, ~held.any(axis=1, keepdims=True)], axis=1)
    return np.where(held, per_kind, 0.0).max(axis=1).astype(np.float32)


def augmenting(training):
    """Whether any augmentation of the training split is switched on."""
    return bool(
        training["freq_warp"] > 0
        or training["time_shift"] > 0
        or training["time_masks"] * training["time_mask_width"] > 0
        or training["freq_masks"] * training["freq_mask_width"] > 0
        or training["mixup_alpha"] > 0
    )


def epoch_timer():
    """A Keras callback that records the wall-clock seconds of every epoch in ``seconds``."""
    import time

    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    return EpochTimer()


def weight_averager(epochs):
    """A Keras callback that, when training ends, sets the model to the mean weights of its last ``epochs`` epochs.

    Averaging the weights the optimiser passed through at the end of training
    (as stochastic weight averaging does) gives a model less tied to any one
    epoch, and to how a single validation speaker or recorder happened to
    score it. Only the last ``epochs`` weight sets are held in memory.
    """
    import collections

    import keras

    class WeightAverager(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.recent = collections.deque(maxlen=epochs)

        def on_epoch_end(self, epoch, logs=None):
            self.recent.append([np.array(w) for w in self.model.get_weights()])

        def on_train_end(self, logs=None):
            if self.recent:
                self.model.set_weights([np.mean(ws, axis=0) for ws in zip(*self.recent)])

    return WeightAverager()


def training_summary(history, kept_epoch, seconds, steps_per_epoch, passes_per_epoch=1):
    """What metrics.json says about the run: epochs run and their steps, the epoch kept, and seconds per epoch.

    Parameters
    ----------
    history : pandas.DataFrame
        One row per epoch.
    kept_epoch : int
        1-based epoch whose weights the model keeps.
    seconds : list of float
        Wall-clock seconds of every epoch.
    steps_per_epoch : int
        Optimiser steps (batches) per epoch.
    passes_per_epoch : int
        Passes over the training split per epoch (``training.min_steps``).

    Returns
    -------
    dict
        ``epochs_run``, ``steps_per_epoch``, ``passes_per_epoch``, ``steps``
        (in all), ``kept_epoch``, ``kept_val_loss``, ``seconds`` and
        ``seconds_per_epoch``.
    """
    row = history.iloc[kept_epoch - 1]
    return {
        "epochs_run": int(len(history)),
        "steps_per_epoch": int(steps_per_epoch),
        "passes_per_epoch": int(passes_per_epoch),
        "steps": int(steps_per_epoch * len(history)),
        "kept_epoch": int(kept_epoch),
        "kept_val_loss": float(row["val_loss"]) if "val_loss" in history else None,
        "seconds": round(float(sum(seconds)), 2),
        "seconds_per_epoch": round(float(np.mean(seconds)), 3) if seconds else None,
    }


def embedding_statistics(features, rows):
    """Mean and variance of every value of an embedding over the training rows (the head's standardisation).

    A value constant over the training rows gets variance 1, so that it is centred, not divided by zero.
    """
    x = np.asarray(features[np.sort(rows)], dtype=np.float64)
    variance = x.var(axis=0)
    return x.mean(axis=0), np.where(variance > 0, variance, 1.0)


def train(data, training, threads=None):
    """Fit the CNN (a head for embeddings: ``model.build_head``) on the train split, early-stopping on val.

    The birdnet branch's head trains as the CNN does (seed, class weights, steps, early stopping,
    weight averaging), on unaugmented embeddings: the augmentations act on spectrograms.

    Parameters
    ----------
    data : loaders.Dataset
    training : dict
        The ``training`` section of the configuration.
    threads : int or None
        Threads for TensorFlow.

    Returns
    -------
    model : keras.Model
        With the weights of the kept epoch.
    history : pandas.DataFrame
        One row per epoch.
    summary : dict
        :func:`training_summary`.
    """
    from model import build_cnn, build_head, frequency_statistics, make_batches, passes_per_epoch, setup_keras

    keras = setup_keras(threads=threads, seed=training["seed"])
    train_rows, val_rows = data.indices("train"), data.indices("val")
    if len(train_rows) == 0:
        raise ValueError("the train split is empty: check split.fractions and split.assign")
    embedded = data.features.ndim == 2  # the birdnet branch: one embedding per example, a head instead of a CNN
    stats = None
    if embedded:
        stats = embedding_statistics(data.features, train_rows)
    elif training["normalizer"] in ("per_frequency", "both"):
        stats = frequency_statistics(data.features, train_rows)
    n_classes, size = len(data.classes), training["batch_size"]
    labels = data.targets if data.multi_label else data.labels
    passes = passes_per_epoch(len(train_rows), size, training["epochs"], training["min_steps"])
    batches = make_batches(
        data.features, labels, train_rows, size, training["seed"], n_classes,
        sample_weights(data, train_rows, training["class_weight"]),
        training if augmenting(training) and not embedded else None, passes,
    )
    steps = len(batches)
    if passes > 1:
        print(f"{len(train_rows)} training examples make {steps // passes} steps per pass: every epoch passes over "
              f"them {passes} times ({steps} steps) to reach training.min_steps {training['min_steps']}",
              file=sys.stderr)
    if embedded:
        model = build_head(data.features.shape[1], n_classes, training, stats, steps_per_epoch=steps,
                           multi_label=data.multi_label)
    else:
        model = build_cnn(data.features.shape[1:], n_classes, training, stats, steps_per_epoch=steps,
                          multi_label=data.multi_label)
    val = make_batches(data.features, labels, val_rows, size, n_classes=n_classes) if len(val_rows) else None
    averaging = training["average_epochs"]
    timer, callbacks, stopper = epoch_timer(), [], None
    if training["early_stopping_patience"] > 0:
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss" if val is not None else "loss",
            patience=training["early_stopping_patience"],
            restore_best_weights=not averaging,
        )
        callbacks.append(stopper)
    if averaging:
        callbacks.append(weight_averager(averaging))
    fit = model.fit(batches, validation_data=val, epochs=training["epochs"], callbacks=callbacks + [timer], verbose=2)
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    kept = stopper.best_epoch + 1 if stopper is not None and not averaging else len(history)
    summary = training_summary(history, kept, timer.seconds, steps, passes)
    if averaging:
        summary["averaged_epochs"] = min(averaging, len(history))
        summary["kept_val_loss"] = float(model.evaluate(val, verbose=0)[0]) if val is not None else None
        print(f"kept the mean weights of epochs {len(history) - summary['averaged_epochs'] + 1}-{len(history)}",
              file=sys.stderr)
    else:
        print(f"kept the weights of epoch {kept} of {len(history)}", file=sys.stderr)
    return model, history, summary


def predict_splits(model, data, batch_size):
    """The model's scores on every evaluated split that has rows: split → ``(n_rows, n_classes)``."""
    from model import make_batches

    scores = {}
    for split in EVALUATED:
        rows = data.indices(split)
        if len(rows):
            scores[split] = model.predict(make_batches(data.features, None, rows, batch_size), verbose=0)
    return scores


def evaluate(model, data, batch_size, events=None, background=None):
    """Predict val, test and holdout; metrics, test confusion matrix, misclassified rows, thresholds and scores.

    The metrics of each split are :func:`evaluation.measure_splits`'s: for one
    class per example, accuracy, macro-F1 and per-class precision, recall and
    F1 of the most probable class; for several (``labels.multi_label``), the
    same at each class's threshold, chosen on val. Both get per-class average
    precision and ROC-AUC and macro and micro mAP (``background``, a class
    of single-label windows, left out), and for windows labelled by
    annotations (``events``: id, start, end, class of every annotated event)
    the test split's event-level precision and recall; every split's metrics
    also per author and, for windows, per recording (``per_author``,
    ``per_recording``: :func:`evaluation.per_group`).

    Returns
    -------
    metrics : dict
        Split → metrics (None for an empty split).
    confusion : pandas.DataFrame
        Of the test split (else the first evaluated one): true × predicted
        classes, or per class its true negatives, false positives, false
        negatives and true positives with ``multi_label``.
    wrong : pandas.DataFrame
        The rows the model got wrong.
    thresholds : np.ndarray or None
        Each class's threshold (``multi_label``), else None.
    scores : pandas.DataFrame
        :func:`evaluation.score_table`: every evaluated row's labels and scores (the precision-recall curves).
    """
    scores = predict_splits(model, data, batch_size)
    metrics, thresholds = evaluation.measure_splits(data, scores, EVALUATED, background, events)
    wrong, confusion = [], None
    for split, probabilities in scores.items():
        rows = data.indices(split)
        if data.multi_label:
            truth, hits = data.targets[rows], probabilities >= thresholds
            wrong.append(evaluation.multilabel_misclassified(data.ids[rows], data.split[rows], truth, probabilities,
                                                             data.classes, thresholds))
            if split == "test" or confusion is None:
                confusion = evaluation.multilabel_confusion_table(truth, hits, data.classes)
            continue
        y_true, y_pred = data.labels[rows], probabilities.argmax(axis=1)
        wrong.append(evaluation.misclassified(data.ids[rows], data.split[rows], y_true, probabilities, data.classes))
        if split == "test" or confusion is None:
            confusion = evaluation.confusion_table(y_true, y_pred, data.classes)
    table = evaluation.score_table(data, scores, background)
    return metrics, confusion, pd.concat(wrong) if wrong else pd.DataFrame(), thresholds, table


def provenance(branch, data, manifest, config, repo, threads=None):
    """What a model was trained on and with: enough to reproduce it and to predict like it.

    ``config`` holds the sections of the configuration that define the data and
    the training (``audio_dir``, ``labels``, ``spectrogram``, ``split``, ``training``);
    ``threads`` the threads training ran with (recorded in ``numerics``, :func:`numerics`).
    """
    return {
        "branch": branch,
        "classes": data.classes,
        "input_shape": list(data.features.shape[1:]),
        "spectrogram": config["spectrogram"],
        "config": config,
        "manifest": os.path.basename(manifest),
        "manifest_sha256": sha256_of(manifest),
        "split_counts": {s: int(n) for s, n in zip(*np.unique(data.split, return_counts=True))},
        "git_commit": git_commit(repo),
        "keras_backend": os.environ.get("KERAS_BACKEND"),
        "packages": package_versions(),
        "numerics": numerics(threads),
    }


def run_advice(model, data, training, metrics, thresholds=None):
    """What to try first when the CNN does not beat its baseline on val (:func:`advice.advice`).

    Measures the kept model on the training split, unaugmented (one pass of
    prediction, only in this case), and reads the rest from ``metrics``.

    Returns
    -------
    list of str
    """
    from model import make_batches

    rows = data.indices("train")
    predicted = model.predict(make_batches(data.features, None, rows, training["batch_size"]), verbose=0)
    recordings = data.recordings[rows] if data.recordings is not None else None
    labels = data.labels[rows]
    if data.multi_label:  # exact matches at the thresholds; each class counted where it occurs
        truth = data.targets[rows] > 0
        train_accuracy = float(np.mean(np.all((predicted >= thresholds) == truth, axis=1)))
        held, labels = np.nonzero(truth)
        recordings = recordings[held] if recordings is not None else None
    else:
        train_accuracy = float(np.mean(predicted.argmax(axis=1) == labels))
    facts = advice.run_facts(training, metrics["training"], labels, data.classes, train_accuracy,
                             metrics["val"], metrics["baseline"]["val"], recordings)
    return advice.advice(facts)


def fold_rows(data, folds_csv, fold):
    """The split of every row of ``data`` for the model of one cross-validation fold.

    Parameters
    ----------
    data : loaders.Dataset
        A branch's rows (windows are placed by their recording).
    folds_csv : str
        ``results/folds.csv`` (``id``, ``fold`` per file).
    fold : dict
        ``fold`` (the fold tested), ``names`` (every fold, in order) and ``val`` (``next`` or ``none``).

    Returns
    -------
    numpy.ndarray
        ``train``, ``val``, ``test`` or ``holdout`` per row (:func:`splits.fold_split`).
    """
    table = read_csv(folds_csv, dtype=str, keep_default_na=False)
    of = dict(zip(table["id"], table["fold"]))
    files = data.recordings if data.recordings is not None else data.ids
    return splits.fold_split(data.split, [of.get(f, "") for f in files], fold["fold"], fold["names"], fold["val"])


def baseline_data(data, baseline_branch, baseline_path, channels):
    """The spectrogram rows the baseline of the birdnet branch is fitted on: the same examples, in the same order.

    The baseline is always the spectrogram one (per-band statistics, a logistic regression), so the
    embeddings' head faces the same baseline as the CNNs. Its split is the embeddings' (a fold's too).
    """
    spectrograms = loaders.load_branch(baseline_branch, baseline_path, None, channels)
    if list(spectrograms.ids) != list(data.ids):
        raise ValueError(f"{baseline_path}: its rows are not those of the embeddings' manifest (same ids in the "
                         "same order); run the workflow again to rebuild both")
    spectrograms.split = data.split
    return spectrograms


def main(branch, data_path, stack, channels, training, config, repo, threads, out, events_path=None, fold=None,
         folds_path=None, baseline_path=None):
    """Train, evaluate and write every output of one branch, the baseline's metrics beside the CNN's.

    ``out["per_group"]`` gets every author's (and recording's) score beside the pooled one, worst first
    (:func:`evaluation.group_table`). With ``fold`` (and ``folds_path``, results/folds.csv), the model of that
    cross-validation fold: tested on it, validated on the next (:func:`fold_rows`).
    """
    data = loaders.load_branch(branch, data_path, stack, channels)
    if fold is not None:
        data.split = fold_rows(data, folds_path, fold)
    background = (config.get("labels") or {}).get("background")
    events = read_csv(events_path, dtype={"id": str, "class": str}, keep_default_na=False) if events_path else None
    fitted = data
    if baseline_path is not None:
        fitted = baseline_data(data, config["embedding"]["baseline_branch"], baseline_path, channels)
    _, baseline_metrics = baseline.run_baseline(fitted, EVALUATED, training["seed"], background, events)
    model, history, summary = train(data, training, threads)
    metrics, confusion, wrong, thresholds, scores = evaluate(model, data, training["batch_size"], events, background)
    metrics = {"multi_label": data.multi_label, **metrics}
    beats, message = baseline.verdict(metrics, baseline_metrics)
    if thresholds is not None:
        metrics["thresholds"] = dict(zip(data.classes, thresholds.tolist()))
    metrics.update(baseline=baseline_metrics, training=summary, beats_baseline_on_val=beats)
    # The advice is about the CNN's settings: none for the birdnet branch's head
    tips = run_advice(model, data, training, metrics, thresholds) if beats is False and data.features.ndim > 2 else []
    if tips:
        metrics["advice"] = tips
    os.makedirs(os.path.dirname(out["history"]), exist_ok=True)
    with atomic_path(out["history"]) as tmp:
        history.to_csv(tmp, index=False)
    write_text(out["metrics"], json.dumps(metrics, indent=2) + "\n")
    write_csv(confusion, out["confusion"], index=True)
    write_csv(wrong, out["misclassified"])
    write_csv(scores, out["scores"])
    write_csv(evaluation.group_table(metrics, EVALUATED), out["per_group"])
    record = provenance(branch, data, data_path, config, repo, threads)
    if thresholds is not None:
        record["thresholds"] = metrics["thresholds"]
    write_text(out["provenance"], json.dumps(record, indent=2) + "\n")
    with atomic_path(out["model"], durable=True) as tmp:
        model.save(tmp)
    test, base = metrics["test"], baseline_metrics["test"]
    key = "macro_map" if data.multi_label else "accuracy"
    print(f"{branch}: test {key.replace('_', ' ')} {test[key] if test else 'n/a'}, "
          f"baseline {base[key] if base else 'n/a'}", file=sys.stderr)
    print(f"{branch}: {message}", file=sys.stderr)
    for tip in tips:
        print(f"{branch}: advice: {tip}", file=sys.stderr)


if "snakemake" in globals():
    sys.stderr = sys.stdout = open(snakemake.log[0], "w")
    main(
        snakemake.wildcards.branch,
        snakemake.input.data,
        snakemake.input.get("stack"),
        snakemake.params.channels,
        snakemake.params.training,
        snakemake.params.config,
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),  # the workflow's folder: not a params value,
        # so that a moved or copied project does not retrain (Snakemake sets __file__ to the script's own path)
        snakemake.threads,
        dict(snakemake.output.items()),
        snakemake.input.get("events"),
        snakemake.params.fold,
        snakemake.input.get("folds"),
        snakemake.input.get("baseline"),
    )
