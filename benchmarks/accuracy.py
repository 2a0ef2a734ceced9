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

Usage::

    .venv/bin/python benchmarks/accuracy.py --out benchmarks/accuracy.md     # about 10 min on 2 cores
    .venv/bin/python benchmarks/accuracy.py --datasets demo                  # a quick look
"""

import argparse
import csv
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from compare_branches import kept_epochs  # noqa: E402
from workflow import ENV, FSDD, copy_workflow  # noqa: E402

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TARGETS = ["results/npy/metrics.json", "results/png/metrics.json"]
BEFORE_TRAINING = ["results/final_specs.csv", "results/train_data.csv"]  # what both train jobs read
STAGE_FILE = "training_stage_seconds.txt"  # in the work folder, beside results/
# Goals of issue 13: test accuracy of the NPY CNN per dataset, training seconds of both models of FSDD.
ACCURACY_GOALS = {"fsdd": 0.95, "demo": 0.90}
FSDD_SECONDS_GOAL = 340.0


def configure(work, dataset, training=None):
    """Write ``bench.yaml`` in a copy of the workflow: the dataset's settings and any training changes.

    Returns
    -------
    list of str
        Snakemake arguments naming the configuration file.
    """
    if dataset == "fsdd":
        text = (work / "examples" / "fsdd.yaml").read_text().replace("../shared/data/fsdd/recordings", str(FSDD))
    else:
        text = "audio_dir: demo\n"
    if training:
        text += "training:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in training.items())
    (work / "bench.yaml").write_text(text)
    return ["--configfile", "bench.yaml"]


def run_dataset(work, dataset, cores, training=None):
    """Run the workflow to the training inputs, then (timed) to both models' metrics; rows of :func:`collect`."""
    args = configure(work, dataset, training)

    def run(targets):
        proc = subprocess.run(SNAKEMAKE + targets + ["--cores", str(cores)] + args, cwd=work, env=ENV,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"{dataset}: snakemake failed\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")

    run(BEFORE_TRAINING)
    start = time.perf_counter()
    run(TARGETS)
    (work / STAGE_FILE).write_text(f"{time.perf_counter() - start:.2f}\n")
    return collect(work, dataset)


def collect(work, dataset):
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
    for branch in ("npy", "png"):
        metrics = json.loads((work / "results" / branch / "metrics.json").read_text())
        with open(work / "results" / "benchmarks" / f"train_{branch}.tsv") as f:
            record = next(csv.DictReader(f, delimiter="\t"))
        rows.append({"dataset": dataset, "branch": branch, "cnn": metrics["test"], "baseline": metrics["baseline"]["test"],
                     "training": metrics["training"], "seconds": float(record["s"]),
                     "cpu_seconds": float(record["cpu_time"]), "stage_seconds": stage_seconds})
    return rows


def goal_of(row):
    """The goal a row is measured against, and whether it is met (None when the row has no goal)."""
    cnn, base = row["cnn"]["accuracy"], row["baseline"]["accuracy"]
    beats = cnn > base
    target = ACCURACY_GOALS.get(row["dataset"]) if row["branch"] == "npy" else None
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
        "",
        "| dataset | branch | test files | baseline accuracy | baseline macro-F1 | CNN accuracy | CNN macro-F1 "
        "| epoch kept / run | training s | CPU s | goal | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        cnn, base, t = row["cnn"], row["baseline"], row["training"]
        goal, ok = goal_of(row)
        lines.append(
            f"| {row['dataset']} | {row['branch']} | {cnn['n']} | {base['accuracy']:.3f} | {base['macro_f1']:.3f} "
            f"| {cnn['accuracy']:.3f} | {cnn['macro_f1']:.3f} | {kept_epochs(t, averaged='')} / {t['epochs_run']} "
            f"| {row['seconds']:.0f} | {row['cpu_seconds']:.0f} | {goal} | {verdict(ok)} |"
        )
    fsdd = [row for row in rows if row["dataset"] == "fsdd"]
    if fsdd:
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
    if load is not None:
        lines += ["", f"Load average of the machine at the end of the run: {load:.1f} on {os.cpu_count()} cores "
                      "(the run itself accounts for about 2; other work inflates the wall seconds, "
                      "not the CPU seconds, which are the jobs' own)."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="demo,fsdd", help="comma-separated: demo, fsdd")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", help="also write the table to this Markdown file")
    parser.add_argument("--work", help="keep the workflow copies in this folder")
    parser.add_argument("--collect", action="store_true", help="only tabulate the finished runs in --work")
    parser.add_argument("--training", default="{}", help="JSON of training settings to change, e.g. '{\"epochs\": 5}'")
    args = parser.parse_args()
    training = json.loads(args.training)
    base = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="accuracy-"))
    rows = []
    for dataset in args.datasets.split(","):
        if dataset == "fsdd" and not FSDD.is_dir():
            raise SystemExit(f"{FSDD} not found: FSDD is read from ../shared/data/fsdd beside the repository")
        if args.collect:
            rows += collect(base / dataset, dataset)
            continue
        work = copy_workflow(base / dataset)
        rows += run_dataset(work, dataset, args.cores, training)
    table = report(rows, args.cores, None if args.collect else os.getloadavg()[0])
    print(table, end="")
    if args.out:
        Path(args.out).write_text(table)


if __name__ == "__main__":
    main()
