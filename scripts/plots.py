"""Figures of a trained branch: training curves, the confusion matrix and the learning curve (matplotlib, Agg)."""

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


def plot_learning_curve(curve_csv, out_png, title=""):
    """Accuracy against training examples (log scale): the CNN's and the baseline's, on val and on test."""
    curve = read_csv(curve_csv)
    fig, ax = plt.subplots(figsize=(6, 4))
    for model, style, name in (("cnn", "-", "CNN"), ("baseline", "--", "baseline")):
        for split, colour in (("val", "tab:orange"), ("test", "tab:blue")):
            column = f"{model}_{split}_accuracy"
            if curve[column].notna().any():
                ax.plot(curve["train_examples"], curve[column], style, marker="o", color=colour,
                        label=f"{name}, {split}")
    ax.set_xscale("log")
    ax.set_xticks(curve["train_examples"], [f"{n}\n({f:g})" for n, f in zip(curve["train_examples"],
                                                                           curve["fraction"])])
    ax.minorticks_off()
    ax.set_xlabel("training examples (fraction of the train split)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title)
    save_figure(fig, out_png)


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    branch = snakemake.wildcards.branch.upper()
    if snakemake.params.kind == "history":
        plot_history(snakemake.input[0], snakemake.output[0], f"{branch} branch: training curves")
    elif snakemake.params.kind == "learning_curve":
        plot_learning_curve(snakemake.input[0], snakemake.output[0], f"{branch} branch: learning curve")
    else:
        plot_confusion(snakemake.input[0], snakemake.output[0], f"{branch} branch: confusion matrix")
