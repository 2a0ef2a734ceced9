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
FOLDERS = {"npy": "specs", "png": "spect"}


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


def build_manifest(catalog, root, branch, channels=1):
    """Rows of a branch's manifest.

    Parameters
    ----------
    catalog : pandas.DataFrame
        The table of ``results/catalog.csv``.
    root : str
        Folder of the manifest (``results``); spectrogram paths are relative to it.
    branch : {'npy', 'png'}
        Which branch.
    channels : int
        Channels per array (2 for stereo).

    Returns
    -------
    pandas.DataFrame
        With :data:`COLUMNS`.
    """
    table = catalog.copy()
    table["filename"] = [f"{FOLDERS[branch]}/{clip}.{branch}" for clip in table["id"]]
    shapes = [
        npy_shape(os.path.join(root, name)) if branch == "npy" else png_shape(os.path.join(root, name), channels)
        for name in table["filename"]
    ]
    table["shape"] = ["x".join(str(n) for n in shape) for shape in shapes]
    return table[COLUMNS]


def main(catalog_csv, out_csv, branch, channels):
    """Build and write one manifest next to the spectrogram folders."""
    catalog = pd.read_csv(catalog_csv, dtype={"id": str, "author": str, "class": str}, keep_default_na=False)
    manifest = build_manifest(catalog, os.path.dirname(out_csv) or ".", branch, channels)
    with atomic_path(out_csv) as tmp:
        manifest.to_csv(tmp, index=False)


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    main(
        snakemake.input.catalog,
        snakemake.output[0],
        snakemake.params.branch,
        2 if snakemake.params.channels == "stereo" else 1,
    )
