"""Figures of a trained branch: training curves and the confusion matrix (matplotlib, Agg)."""

import sys

import matplotlib

matplotlib.use("Agg")
# Names and classes are data: "$x$" must show as typed, not as TeX mathematics (which can fail).
matplotlib.rcParams["text.parse_math"] = False
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from atomic import atomic_path  # noqa: E402
from tables import read_csv  # noqa: E402


def short_label(text, width=28):
    """``text`` cut in the middle to at most ``width`` characters (``'a_very…_name'``), so titles stay readable."""
    text = str(text)
    if len(text) <= width:
        return text
    keep = width - 1
    return text[: (keep + 1) // 2] + "…" + text[len(text) - keep // 2 :]


def save_figure(fig, out_png):
    """Save a figure as PNG atomically, without a timestamp or software name in its metadata."""
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


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
    save_figure(fig, out_png)


def plot_confusion(confusion_csv, out_png, title=""):
    """Confusion matrix with counts in the cells (rows true, columns predicted)."""
    table = read_csv(confusion_csv, index_col=0)
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
    save_figure(fig, out_png)


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    branch = snakemake.wildcards.branch.upper()
    if snakemake.params.kind == "history":
        plot_history(snakemake.input[0], snakemake.output[0], f"{branch} branch: training curves")
    else:
        plot_confusion(snakemake.input[0], snakemake.output[0], f"{branch} branch: confusion matrix")
