"""The small CNN, its input normaliser and the batch feeder (Keras 3, TensorFlow backend).

Import this module only after ``KERAS_BACKEND`` is set (:func:`setup_keras`
does it), never from the spectrogram scripts: TensorFlow costs seconds to import.
"""

import os

import numpy as np


def setup_keras(threads=None, seed=None):
    """Select the TensorFlow backend, quiet its start-up log, make runs repeatable.

    Parameters
    ----------
    threads : int or None
        Threads TensorFlow may use (the rule's ``threads``).
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
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras
    import tensorflow as tf

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


def build_cnn(input_shape, n_classes, settings, normalizer_stats=None):
    """A small CNN: conv blocks (conv + ReLU, max-pool), dropout, dense, softmax.

    No batch normalisation: with a few hundred clips its running statistics
    lag behind the weights and evaluation collapses to one class; the
    per-frequency input normaliser does the scaling instead.

    Parameters
    ----------
    input_shape : tuple of int
        ``(n_freq, n_frames, channels)``.
    n_classes : int
        Number of classes.
    settings : dict
        The ``training`` section of the configuration: conv_blocks, filters,
        kernel_size, dropout, dense_units, learning_rate.
    normalizer_stats : tuple or None
        ``(mean, variance)`` per frequency from the training split; when given,
        the model starts with a fixed ``Normalization`` layer holding them, so it
        is saved with the model and applied unchanged at evaluation and prediction.

    Returns
    -------
    keras.Model
        Compiled with Adam and sparse categorical cross-entropy.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=tuple(input_shape), name="spectrogram")
    x = inputs
    if normalizer_stats is not None:
        mean, variance = normalizer_stats
        x = layers.Normalization(axis=1, mean=mean, variance=variance, name="per_frequency")(x)
    for block in range(settings["conv_blocks"]):
        filters = settings["filters"] * 2**block
        x = layers.Conv2D(filters, settings["kernel_size"], padding="same", activation="relu")(x)
        pool = (2 if x.shape[1] >= 2 else 1, 2 if x.shape[2] >= 2 else 1)
        x = layers.MaxPooling2D(pool)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(settings["dropout"])(x)
    x = layers.Dense(settings["dense_units"], activation="relu")(x)
    x = layers.Dropout(settings["dropout"])(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name="spectrogram_cnn")
    model.compile(
        optimizer=keras.optimizers.Adam(settings["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def make_batches(features, labels, indices, batch_size, shuffle_seed=None):
    """A ``keras.utils.PyDataset`` over selected rows of a (memory-mapped) array.

    Only one batch is in memory at a time, so data larger than memory trains.
    With ``shuffle_seed`` the order changes every epoch, repeatably.
    """
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self.order = np.asarray(indices)
            self.epoch = 0
            self._shuffle()

        def _shuffle(self):
            if shuffle_seed is not None:
                rng = np.random.default_rng(shuffle_seed + self.epoch)
                self.order = rng.permutation(np.asarray(indices))

        def __len__(self):
            return max(1, -(-len(indices) // batch_size))

        def __getitem__(self, i):
            rows = np.sort(self.order[i * batch_size : (i + 1) * batch_size])
            x = np.asarray(features[rows], dtype=np.float32)
            return (x, labels[rows]) if labels is not None else (x,)

        def on_epoch_end(self):
            self.epoch += 1
            self._shuffle()

    return Batches()
