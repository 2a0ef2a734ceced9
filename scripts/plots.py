"""Figures of a trained branch: training curves, the confusion matrix, the learning curve and the precision-recall
curve of each class (matplotlib, Agg)."""

import sys

import matplotlib

matplotlib.use("Agg")
# Names and classes are data: "$x$" must show as typed, not as TeX mathematics (which can fail).
matplotlib.rcParams["text.parse_math"] = False
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sklearn.metrics import precision_recall_curve  # noqa: E402

from atomic import atomic_path  # noqa: E402
from evaluation import ranking_metrics  # noqa: E402
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


def pr_curves(scores):
    """The precision-recall curve of each class on the test split, or on val when test has no row.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``id``, ``split``, then ``label_{class}`` (0/1) and ``p_{class}`` (score) of each class.

    Returns
    -------
    split : str or None
        The split drawn (None when neither test nor val has a row).
    curves : dict
        ``{class: (recall, precision, average precision)}`` of the classes with a positive in the split.
    skipped : list of str
        The classes without a positive in the split (no curve: recall is undefined).
    """
    classes = [column.removeprefix("label_") for column in scores.columns if column.startswith("label_")]
    split = next((name for name in ("test", "val") if (scores["split"] == name).any()), None)
    rows = scores[scores["split"] == split]
    y_true = rows[[f"label_{name}" for name in classes]].to_numpy(dtype=int)
    p = rows[[f"p_{name}" for name in classes]].to_numpy(dtype=float)
    ranking = ranking_metrics(y_true, p, classes)["per_class"]
    curves, skipped = {}, []
    for i, name in enumerate(classes):
        ap = ranking[name]["average_precision"]
        if ap is None:
            skipped.append(name)
            continue
        precision, recall, _ = precision_recall_curve(y_true[:, i], p[:, i])
        curves[name] = (recall, precision, ap)
    return split, curves, skipped


def plot_pr_curves(scores_csv, out_png, title=""):
    """Precision against recall of each class on the test split (val when test is empty), AP in the legend.

    ``scores_csv`` has columns ``id``, ``split``, ``label_{class}`` and ``p_{class}`` (:func:`pr_curves`);
    classes without a positive in the split have no curve and are named under the title.
    """
    split, curves, skipped = pr_curves(read_csv(scores_csv))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, (recall, precision, ap) in curves.items():
        ax.step(recall, precision, where="post", label=f"{short_label(name)} (AP {ap:.2f})")
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    if curves:
        ax.legend(fontsize=8, loc="lower left", ncol=1 + len(curves) // 12)
    notes = [f"{split} split" if split else "no test or val rows"]
    if skipped:
        notes.append("no positive: " + ", ".join(short_label(name) for name in skipped))
    ax.set_title(f"{title}\n{'; '.join(notes)}" if title else "; ".join(notes), fontsize=10)
    save_figure(fig, out_png)


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    branch = snakemake.wildcards.branch.upper()
    if snakemake.params.kind == "history":
        plot_history(snakemake.input[0], snakemake.output[0], f"{branch} branch: training curves")
    elif snakemake.params.kind == "learning_curve":
        plot_learning_curve(snakemake.input[0], snakemake.output[0], f"{branch} branch: learning curve")
    elif snakemake.params.kind == "pr_curves":
        plot_pr_curves(snakemake.input[0], snakemake.output[0], f"{branch} branch: precision-recall per class")
    else:
        plot_confusion(snakemake.input[0], snakemake.output[0], f"{branch} branch: confusion matrix")


def plot_per_hour(per_hour, out_png, title="", max_sites=12):
    """Detections per hour of each class, one panel per site (``detections.per_hour``'s table).

    Without start times (``hour`` empty) the panels show each class's total instead. At most ``max_sites``
    panels (the sites with most detections).
    """
    sites = per_hour.groupby("site")["detections"].sum().sort_values(ascending=False).index[:max_sites].tolist()
    fig, axes = plt.subplots(max(1, len(sites)), 1, figsize=(9, 0.5 + 2.2 * max(1, len(sites))), squeeze=False)
    for ax, site in zip(axes[:, 0], sites or [None]):
        rows = per_hour[per_hour["site"] == site] if site is not None else per_hour.iloc[0:0]
        timed = rows[rows["hour"] != ""]
        if len(timed):
            for label, part in timed.groupby("class"):
                ax.plot(pd.to_datetime(part["hour"]), part["detections"], marker="o", label=short_label(label))
            ax.set_ylabel("detections per hour")
            ax.legend(fontsize=8)
        elif len(rows):
            totals = rows.groupby("class")["detections"].sum()
            ax.bar([short_label(c) for c in totals.index], totals.to_numpy())
            ax.set_ylabel("detections (no start time)")
        else:
            ax.text(0.5, 0.5, "no detections", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(short_label(site) if site else "")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.autofmt_xdate()
    save_figure(fig, out_png)
