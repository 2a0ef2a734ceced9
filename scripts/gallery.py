"""Gallery of the report: a few spectrograms per class (NPY branch), time in s and frequency in Hz."""

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import loaders  # noqa: E402
from audio_processing import load_png  # noqa: E402
from labelling import LABEL_PREFIX, label_columns  # noqa: E402
from plots import save_figure, short_label  # noqa: E402
from settings import spectrogram_settings  # noqa: E402
from spectrogram_math import frame_times, frequencies, spectrogram_rate  # noqa: E402

#: Frequencies (Hz) that may label the frequency axis; those inside the range are used.
HZ_TICKS = (0, 100, 250, 500, 1000, 2000, 4000, 8000, 16000, 32000)


def pick_examples(manifest, per_class=3, max_classes=20):
    """The spectrograms to show: the first ``per_class`` ids of each class, train split first.

    Parameters
    ----------
    manifest : pandas.DataFrame
        The NPY manifest (columns ``id``, ``class``, ``class_id``, ``split``, ...); a
        multi-label one (``label_{class}`` columns) shows a row under each of its classes.
    per_class : int
        Examples per class.
    max_classes : int
        At most this many classes (the lowest class ids).

    Returns
    -------
    pandas.DataFrame
        The chosen rows, by class id then id. Ids are sorted, so the choice
        does not depend on file order; a class with fewer than ``per_class``
        files in train is completed from the other splits.
    """
    hot = label_columns(manifest.columns)
    if hot:  # multi-label: a row shows under each class it holds (background rows under none)
        manifest = pd.concat([manifest[manifest[column] == 1].assign(**{"class": column[len(LABEL_PREFIX):],
                                                                       "class_id": i})
                              for i, column in enumerate(hot)], ignore_index=True)
    table = manifest.assign(_not_train=manifest["split"] != "train")
    table = table.sort_values(["class_id", "_not_train", "id"], kind="stable")
    chosen = table.groupby("class_id", sort=True).head(per_class)
    keep = sorted(chosen["class_id"].unique())[:max_classes]
    return chosen[chosen["class_id"].isin(keep)].drop(columns="_not_train").reset_index(drop=True)


def example_array(root, row, channels=1):
    """The array of one manifest row: a clip's file, or one window of a recording's file (``.npy`` or ``.png``)."""
    path = os.path.join(root, row["filename"])
    x = load_png(path, channels) if path.endswith(".png") else np.load(path, mmap_mode="r")
    return np.asarray(x[int(row["window"])] if "window" in row.index else x)


def frequency_ticks(freqs, min_gap=0.12):
    """Row positions and labels (Hz) for the frequency axis of a spectrogram with rows at ``freqs``.

    Parameters
    ----------
    freqs : np.ndarray
        Frequency of each row, increasing (:func:`spectrogram_math.frequencies`).
    min_gap : float
        Smallest distance between two ticks, as a share of the rows.

    Returns
    -------
    rows : list of float
        Fractional row positions of the ticks.
    labels : list of str
        Their frequencies, e.g. ``'500'`` or ``'2k'``.
    """
    usable, rows, last = [], [], None
    for hz in HZ_TICKS:
        if freqs[0] <= hz <= freqs[-1]:
            row = float(np.interp(hz, freqs, np.arange(len(freqs))))
            if last is None or row - last >= min_gap * len(freqs):  # no crowded labels
                usable.append(hz)
                rows.append(row)
                last = row
    if len(usable) < 2:
        usable, rows = [freqs[0], freqs[-1]], [0.0, len(freqs) - 1.0]
    labels = [f"{hz / 1000:g}k" if hz >= 1000 else f"{hz:.0f}" for hz in usable]
    return rows, labels


def draw_spectrogram(ax, x, sr, settings):
    """Draw one spectrogram (channel 0 of a stereo one) with its time (s) and frequency (Hz) axes.

    The image keeps the array's rows evenly spaced (mel bands are, on the mel
    scale); the frequency ticks sit at the rows of those frequencies.
    """
    if x.ndim == 3:
        x = x[..., 0]
    freqs = frequencies(sr, settings)
    if len(freqs) != x.shape[0]:  # a PNG drawn at another size (image:): its own pixel axes
        image = ax.imshow(x, origin="lower", aspect="auto", cmap="magma", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.tick_params(labelsize=7)
        return image
    times = frame_times(x.shape[1], sr, settings)
    step = times[1] - times[0] if len(times) > 1 else settings["hop_length"] * settings["time_pool"] / sr
    image = ax.imshow(
        x,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=0.0,
        vmax=1.0,
        extent=(times[0] - step / 2, times[-1] + step / 2, -0.5, x.shape[0] - 0.5),
        interpolation="nearest",
    )
    rows, labels = frequency_ticks(freqs)
    ax.set_yticks(rows, labels)
    ax.tick_params(labelsize=7)
    return image


def plot_gallery(manifest_csv, out_png, settings=None, per_class=3, max_classes=20, channels=1):
    """Write the gallery figure: one row per class, ``per_class`` spectrograms each.

    Parameters
    ----------
    manifest_csv : str
        The NPY manifest (the PNG one when the NPY branch is off); its
        ``filename`` column is relative to its folder.
    out_png : str
        The figure (written atomically).
    settings : dict or None
        The spectrogram settings of the run (for the axes).
    per_class, max_classes : int
        See :func:`pick_examples`.
    channels : int
        Channels of each array (to read a PNG; channel 0 is drawn).

    Returns
    -------
    pandas.DataFrame
        The rows shown.
    """
    s = spectrogram_settings(settings)
    manifest = loaders.read_manifest(manifest_csv)
    chosen = pick_examples(manifest, per_class, max_classes)
    root = os.path.dirname(manifest_csv) or "."
    classes = list(dict.fromkeys(chosen["class"]))
    fig, axes = plt.subplots(
        len(classes), per_class, figsize=(2.6 * per_class + 1.2, 1.9 * len(classes) + 0.8), squeeze=False
    )
    image = None
    for r, name in enumerate(classes):
        rows = chosen[chosen["class"] == name].reset_index(drop=True)
        for c in range(per_class):
            ax = axes[r, c]
            if c >= len(rows):
                ax.axis("off")
                continue
            row = rows.iloc[c]
            x = example_array(root, row, channels)
            sr = spectrogram_rate(int(row["sample_rate"]), s)
            image = draw_spectrogram(ax, x, sr, s)
            at = f" @ {row['start']:g} s" if "window" in row.index else ""
            ax.set_title(f"{short_label(row['id'])}{at} ({row['split']})", fontsize=7)
            if c == 0:
                ax.set_ylabel(f"{short_label(name, 20)}\nfrequency (Hz)", fontsize=8)
            if r == len(classes) - 1:
                ax.set_xlabel("time (s)", fontsize=8)
    kind = "mel" if s["type"] == "mel" else "linear"
    branch = "PNG" if len(chosen) and str(chosen["filename"].iloc[0]).endswith(".png") else "NPY"
    several = ", channel 0" if channels > 1 else ""
    fig.suptitle(f"{kind} spectrograms of the {branch} branch, {per_class} per class{several}", fontsize=10)
    fig.tight_layout(rect=(0, 0, 0.92, 1))
    if image is not None:
        bar = fig.add_axes((0.93, 0.15, 0.015, 0.7))
        fig.colorbar(image, cax=bar).set_label("normalised level (0 = quietest, 1 = loudest)", fontsize=8)
    save_figure(fig, out_png)
    return chosen


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    plot_gallery(
        snakemake.input.manifest,
        snakemake.output[0],
        snakemake.params.settings,
        snakemake.params.per_class,
        snakemake.params.max_classes,
        snakemake.params.channels,
    )
