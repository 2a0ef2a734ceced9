"""The catalog of a run: every clip (or window) with its labels, class id, split and audio facts.

With ``labels.multi_label`` the ``class`` column holds every class of the
example joined by ``;`` (the background name for none) and the class id
gives way to a 0/1 column ``label_{class}`` per class (:func:`multi_hot`).

With ``windows:`` each recording gives one row per fixed window (columns
``window``, ``start``, ``end`` added at the end), labelled by its file's class
or, with ``labels.from: annotations``, by the time boxes of annotation tables.

Writes ``results/catalog.csv`` (the table both manifests are built from),
``results/classes.csv`` (class → class_id, sorted names) and
``results/split_summary.csv`` (files and authors per split and class) and
``results/rejected.csv`` (audio files left out under ``on_bad_audio: skip``, with the reason).
"""

import sys

import pandas as pd

import annotations
import splits
from tables import write_csv
from discovery import file_id
from labelling import class_ids

#: Columns of :func:`file_table`, in order.
TABLE_COLUMNS = ["id", "audio_path", "class", "class_id", "author", "split"]
#: Columns added to the catalog (and the manifests) when recordings are cut into windows.
WINDOW_COLUMNS = ["window", "start", "end"]


def file_table(relpaths, pairs, split, audio_dir):
    """Number and split the labelled clips: what the catalog holds apart from audio facts.

    Run once, at parse time, by ``rules/common.smk``, so that a split problem
    stops the run before any job; the catalog job gets its rows.

    Parameters
    ----------
    relpaths : list of str
        Audio paths relative to the audio folder.
    pairs : list of tuple
        ``(class, author)`` per file (:func:`labelling.label_files`).
    split : dict
        The ``split`` section of the configuration.
    audio_dir : str
        Folder of the audio files, for the ``audio_path`` column.

    Returns
    -------
    pandas.DataFrame
        One row per clip, in the order of ``relpaths``: the columns of
        :data:`TABLE_COLUMNS`.

    Raises
    ------
    splits.SplitError
        With a message naming the key and what to do.
    """
    table = pd.DataFrame(
        {
            "id": [file_id(rel) for rel in relpaths],
            "audio_path": [f"{audio_dir}/{rel}" for rel in relpaths],
            "class": [c for c, _ in pairs],
            "author": [a for _, a in pairs],
        }
    )
    ids = class_ids(table["class"])
    table.insert(3, "class_id", table["class"].map(ids).astype(int))
    table["split"] = splits.assign_splits(
        table,
        by=split["by"],
        fractions=split["fractions"],
        seed=split["seed"],
        holdout_authors=split["holdout_authors"],
        holdout_fraction=split["holdout_fraction"],
        assign=split["assign"],
    )
    return table


def one_row_per_class(table, multi_label=False, background=None):
    """``table`` with one row per class of each row (the counting unit of summaries and warnings).

    Single-label tables come back as they are. A multi-label row (its
    ``class`` the text of :func:`labelling.join_classes`) gives a row per
    class it holds, and a row of the ``background`` name when it holds none.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"id": ["a", "b"], "class": ["jay;owl", "quiet"], "split": ["train", "test"]})
    >>> one_row_per_class(table, True, "quiet")[["id", "class"]].values.tolist()
    [['a', 'jay'], ['a', 'owl'], ['b', 'quiet']]
    """
    if not multi_label:
        return table
    from labelling import split_classes

    classes = [split_classes(text, background) or [background or ""] for text in table["class"]]
    return table.assign(**{"class": classes}).explode("class", ignore_index=True)


def multi_hot(table, background=None):
    """The ``label_{class}`` 0/1 columns of a multi-label table, one per class in class-id order.

    Returns
    -------
    columns : pandas.DataFrame
        int8 columns ``label_{class}`` aligned with ``table``.
    ids : dict
        Class → class id (the position of its column).
    """
    from labelling import LABEL_PREFIX, split_classes

    held = [split_classes(text, background) for text in table["class"]]
    ids = class_ids([name for names in held for name in names])
    data = {f"{LABEL_PREFIX}{name}": [int(name in names) for names in held] for name in ids}
    return pd.DataFrame(data, index=table.index, dtype="int8"), ids


def single_file_classes(table):
    """Messages for classes with a single file: such a class cannot be both trained and tested."""
    counts = table["class"].value_counts()
    return [
        f"{table.loc[table['class'] == cls, 'audio_path'].iloc[0]}: the only file of class {cls!r}; "
        "a class needs files for training and for testing: add recordings of it or move this file out"
        for cls in sorted(counts[counts == 1].index, key=str)
    ]


def build_catalog(rows, facts, windows=None, labels=None, tables=(), audio_dir=None, ignored=(), notes=None):
    """The catalog: the rows of :func:`file_table` plus audio facts, and its two summaries.

    Parameters
    ----------
    rows : list of list
        The rows of :func:`file_table`, columns :data:`TABLE_COLUMNS`.
    facts : dict
        Audio path → its entry of the spectrogram jobs' file facts
        (``file_facts.read_facts``): the duration, sample rate and channels.
    windows : dict or None
        The ``windows:`` section when recordings are cut into windows.
    labels : dict or None
        The ``labels:`` section (read for ``from: annotations``).
    tables : list of str
        Raven selection tables of the run (``from: annotations`` without a CSV).
    audio_dir : str or None
        The audio folder (Raven tables beside the recordings are matched there).
    ignored : collection of str
        Audio paths left out of the run (rejected): their annotation tables are skipped.
    notes : dict or None
        Filled by :func:`window_rows` (``dropped``, ``agreement``), when given.

    Returns
    -------
    catalog : pandas.DataFrame
        One row per clip: id, audio_path, class, class_id, author, split,
        duration, sample_rate, channels, sorted by id; with windows one row per
        labelled window, with window, start and end.
    classes : pandas.DataFrame
        class, class_id.
    summary : pandas.DataFrame
        Realised files (windows, when windowed) and authors per split and class.
    events : pandas.DataFrame or None
        With annotations, every annotated event (id, start, end, class).
    """
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS).astype({"class_id": int})
    missing = [path for path in table["audio_path"] if path not in facts]
    if missing:
        raise ValueError(
            f"{missing[0]}: not in the spectrogram jobs' facts tables (results/file_facts/), which are out of "
            "date; delete results/file_facts and run again"
        )
    entries = [facts[path] for path in table["audio_path"]]
    table["duration"] = [round(entry["duration"], 6) for entry in entries]
    table["sample_rate"] = [entry["sample_rate"] for entry in entries]
    table["channels"] = [entry["channels"] for entry in entries]
    sort, events = ["id"], None
    if windows is not None:
        exact = {clip: entry["duration"] for clip, entry in zip(table["id"], entries)}
        table, events = window_rows(table, exact, windows, labels or {}, tables, audio_dir, ignored, notes)
        sort = ["id", "window"]
    table = table.sort_values(sort, kind="stable").reset_index(drop=True)
    labels = labels or {}
    if labels.get("multi_label"):
        hot, ids = multi_hot(table, labels.get("background"))
        table = pd.concat([table.drop(columns="class_id"), hot], axis=1)
    else:
        ids = class_ids(table["class"])
        table["class_id"] = table["class"].map(ids).astype(int)
    classes = pd.DataFrame({"class": list(ids), "class_id": list(ids.values())})
    counted = one_row_per_class(table, labels.get("multi_label"), labels.get("background"))
    return table, classes, splits.split_summary(counted), events


def window_rows(table, durations, windows, labels, tables=(), audio_dir=None, ignored=(), notes=None):
    """One row per labelled window of every recording of ``table``.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per recording (id, audio_path, class, ...).
    durations : dict
        Recording id → exact length in seconds (as the spectrogram job reads it).
    windows : dict
        ``length``, ``hop``, ``last``.
    labels : dict
        The ``labels:`` section; with ``from: annotations`` the windows are
        labelled by time boxes (:func:`annotations.window_labels`), otherwise
        every window takes its recording's class; with ``background_ratio``
        the background windows of the train split are sampled
        (:func:`annotations.sample_background`, seeded by ``seed``, the split's).
    tables, audio_dir, ignored
        See :func:`build_catalog`.
    notes : dict or None
        When given, with annotations: ``dropped``, the windows that lost a second
        class to the one-class rule, and ``agreement``
        (:func:`annotations.agreement_table`).

    Returns
    -------
    rows : pandas.DataFrame
        The columns of ``table`` plus :data:`WINDOW_COLUMNS`; windows left
        out by the annotation rule are not listed.
    events : pandas.DataFrame or None
        With annotations, every event: id, start, end, class.
    """
    from spectrogram_math import window_bounds

    prefix = (audio_dir.rstrip("/") + "/") if audio_dir else ""
    relpaths = [path[len(prefix) :] for path in table["audio_path"]]
    events = None
    notes = {} if notes is None else notes
    if labels.get("from") == "annotations":
        source, root = annotations.annotation_source(labels, audio_dir)
        left_out = [path[len(prefix) :] for path in ignored if path.startswith(prefix)]
        events = annotations.events_by_recording(relpaths, source, list(tables), root, labels["raven_column"],
                                                 left_out)
        notes["agreement"] = annotations.agreement_table(events)
        annotations.check_durations(events, {rel: durations[clip] for rel, clip in zip(relpaths, table["id"])})
        if labels.get("multi_label"):
            annotations.check_multi_label_classes(events, labels.get("background"))

    out = []
    for (_, row), rel in zip(table.iterrows(), relpaths):
        bounds = window_bounds(durations[row["id"]], windows["length"], windows["hop"], windows["last"])
        if events is None:
            classes = [row["class"]] * len(bounds)
        else:
            classes = annotations.window_labels(bounds, events[rel], labels["min_overlap"], labels["background"],
                                                labels.get("multi_label", False), notes)
        for k, ((start, end), cls) in enumerate(zip(bounds, classes)):
            if cls is not None:
                out.append({**row.to_dict(), "class": cls, "window": k, "start": round(start, 6), "end": round(end, 6)})
    rows = pd.DataFrame(out, columns=list(table.columns) + WINDOW_COLUMNS)
    if events is not None and labels.get("background_ratio") is not None:
        rows = sampled_background(rows, labels["background"], labels["background_ratio"], labels.get("seed", 0))
    return rows, None if events is None else annotations.event_table(events, dict(zip(relpaths, table["id"])))


def sampled_background(rows, background, ratio, seed=0):
    """``rows`` with the background windows of the train split sampled (:func:`annotations.sample_background`).

    Val and test keep every window, so their metrics are measured on the windows as they come.
    """
    train = rows[rows["split"] == "train"]
    keys = [f"{clip}#{k}" for clip, k in zip(train["id"], train["window"])]
    keep = annotations.sample_background(list(train["class"]), keys, background, ratio, seed)
    dropped = train.index[[not k for k in keep]]
    return rows.drop(index=dropped).reset_index(drop=True)


def rejected_table(rejected):
    """The rejected files as a table: file, reason (sorted by file)."""
    return pd.DataFrame(sorted(rejected), columns=["file", "reason"])


def late_rejections(facts):
    """Files their spectrogram job rejected (``audio_processing.save_rejected``): audio path → reason.

    Parameters
    ----------
    facts : dict
        Audio path → entry of the spectrogram jobs' file facts (``file_facts.read_facts``).
    """
    return {path: entry["rejected"] for path, entry in facts.items() if entry["rejected"] is not None}


def main(rows, rejected, out, facts, windows=None, labels=None, tables=(), audio_dir=None, on_bad_audio="skip",
         log=None):
    """Build and write the catalog, classes, split summary and rejected-files tables; return :func:`label_noise`.

    ``facts`` are the spectrogram jobs' file-facts files (``file_facts``): the
    audio facts of every file, and the files a job rejected
    (``audio_processing.save_rejected``), which are left out and listed with the
    parse-time rejections; under ``on_bad_audio: fail`` they stop the job.
    Called by rule ``catalog`` in the Snakemake process: warnings, and an
    error's traceback, go to ``log`` (a path; ``None``: stderr).
    """
    if log is not None:
        from joblog import logged

        with logged(log) as stream:
            return write_catalog(rows, rejected, out, windows, labels, tables, audio_dir, facts, on_bad_audio,
                                 stream)
    return write_catalog(rows, rejected, out, windows, labels, tables, audio_dir, facts, on_bad_audio, sys.stderr)


def write_catalog(rows, rejected, out, windows, labels, tables, audio_dir, facts, on_bad_audio, log):
    """The body of :func:`main`; warnings go to the open file ``log``."""
    from audio_io import SILENT_REASON
    from file_facts import read_facts

    facts = read_facts(facts)
    late = late_rejections(facts)
    failing = {path: reason for path, reason in late.items() if reason != SILENT_REASON}
    if failing and on_bad_audio == "fail":
        path, reason = min(failing.items())
        raise ValueError(f"{path}: {reason}; fix or remove it, or set on_bad_audio: skip")
    rows = [row for row in rows if row[1] not in late]
    rejected = sorted(list(rejected) + [[path, reason] for path, reason in late.items()])
    notes = {}
    table, classes, summary, events = build_catalog(rows, facts, windows, labels, tables, audio_dir,
                                                    [path for path, _ in rejected], notes)
    labelled = labels or {}
    for message in splits.class_warnings(one_row_per_class(table, labelled.get("multi_label"),
                                                           labelled.get("background"))):
        print(f"warning: {message}", file=log)
    said = label_noise(notes)
    for message in said:
        print(f"warning: {message}", file=log)
    for name, frame in [
        ("catalog", table),
        ("classes", classes),
        ("summary", summary),
        ("rejected", rejected_table(rejected)),
        ("events", events),
        ("agreement", notes.get("agreement")),
    ]:
        if frame is None or name not in out.keys():
            continue
        write_csv(frame, out[name])
    return said


def label_noise(notes):
    """What the catalog tells the run about its annotations (:func:`window_rows`' notes): lines of text."""
    dropped = notes.get("dropped", 0)
    if not dropped:
        return []
    return [
        f"labels: {dropped} windows overlap events of two or more classes by min_overlap and keep only the class "
        "that overlaps them most; labels.multi_label: true keeps every class (docs/windows.md)"
    ]


def run_rule(input, output, params, log):
    """The body of rule ``catalog`` (``rules/catalog.smk``): its named fields, handed to :func:`main`.

    Returns the lines of :func:`label_noise`, for the run's log.
    """
    return main(
        params.files,
        params.rejected,
        output,
        list(input.facts),
        params.windows,
        params.labels,
        list(input.tables),
        params.audio_dir,
        params.on_bad_audio,
        log=log[0],
    )
