"""Overlapping sounds: the multi-label model against the single-label one on the same windows (issue 26).

Runs ``examples/soundscapes_multilabel.yaml`` (the demo soundscapes whose calls
overlap calls of other classes) twice, in fresh copies of the repository:
with ``labels.multi_label: true`` and with ``false``, everything else the
same. Both runs cut the same windows and leave out the same ones (the overlap
rule differs only in how many classes a window keeps), so their test
windows are the same. The table gives, per branch and mode, on the test
recorder:

- macro and micro mAP as each run's ``metrics.json`` reports them (each
  against its own labels: one class per window, or every class);
- the single-label model's mAP against the multi-hot labels of the same
  windows (its softmax scores ranked per class), the fair comparison: a
  window that holds a frog under an owl counts the owl as present for both;
- event-level precision and recall (the same annotated events for both);
- the baseline's macro mAP and event recall beside each.

Goal: the multi-label model's macro mAP and event recall above the
single-label model's on the same windows.

Usage::

    .venv/bin/python benchmarks/multilabel.py --out benchmarks/multilabel.md   # about 10 min on 2 cores
    .venv/bin/python benchmarks/multilabel.py --branches npy                    # NPY only
"""

import argparse
import datetime
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

import evaluation  # noqa: E402
from labelling import LABEL_PREFIX  # noqa: E402
from workflow import ENV, copy_workflow  # noqa: E402

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
EXAMPLE = ROOT / "examples" / "soundscapes_multilabel.yaml"
MODES = {"multi-label": True, "single-label": False}


def run_mode(work, multi_label, branches, cores):
    """Run the example with ``labels.multi_label`` set, to each branch's metrics; the work folder."""
    config = yaml.safe_load(EXAMPLE.read_text())
    config["labels"]["multi_label"] = multi_label
    config["branches"] = list(branches)
    (work / "bench.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [f"results/{branch}/metrics.json" for branch in branches]
    proc = subprocess.run(SNAKEMAKE + targets + ["--cores", str(cores), "--configfile", "bench.yaml"], cwd=work,
                          env=ENV, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"multi_label {multi_label}: snakemake failed\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return work


def rescored(single_scores, multi_scores, split="test"):
    """The single-label model's ranking metrics against the multi-hot labels of the same windows.

    Parameters
    ----------
    single_scores, multi_scores : pandas.DataFrame
        The two runs' ``scores.csv`` (id, split, label_{class}, p_{class}).

    Returns
    -------
    dict
        :func:`evaluation.ranking_metrics`.
    """
    multi = multi_scores[multi_scores["split"] == split].set_index("id")
    single = single_scores[single_scores["split"] == split].set_index("id")
    if set(multi.index) != set(single.index):
        raise SystemExit(f"the two runs' {split} windows differ: {len(multi)} against {len(single)}")
    classes = [name[len(LABEL_PREFIX):] for name in multi.columns if name.startswith(LABEL_PREFIX)]
    single = single.loc[multi.index]
    truth = multi[[f"{LABEL_PREFIX}{c}" for c in classes]].to_numpy()
    return evaluation.ranking_metrics(truth, single[[f"p_{c}" for c in classes]].to_numpy(), classes)


def cell(value):
    return "–" if value is None else f"{value:.3f}"


def rows_of(works, branches):
    """One table row per branch and mode."""
    rows = []
    for branch in branches:
        metrics = {mode: json.loads((works[mode] / "results" / branch / "metrics.json").read_text())
                   for mode in MODES}
        scores = {mode: pd.read_csv(works[mode] / "results" / branch / "scores.csv", keep_default_na=False)
                  for mode in MODES}
        fair = {"multi-label": metrics["multi-label"]["test"]["macro_map"],
                "single-label": rescored(scores["single-label"], scores["multi-label"])["macro_map"]}
        for mode in MODES:
            test, base = metrics[mode]["test"], metrics[mode]["baseline"]["test"]
            level, base_level = test.get("event_level") or {}, base.get("event_level") or {}
            rows.append({
                "branch": branch, "mode": mode, "windows": test["n"],
                "own_macro_map": test["macro_map"], "own_micro_map": test["micro_map"],
                "macro_map_multi_hot": fair[mode],
                "event_precision": level.get("precision"), "event_recall": level.get("recall"),
                "events": f"{level.get('caught')}/{level.get('events')}",
                "baseline_macro_map": base["macro_map"], "baseline_event_recall": base_level.get("recall"),
            })
    return rows


def report(rows):
    lines = [
        f"# Multi-label against single-label on overlapping soundscapes ({datetime.date.today()})",
        "",
        f"`benchmarks/multilabel.py` on {platform.node() or 'this machine'}: `examples/soundscapes_multilabel.yaml` "
        "(demo_soundscapes_overlap; test recorder `strait`), run with `labels.multi_label: true` and `false`, "
        "default training settings, seed 42. The same test windows in both runs.",
        "",
        "| branch | mode | test windows | macro mAP (own labels) | micro mAP (own labels) | macro mAP against the "
        "multi-hot labels | event precision | event recall (caught/events) | baseline macro mAP (own labels) "
        "| baseline event recall |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['branch']} | {r['mode']} | {r['windows']} | {cell(r['own_macro_map'])} "
                     f"| {cell(r['own_micro_map'])} | {cell(r['macro_map_multi_hot'])} | {cell(r['event_precision'])} "
                     f"| {cell(r['event_recall'])} ({r['events']}) | {cell(r['baseline_macro_map'])} "
                     f"| {cell(r['baseline_event_recall'])} |")
    lines += ["", "Goal: the multi-label model's macro mAP (against the multi-hot labels) and event recall above the "
                  "single-label model's.", ""]
    for branch in dict.fromkeys(r["branch"] for r in rows):
        multi, single = [next(r for r in rows if r["branch"] == branch and r["mode"] == m) for m in MODES]
        met = (multi["macro_map_multi_hot"] > single["macro_map_multi_hot"]
               and (multi["event_recall"] or 0) > (single["event_recall"] or 0))
        lines.append(f"- {branch}: macro mAP {cell(multi['macro_map_multi_hot'])} against "
                     f"{cell(single['macro_map_multi_hot'])}, event recall {cell(multi['event_recall'])} against "
                     f"{cell(single['event_recall'])}: {'met' if met else 'NOT met'}.")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", default="npy,png", help="comma-separated: npy, png")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--work", help="keep the two work folders under this folder")
    parser.add_argument("--out", help="write the table (Markdown) here as well")
    args = parser.parse_args(argv)
    branches = args.branches.split(",")
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(args.work or scratch)
        works = {}
        for mode, multi in MODES.items():
            work = copy_workflow(base / mode)
            print(f"{mode}: running {EXAMPLE.name} in {work}", file=sys.stderr, flush=True)
            works[mode] = run_mode(work, multi, branches, args.cores)
        text = report(rows_of(works, branches))
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
