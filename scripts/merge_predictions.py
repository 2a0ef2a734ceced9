"""The predictions of a folder from those of its batches (the ``predictions`` rule, a cheap aggregate).

Each ``predict`` job writes its batch's rows (and with a model of windows, its
detections and a Raven table per recording). Here the batch tables are joined
in batch order, which is the folder's order, so the merged CSV is byte for byte
the table one job over the whole folder writes (``scripts/predict.py``); the
Raven tables are copied into one folder; the detections are counted per site,
class and hour (a CSV and a figure for the report).
"""

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from atomic import atomic_path, write_text  # noqa: E402
from detections import per_hour  # noqa: E402
from recording_times import hour_of  # noqa: E402
from tables import read_csv, write_csv  # noqa: E402


def join_csv_texts(texts):
    """CSV texts with one header, as one CSV text: the first text whole, the others without their header line.

    Examples
    --------
    >>> join_csv_texts(["a,b\\n1,2\\n", "a,b\\n", "a,b\\n3,4\\n"])
    'a,b\\n1,2\\n3,4\\n'
    """
    if not texts:
        return ""
    return texts[0] + "".join(text.split("\n", 1)[1] if "\n" in text else "" for text in texts[1:])


def join_csvs(paths, out):
    """Write the CSV files ``paths`` as one (:func:`join_csv_texts`), atomically."""
    texts = [Path(path).read_text(encoding="utf-8") for path in paths]
    write_text(out, join_csv_texts(texts))


def copy_tables(folders, out_dir, suffix=".selections.txt"):
    """Copy every table (``suffix``) under each of ``folders`` to the same relative path under ``out_dir``.

    Other files (Snakemake's ``.snakemake_timestamp`` of a directory output) stay behind.
    """
    os.makedirs(out_dir, exist_ok=True)
    for folder in folders:
        for root, _dirs, files in os.walk(folder):
            for name in sorted(name for name in files if name.endswith(suffix)):
                source = os.path.join(root, name)
                target = os.path.join(out_dir, os.path.relpath(source, folder))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with atomic_path(target) as tmp:
                    shutil.copyfile(source, tmp)


def read_detections(path):
    """A detections table as written by ``predict.detection_table`` (text columns kept as text, ``''`` empty)."""
    text = {"file": str, "site": str, "class": str, "begin_datetime": str}
    return read_csv(path, dtype=text, keep_default_na=False)


def main(csvs, out_csv, detections=(), selections=(), out_detections=None, out_selections=None, out_per_hour=None,
         out_figure=None, title=""):
    """Join the batches' tables; with windows, their Raven tables, detections and the count per hour."""
    join_csvs(csvs, out_csv)
    if out_detections is None:
        return
    copy_tables(selections, out_selections)
    join_csvs(detections, out_detections)
    counts = per_hour(read_detections(out_detections), hour_of)
    write_csv(counts, out_per_hour)
    from plots import plot_per_hour

    plot_per_hour(counts, out_figure, title)


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    main(
        list(snakemake.input.csvs),
        snakemake.output.csv,
        list(snakemake.input.detections),
        list(snakemake.input.selections),
        snakemake.output.get("detections"),
        snakemake.output.get("selections"),
        snakemake.output.get("per_hour"),
        snakemake.output.get("figure"),
        f"detections of {snakemake.wildcards.name} per site, class and hour",
    )
