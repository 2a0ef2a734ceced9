"""Both branches side by side: test and holdout metrics of the CNN and of the baseline beside it
(accuracy, macro-F1, macro and micro mAP, and for windows labelled by annotations the event-level
precision and recall), each author's (and recording's) score beside the pooled one, worst first, the epoch kept
and the seconds per epoch, whether the CNN beats the baseline on val (when it does
not, what to try first: metrics.json's ``advice``), and the largest |png/255 − npy|."""

import itertools
import json
import os
import sys

import numpy as np

import audio_processing
import baseline
import evaluation
import loaders
from atomic import write_text

SPLITS = ("test", "holdout")


def kept_epochs(training, averaged=" (mean)"):
    """The weights kept, as a table cell: ``12`` (one epoch), or ``31–40 (mean)`` with ``training.average_epochs``.

    ``averaged`` follows the range of averaged epochs (``benchmarks/accuracy.py`` gives ``""``).
    """
    if not training:
        return "–"
    if training.get("averaged_epochs"):
        last = training.get("epochs_run", training.get("kept_epoch"))
        return f"{last - training['averaged_epochs'] + 1}–{last}{averaged}"
    return str(training.get("kept_epoch", "–"))


def largest_difference(npy_manifest, png_manifest, channels=1):
    """Largest |png/255 − npy| over every file of the two manifests whose sizes agree (rows matched by id).

    A recording cut into windows is one file per branch, listed once per window:
    each file is compared once, all its windows at a time. A PNG drawn at
    another size (``image:`` scale, height, width) has no cell-for-cell
    counterpart and is not compared.

    Returns
    -------
    worst : float or None
        The largest difference, or ``None`` when no file could be compared.
    compared : int
        Files compared.
    """
    npy, png = loaders.read_manifest(npy_manifest), loaders.read_manifest(png_manifest)
    png_by_id = dict(zip(png["id"], png["filename"]))
    npy_root, png_root = os.path.dirname(npy_manifest) or ".", os.path.dirname(png_manifest) or "."
    worst, compared = None, 0
    pairs = dict(zip(npy["id"], npy["filename"]))  # one entry per file, windows or not
    for clip, name in pairs.items():
        x = np.load(os.path.join(npy_root, name))
        back = audio_processing.load_png(os.path.join(png_root, png_by_id[clip]), channels)
        if back.shape != x.shape:
            continue
        worst = max(worst or 0.0, float(np.max(np.abs(back - x))))
        compared += 1
    return worst, compared


#: What the comparison shows of each split's metrics (those a split lacks are None).
SCORES = ("n", "accuracy", "macro_f1", "macro_map", "micro_map", "event_level")


def scores(metrics):
    """``n``, accuracy, macro-F1, macro and micro mAP and the event-level scores of every compared split.

    None for an empty split; a key the split's metrics lack (mAP of an older
    model, event-level scores of clips) is None.
    """
    return {
        split: None if metrics.get(split) is None else {k: metrics[split].get(k) for k in SCORES}
        for split in SPLITS
    }


def branch_record(metrics):
    """One branch's entry: the CNN's scores per split, the baseline's, the training summary, the verdict, the advice.

    Parameters
    ----------
    metrics : dict
        A branch's ``metrics.json``.

    Returns
    -------
    dict
        The CNN's split keys, ``baseline`` (the same splits), ``training`` and
        ``beats_baseline_on_val`` with its ``verdict`` sentence and ``advice``
        (metrics.json's list of what to try first; empty when the CNN beats the baseline), and ``groups``
        (:func:`evaluation.group_rows` of the compared splits: each author and recording, worst first).
    """
    record = scores(metrics)
    record["baseline"] = scores(metrics.get("baseline") or {})
    record["training"] = metrics.get("training")
    record["beats_baseline_on_val"], record["verdict"] = baseline.verdict(metrics, metrics.get("baseline"))
    record["advice"] = list(metrics.get("advice") or [])
    record["groups"] = evaluation.group_rows(metrics, SPLITS)
    return record


def comparison(metrics_by_branch, worst, compared=None):
    """The JSON record: metrics of each branch per split (CNN and baseline), and the quantisation error.

    ``worst`` is ``None`` when the PNGs are drawn at another size than the
    arrays (nothing to compare cell for cell); ``compared`` counts the files compared, and is ``None``
    when the npy and png branches are not both on (nothing to compare at all).
    """
    return {
        "max_abs_png_minus_npy": worst,
        "files_compared": compared,
        "bound": 1 / 510,
        "branches": {branch: branch_record(metrics) for branch, metrics in metrics_by_branch.items()},
    }


def _cell(m, key):
    """A score formatted for the table, or – for an empty split or a score it lacks."""
    return "–" if m is None or m.get(key) is None else f"{m[key]:.3f}"


def _event_cell(m, key):
    """An event-level score (precision or recall) with its counts, or – where there is none."""
    level = None if m is None else m.get("event_level")
    if not level or level.get(key) is None:
        return "–"
    counts = (level["correct"], level["detections"]) if key == "precision" else (level["caught"], level["events"])
    return f"{level[key]:.3f} ({counts[0]}/{counts[1]})"


#: Rows of the group table shown per branch, split and grouping (all are in the branch's per_group.csv).
GROUP_ROWS = 10


def group_lines(record, limit=GROUP_ROWS):
    """The Markdown table of every branch's groups (authors, recordings) beside the pooled score, worst first.

    At most ``limit`` rows per branch, split and grouping; a sentence after the table counts those left out.
    No lines when no branch has groups (metrics of an older run).
    """
    rows, left_out = [], 0
    for branch, entry in record["branches"].items():
        for _, block in itertools.groupby(entry.get("groups") or [], key=lambda row: (row["split"], row["by"])):
            block = list(block)
            left_out += max(0, len(block) - limit)
            rows += [f"| {branch} | {row['split']} | {row['by']} {row['group']} | {row['n']} | {row['metric']} "
                     f"| {_cell(row, 'score')} | {_cell(row, 'pooled')} | {_cell(row, 'baseline')} "
                     f"| {'flagged' if row['flagged'] else '–'} |" for row in block[:limit]]
    if not rows:
        return []
    lines = ["", f"Per author and per recording, worst first: flagged when more than {evaluation.FLAG_MARGIN} and "
                 "more than 1/√n below the pooled score.", "",
             "| branch | split | group | examples | metric | score | pooled | baseline | flag |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"] + rows
    if left_out:
        lines += ["", f"{left_out} better groups are left out here; every group is in the branch's per_group.csv."]
    return lines


def markdown(record):
    """The same record as Markdown: a table of scores, a table of training, a verdict per branch (and a list of
    what to try first when its CNN does not beat the baseline)."""
    lines = [
        "| branch | split | examples | accuracy | macro-F1 | macro mAP | micro mAP | baseline accuracy "
        "| baseline macro-F1 | baseline macro mAP |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    events = []
    for branch, entry in record["branches"].items():
        for split in SPLITS:
            m, b = entry[split], entry["baseline"][split]
            files = 0 if m is None else m["n"]
            lines.append(
                f"| {branch} | {split} | {files} | {_cell(m, 'accuracy')} | {_cell(m, 'macro_f1')} "
                f"| {_cell(m, 'macro_map')} | {_cell(m, 'micro_map')} "
                f"| {_cell(b, 'accuracy')} | {_cell(b, 'macro_f1')} | {_cell(b, 'macro_map')} |"
            )
            if m is not None and m.get("event_level"):
                events.append(f"| {branch} | {split} | {_event_cell(m, 'precision')} | {_event_cell(m, 'recall')} "
                              f"| {_event_cell(b, 'precision')} | {_event_cell(b, 'recall')} |")
    if events:
        lines += ["", "| branch | split | event precision (right / detections) | event recall (caught / events) "
                      "| baseline event precision | baseline event recall |",
                  "| --- | --- | --- | --- | --- | --- |"] + events
    lines += group_lines(record)
    lines += ["", "| branch | epochs run | optimiser steps (per epoch; passes over train) | epoch kept | seconds per epoch "
                  "| training seconds |", "| --- | --- | --- | --- | --- | --- |"]
    for branch, entry in record["branches"].items():
        t = entry["training"] or {}
        steps = (f"{t['steps']} ({t['steps_per_epoch']}; {t.get('passes_per_epoch', 1)})" if "steps" in t else "–")
        lines.append(
            f"| {branch} | {t.get('epochs_run', '–')} | {steps} | {kept_epochs(t)} "
            f"| {t.get('seconds_per_epoch', '–')} | {t.get('seconds', '–')} |"
        )
    lines.append("")
    for branch, entry in record["branches"].items():
        lines.append(f"{branch}: {entry['verdict']}.")
        if entry.get("advice"):
            lines += [f"{branch}: what to try first:", ""] + [f"- {tip}" for tip in entry["advice"]] + [""]
    if record.get("files_compared", 0) is None:
        pass  # one spectrogram branch (beside birdnet): no two forms of one array to compare
    elif record["max_abs_png_minus_npy"] is None:
        lines.append(
            "|png/255 − npy| is not compared: the PNGs are drawn at another size than the arrays "
            "(image: scale, height, width), so no pixel stands for one array cell."
        )
    else:
        lines.append(
            f"Largest |png/255 − npy| over the dataset: {record['max_abs_png_minus_npy']:.6f} "
            f"(bound 1/510 = {record['bound']:.6f})."
        )
    return "\n".join(lines) + "\n"


def main(metrics_paths, npy_manifest, png_manifest, channels, out_json, out_md):
    """Write ``branch_comparison.json`` and ``.md``.

    ``metrics_paths``: branch → its ``metrics.json``, in the table's order (npy, png, birdnet: the
    enabled ones). The largest |png/255 − npy| needs both manifests (``None`` where a branch is off).
    """
    metrics = {}
    for branch, path in metrics_paths.items():
        with open(path, encoding="utf-8") as f:
            metrics[branch] = json.load(f)
    worst = (None, None)
    if npy_manifest is not None and png_manifest is not None:
        worst = largest_difference(npy_manifest, png_manifest, channels)
    record = comparison(metrics, *worst)
    write_text(out_json, json.dumps(record, indent=2) + "\n")
    write_text(out_md, markdown(record))
    for branch, entry in record["branches"].items():
        if entry["beats_baseline_on_val"] is False:  # on the console, at the end of the run
            print(f"{branch}: {entry['verdict']}", file=sys.stdout, flush=True)
            for tip in entry["advice"]:
                print(f"{branch}: advice: {tip}", file=sys.stdout, flush=True)


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    main(
        dict(zip(snakemake.params.branches, snakemake.input.metrics)),
        snakemake.input.get("npy_manifest"),
        snakemake.input.get("png_manifest"),
        snakemake.params.channels,
        snakemake.output.json,
        snakemake.output.md,
    )
