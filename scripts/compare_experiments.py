"""Every trained model side by side: ``results/experiments.csv``, ``.md`` and ``.json``.

One row per model (the default model, each experiment's, and with ``split.folds`` each fold's): its
experiment (``default`` for the training section as it is), branch, fold (empty for a model of the
default split), test accuracy, macro-F1 (and macro mAP with ``labels.multi_label``), the baseline's
test accuracy and macro-F1 beside them, and the training seconds. For the folds of an experiment and
branch, the mean and the standard deviation over the folds (``ddof=1``: the spread a paper reports; empty
for one fold), each fold's model tested on its own fold.
"""

import json
import math

import pandas as pd

from atomic import write_text
from tables import write_csv

#: The scores compared: (column, where in metrics.json, label in the Markdown table).
SCORES = [
    ("accuracy", ("test", "accuracy"), "accuracy"),
    ("macro_f1", ("test", "macro_f1"), "macro-F1"),
    ("macro_map", ("test", "macro_map"), "macro mAP"),
    ("baseline_accuracy", ("baseline", "test", "accuracy"), "baseline accuracy"),
    ("baseline_macro_f1", ("baseline", "test", "macro_f1"), "baseline macro-F1"),
    ("seconds", ("training", "seconds"), "training s"),
]


def score(metrics, where):
    """A value of a metrics.json (NaN where the split or the score is missing)."""
    value = metrics
    for key in where:
        if not isinstance(value, dict) or value.get(key) is None:
            return math.nan
        value = value[key]
    return float(value)


def model_table(models):
    """One row per model: ``experiment``, ``branch``, ``fold`` and the :data:`SCORES`.

    Parameters
    ----------
    models : list of tuple
        ``(experiment, branch, fold, metrics)``: ``fold`` ``""`` for a model of the default split,
        ``metrics`` the model's metrics.json as a dict.

    Returns
    -------
    pandas.DataFrame
        Without a score column that no model has (macro mAP of single-label models).
    """
    rows = [{"experiment": experiment, "branch": branch, "fold": fold,
             **{column: score(metrics, where) for column, where, _ in SCORES}}
            for experiment, branch, fold, metrics in models]
    table = pd.DataFrame(rows, columns=["experiment", "branch", "fold"] + [column for column, _, _ in SCORES])
    return table.dropna(axis=1, how="all")


def fold_summary(table):
    """Mean and standard deviation (``ddof=1``) of each score over the folds of each experiment and branch.

    Examples
    --------
    >>> table = pd.DataFrame({"experiment": ["default"] * 3, "branch": ["npy"] * 3, "fold": ["", "1", "2"],
    ...                       "accuracy": [0.9, 0.8, 0.6]})
    >>> fold_summary(table).to_dict("records")
    [{'experiment': 'default', 'branch': 'npy', 'folds': 2, 'accuracy_mean': 0.7, 'accuracy_std': 0.1414}]
    """
    scores = [column for column in table.columns if column not in ("experiment", "branch", "fold")]
    rows = []
    folded = table[table["fold"] != ""]
    for (experiment, branch), part in folded.groupby(["experiment", "branch"], sort=False):
        row = {"experiment": experiment, "branch": branch, "folds": len(part)}
        for column in scores:
            values = part[column].dropna().to_numpy()
            row[f"{column}_mean"] = round(float(values.mean()), 4) if len(values) else math.nan
            row[f"{column}_std"] = round(float(values.std(ddof=1)), 4) if len(values) > 1 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def cell(value, spread=None, digits=3):
    """A table cell: ``0.912``, ``0.88 ± 0.03``, or ``–`` for a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:.{digits}f}"
    if spread is not None and not math.isnan(spread):
        text += f" ± {spread:.{digits}f}"
    return text


def markdown(table, summary):
    """The Markdown page: models of the default split, cross-validation means ± std, then every fold."""
    scores = [(column, label) for column, _, label in SCORES if column in table.columns]
    head = "| experiment | branch | " + " | ".join(label for _, label in scores) + " |"
    rule = "| --- | --- | " + " | ".join("---" for _ in scores) + " |"
    digits = {column: (0 if column == "seconds" else 3) for column, _ in scores}
    lines = ["# Experiments", "",
             "Test scores of every model: the baseline (logistic regression on the same split) beside each CNN."]
    single = table[table["fold"] == ""]
    if len(single):
        lines += ["", "## Models of the default split", "", head, rule]
        for row in single.itertuples(index=False):
            lines.append(f"| {row.experiment} | {row.branch} | "
                         + " | ".join(cell(getattr(row, c), digits=digits[c]) for c, _ in scores) + " |")
    if len(summary):
        lines += ["", "## Cross-validation", "",
                  "Each fold's model is tested on its fold: the mean ± the standard deviation over the folds.", "",
                  head.replace("| branch |", "| branch | folds |"), rule.replace("| --- | --- |", "| --- | --- | --- |")]
        for row in summary.to_dict("records"):
            lines.append(f"| {row['experiment']} | {row['branch']} | {row['folds']} | "
                         + " | ".join(cell(row[f"{c}_mean"], row[f"{c}_std"], digits[c]) for c, _ in scores) + " |")
        lines += ["", "### Every fold", "", head.replace("| branch |", "| branch | fold |"),
                  rule.replace("| --- | --- |", "| --- | --- | --- |")]
        for row in table[table["fold"] != ""].itertuples(index=False):
            lines.append(f"| {row.experiment} | {row.branch} | {row.fold} | "
                         + " | ".join(cell(getattr(row, c), digits=digits[c]) for c, _ in scores) + " |")
    return "\n".join(lines) + "\n"


def plain(records):
    """Records with NaN as None (JSON null)."""
    return [{key: (None if isinstance(value, float) and math.isnan(value) else value) for key, value in row.items()}
            for row in records]


def main(models, out):
    """Write the three comparisons of ``models`` (see :func:`model_table`) to ``out`` (csv, md, json paths)."""
    table = model_table(models)
    summary = fold_summary(table)
    write_csv(table, out["csv"])
    write_text(out["md"], markdown(table, summary))
    document = {"models": plain(table.to_dict("records")), "cross_validation": plain(summary.to_dict("records"))}
    write_text(out["json"], json.dumps(document, indent=2) + "\n")


def run_rule(input, output, params, log):
    """The body of rule ``compare_experiments`` (``rules/evaluate.smk``), in the Snakemake process."""
    from joblog import logged

    with logged(log[0]):
        models = []
        for (experiment, branch, fold), path in zip(params.models, input.metrics):
            with open(path, encoding="utf-8") as f:
                models.append((experiment, branch, fold, json.load(f)))
        main(models, {"csv": output.csv, "md": output.md, "json": output.json})
