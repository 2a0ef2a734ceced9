"""Augmentation of training batches: frequency warp, random time shift, SpecAugment-style masks, mixup.

Applied by the batch feeder to the train split only (val, test, holdout and
prediction see the spectrograms unchanged). Every function takes a
``numpy.random.Generator``; the feeder derives it from ``training.seed``, the
epoch and the batch number, so the same seed gives the same batches.
Spectrograms are ``(n, n_freq, n_frames, channels)``; masked cells are set to
the batch's minimum, the silence of a log-mel spectrogram.
"""

import numpy as np


def time_shift(x, max_fraction, rng):
    """Roll each spectrogram in time by a random number of frames, either way (circularly).

    Circular, so nothing is lost: what leaves one end comes in at the other
    (mostly the silence of a padded clip).

    Parameters
    ----------
    x : np.ndarray
        ``(n, n_freq, n_frames, channels)``.
    max_fraction : float
        Largest shift, as a fraction of the frames; 0 leaves ``x`` unchanged.
    rng : numpy.random.Generator

    Returns
    -------
    np.ndarray
        A shifted copy.
    """
    limit = int(round(max_fraction * x.shape[2]))
    if limit == 0:
        return x
    shifts = rng.integers(-limit, limit + 1, size=len(x))
    return np.stack([np.roll(example, shift, axis=1) for example, shift in zip(x, shifts)])


def frequency_warp(x, max_warp, rng):
    """Stretch or squeeze each spectrogram along frequency by a random factor (like vocal tract length perturbation).

    Output row ``r`` takes the value at row ``r / f`` of the input, linearly
    interpolated between neighbouring rows, with ``f`` drawn log-uniformly from
    ``[1 / (1 + max_warp), 1 + max_warp]`` per spectrogram: ``f > 1`` moves
    every band up (a smaller voice or animal, a higher call), ``f < 1`` down.
    The lowest row stays in place; positions past the highest row repeat it.
    Individuals of one class differ in pitch and resonances this way (Jaitly
    and Hinton 2013 perturb speakers' vocal tract length so), while the bands'
    levels and the spectral slope are kept, unlike a shift of whole rows.

    Parameters
    ----------
    x : np.ndarray
        ``(n, n_freq, n_frames, channels)``.
    max_warp : float
        Largest relative stretch, e.g. 0.08 for factors of 1/1.08 to 1.08;
        0 leaves ``x`` unchanged.
    rng : numpy.random.Generator

    Returns
    -------
    np.ndarray
        A warped copy (``x`` itself when ``max_warp`` is 0).
    """
    if max_warp <= 0 or x.shape[1] < 2:
        return x
    rows = x.shape[1]
    factors = np.exp(rng.uniform(-np.log1p(max_warp), np.log1p(max_warp), size=len(x)))
    source = np.minimum(np.arange(rows)[None, :] / factors[:, None], rows - 1)  # (n, rows)
    low = np.floor(source).astype(int)
    high = np.minimum(low + 1, rows - 1)
    share = (source - low).astype(x.dtype)[:, :, None, None]
    example = np.arange(len(x))[:, None]
    return x[example, low] * (1 - share) + x[example, high] * share


def mask_bands(x, axis, count, max_fraction, rng):
    """Set ``count`` random bands of up to ``max_fraction`` of an axis to the batch minimum (SpecAugment).

    Parameters
    ----------
    x : np.ndarray
        ``(n, n_freq, n_frames, channels)``.
    axis : int
        1 masks frequency rows, 2 masks time frames.
    count : int
        Bands per spectrogram.
    max_fraction : float
        Widest band, as a fraction of the axis.
    rng : numpy.random.Generator

    Returns
    -------
    np.ndarray
        A masked copy (``x`` itself when there is nothing to mask).
    """
    size = x.shape[axis]
    widest = int(round(max_fraction * size))
    if count == 0 or widest == 0:
        return x
    out, fill = x.copy(), x.min()
    for i in range(len(x)):
        for _ in range(count):
            width = int(rng.integers(0, widest + 1))
            start = int(rng.integers(0, size - width + 1))
            index = [i, slice(None), slice(None)]
            index[axis] = slice(start, start + width)
            out[tuple(index)] = fill
    return out


def mixup(x, y, weights, alpha, rng):
    """Mix each example with another of the batch: λ·a + (1 − λ)·b, labels and weights alike (Zhang et al. 2018).

    Parameters
    ----------
    x : np.ndarray
        ``(n, ...)`` inputs.
    y : np.ndarray
        ``(n, classes)`` one-hot (or soft) labels.
    weights : np.ndarray
        ``(n,)`` sample weights (class weights of the labels).
    alpha : float
        λ ~ Beta(alpha, alpha), folded to λ ≥ 0.5 so the first example dominates; 0 leaves the batch unchanged.
    rng : numpy.random.Generator

    Returns
    -------
    x, y, weights : np.ndarray
        Mixed copies.
    """
    if alpha <= 0 or len(x) < 2:
        return x, y, weights
    lam = rng.beta(alpha, alpha, size=len(x))
    lam = np.maximum(lam, 1 - lam).astype(np.float32)
    partner = rng.permutation(len(x))

    def mix(a):
        share = lam.reshape((-1,) + (1,) * (a.ndim - 1))
        return (share * a + (1 - share) * a[partner]).astype(a.dtype)

    return mix(x), mix(y), mix(weights)


def augment_batch(x, y, weights, settings, rng):
    """Apply every augmentation that ``settings`` turns on, in a fixed order: warp, shift, masks, mixup.

    Parameters
    ----------
    x : np.ndarray
        float32 ``(n, n_freq, n_frames, channels)``.
    y : np.ndarray
        ``(n, classes)`` one-hot labels.
    weights : np.ndarray
        ``(n,)`` sample weights.
    settings : dict
        The ``training`` section: ``freq_warp``, ``time_shift``, ``time_masks``, ``time_mask_width``,
        ``freq_masks``, ``freq_mask_width``, ``mixup_alpha``.
    rng : numpy.random.Generator

    Returns
    -------
    x, y, weights : np.ndarray
        The augmented batch.
    """
    x = frequency_warp(x, settings["freq_warp"], rng)
    x = time_shift(x, settings["time_shift"], rng)
    x = mask_bands(x, 2, settings["time_masks"], settings["time_mask_width"], rng)
    x = mask_bands(x, 1, settings["freq_masks"], settings["freq_mask_width"], rng)
    return mixup(x, y, weights, settings["mixup_alpha"], rng)
