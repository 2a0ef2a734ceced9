"""Figures of a trained branch: training curves and the confusion matrix (matplotlib, Agg)."""

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def _save(fig, out_png):
    """Save a figure atomically, without a timestamp in its metadata."""
    tmp = f"{out_png}.tmp.png"
    fig.savefig(tmp, dpi=120, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    os.replace(tmp, out_png)


def plot_history(history_csv, out_png, title=""):
    """Loss and accuracy per epoch, training and validation."""
    history = pd.read_csv(history_csv)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        ax.plot(history["epoch"], history[metric], label="train")
        if f"val_{metric}" in history:
            ax.plot(history["epoch"], history[f"val_{metric}"], label="val")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    _save(fig, out_png)


def plot_confusion(confusion_csv, out_png, title=""):
    """Confusion matrix with counts in the cells (rows true, columns predicted)."""
    table = pd.read_csv(confusion_csv, index_col=0)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(table), 0.8 + 0.5 * len(table)))
    ax.imshow(table.to_numpy(), cmap="Blues")
    ax.set_xticks(range(len(table.columns)), table.columns, rotation=45, ha="right")
    ax.set_yticks(range(len(table.index)), table.index)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = table.to_numpy().max()
    for (i, j), n in pd.DataFrame(table.to_numpy()).stack().items():
        ax.text(j, i, int(n), ha="center", va="center", color="white" if n > top / 2 else "black", fontsize=8)
    ax.set_title(title)
    _save(fig, out_png)


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    branch = snakemake.wildcards.branch.upper()
    if snakemake.params.kind == "history":
        plot_history(snakemake.input[0], snakemake.output[0], f"{branch} branch: training curves")
    else:
        plot_confusion(snakemake.input[0], snakemake.output[0], f"{branch} branch: confusion matrix")
