"""The small CNN, its input normaliser and the batch feeder (Keras 3, TensorFlow backend).

Import this module only after ``KERAS_BACKEND`` is set (:func:`setup_keras`
does it), never from the spectrogram scripts: TensorFlow costs seconds to import.
"""

import functools
import os

import numpy as np


PER_EXAMPLE_EPSILON = 0.1
"""Added to each row's variance by the ``per_example`` normaliser (inputs in [0, 1]).

A row's standard deviation over the clip is mostly 0.05 to 0.3 of the [0, 1]
range (4 to 24 dB on an 80 dB scale); against 0.1 the divisor
``sqrt(variance + 0.1)`` then stays between 0.32 and 0.44, so the normaliser
removes each row's mean (a recorder's colouring) and keeps how much each band
varies. With Keras' default, 0.001, a band that barely varies (a noise floor,
an empty band) was blown up to unit variance like the loudest: on FSDD, with
``normalizer: both`` over three seeds, the validation speaker scored 0.70 to
0.76 against 0.74 to 0.80 with 0.1, the test speaker 0.88 to 0.92 against
0.92 (docs/training.md, the third search).
"""


def setup_keras(threads=None, seed=None):
    """Select the TensorFlow backend with oneDNN's CPU kernels, quiet its start-up log, make runs repeatable.

    oneDNN's convolutions train the CNN two to three times as fast on CPU as
    TensorFlow's own (measured with the default model: 26 against 63 CPU seconds
    for the demo data, 4.3 against 11.4 CPU seconds per FSDD epoch) and stay
    repeatable: the same seed, thread count and kind of CPU give the same weights.
    Another thread count can give other weights, deterministic ops or not (the
    kernels split their sums over the threads, by the CPU's instruction set), and
    so can another CPU (docs/training.md, "Which runs give the same weights").
    ``TF_ENABLE_ONEDNN_OPTS=0`` in the environment turns them off.

    Parameters
    ----------
    threads : int or None
        Threads of TensorFlow's kernels (intra-op; the rule's ``threads``), one
        op at a time (inter-op 1). None leaves TensorFlow's defaults (about one
        thread per core).
    seed : int or None
        Seed of Python, NumPy and TensorFlow (``keras.utils.set_random_seed``);
        with it, TensorFlow's ops are made deterministic.

    Returns
    -------
    module
        ``keras``.
    """
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    import keras
    import tensorflow as tf

    per_example_normalization()  # registered before any model is built or loaded
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(int(threads))
        tf.config.threading.set_inter_op_parallelism_threads(1)
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
        tf.config.experimental.enable_op_determinism()
    return keras


def frequency_statistics(features, indices, batch=256):
    """Mean and variance of every frequency row over the given rows, read batch by batch.

    Parameters
    ----------
    features : np.ndarray
        ``(N, n_freq, n_frames, channels)``, possibly memory-mapped.
    indices : np.ndarray
        Rows to use (the training split only).

    Returns
    -------
    mean, variance : np.ndarray
        Shape ``(n_freq,)``, float64.
    """
    total = np.zeros(features.shape[1])
    total_sq = np.zeros(features.shape[1])
    count = 0
    for start in range(0, len(indices), batch):
        x = np.asarray(features[np.sort(indices[start : start + batch])], dtype=np.float64)
        total += x.sum(axis=(0, 2, 3))
        total_sq += np.square(x).sum(axis=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / count
    return mean, np.maximum(total_sq / count - mean**2, 0.0)


def sounding_frames(x):
    """Which frames of each spectrogram hold sound: 1 where any frequency row is above 0, else 0.

    On the workflow's [0, 1] scale a frame is 0 in every row only where the clip
    was padded (``pad_mode``) or is digitally silent (at the ``top_db`` floor in
    every band).

    Parameters
    ----------
    x : tensor
        ``(batch, n_freq, n_frames, channels)``.

    Returns
    -------
    tensor
        ``(batch, 1, n_frames, channels)``, of the dtype of ``x``.
    """
    from keras import ops

    return ops.cast(ops.max(x, axis=1, keepdims=True) > 0, x.dtype)


def centre_rows(x, epsilon=PER_EXAMPLE_EPSILON):
    """Centre every frequency row of each spectrogram on its mean over the frames that hold sound.

    The mean and variance of a row are taken over :func:`sounding_frames` only,
    so padding does not pull them towards 0 by as much as a clip is short; the
    row is divided by ``sqrt(variance + epsilon)`` and the padded frames stay 0
    (the row's mean) in the result. A spectrogram without any sounding frame
    comes out as zeros.

    Parameters
    ----------
    x : tensor
        ``(batch, n_freq, n_frames, channels)``, values in [0, 1].
    epsilon : float
        Added to the variance (see :data:`PER_EXAMPLE_EPSILON`).

    Returns
    -------
    tensor
        Same shape as ``x``.
    """
    from keras import ops

    on = sounding_frames(x)
    count = ops.maximum(ops.sum(on, axis=2, keepdims=True), 1.0)
    centred = x - ops.sum(x * on, axis=2, keepdims=True) / count
    variance = ops.sum(ops.square(centred) * on, axis=2, keepdims=True) / count
    return centred / ops.sqrt(variance + epsilon) * on


@functools.cache
def per_example_normalization():
    """The ``per_example`` layer class (:func:`centre_rows`), defined and registered with Keras once.

    Registered under ``spectrogram_cnn>PerExampleNormalization``, so that a saved
    model loads after :func:`setup_keras` (which calls this).
    """
    import keras

    @keras.saving.register_keras_serializable(package="spectrogram_cnn")
    class PerExampleNormalization(keras.layers.Layer):
        """Every frequency row centred over its own sounding frames (:func:`centre_rows`)."""

        def __init__(self, epsilon=PER_EXAMPLE_EPSILON, **kwargs):
            super().__init__(**kwargs)
            self.epsilon = epsilon

        def call(self, x):
            return centre_rows(x, self.epsilon)

        def get_config(self):
            return {**super().get_config(), "epsilon": self.epsilon}

    return PerExampleNormalization


def batch_norm_momentum(steps_per_epoch):
    """Momentum of BatchNormalization's moving statistics that lets them catch up within an epoch.

    Keras' default, 0.99, averages over about 100 steps. With a few hundred clips
    there are only a handful of steps per epoch, so after the early epochs the
    moving mean and variance still hold mostly their initial values (0 and 1):
    evaluation, early stopping's val loss included, then sees differently scaled
    activations and collapses to one class. Averaging over about half an epoch
    (at least 2 steps, at most 100) keeps them current.

    Parameters
    ----------
    steps_per_epoch : int
        Training batches per epoch.

    Returns
    -------
    float
        ``1 - 1 / window`` with ``window = clip(steps_per_epoch / 2, 2, 100)``.
    """
    window = min(100.0, max(2.0, steps_per_epoch / 2))
    return 1.0 - 1.0 / window


def steps_per_pass(n_rows, batch_size):
    """Batches of one pass over ``n_rows`` rows (at least one, the last batch possibly short)."""
    return max(1, -(-int(n_rows) // int(batch_size)))


def passes_per_epoch(n_train, batch_size, epochs, min_steps):
    """Passes over the training split per epoch, so that a run makes at least ``min_steps`` optimiser steps.

    One pass makes ``ceil(n_train / batch_size)`` steps. A small split (53 clips
    in batches of 32 make 2 steps) would otherwise end ``epochs`` epochs with a
    network that has hardly left its random start (``advice.FEW_STEPS``); going
    over it several times per epoch keeps every setting counted in epochs
    (``average_epochs``, ``early_stopping_patience``, the cosine schedule, the
    batch-norm momentum) the same share of the run, now counted in steps.

    Parameters
    ----------
    n_train : int
        Training examples.
    batch_size : int
    epochs : int
    min_steps : int
        ``training.min_steps``; 0 keeps one pass per epoch.

    Returns
    -------
    int
        ``max(1, ceil(min_steps / (epochs · steps per pass)))``.

    Examples
    --------
    >>> passes_per_epoch(53, 32, 60, 400), passes_per_epoch(240, 32, 60, 400), passes_per_epoch(53, 32, 60, 0)
    (4, 1, 1)
    """
    return max(1, -(-int(min_steps) // (int(epochs) * steps_per_pass(n_train, batch_size))))


def learning_rate(settings, steps_per_epoch):
    """The learning rate: constant, or cosine decay to zero over ``epochs`` (``training.lr_schedule``)."""
    import keras

    if settings["lr_schedule"] == "cosine":
        return keras.optimizers.schedules.CosineDecay(settings["learning_rate"], settings["epochs"] * steps_per_epoch)
    return settings["learning_rate"]


def time_pooling(x):
    """Mean and maximum over time of every frequency row and filter: the head that takes any input length.

    A spectrogram's frequency axis carries meaning (pitch, formants, bands), its
    time axis mostly position; so the head pools over time only and keeps the
    frequency rows, unlike an image's global average pooling.

    Parameters
    ----------
    x : keras.KerasTensor
        ``(batch, n_freq, n_frames, filters)``; ``n_frames`` may be None.

    Returns
    -------
    keras.KerasTensor
        ``(batch, 2 · n_freq · filters)``.
    """
    from keras import layers

    rows = layers.Permute((2, 1, 3))(x)
    rows = layers.Reshape((-1, x.shape[1] * x.shape[3]))(rows)
    return layers.Concatenate()([layers.GlobalAveragePooling1D()(rows), layers.GlobalMaxPooling1D()(rows)])


def build_cnn(input_shape, n_classes, settings, normalizer_stats=None, steps_per_epoch=10, multi_label=False):
    """A small CNN: conv blocks (conv [+ batch norm] + ReLU, max-pool), a head, softmax (or sigmoids).

    Parameters
    ----------
    input_shape : tuple of int
        ``(n_freq, n_frames, channels)``; with the ``global_pool`` head the
        number of frames may be left ``None`` (the model then takes any length).
    n_classes : int
        Number of classes.
    settings : dict
        The ``training`` section of the configuration: conv_blocks, filters,
        kernel_size, batch_norm, head, dropout, dense_units, learning_rate,
        lr_schedule, weight_decay, epochs.
    normalizer_stats : tuple or None
        ``(mean, variance)`` per frequency from the training split; when given
        (``normalizer`` ``per_frequency`` or ``both``), the model starts with a
        fixed ``Normalization`` layer holding them, so it is saved with the model
        and applied unchanged at evaluation and prediction. ``normalizer``
        ``per_example`` centres every frequency row of each spectrogram on its
        mean over its own frames that hold sound instead (:func:`centre_rows`; no
        statistics to fit: like cepstral mean normalisation, it removes a
        recorder's or speaker's constant colouring, an offset per band on a dB
        scale), scaled by ``1 / sqrt(variance + PER_EXAMPLE_EPSILON)``; ``both``
        feeds the two views side by side as channels.
    steps_per_epoch : int
        Training batches per epoch: sets the batch-norm momentum
        (:func:`batch_norm_momentum`) and the length of the cosine schedule.
    multi_label : bool
        One sigmoid per class and binary cross-entropy on multi-hot labels
        (``labels.multi_label``: overlapping sounds), instead of a softmax
        and categorical cross-entropy; its accuracy metric is then the share
        of (example, class) pairs right at 0.5.

    Returns
    -------
    keras.Model
        Compiled with Adam (AdamW when ``weight_decay`` > 0) and categorical
        cross-entropy on one-hot labels (binary cross-entropy with ``multi_label``).
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=tuple(input_shape), name="spectrogram")
    views = []
    if normalizer_stats is not None:
        mean, variance = normalizer_stats
        views.append(layers.Normalization(axis=1, mean=mean, variance=variance, name="per_frequency")(inputs))
    if settings["normalizer"] in ("per_example", "both"):
        views.append(per_example_normalization()(name="per_example")(inputs))
    x = layers.Concatenate(name="both_views")(views) if len(views) > 1 else (views[0] if views else inputs)
    for block in range(settings["conv_blocks"]):
        filters = settings["filters"] * 2**block
        x = layers.Conv2D(filters, settings["kernel_size"], padding="same", use_bias=not settings["batch_norm"])(x)
        if settings["batch_norm"]:
            x = layers.BatchNormalization(momentum=batch_norm_momentum(steps_per_epoch))(x)
        x = layers.Activation("relu")(x)
        pool = (2 if x.shape[1] >= 2 else 1, 2 if (x.shape[2] or 2) >= 2 else 1)
        x = layers.MaxPooling2D(pool)(x)
    if settings["head"] == "global_pool":
        x = time_pooling(x)
    else:
        x = layers.Flatten()(x)
    x = layers.Dropout(settings["dropout"])(x)
    x = layers.Dense(settings["dense_units"], activation="relu")(x)
    x = layers.Dropout(settings["dropout"])(x)
    return classifier(inputs, x, n_classes, settings, steps_per_epoch, multi_label, "spectrogram_cnn")


def build_head(n_features, n_classes, settings, stats, steps_per_epoch=10, multi_label=False):
    """The birdnet branch's classifier: standardisation, then a linear layer (or one hidden ReLU layer).

    Parameters
    ----------
    n_features : int
        Values per example (1,024 for a BirdNET embedding).
    n_classes : int
        Number of classes.
    settings : dict
        The ``training`` section: ``head_units`` (0: linear; more: a hidden layer of that many units,
        with ``dropout`` after it), ``learning_rate``, ``lr_schedule``, ``weight_decay``, ``epochs``.
    stats : tuple
        ``(mean, variance)`` of every feature over the training split: a fixed ``Normalization``
        layer, saved with the model.
    steps_per_epoch : int
        For the cosine schedule's length.
    multi_label : bool
        Sigmoids and binary cross-entropy (see :func:`build_cnn`).

    Returns
    -------
    keras.Model
        Compiled as :func:`build_cnn`'s model is.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=(int(n_features),), name="embedding")
    mean, variance = stats
    x = layers.Normalization(axis=-1, mean=mean, variance=variance, name="standardise")(inputs)
    if settings["head_units"] > 0:
        x = layers.Dense(settings["head_units"], activation="relu")(x)
        x = layers.Dropout(settings["dropout"])(x)
    return classifier(inputs, x, n_classes, settings, steps_per_epoch, multi_label, "embedding_head")


def classifier(inputs, x, n_classes, settings, steps_per_epoch, multi_label, name):
    """The output layer on ``x`` (a softmax, or a sigmoid per class with ``multi_label``) and the compiled model.

    Compiled with Adam (AdamW when ``weight_decay`` > 0) and categorical cross-entropy on one-hot
    labels (binary cross-entropy on multi-hot ones), the accuracy as its metric.
    """
    import keras
    from keras import layers

    outputs = layers.Dense(n_classes, activation="sigmoid" if multi_label else "softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name=name)

    rate = learning_rate(settings, steps_per_epoch)
    optimizer = (
        keras.optimizers.AdamW(rate, weight_decay=settings["weight_decay"])
        if settings["weight_decay"] > 0
        else keras.optimizers.Adam(rate)
    )
    if multi_label:
        model.compile(optimizer=optimizer, loss="binary_crossentropy",
                      metrics=[keras.metrics.BinaryAccuracy(name="accuracy")])
    else:
        model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def make_batches(features, labels, indices, batch_size, shuffle_seed=None, n_classes=None, sample_weights=None,
                 augmentation=None, passes=1):
    """A ``keras.utils.PyDataset`` over selected rows of a (memory-mapped) array.

    Only one batch is in memory at a time, so data larger than memory trains.
    With ``shuffle_seed`` the order changes every epoch, repeatably. With
    ``passes`` > 1 an epoch goes over the rows that many times, each pass in an
    order of its own (``training.min_steps``: a small training split still gets
    enough optimiser steps); the first pass is the order of ``passes=1``.

    Parameters
    ----------
    features : np.ndarray
        ``(N, n_freq, n_frames, channels)``.
    labels : np.ndarray or None
        Class ids ``(N,)``, or multi-hot targets ``(N, n_classes)``
        (``labels.multi_label``, fed as they are); None for prediction
        (batches are ``(x,)``).
    indices : np.ndarray
        Rows to feed.
    batch_size : int
    shuffle_seed : int or None
        Shuffle every epoch (training); also seeds the augmentation.
    n_classes : int or None
        With class ids: batches carry one-hot labels of this many classes.
    sample_weights : np.ndarray or None
        Weight per row of ``features`` ``(N,)`` (its class weight,
        ``train.sample_weights``): batches are ``(x, y, sample_weight)``.
    augmentation : dict or None
        The ``training`` section: :func:`augment.augment_batch` runs on every
        batch (give it for the train split only).
    passes : int
        Passes over ``indices`` per epoch (:func:`passes_per_epoch`).
    """
    import keras

    import augment

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.orders = [np.asarray(indices)] * passes
            self.per_pass = steps_per_pass(len(indices), batch_size)
            self.epoch = 0
            self._shuffle()

        def _shuffle(self):
            if shuffle_seed is not None:
                rng = np.random.default_rng(shuffle_seed + self.epoch)
                self.orders = [rng.permutation(np.asarray(indices)) for _ in range(passes)]

        def __len__(self):
            return self.per_pass * passes

        def __getitem__(self, i):
            order, batch = self.orders[i // self.per_pass], i % self.per_pass
            rows = np.sort(order[batch * batch_size : (batch + 1) * batch_size])
            x = np.asarray(features[rows], dtype=np.float32)
            if labels is None:
                return (x,)
            y = (np.asarray(labels[rows], dtype=np.float32) if np.ndim(labels) == 2
                 else np.eye(n_classes, dtype=np.float32)[labels[rows]])
            weights = (sample_weights[rows] if sample_weights is not None else np.ones(len(rows))).astype(np.float32)
            if augmentation is not None:
                rng = np.random.default_rng([shuffle_seed or 0, self.epoch, i])
                x, y, weights = augment.augment_batch(x, y, weights, augmentation, rng)
            return (x, y, weights) if sample_weights is not None else (x, y)

        def on_epoch_end(self):
            self.epoch += 1
            self._shuffle()

    return Batches()
