"""The accuracy benchmark: the CNN against its baseline on the demo data and on FSDD, both branches.

For each dataset the workflow runs, with the default training settings, in a
fresh copy of the repository in a temporary folder (``--work`` keeps it),
through both models. The table gives, per dataset and branch, the test
accuracy and macro-F1 of the baseline (logistic regression on per-band
mean/std/max) and of the CNN, the epoch kept (or the epochs averaged), and the training seconds (the
``train`` rule's benchmark file, baseline included), each goal beside it. The workflow runs in two steps,
first to the training inputs (manifests, pixel table), then to the models: the second step is timed as
the training stage (the NPY stack, both ``train`` jobs, side by side when there are cores for both, and
Snakemake's start), the figure the training-time goal is about.

Datasets:

- ``demo``: the built-in synthetic calls (``audio_dir: demo``), test recorder ``strait``.
- ``fsdd``: the Free Spoken Digit Dataset as in ``examples/fsdd.yaml`` (val
  speaker ``jackson``, test speaker ``theo``), read from ``../shared/data/fsdd``.

- ``fsdd-small``: small data (issue 25). FSDD with each of the four training
  speakers cut to 1, 3, 10 and 30 clips per digit (40 to 1,200 training clips;
  the same seeded draw, nested: the 3 hold the 1), val ``jackson`` and test
  ``theo`` whole, as above. Each size runs in a folder of links to the chosen
  recordings; its table gives the baseline's and the CNN's test accuracy per
  size and branch, and the optimiser steps. Goal: the CNN at or above the
  baseline at every size, on both branches.

- ``--branches``: which models each dataset trains (default ``npy,png``); ``birdnet`` adds the
  BirdNET branch's head (issue 29; its baseline is the spectrogram baseline of the same rows), and
  ``--branches birdnet`` trains the head alone (the NPY spectrograms are made for its baseline, the
  CNNs are not trained). Its rows give the head's test accuracy where the others give the CNN's.

Usage::

    .venv/bin/python benchmarks/accuracy.py --out benchmarks/accuracy.md     # about 10 min on 2 cores
    .venv/bin/python benchmarks/accuracy.py --datasets demo                  # a quick look
    .venv/bin/python benchmarks/accuracy.py --datasets demo,fsdd,fsdd-small --out benchmarks/accuracy.md
    .venv/bin/python benchmarks/accuracy.py --datasets demo,fsdd,fsdd-small --branches birdnet
"""

import argparse
import csv
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from compare_branches import kept_epochs  # noqa: E402
from workflow import ENV, FSDD, copy_workflow  # noqa: E402

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
BRANCHES = ("npy", "png")
#: What each branch's train job reads (made before the timed training stage).
BEFORE_TRAINING = {"npy": "results/final_specs.csv", "png": "results/train_data.csv",
                   "birdnet": "results/final_embeddings.csv"}
STAGE_FILE = "training_stage_seconds.txt"  # in the work folder, beside results/
# Goals of issue 13: test accuracy of the NPY CNN per dataset, training seconds of both models of FSDD.
ACCURACY_GOALS = {"fsdd": 0.95, "demo": 0.90}
FSDD_SECONDS_GOAL = 340.0
SMALL_SIZES = (1, 3, 10, 30)
"""Clips per digit per training speaker of the small-data table."""
HELD_OUT_SPEAKERS = ("jackson", "theo")  # val and test in examples/fsdd.yaml: always whole
FSDD_NAME = re.compile(r"^(?P<digit>\d)_(?P<speaker>[a-z]+)_(?P<index>\d+)\.wav$")


def small_fsdd(recordings, per_class, seed=0):
    """The FSDD files of a small-data run: every clip of the held-out speakers, ``per_class`` of each other's digits.

    The clips of a training speaker's digit are drawn in one seeded order, so a
    larger size holds the smaller ones.

    Parameters
    ----------
    recordings : list of str
        FSDD file names (``{digit}_{speaker}_{index}.wav``).
    per_class : int
        Clips per digit per training speaker.
    seed : int

    Returns
    -------
    list of str
        The chosen names, sorted.
    """
    chosen, pools = [], {}
    for name in sorted(recordings):
        match = FSDD_NAME.match(name)
        if match is None:
            continue
        if match["speaker"] in HELD_OUT_SPEAKERS:
            chosen.append(name)
        else:
            pools.setdefault((match["speaker"], match["digit"]), []).append(name)
    for key, names in sorted(pools.items()):
        rng = np.random.default_rng([seed, int(key[1]), sum(map(ord, key[0]))])
        chosen += [names[i] for i in rng.permutation(len(names))[:per_class]]
    return sorted(chosen)


def link_small_fsdd(folder, per_class):
    """A folder of links to the files of :func:`small_fsdd`; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in small_fsdd(os.listdir(FSDD), per_class):
        link = folder / name
        if not link.exists():
            link.symlink_to(FSDD / name)
    return folder


def workflow_branches(branches):
    """The ``branches:`` a run of the models ``branches`` needs: birdnet's baseline reads a spectrogram branch.

    Examples
    --------
    >>> workflow_branches(["birdnet"]), workflow_branches(["npy", "png"])
    (['npy', 'birdnet'], ['npy', 'png'])
    """
    if "birdnet" in branches and not {"npy", "png"} & set(branches):
        return ["npy", *branches]
    return list(branches)


def configure(work, dataset, training=None, branches=BRANCHES):
    """Write ``bench.yaml`` in a copy of the workflow: the dataset's settings and any training changes.

    Returns
    -------
    list of str
        Snakemake arguments naming the configuration file.
    """
    if dataset.startswith("fsdd"):
        size = dataset.removeprefix("fsdd-")
        audio = FSDD if dataset == "fsdd" else link_small_fsdd(work / "small_fsdd", int(size))
        config = yaml.safe_load((work / "examples" / "fsdd.yaml").read_text())
        config["audio_dir"] = str(audio)
    else:
        config = {"audio_dir": "demo"}
    config["training"] = {**config.get("training", {}), **(training or {})}  # the example's own, then the changes
    config["branches"] = workflow_branches(branches)
    (work / "bench.yaml").write_text(yaml.safe_dump(config))
    return ["--configfile", "bench.yaml"]


def run_dataset(work, dataset, cores, training=None, branches=BRANCHES):
    """Run the workflow to the training inputs, then (timed) to the models' metrics; rows of :func:`collect`."""
    args = configure(work, dataset, training, branches)

    def run(targets):
        proc = subprocess.run(SNAKEMAKE + targets + ["--cores", str(cores)] + args, cwd=work, env=ENV,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{dataset}: snakemake failed\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")

    run([BEFORE_TRAINING[branch] for branch in branches])
    start = time.perf_counter()
    run([f"results/{branch}/metrics.json" for branch in branches])
    (work / STAGE_FILE).write_text(f"{time.perf_counter() - start:.2f}\n")
    return collect(work, dataset, branches)


def collect(work, dataset, branches=BRANCHES):
    """The table's rows of a finished run: metrics of both branches and the train rules' benchmark files.

    Returns
    -------
    list of dict
        Per branch: ``cnn`` and ``baseline`` test metrics, the ``training`` summary, wall ``seconds``
        and ``cpu_seconds`` of the ``train`` job (baseline included), and ``stage_seconds``: the
        wall time of the whole training stage of the dataset (None when it was not timed).
    """
    stage = work / STAGE_FILE
    stage_seconds = float(stage.read_text()) if stage.exists() else None
    rows = []
    for branch in branches:
        metrics = json.loads((work / "results" / branch / "metrics.json").read_text())
        with open(work / "results" / "benchmarks" / f"train_{branch}.tsv") as f:
            record = next(csv.DictReader(f, delimiter="\t"))
        provenance = json.loads((work / "results" / f"model_{branch}.provenance.json").read_text())
        rows.append({"dataset": dataset, "branch": branch, "cnn": metrics["test"], "baseline": metrics["baseline"]["test"],
                     "training": metrics["training"], "seconds": float(record["s"]),
                     "cpu_seconds": float(record["cpu_time"]), "stage_seconds": stage_seconds,
                     "train_clips": provenance["split_counts"].get("train", 0)})
    return rows


def is_small(dataset):
    """Whether a dataset is one size of the small-data table (``fsdd-1``, ``fsdd-3``, …)."""
    return dataset.startswith("fsdd-")


def small_data_table(rows):
    """The small-data table's lines: per size and branch, the baseline's and the CNN's test accuracy (goal: CNN ≥ baseline)."""
    lines = [
        "| clips per digit per training speaker | training clips | branch | baseline accuracy | CNN accuracy "
        "| CNN macro-F1 | optimiser steps (passes per epoch) | CPU s | CNN ≥ baseline |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in sorted(rows, key=lambda r: (int(r["dataset"].removeprefix("fsdd-")), r["branch"])):
        cnn, base, t = row["cnn"], row["baseline"], row["training"]
        lines.append(
            f"| {row['dataset'].removeprefix('fsdd-')} | {row['train_clips']} | {row['branch']} "
            f"| {base['accuracy']:.3f} | {cnn['accuracy']:.3f} | {cnn['macro_f1']:.3f} "
            f"| {t.get('steps', '–')} ({t.get('passes_per_epoch', 1)}) | {row['cpu_seconds']:.0f} "
            f"| {verdict(cnn['accuracy'] >= base['accuracy'])} |"
        )
    return lines


def goal_of(row):
    """The goal a row is measured against, and whether it is met (None when the row has no goal)."""
    cnn, base = row["cnn"]["accuracy"], row["baseline"]["accuracy"]
    beats = cnn > base
    target = ACCURACY_GOALS.get(row["dataset"]) if row["branch"] == "npy" else None
    if row["branch"] == "birdnet":  # issue 29: the head trains in seconds (its fit; the job also loads both
        return "head fits in ≤ 60 s", row["training"]["seconds"] <= 60  # branches and fits the baseline)
    if target is None:
        return "CNN > baseline", beats
    return f"CNN ≥ {target:.2f}, CNN > baseline", beats and cnn >= target


def verdict(ok):
    """``yes`` or a bold **no**."""
    return "yes" if ok else "**no**"


def report(rows, cores, load=None):
    """The Markdown table of a run; ``load``: the machine's 1-minute load average at the end of it."""
    lines = [
        f"Accuracy benchmark, {datetime.date.today().isoformat()}, {platform.machine()} machine with "
        f"{os.cpu_count()} cores ({cores} used); default training settings; test split.",
    ]
    small = [row for row in rows if is_small(row["dataset"])]
    whole = [row for row in rows if not is_small(row["dataset"])]
    if whole:
        lines += [
            "",
            "| dataset | branch | test files | baseline accuracy | baseline macro-F1 | CNN accuracy | CNN macro-F1 "
            "| epoch kept / run | training s | CPU s | goal | met |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
    for row in whole:
        cnn, base, t = row["cnn"], row["baseline"], row["training"]
        goal, ok = goal_of(row)
        lines.append(
            f"| {row['dataset']} | {row['branch']} | {cnn['n']} | {base['accuracy']:.3f} | {base['macro_f1']:.3f} "
            f"| {cnn['accuracy']:.3f} | {cnn['macro_f1']:.3f} | {kept_epochs(t, averaged='')} / {t['epochs_run']} "
            f"| {row['seconds']:.0f} | {row['cpu_seconds']:.0f} | {goal} | {verdict(ok)} |"
        )
    fsdd = [row for row in rows if row["dataset"] == "fsdd" and row["branch"] in BRANCHES]
    if len(fsdd) == len(BRANCHES):  # the goal of issue 13: both CNNs of FSDD
        total = sum(row["seconds"] for row in fsdd)
        cpu = sum(row["cpu_seconds"] for row in fsdd)
        stage = fsdd[0].get("stage_seconds")
        if stage is None:  # not timed: the jobs' own seconds, one after the other
            lines += ["", f"Both FSDD models trained in {total:.0f} s, {cpu:.0f} CPU s (goal ≤ "
                          f"{FSDD_SECONDS_GOAL:.0f} s, 5 min 40 s): {verdict(total <= FSDD_SECONDS_GOAL)}."]
        else:
            lines += ["", f"Both FSDD models trained in {stage:.0f} s: the training stage from Snakemake's start to "
                          f"its end, the NPY stack and both `train` jobs, side by side on {cores} cores (the jobs: "
                          f"{total:.0f} s and {cpu:.0f} CPU s together; goal ≤ {FSDD_SECONDS_GOAL:.0f} s, 5 min 40 s): "
                          f"{verdict(stage <= FSDD_SECONDS_GOAL)}."]
    if small:
        lines += ["", "Small data: FSDD with each of the four training speakers cut to a few clips per digit (a seeded "
                      "draw, nested), val jackson and test theo whole (500 clips each); default training, test split. "
                      "Goal: the CNN at or above the baseline at every size, on both branches.", ""]
        lines += small_data_table(small)
    if any(row["branch"] == "birdnet" for row in rows):
        lines += ["", "In the birdnet rows the CNN columns give the head's scores (standardised BirdNET v2.4 "
                      "embeddings, a linear layer), beside the spectrogram baseline of the same rows."]
    if load is not None:
        lines += ["", f"Load average of the machine at the end of the run: {load:.1f} on {os.cpu_count()} cores "
                      "(the run itself accounts for about 2; other work inflates the wall seconds, "
                      "not the CPU seconds, which are the jobs' own)."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="demo,fsdd", help="comma-separated: demo, fsdd, fsdd-small")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", help="also write the table to this Markdown file")
    parser.add_argument("--work", help="keep the workflow copies in this folder")
    parser.add_argument("--collect", action="store_true", help="only tabulate the finished runs in --work")
    parser.add_argument("--branches", default="npy,png",
                        help="comma-separated models to train: npy, png, birdnet (default npy,png)")
    parser.add_argument("--training", default="{}", help="JSON of training settings to change, e.g. '{\"epochs\": 5}'")
    args = parser.parse_args()
    training = json.loads(args.training)
    branches = [branch for branch in args.branches.split(",") if branch]
    base = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="accuracy-"))
    rows = []
    datasets = []
    for dataset in args.datasets.split(","):
        datasets += [f"fsdd-{size}" for size in SMALL_SIZES] if dataset == "fsdd-small" else [dataset]
    for dataset in datasets:
        if dataset.startswith("fsdd") and not FSDD.is_dir():
            raise SystemExit(f"{FSDD} not found: FSDD is read from ../shared/data/fsdd beside the repository")
        if args.collect:
            rows += collect(base / dataset, dataset, branches)
            continue
        work = copy_workflow(base / dataset)
        rows += run_dataset(work, dataset, args.cores, training, branches)
    table = report(rows, args.cores, None if args.collect else os.getloadavg()[0])
    print(table, end="")
    if args.out:
        Path(args.out).write_text(table)


if __name__ == "__main__":
    main()
