"""Both branches side by side: test and holdout metrics, and the largest |png/255 − npy|."""

import json
import os
import sys

import numpy as np

import audio_processing
import loaders
from atomic import write_text

SPLITS = ("test", "holdout")


def largest_difference(npy_manifest, png_manifest, channels=1):
    """Largest |png/255 − npy| over every file of the two manifests (rows matched by id)."""
    npy, png = loaders.read_manifest(npy_manifest), loaders.read_manifest(png_manifest)
    png_by_id = dict(zip(png["id"], png["filename"]))
    npy_root, png_root = os.path.dirname(npy_manifest) or ".", os.path.dirname(png_manifest) or "."
    worst = 0.0
    for clip, name in zip(npy["id"], npy["filename"]):
        x = np.load(os.path.join(npy_root, name))
        back = audio_processing.load_png(os.path.join(png_root, png_by_id[clip]), channels)
        worst = max(worst, float(np.max(np.abs(back - x))))
    return worst


def comparison(metrics_by_branch, worst):
    """The JSON record: metrics of each branch per split, and the quantisation error."""
    return {
        "max_abs_png_minus_npy": worst,
        "bound": 1 / 510,
        "branches": {
            branch: {
                split: (
                    None
                    if metrics[split] is None
                    else {k: metrics[split][k] for k in ("n", "accuracy", "macro_f1")}
                )
                for split in SPLITS
            }
            for branch, metrics in metrics_by_branch.items()
        },
    }


def markdown(record):
    """The same record as a Markdown table."""
    lines = [
        "| branch | split | files | accuracy | macro-F1 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for branch, splits in record["branches"].items():
        for split, m in splits.items():
            if m is None:
                lines.append(f"| {branch} | {split} | 0 | – | – |")
            else:
                lines.append(f"| {branch} | {split} | {m['n']} | {m['accuracy']:.3f} | {m['macro_f1']:.3f} |")
    lines.append("")
    lines.append(
        f"Largest |png/255 − npy| over the dataset: {record['max_abs_png_minus_npy']:.6f} "
        f"(bound 1/510 = {record['bound']:.6f})."
    )
    return "\n".join(lines) + "\n"


def main(metrics_npy, metrics_png, npy_manifest, png_manifest, channels, out_json, out_md):
    """Write ``branch_comparison.json`` and ``.md``."""
    metrics = {}
    for branch, path in (("npy", metrics_npy), ("png", metrics_png)):
        with open(path, encoding="utf-8") as f:
            metrics[branch] = json.load(f)
    record = comparison(metrics, largest_difference(npy_manifest, png_manifest, channels))
    write_text(out_json, json.dumps(record, indent=2) + "\n")
    write_text(out_md, markdown(record))


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    main(
        snakemake.input.metrics_npy,
        snakemake.input.metrics_png,
        snakemake.input.npy_manifest,
        snakemake.input.png_manifest,
        snakemake.params.channels,
        snakemake.output.json,
        snakemake.output.md,
    )
