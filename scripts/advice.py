"""What to try first when the CNN does not beat its baseline, from what the run itself saw.

:func:`run_facts` gathers the figures of one training run: its optimiser steps,
the kept model's accuracy on its own (unaugmented) training split and on val,
the baseline's val accuracy, the training examples of every class and the
augmentation switched on. :func:`advice` turns them into an ordered list of
short suggestions, each naming the configuration keys it refers to. Both are
pure. ``train.py`` calls them when :func:`baseline.verdict` says the CNN does
not beat the baseline, logs the list beside the warning and writes it to
``metrics.json`` (``advice``); ``compare_branches.py`` puts it in
``branch_comparison.md``, the report's comparison page and the end of the run.

The thresholds, and why (docs/training.md#advice-from-the-run):

- :data:`FEW_STEPS` (the default of ``training.min_steps``, 400 optimiser
  steps in all). Adam moves every weight by about the learning rate per step,
  whatever the size of its gradient; at the default ``training.learning_rate``
  of 0.001, 400 steps let a weight travel at most 0.4, a few times the spread
  of its initial value (about 0.1 for these layers' Glorot initialisation).
  With fewer, the network has hardly left its random start. A small training
  split makes few steps per pass: 53 clips in batches of 32 make 2, so 60
  epochs of one pass make 120 steps; ``training.min_steps`` makes every epoch
  pass over them several times (``model.passes_per_epoch``), so a run falls
  short of it only when early stopping ends it or ``min_steps`` was lowered.
- :data:`LOW_TRAIN_ACCURACY` (0.8) and :data:`FITTED_TRAIN_ACCURACY` (0.95):
  accuracies of the kept model on its training split without augmentation. A
  CNN with more weights than training clips can fit every one of them, even
  with random labels (Zhang et al. 2017, "Understanding deep learning requires
  rethinking generalization"), so when training works this is close to 1.
  All but one clip in twenty (0.95) is learned; one clip in five still wrong
  after it was seen every epoch (below 0.8, a margin for mislabelled clips and
  classes that overlap) is not learning. The accuracy in ``history.csv`` is not
  used: it is measured on augmented batches (mixup, masks; 0.86 for a demo
  model whose val accuracy is 0.93) and on the weights of each epoch, not on
  the kept (averaged) ones.
- :func:`far_below`: val is "far below" training when the gap exceeds both 0.1
  and ``1 / sqrt(n_val)``, twice the largest standard error of an accuracy
  measured on ``n_val`` clips (``sqrt(0.25 / n_val)``): a smaller gap can be the
  chance of which clips are in val.
- :data:`RARE_EXAMPLES` (2): a class with one or two training examples cannot
  show the network how it varies, and balanced class weights
  (``training.class_weight``) weigh each such example ``n / (k · count)``,
  many times any other, so the network memorises them.
"""

import math

import numpy as np

import settings

FEW_STEPS = settings.defaults("training")["min_steps"]
"""Fewer optimiser steps in all than this and the weights have hardly left their initial values."""
LOW_TRAIN_ACCURACY = 0.8
"""Below this training accuracy (unaugmented, kept model) the CNN has not learned its own training data."""
FITTED_TRAIN_ACCURACY = 0.95
"""At or above this training accuracy the CNN has learned its training data."""
RARE_EXAMPLES = 2
"""Classes with at most this many training examples are named."""
NAMED_CLASSES = 10
"""At most this many rare classes are named; the others are counted."""
AUGMENTATION = ("freq_warp", "time_shift", "time_masks", "freq_masks", "mixup_alpha")


def run_facts(training, summary, train_labels, classes, train_accuracy, cnn_val, baseline_val,
              train_recordings=None):
    """What one run saw, as :func:`advice` reads it.

    Parameters
    ----------
    training : dict
        The complete ``training`` section of the configuration.
    summary : dict
        ``metrics.json``'s ``training`` (``epochs_run``, ``steps_per_epoch``).
    train_labels : np.ndarray
        Class id of every row of the training split.
    classes : list of str
        Class names indexed by class id.
    train_accuracy : float
        The kept model's accuracy on the training split, unaugmented.
    cnn_val, baseline_val : dict
        The CNN's and the baseline's val metrics (``n``, ``accuracy``).
    train_recordings : np.ndarray or None
        For windows of long recordings: the recording of every training row;
        a class's examples are then its recordings, not its windows.

    Returns
    -------
    dict
        ``steps_per_epoch``, ``epochs_run``, ``epochs``, ``min_steps``, ``train_accuracy``,
        ``val_accuracy``, ``n_val``, ``baseline_val_accuracy``,
        ``class_counts`` (class → training examples, every class) and
        ``augmentation`` (the augmentation keys and their values).

    Examples
    --------
    >>> facts = run_facts({"batch_size": 32, "epochs": 60, "min_steps": 0, "freq_warp": 0.08, "time_shift": 0.1,
    ...                    "time_masks": 1, "freq_masks": 1, "mixup_alpha": 0.2},
    ...                   {"epochs_run": 60, "steps_per_epoch": 2},
    ...                   np.array([0] * 52 + [1]), ["C", "G", "D"], 0.09,
    ...                   {"n": 20, "accuracy": 0.1}, {"n": 20, "accuracy": 0.6})
    >>> facts["steps_per_epoch"], facts["class_counts"]
    (2, {'C': 52, 'G': 1, 'D': 0})
    """
    labels = np.asarray(train_labels)
    if train_recordings is None:
        counts = np.bincount(labels, minlength=len(classes))
    else:
        pairs = {(int(c), r) for c, r in zip(labels, np.asarray(train_recordings))}
        counts = np.bincount([c for c, _ in pairs], minlength=len(classes))
    return {
        "steps_per_epoch": int(summary["steps_per_epoch"]),
        "epochs_run": int(summary["epochs_run"]),
        "epochs": int(training["epochs"]),
        "min_steps": int(training["min_steps"]),
        "train_accuracy": float(train_accuracy),
        "val_accuracy": float(cnn_val["accuracy"]),
        "n_val": int(cnn_val["n"]),
        "baseline_val_accuracy": float(baseline_val["accuracy"]),
        "class_counts": {name: int(n) for name, n in zip(classes, counts)},
        "augmentation": {key: training[key] for key in AUGMENTATION},
    }


def far_below(train_accuracy, val_accuracy, n_val):
    """Whether val accuracy is further below training accuracy than val's sampling noise explains.

    The gap must exceed 0.1 and ``1 / sqrt(n_val)``, twice the largest standard
    error of an accuracy over ``n_val`` clips.

    Examples
    --------
    >>> far_below(1.0, 0.76, 25), far_below(1.0, 0.84, 25), far_below(1.0, 0.85, 400)
    (True, False, True)
    """
    return train_accuracy - val_accuracy > max(0.1, 1 / math.sqrt(max(n_val, 1)))


def advice(facts):
    """What to try first, most likely cause first: short suggestions naming the configuration keys.

    Rules, in this order (thresholds in the module's docstring):

    1. Fewer than :data:`FEW_STEPS` optimiser steps and the training data not
       learned (accuracy below :data:`FITTED_TRAIN_ACCURACY`): train longer
       (``training.min_steps`` of at least :data:`FEW_STEPS`, or a smaller
       ``training.batch_size``; ``training.early_stopping_patience`` when
       early stopping ended the run).
    2. Enough steps, yet training accuracy below :data:`LOW_TRAIN_ACCURACY`:
       augmentation may hide the class (``training.freq_warp`` shifts pitch;
       ``training.time_masks``, ``training.freq_masks``, ``training.mixup_alpha``),
       or with none on, ``training.learning_rate`` or the model's size.
    3. The training data learned (accuracy at least :data:`LOW_TRAIN_ACCURACY`)
       and val :func:`far_below` it: overfitting; with ``training.freq_warp``
       on, turning it off comes first when pitch defines the classes (a warped
       note is another note, and the training accuracy does not show it).
    4. Classes with at most :data:`RARE_EXAMPLES` training examples: named, to
       label more of them.
    5. None of the above, and the CNN ties the baseline on val: val cannot
       tell them apart (``split.fractions``, ``split.assign``).
    6. None of the above: no single cause; the spectrogram and the normaliser.

    Parameters
    ----------
    facts : dict
        :func:`run_facts`.

    Returns
    -------
    list of str
        At least one suggestion.

    Examples
    --------
    A small training split with ``training.min_steps: 0`` (53 clips, 2 steps
    per epoch) and one class with a single example:

    >>> facts = {"steps_per_epoch": 2, "epochs_run": 60, "epochs": 60, "min_steps": 0, "train_accuracy": 0.09,
    ...          "val_accuracy": 0.1, "n_val": 20, "baseline_val_accuracy": 0.6,
    ...          "class_counts": {"C": 2, "G": 3, "D": 1},
    ...          "augmentation": {"freq_warp": 0.08, "time_shift": 0.1, "time_masks": 1,
    ...                           "freq_masks": 1, "mixup_alpha": 0.2}}
    >>> for line in advice(facts):
    ...     print(line.split(":")[0])
    Train longer
    Label more examples of D (1), C (2)

    The same with 20 steps per epoch (1,200 in all), then with the training
    data learned but val far below it:

    >>> advice(dict(facts, steps_per_epoch=20))[0].split(":")[0]
    'The CNN does not learn its own training data (training accuracy 0.09 after 1200 optimiser steps, 20 per epoch)'
    >>> advice(dict(facts, steps_per_epoch=20, train_accuracy=1.0, val_accuracy=0.5))[0].split(":")[0]
    'Overfitting'
    """
    per_epoch, epochs_run = facts["steps_per_epoch"], facts["epochs_run"]
    steps = per_epoch * epochs_run
    train, val, n_val = facts["train_accuracy"], facts["val_accuracy"], facts["n_val"]
    saw = f"training accuracy {train:.2f} after {steps} optimiser steps, {per_epoch} per epoch"
    tips = []
    if steps < FEW_STEPS and train < FITTED_TRAIN_ACCURACY:
        plural = "s" if epochs_run != 1 else ""
        tip = (
            f"Train longer: {steps} optimiser steps in all ({per_epoch} per epoch × {epochs_run} epoch{plural}) "
            f"left the training accuracy at {train:.2f}"
        )
        if facts["min_steps"] < FEW_STEPS:
            tip += (f"; raise training.min_steps to at least {FEW_STEPS} (every epoch then passes over the training "
                    "split as often as it takes), or lower training.batch_size for more steps per pass")
        if epochs_run < facts["epochs"]:
            tip += (f"; early stopping ended the run after {epochs_run} of {facts['epochs']} epochs: raise "
                    "training.early_stopping_patience or set it to 0")
        tips.append(tip + ".")
    elif train < LOW_TRAIN_ACCURACY:
        tips.append(f"The CNN does not learn its own training data ({saw}): " + _hard_to_learn(facts["augmentation"]))
    if train >= LOW_TRAIN_ACCURACY and far_below(train, val, n_val):
        warp = facts["augmentation"]["freq_warp"]
        first = (f"if pitch defines the classes (notes, chords, some calls), training.freq_warp: 0 first (the warp of "
                 f"{warp} moves pitch and relabels them; docs/training.md#which-augmentation-for-which-sound); "
                 "otherwise " if warp > 0 else "")
        tips.append(
            f"Overfitting: training accuracy {train:.2f}, val {val:.2f} ({n_val} clips): {first}more augmentation "
            "(training.time_masks, training.freq_masks, training.mixup_alpha), training.weight_decay (e.g. 0.01), "
            "more training.dropout, fewer training.filters or training.dense_units, or more labelled data."
        )
    rare = sorted((n, name) for name, n in facts["class_counts"].items() if n <= RARE_EXAMPLES)
    if rare:
        named = ", ".join(f"{name} ({n})" for n, name in rare[:NAMED_CLASSES])
        more = f" and {len(rare) - NAMED_CLASSES} more" if len(rare) > NAMED_CLASSES else ""
        tips.append(
            f"Label more examples of {named}{more}: a class with two training examples or fewer cannot be "
            "learned (and training.class_weight: balanced weighs each of them many times any other); or put an author "
            "who has them in train (split.assign)."
        )
    if not tips and val == facts["baseline_val_accuracy"]:
        tips.append(
            f"The CNN ties the baseline on val (accuracy {val:.3f}, {n_val} clips): val cannot tell them apart; "
            "compare them on test, or give val more authors (split.fractions, split.assign)."
        )
    if not tips:
        tips.append(
            f"No single cause stands out ({saw}; val {val:.2f}): the baseline may simply suit these classes; try "
            "the spectrogram (spectrogram.n_mels, spectrogram.fmax, spectrogram.duration) and "
            "training.normalizer (docs/training.md#when-the-cnn-does-not-beat-the-baseline)."
        )
    return tips


def _hard_to_learn(augmentation):
    """The second half of rule 2: the augmentation switched on, or the learning rate and model size."""
    turned_on = []
    if augmentation["freq_warp"] > 0:
        turned_on.append("training.freq_warp: 0 when pitch defines the classes (notes, chords, some calls)")
    if augmentation["time_masks"] > 0 or augmentation["freq_masks"] > 0:
        turned_on.append("fewer masks (training.time_masks, training.freq_masks)")
    if augmentation["mixup_alpha"] > 0:
        turned_on.append("training.mixup_alpha: 0")
    if turned_on:
        return "augmentation may hide the class, so try " + "; ".join(turned_on) + "."
    return ("with no augmentation on, try another training.learning_rate (smaller when the loss in history.csv "
            "jumps) or a larger model (training.filters, training.conv_blocks).")
