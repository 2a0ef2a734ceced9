"""Manifest of one branch: ``results/final_specs.csv`` (npy) or ``results/final_spects.csv`` (png).

One row per clip: filename (the spectrogram's path, relative to the
manifest's folder), audio_path, id, author, class, class_id, split, duration,
sample_rate (of the original file) and shape (of the array, e.g. ``64x63``).
With ``windows:``, one row per window: its recording's file, and the columns
window (its index in that file), start and end (seconds of the recording).
"""

import os

from tables import read_csv, write_csv

COLUMNS = ["filename", "audio_path", "id", "author", "class", "class_id", "split", "duration", "sample_rate", "shape"]
WINDOW_COLUMNS = ["window", "start", "end"]


def npy_shape(path):
    """Shape of the array in a ``.npy`` file, read from its header only."""
    from audio_processing import npy_header

    with open(path, "rb") as f:
        return npy_header(f)[0]


def png_shape(path, channels=1):
    """Shape of the array behind a PNG of the PNG branch (stereo is stacked vertically).

    A strip of windows (``audio_processing.process_windows``) gives
    ``(n_windows, ...)``, each window shaped as a clip's.
    """
    from PIL import Image

    from audio_processing import png_windows

    with Image.open(path) as img:
        width, height = img.size
        n_windows = png_windows(img)
    width = width if n_windows is None else width // n_windows
    shape = (height, width) if channels == 1 else (height // channels, width, channels)
    return shape if n_windows is None else (n_windows,) + shape


def array_shape(path, channels=1):
    """Shape of the array behind a spectrogram file of either branch (``.npy`` or ``.png``)."""
    return npy_shape(path) if str(path).endswith(".npy") else png_shape(path, channels)


def example_shape(path, channels=1, windowed=False):
    """Shape of one training example of a file: the array, or one window of it."""
    shape = array_shape(path, channels)
    return shape[1:] if windowed else shape


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
        With :data:`COLUMNS` (and :data:`WINDOW_COLUMNS` for a catalog of windows).
    """
    table = catalog.copy()
    table["filename"] = [f"{folder}/{clip}{suffix}" for clip in table["id"]]
    windowed = "window" in table.columns
    shapes = {
        name: "x".join(str(n) for n in example_shape(os.path.join(root, name), channels, windowed))
        for name in table["filename"].unique()
    }
    table["shape"] = table["filename"].map(shapes)
    return table[COLUMNS + WINDOW_COLUMNS if windowed else COLUMNS]


def main(catalog_csv, out_csv, folder, suffix, channels, log=None):
    """Build and write one manifest next to the spectrogram folders.

    ``folder`` is the branch's spectrogram folder as the workflow names it
    (``results/specs``); the manifest lists paths relative to its own folder.
    Called by the manifest rules in the Snakemake process: an error's
    traceback goes to ``log`` (a path), if given.
    """
    if log is not None:
        from joblog import logged

        with logged(log):
            return main(catalog_csv, out_csv, folder, suffix, channels)
    catalog = read_csv(catalog_csv, dtype={"id": str, "author": str, "class": str}, keep_default_na=False)
    root = os.path.dirname(out_csv) or "."
    manifest = build_manifest(catalog, root, os.path.relpath(folder, root), suffix, channels)
    write_csv(manifest, out_csv, durable=True)


def run_rule(input, output, params, log):
    """The body of the manifest rules (``rules/manifest.smk``): their named fields, handed to :func:`main`."""
    main(input.catalog, output[0], params.folder, params.suffix, params.channels, log=log[0])
