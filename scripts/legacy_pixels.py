"""The legacy pixel table ``results/train_data.csv`` (the user's DataLoading step).

Metadata of each clip followed by the flattened 8-bit pixels of its PNG, row
by row as stored (low frequencies at the bottom), so the legacy
``load_csv_data()`` path (divide by 255, reshape, flip back) keeps working.
With ``windows:`` one row per window, cut from its recording's PNG strip, with
the columns window, start and end after width; with ``labels.multi_label`` the
``label_{class}`` columns of the manifest in place of class_id, before the pixels.
"""

import csv
import functools
import os
import sys

import numpy as np

from atomic import atomic_path
from labelling import label_columns
from tables import protect, read_csv

META = ["filename", "author", "class", "class_id", "split", "height", "width"]
WINDOW_META = ["window", "start", "end"]


@functools.lru_cache(maxsize=1)
def _png(path):
    """The pixels of a PNG and its window count (the last file is kept: a strip's windows come in a row)."""
    from PIL import Image

    from audio_processing import png_windows

    with Image.open(path) as img:
        return np.asarray(img.convert("L"), dtype=np.uint8), png_windows(img)


def read_pixels(path, window=None):
    """The 8-bit pixels of a PNG as a 2-D uint8 array (of one window, for a strip of windows)."""
    pixels, n_windows = _png(os.fspath(path))
    if window is None or n_windows is None:
        return pixels
    width = pixels.shape[1] // n_windows
    return pixels[:, int(window) * width : (int(window) + 1) * width]


def write_pixel_table(manifest, root, out_csv):
    """Write metadata + flattened pixels of every PNG of a manifest.

    Parameters
    ----------
    manifest : pandas.DataFrame
        Rows of ``results/final_spects.csv``.
    root : str
        Folder the manifest's filenames are relative to.
    out_csv : str
        Output CSV; columns :data:`META` then ``pixel_0 … pixel_{h*w-1}``.

    Raises
    ------
    ValueError
        If the PNGs differ in size (a pixel table needs one shape; set
        ``spectrogram.duration``).
    """
    windowed = "window" in manifest.columns
    windows = manifest["window"] if windowed else [None] * len(manifest)
    images = [read_pixels(os.path.join(root, name), w) for name, w in zip(manifest["filename"], windows)]
    sizes = {img.shape for img in images}
    if len(sizes) > 1:
        raise ValueError(
            f"train_data.csv needs PNGs of one size, found {len(sizes)} sizes {sorted(sizes)[:3]}…: "
            "set spectrogram.duration so every clip has the same length"
        )
    height, width = images[0].shape
    with atomic_path(out_csv) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        hot = label_columns(manifest.columns)
        columns = [name for name in META if not (hot and name == "class_id")]
        columns += (WINDOW_META if windowed else []) + hot
        # names are ours, or a class after the label_ prefix: never a formula
        writer.writerow(columns + [f"pixel_{i}" for i in range(height * width)])
        meta = manifest.assign(height=height, width=width)[columns]
        for row, img in zip(meta.itertuples(index=False), images):
            writer.writerow([protect(value) for value in row] + img.ravel().tolist())


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    manifest = read_csv(snakemake.input.manifest, dtype={"author": str, "class": str}, keep_default_na=False)
    write_pixel_table(manifest, os.path.dirname(snakemake.input.manifest) or ".", snakemake.output[0])
