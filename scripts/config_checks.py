"""Checks of config.yaml that a JSON schema cannot express.

Run at parse time, before any job, by ``rules/common.smk``; each problem is
one line naming the key and what to do.
"""

import csv
import os


def check_config(config):
    """List the problems of an already schema-validated configuration.

    Parameters
    ----------
    config : dict
        The workflow configuration, defaults filled in.

    Returns
    -------
    list of str
        One message per problem; empty when the configuration can run.
    """
    problems = []
    audio_dir = config["audio_dir"]
    if audio_dir not in ("demo", "demo_soundscapes", "demo_soundscapes_overlap"):
        if not os.path.isdir(audio_dir):
            problems.append(f"audio_dir: {audio_dir!r} is not a folder; give an existing folder of audio files")
        elif nested(audio_dir, "results") or nested("results", audio_dir):
            problems.append(
                f"audio_dir: {audio_dir!r} and the workflow's results/ folder overlap (one is inside the other), so "
                "outputs would be read as input: keep the recordings outside results/"
            )
    spec = config["spectrogram"]
    sr, fmin, fmax = spec["sr"], spec["fmin"], spec["fmax"]
    if sr is not None and fmax is not None and fmax > sr / 2:
        problems.append(
            f"spectrogram.fmax: {fmax} Hz is above the Nyquist rate {sr / 2:g} Hz of spectrogram.sr {sr}; "
            "lower fmax or raise sr"
        )
    if sr is not None and fmin >= (fmax if fmax is not None else sr / 2):
        problems.append(f"spectrogram.fmin: {fmin} Hz must be below fmax (or sr / 2)")
    if spec["win_length"] is not None and spec["win_length"] > spec["n_fft"]:
        problems.append(f"spectrogram.win_length: {spec['win_length']} is larger than n_fft {spec['n_fft']}")
    if spec["scale"] != "db" and spec["normalize"] == "fixed_db":
        problems.append(
            f"spectrogram.normalize: fixed_db maps a dB range; with scale {spec['scale']} use normalize: minmax"
        )
    for size in spec["resolutions"] or []:
        if spec["win_length"] is not None and spec["win_length"] > size:
            problems.append(f"spectrogram.resolutions: {size} is smaller than win_length {spec['win_length']}")
    cmap = config["image"]["cmap"]
    if cmap is not None:
        import matplotlib

        if cmap not in matplotlib.colormaps:
            problems.append(
                f"image.cmap: {cmap!r} is not a matplotlib colormap; try viridis, magma, inferno, gray"
            )
    low, high = spec["db_range"]
    if low >= high:
        problems.append(f"spectrogram.db_range: [{low}, {high}] must go from low to high dB")
    labels = config["labels"]
    if labels["from"] == "csv" and not (labels["csv"] and os.path.isfile(labels["csv"])):
        problems.append(f"labels.csv: {labels['csv']!r} is not a file; labels.from is csv and needs one")
    if labels["multi_label"]:
        if labels["from"] in ("pattern", "folder"):
            problems.append(
                f"labels.multi_label: labels.from {labels['from']} gives one class per file; several classes per "
                "example come from annotations (from: annotations) or a labels CSV with one row per class (from: csv)"
            )
        if config["training"]["learning_curve"]:
            problems.append(
                "training.learning_curve: not available with labels.multi_label yet; set learning_curve: []"
            )
    if labels["from"] == "annotations":
        if config["windows"]["length"] is None:
            problems.append(
                "labels.from: annotations labels windows of long recordings: set windows.length (e.g. 2.0)"
            )
        path = labels["annotations"]
        if path is not None and not os.path.exists(path):
            problems.append(
                f"labels.annotations: {path!r} does not exist; give a CSV (path, start, end, class), a folder of "
                "Raven selection tables, or null for Raven tables beside the recordings"
            )
    if labels["background_ratio"] is not None and (labels["from"] != "annotations" or labels["background"] is None):
        problems.append(
            "labels.background_ratio samples the background windows of annotations: it needs labels.from: "
            "annotations and a labels.background class; set it to null otherwise"
        )
    problems.extend(branch_problems(config["branches"]))
    problems.extend(split_problems(config["split"]))
    problems.extend(fold_problems(config["split"]["folds"], labels))
    problems.extend(experiment_problems(config["experiments"], config["branches"], config["training"]))
    return problems


def branch_problems(branches):
    """Problems of ``branches``: birdnet goes beside a spectrogram branch, whose baseline it is compared with.

    Examples
    --------
    >>> branch_problems(["npy", "birdnet"]), len(branch_problems(["birdnet"]))
    ([], 1)
    """
    if "birdnet" in branches and not {"npy", "png"} & set(branches):
        return ["branches: birdnet needs npy or png beside it (its baseline, the split and the manifests come "
                "from a spectrogram branch): e.g. branches: [npy, birdnet]"]
    return []


def fold_problems(folds, labels):
    """Problems of ``split.folds``: exactly one of k and column, and a CSV that holds the column."""
    if folds["k"] is not None and folds["column"] is not None:
        return ["split.folds: give k (folds dealt by author or file) or column (a column of the labels CSV), "
                "not both; e.g. {k: 5} or {column: fold}"]
    if folds["column"] is None:
        return []
    table = folds["csv"] or (labels["csv"] if labels["from"] == "csv" else None)
    if table is None:
        return [f"split.folds.column: {folds['column']!r} is a column of a CSV: set split.folds.csv (or use "
                "labels.from: csv with labels.csv)"]
    if not os.path.isfile(table):
        return [f"split.folds.csv: {table!r} is not a file"]
    with open(table, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), [])
    missing = [name for name in ("path", folds["column"]) if name not in header]
    if missing:
        return [f"{table}: no column {' or '.join(map(repr, missing))} for split.folds (columns: {', '.join(header)})"]
    return []


def experiment_problems(experiments, branches, training):
    """Problems of ``experiments``: unique names, enabled branches, and training keys the schema knows.

    Each experiment's training (the training section with its changes) is validated against the schema's
    training section, so a wrong value is named with its experiment before any job.
    """
    import jsonschema

    section = training_schema()
    problems, seen = [], set()
    for experiment in experiments:
        name = experiment["name"]
        if name in seen:
            problems.append(f"experiments: the name {name!r} is given twice; each experiment needs its own name")
        seen.add(name)
        for branch in experiment.get("branches", []):
            if branch not in branches:
                problems.append(f"experiments: {name!r} trains on branch {branch!r}, which branches does not enable")
        unknown = sorted(set(experiment["training"]) - set(section["properties"]))
        if unknown:
            problems.append(f"experiments: {name!r} changes unknown training key(s) {', '.join(unknown)}")
            continue
        merged = {**training, **experiment["training"]}
        for error in jsonschema.Draft7Validator(section).iter_errors(merged):
            where = ".".join(str(part) for part in error.path)
            problems.append(f"experiments: {name!r} training.{where}: {error.message}")
        if experiment["training"].get("learning_curve"):
            problems.append(f"experiments: {name!r}: learning_curve is drawn for the default model only; leave it out")
    return problems


def training_schema():
    """The ``training`` section of schemas/config.schema.yaml."""
    import yaml

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schemas", "config.schema.yaml")
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)["properties"]["training"]


def nested(inner, outer):
    """Whether folder ``inner`` is ``outer`` or lies inside it (links resolved)."""
    inner, outer = os.path.realpath(inner), os.path.realpath(outer)
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def split_problems(split):
    """Problems of the ``split`` section, from the checks of ``splits`` (one check, one answer)."""
    import splits

    problems = []
    for check, value in ((splits.check_fractions, split["fractions"]), (splits.check_holdout_fraction, split["holdout_fraction"])):
        try:
            check(value)
        except splits.SplitError as err:
            problems.append(str(err))
    return problems
