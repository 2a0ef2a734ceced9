"""Manifest of one branch: ``results/final_specs.csv`` (npy) or ``results/final_spects.csv`` (png).

One row per clip: filename (the spectrogram's path, relative to the
manifest's folder), audio_path, id, author, class, class_id, split, duration,
sample_rate (of the original file) and shape (of the array, e.g. ``64x63``).
With ``windows:``, one row per window: its recording's file, and the columns
window (its index in that file), start and end (seconds of the recording).
With ``labels.multi_label``, ``class`` holds the example's classes joined by
``;`` and a 0/1 column ``label_{class}`` per class replaces ``class_id``.

The shapes come from the spectrogram jobs' file facts (``file_facts``), which
each job wrote when it made the files: the manifest reads a small table per
job, not every spectrogram of the run.
"""

import os

from labelling import label_columns
from tables import read_csv, write_csv

COLUMNS = ["filename", "audio_path", "id", "author", "class", "class_id", "split", "duration", "sample_rate", "shape"]
WINDOW_COLUMNS = ["window", "start", "end"]


def build_manifest(catalog, folder, suffix, shapes):
    """Rows of a branch's manifest.

    Parameters
    ----------
    catalog : pandas.DataFrame
        The table of ``results/catalog.csv``.
    folder : str
        Folder of the branch's spectrograms, relative to the manifest's folder (``specs``).
    suffix : str
        Their suffix (``.npy`` or ``.png``).
    shapes : dict
        Audio path → shape of the array in the branch's file (a strip of
        windows: ``(n_windows, ...)``), as in the file facts.

    Returns
    -------
    pandas.DataFrame
        With :data:`COLUMNS` (and :data:`WINDOW_COLUMNS` for a catalog of windows, then the
        ``label_{class}`` columns of a multi-label catalog in place of ``class_id``).
    """
    table = catalog.copy()
    table["filename"] = [f"{folder}/{clip}{suffix}" for clip in table["id"]]
    windowed = "window" in table.columns
    text = {path: "x".join(str(n) for n in (shape[1:] if windowed else shape)) for path, shape in shapes.items()}
    table["shape"] = table["audio_path"].map(text)
    missing = table.loc[table["shape"].isna(), "audio_path"]
    if len(missing):
        raise ValueError(f"{missing.iloc[0]}: no shape in the spectrogram jobs' file facts "
                         "(results/file_facts/); run its spectrogram job again (--forcerun with its spectrogram's path)")
    hot = label_columns(table.columns)
    columns = [name for name in COLUMNS if not (hot and name == "class_id")]
    return table[columns + (WINDOW_COLUMNS if windowed else []) + hot]


def main(catalog_csv, out_csv, folder, suffix, branch, facts, log=None):
    """Build and write one manifest next to the spectrogram folders.

    ``folder`` is the branch's spectrogram folder as the workflow names it
    (``results/specs``); the manifest lists paths relative to its own folder.
    ``facts`` are the spectrogram jobs' file-facts files, ``branch`` the form
    whose shapes they give (``npy`` or ``png``). Called by the manifest rules
    in the Snakemake process: an error's traceback goes to ``log`` (a path), if given.
    """
    if log is not None:
        from joblog import logged

        with logged(log):
            return main(catalog_csv, out_csv, folder, suffix, branch, facts)
    from file_facts import read_facts

    catalog = read_csv(catalog_csv, dtype={"id": str, "author": str, "class": str}, keep_default_na=False)
    entries = read_facts(facts)
    shapes = {path: entry["shapes"][branch] for path, entry in entries.items() if entry["rejected"] is None}
    root = os.path.dirname(out_csv) or "."
    manifest = build_manifest(catalog, os.path.relpath(folder, root), suffix, shapes)
    write_csv(manifest, out_csv, durable=True)


def run_rule(input, output, params, log):
    """The body of the manifest rules (``rules/manifest.smk``): their named fields, handed to :func:`main`."""
    main(input.catalog, output[0], params.folder, params.suffix, params.branch, list(input.facts), log=log[0])
