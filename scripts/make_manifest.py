"""Manifest of one branch: ``results/final_specs.csv`` (npy) or ``results/final_spects.csv`` (png).

One row per clip: filename (the spectrogram's path, relative to the
manifest's folder), audio_path, id, author, class, class_id, split, duration,
sample_rate (of the original file) and shape (of the array, e.g. ``64x63``).
"""

import os
import sys

import numpy as np
import pandas as pd

from atomic import atomic_path

COLUMNS = ["filename", "audio_path", "id", "author", "class", "class_id", "split", "duration", "sample_rate", "shape"]


def npy_shape(path):
    """Shape of the array in a ``.npy`` file, read from its header only."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, _ = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, _ = np.lib.format.read_array_header_2_0(f)
    return tuple(shape)


def png_shape(path, channels=1):
    """Shape of the array behind a PNG of the PNG branch (stereo is stacked vertically)."""
    from PIL import Image

    with Image.open(path) as img:
        width, height = img.size
    return (height, width) if channels == 1 else (height // channels, width, channels)


def array_shape(path, channels=1):
    """Shape of the array behind a spectrogram file of either branch (``.npy`` or ``.png``)."""
    return npy_shape(path) if str(path).endswith(".npy") else png_shape(path, channels)


def build_manifest(catalog, root, folder, suffix, channels=1):
    """Rows of a branch's manifest.

    Parameters
    ----------
    catalog : pandas.DataFrame
        The table of ``results/catalog.csv``.
    root : str
        Folder of the manifest (``results``); spectrogram paths are relative to it.
    folder : str
        Folder of the branch's spectrograms, relative to ``root`` (``specs``).
    suffix : str
        Their suffix (``.npy`` or ``.png``).
    channels : int
        Channels per array (2 for stereo).

    Returns
    -------
    pandas.DataFrame
        With :data:`COLUMNS`.
    """
    table = catalog.copy()
    table["filename"] = [f"{folder}/{clip}{suffix}" for clip in table["id"]]
    shapes = [array_shape(os.path.join(root, name), channels) for name in table["filename"]]
    table["shape"] = ["x".join(str(n) for n in shape) for shape in shapes]
    return table[COLUMNS]


def main(catalog_csv, out_csv, folder, suffix, channels):
    """Build and write one manifest next to the spectrogram folders.

    ``folder`` is the branch's spectrogram folder as the workflow names it
    (``results/specs``); the manifest lists paths relative to its own folder.
    """
    catalog = pd.read_csv(catalog_csv, dtype={"id": str, "author": str, "class": str}, keep_default_na=False)
    root = os.path.dirname(out_csv) or "."
    manifest = build_manifest(catalog, root, os.path.relpath(folder, root), suffix, channels)
    with atomic_path(out_csv) as tmp:
        manifest.to_csv(tmp, index=False)


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    main(
        snakemake.input.catalog,
        snakemake.output[0],
        snakemake.params.folder,
        snakemake.params.suffix,
        snakemake.params.channels,
    )
