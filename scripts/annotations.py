"""Time-box annotations of long recordings, and the class of each fixed window.

Two formats are read, both common in the field:

- a CSV with columns ``path`` (relative to ``audio_dir``), ``start``, ``end``
  (seconds) and ``class``, one row per event;
- Raven selection tables (tab-separated, ``Begin Time (s)``, ``End Time (s)``
  and a label column). A table belongs to the recording in its folder whose
  name (without extension) it starts with, ``rec1.Table.1.selections.txt`` →
  ``rec1.wav``, or names the recording in a ``Begin File`` column (then the
  event starts at ``File Offset (s)`` of that file when the column is there).
  A selection listed once per view (``Waveform 1``, ``Spectrogram 1``) counts once.

:func:`window_labels` gives each window the class of the event that overlaps it
most, when the overlap is at least ``min_overlap`` of the event or of the
window, whichever is shorter; a window that overlaps no event gets the
background class (or is left out), and a window that overlaps events only a
little is left out, never mislabelled.

Pure standard library and numpy.
"""

import csv
import os

import numpy as np

#: Columns of a Raven selection table that this module reads.
RAVEN_BEGIN, RAVEN_END = "Begin Time (s)", "End Time (s)"
RAVEN_FILE, RAVEN_OFFSET = "Begin File", "File Offset (s)"
RAVEN_SUFFIX = ".txt"
#: The optional column naming who drew a box: in a Raven table, and (lower case) in an annotation CSV.
RAVEN_ANNOTATOR, CSV_ANNOTATOR = "Annotator", "annotator"


class AnnotationError(ValueError):
    """A malformed annotation table; the message names the file, the line and the fix."""


def _number(value, where, column):
    """A table cell as a finite float, or :class:`AnnotationError` naming where it is."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise AnnotationError(f"{where}: {column} {value!r} is not a number") from None
    if not np.isfinite(number):
        raise AnnotationError(f"{where}: {column} {value!r} is not a finite number")
    return number


def _event(recording, start, end, label, where, annotator=None):
    """One checked event as a dict (start ≥ 0, end after start, a class; the annotator, or ``None``)."""
    if start < 0:
        raise AnnotationError(f"{where}: start {start:g} s is before the start of the recording")
    if end <= start:
        raise AnnotationError(f"{where}: end {end:g} s is not after start {start:g} s")
    if not label:
        raise AnnotationError(f"{where}: the class is empty")
    return {"recording": recording, "start": start, "end": end, "class": label, "where": where,
            "annotator": annotator or None}


def read_csv_table(path):
    """Events of an annotation CSV (``path, start, end, class``).

    Returns
    -------
    list of dict
        ``recording`` (the relative path as written, ``/`` separators),
        ``start``, ``end``, ``class`` and ``where`` (file and line, for errors).

    Raises
    ------
    AnnotationError
        For a missing column or a malformed row, naming the file and line.
    """
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"path", "start", "end", "class"} - set(reader.fieldnames or ())
        if missing:
            raise AnnotationError(
                f"{path}: missing column(s) {', '.join(sorted(missing))}; an annotation CSV needs path, start, end, class"
            )
        events = []
        for line, row in enumerate(reader, start=2):
            where = f"{path}, line {line}"
            start = _number(row["start"], where, "start")
            end = _number(row["end"], where, "end")
            recording = row["path"].replace("\\", "/").strip()
            annotator = (row.get(CSV_ANNOTATOR) or "").strip()
            events.append(_event(recording, start, end, (row["class"] or "").strip(), where, annotator))
    return events


def read_raven_table(path, column="Annotation"):
    """Events of one Raven selection table.

    Parameters
    ----------
    path : str
        The table (tab-separated).
    column : str
        The column holding the class.

    Returns
    -------
    list of dict
        As :func:`read_csv_table`; ``recording`` is the ``Begin File`` name
        (a file name, not a path) or ``None`` when the table has no such column.
    """
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f, delimiter="\t")
        fields = set(reader.fieldnames or ())
        missing = {RAVEN_BEGIN, RAVEN_END, column} - fields
        if missing:
            raise AnnotationError(
                f"{path}: missing column(s) {', '.join(sorted(missing))} of a Raven selection table "
                f"(the class column is labels.raven_column: {column!r})"
            )
        events, seen = [], set()
        for line, row in enumerate(reader, start=2):
            selection = row.get("Selection")
            if selection is not None and selection in seen:
                continue  # the same selection in another view
            seen.add(selection)
            where = f"{path}, line {line}"
            begin = _number(row[RAVEN_BEGIN], where, RAVEN_BEGIN)
            end = _number(row[RAVEN_END], where, RAVEN_END)
            recording = None
            if RAVEN_FILE in fields:
                recording = (row[RAVEN_FILE] or "").strip()
                if row.get(RAVEN_OFFSET) not in (None, ""):
                    offset = _number(row[RAVEN_OFFSET], where, RAVEN_OFFSET)
                    begin, end = offset, offset + (end - begin)
            annotator = (row.get(RAVEN_ANNOTATOR) or "").strip()
            events.append(_event(recording, begin, end, (row[column] or "").strip(), where, annotator))
    return events


def table_recording(table_relpath, relpaths):
    """The recording a Raven table belongs to by its name, or ``None``.

    The recording in the table's folder whose name without extension the
    table's name starts with, followed by a dot; the longest such name wins
    (``a.b.Table.1.selections.txt`` belongs to ``a.b.wav`` rather than ``a.wav``).
    """
    folder, name = os.path.split(table_relpath)
    best = None
    for rel in relpaths:
        rel_folder, rel_name = os.path.split(rel)
        stem = os.path.splitext(rel_name)[0]
        if rel_folder == folder and name.startswith(stem + ".") and (best is None or len(stem) > len(best[1])):
            best = (rel, stem)
    return best[0] if best else None


def annotation_source(labels, audio_dir):
    """Where the annotations of ``labels`` (the ``labels:`` section) are read: ``(source, root)``.

    ``source`` is the CSV of ``labels.annotations``, or ``'raven'`` for Raven
    tables; ``root`` the folder their names are matched against recordings in
    (the folder of tables, or the audio folder for tables beside the recordings).
    """
    path = labels.get("annotations")
    return (path if path and os.path.isfile(path) else "raven"), (path or audio_dir)


def events_by_recording(relpaths, source, tables, root=None, column="Annotation", ignored=()):
    """Every event of the run, grouped by the recording it belongs to (see :func:`read_annotations`)."""
    return read_annotations(relpaths, source, tables, root, column, ignored)[0]


def read_annotations(relpaths, source, tables, root=None, column="Annotation", ignored=()):
    """Every event of the run, grouped by the recording it belongs to, and the recordings that have a table.

    Parameters
    ----------
    relpaths : list of str
        The recordings, relative to the audio folder.
    source : str
        A CSV file, or ``'raven'`` for Raven tables.
    tables : list of str
        The Raven tables (paths), for ``source='raven'``.
    root : str or None
        Folder the tables' names are matched against recordings in (the
        audio folder when the tables lie beside the recordings, or the
        folder of tables; its subfolders mirror the audio folder's).
    column : str
        Raven's class column.
    ignored : collection of str
        Recordings left out of the run (rejected audio): their tables and
        events are skipped, not refused.

    Returns
    -------
    grouped : dict
        Relative path → list of events (see :func:`read_csv_table`).
    annotated : set of str
        The recordings of ``relpaths`` that a table belongs to (by its name or
        a ``Begin File`` row), or that the CSV lists: the others have no table.

    Raises
    ------
    AnnotationError
        For a table or an event that names no recording of the run.
    """
    known, ignored = set(relpaths), set(ignored)
    by_name = {}
    for rel in [*relpaths, *ignored]:
        by_name.setdefault(os.path.basename(rel), []).append(rel)
    grouped = {rel: [] for rel in relpaths}
    annotated = set()
    if source != "raven":
        for event in read_csv_table(source):
            if event["recording"] in ignored:
                continue
            if event["recording"] not in known:
                raise AnnotationError(
                    f"{event['where']}: unknown recording {event['recording']!r} (path must be relative to audio_dir)"
                )
            grouped[event["recording"]].append(event)
            annotated.add(event["recording"])
        return grouped, annotated
    candidates = [*relpaths, *ignored]
    for table in tables:
        rel_table = os.path.relpath(table, root) if root else os.path.basename(table)
        owner = table_recording(rel_table.replace(os.sep, "/"), candidates)
        if owner in ignored:
            continue
        events = read_raven_table(table, column)
        annotated.add(owner)
        for event in events:
            target = owner
            if event["recording"] is not None:
                matches = by_name.get(event["recording"], [])
                if len(matches) != 1:
                    reason = "no recording" if not matches else f"{len(matches)} recordings"
                    raise AnnotationError(
                        f"{event['where']}: Begin File {event['recording']!r} names {reason} of the run"
                    )
                target = matches[0]
                if target in ignored:
                    continue
            if target is None:
                raise AnnotationError(
                    f"{table}: unknown recording: name the table after its recording (rec1.Table.1.selections.txt "
                    "beside rec1.wav) or add a Begin File column"
                )
            grouped[target].append(event)
            annotated.add(target)
    annotated.discard(None)
    return grouped, annotated


def unannotated(relpaths, annotated, policy):
    """The recordings without a table, and what ``labels.unannotated`` (``policy``) does with them.

    Parameters
    ----------
    relpaths : list of str
        The recordings of the run.
    annotated : set of str
        Those a table belongs to (:func:`read_annotations`).
    policy : {'background', 'skip'} or None
        ``skip`` leaves them out, ``background`` keeps them (every window
        background), ``None`` refuses them.

    Returns
    -------
    list of str
        The recordings to leave out (``skip``), in the order of ``relpaths``.

    Raises
    ------
    AnnotationError
        With ``policy`` None and a recording without a table: one line naming how
        many, the first, and the key to set.

    Examples
    --------
    >>> unannotated(["a.wav", "b.wav"], {"a.wav"}, "skip")
    ['b.wav']
    >>> unannotated(["a.wav", "b.wav"], {"a.wav"}, "background")
    []
    """
    missing = [rel for rel in relpaths if rel not in annotated]
    if missing and policy is None:
        raise AnnotationError(
            f"{len(missing)} of {len(relpaths)} recordings have no annotation table (e.g. {missing[0]}); "
            "set labels.unannotated: background (their windows are all background) or skip (leave them out)"
        )
    return missing if policy == "skip" else []


def check_durations(grouped, durations, tolerance=0.01):
    """Refuse events that end after their recording does (beyond ``tolerance`` seconds).

    A recording whose length ``durations`` does not hold (its header does not say) is not checked.

    Raises
    ------
    AnnotationError
        Naming the table, line, event end and recording length.
    """
    for rel, events in grouped.items():
        for event in events:
            if durations.get(rel) is not None and event["end"] > durations[rel] + tolerance:
                raise AnnotationError(
                    f"{event['where']}: end {event['end']:g} s is past the end of {rel} ({durations[rel]:g} s)"
                )


def check_multi_label_classes(grouped, background=None):
    """Refuse, for ``labels.multi_label``, an event class that holds ``;`` or is the background name.

    Raises
    ------
    AnnotationError
        Naming the table and line.
    """
    from labelling import LabelError, check_class_name

    for events in grouped.values():
        for event in events:
            try:
                check_class_name(event["class"], event["where"])
            except LabelError as err:
                raise AnnotationError(str(err)) from None
            if event["class"] == background:
                raise AnnotationError(
                    f"{event['where']}: class {background!r} is also labels.background, the name of windows with "
                    "no class under labels.multi_label; rename the class or set another labels.background"
                )


def window_labels(bounds, events, min_overlap=0.5, background="background", multi_label=False, counts=None):
    """The class of each window of one recording, or ``None`` for a window left out.

    With ``multi_label`` a window takes every class with an event that
    overlaps it by ``min_overlap`` (the classes joined by
    :func:`labelling.join_classes`), not only the one that overlaps it most;
    the rest of the rule is the same.

    Parameters
    ----------
    bounds : np.ndarray
        ``(n_windows, 2)`` start and end of each window, seconds.
    events : list of dict
        The recording's events (``start``, ``end``, ``class``).
    min_overlap : float
        Least overlap, as a fraction of the event or of the window (whichever
        is shorter), for a window to take an event's class.
    background : str or None
        Class of windows that overlap no event; ``None`` leaves them out.
    multi_label : bool
        Every class that overlaps the window enough, not only the most.
    counts : dict or None
        When given, ``counts['dropped']`` is raised by the windows that, with one
        class per window, drop another class that overlaps them by ``min_overlap``.

    Returns
    -------
    list of str or None

    Examples
    --------
    >>> import numpy as np
    >>> bounds = np.array([[0.0, 2.0], [1.0, 3.0], [2.0, 4.0], [3.0, 5.0]])
    >>> window_labels(bounds, [{"start": 1.2, "end": 1.8, "class": "owl"}, {"start": 3.9, "end": 5.0, "class": "jay"}])
    ['owl', 'owl', None, 'jay']
    >>> window_labels(bounds, [{"start": 0.5, "end": 2.5, "class": "owl"}, {"start": 1.5, "end": 2.2, "class": "jay"}],
    ...               multi_label=True)
    ['jay;owl', 'jay;owl', None, 'background']
    """
    from labelling import join_classes

    labels = []
    for start, end in bounds:
        best, best_overlap, touched, enough = None, 0.0, False, set()
        for event in events:
            overlap = min(end, event["end"]) - max(start, event["start"])
            if overlap <= 0:
                continue
            touched = True
            fraction = overlap / min(end - start, event["end"] - event["start"])
            if fraction >= min_overlap - 1e-9:
                enough.add(event["class"])
                if overlap > best_overlap:
                    best, best_overlap = event["class"], overlap
        if multi_label:
            best = join_classes(enough) if enough else None
        elif counts is not None and len(enough) > 1:
            counts["dropped"] = counts.get("dropped", 0) + 1
        labels.append(best if best is not None else (None if touched else background))
    return labels


def event_table(grouped, ids):
    """Every event as a table: id (of its recording), start, end, class.

    Parameters
    ----------
    grouped : dict
        Relative path → events (:func:`events_by_recording`).
    ids : dict
        Relative path → recording id.
    """
    import pandas as pd

    rows = [(ids[rel], e["start"], e["end"], e["class"]) for rel, events in grouped.items() for e in events]
    return pd.DataFrame(rows, columns=["id", "start", "end", "class"]).sort_values(["id", "start"], kind="stable")


def overlapping_pairs(events):
    """Pairs ``(i, j)``, ``i < j``, of the events of one recording whose boxes overlap in time (by more than 0 s)."""
    order = sorted(range(len(events)), key=lambda i: events[i]["start"])
    pairs = []
    for n, i in enumerate(order):
        for j in order[n + 1 :]:
            if events[j]["start"] >= events[i]["end"]:
                break
            pairs.append((min(i, j), max(i, j)))
    return pairs


#: Columns of :func:`agreement_table`.
AGREEMENT_COLUMNS = ["class", "boxes", "other_class", "annotator_a", "annotator_b", "both", "only_a", "only_b",
                     "agreement"]


def agreement_table(grouped):
    """How the annotators' boxes agree, per class, and how many boxes overlap a box of another class.

    Two boxes overlap when they share any time of one recording. For every class
    and pair of annotators A < B (by name) who both drew boxes in a recording,
    counted over those recordings: ``both``, A's boxes of the class that
    overlap a box of the class by B; ``only_a``, A's that overlap none;
    ``only_b``, B's that overlap none of A's; ``agreement`` = both / (both +
    only_a + only_b). ``other_class`` counts the class's boxes (any annotator)
    that overlap a box of another class. A class without a pair of annotators
    gets one row with the annotator columns empty.

    Parameters
    ----------
    grouped : dict
        Relative path → events (:func:`read_annotations`), with ``annotator``.

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`AGREEMENT_COLUMNS`, sorted by class and annotators.

    Examples
    --------
    >>> boxes = [(0, 1, "owl", "ann"), (0.5, 1.5, "owl", "bob"), (3, 4, "owl", "ann"), (3.5, 4, "jay", "bob")]
    >>> events = [{"start": a, "end": b, "class": c, "annotator": w} for a, b, c, w in boxes]
    >>> agreement_table({"r.wav": events}).values.tolist()
    [['jay', 1, 1, 'ann', 'bob', 0, 0, 1, 0.0], ['owl', 3, 1, 'ann', 'bob', 1, 1, 0, 0.5]]
    """
    import pandas as pd

    boxes, other, tally = {}, {}, {}
    for events in grouped.values():
        same_class = {i: set() for i in range(len(events))}  # annotators of overlapping boxes of the same class
        touched_other = set()
        for i, j in overlapping_pairs(events):
            if events[i]["class"] == events[j]["class"]:
                same_class[i].add(events[j]["annotator"])
                same_class[j].add(events[i]["annotator"])
            else:
                touched_other |= {i, j}
        annotators = sorted({e["annotator"] for e in events if e["annotator"] is not None})
        for i, event in enumerate(events):
            cls = event["class"]
            boxes[cls] = boxes.get(cls, 0) + 1
            other[cls] = other.get(cls, 0) + (i in touched_other)
            mine = event["annotator"]
            for peer in annotators:
                if mine is None or peer == mine:
                    continue
                pair = (cls, min(mine, peer), max(mine, peer))
                counts = tally.setdefault(pair, [0, 0, 0])
                if peer in same_class[i]:
                    counts[0] += mine < peer  # a match counts once, on A's side
                else:
                    counts[1 if mine < peer else 2] += 1
    rows = []
    for cls in sorted(boxes):
        pairs = sorted(pair for pair in tally if pair[0] == cls)
        if not pairs:
            rows.append([cls, boxes[cls], other[cls], "", "", None, None, None, None])
        for pair in pairs:
            both, only_a, only_b = tally[pair]
            total = both + only_a + only_b
            rows.append([cls, boxes[cls], other[cls], pair[1], pair[2], both, only_a, only_b,
                         round(both / total, 4) if total else None])
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS).astype({"both": "Int64", "only_a": "Int64", "only_b": "Int64"})


def agreement_summary(table):
    """One line saying what :func:`agreement_table` found, or ``None`` when no boxes overlap or disagree."""
    overlapping = int(table["other_class"].sum())
    paired = table[table["annotator_a"] != ""]
    parts = []
    if len(paired):
        names = sorted(set(paired["annotator_a"]) | set(paired["annotator_b"]))
        parts.append(
            f"{len(names)} annotators ({', '.join(names)}): {int(paired['both'].sum())} boxes matched by the other "
            f"annotator, {int(paired['only_a'].sum() + paired['only_b'].sum())} drawn by one only"
        )
    if overlapping:
        parts.append(f"{overlapping} boxes overlap a box of another class")
    return "; ".join(parts) or None


def _rank(seed, key):
    """A stable pseudo-random rank of ``key`` under ``seed`` (the same in every run and process)."""
    import hashlib

    return hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()


def sample_background(classes, keys, background, ratio, seed=0):
    """Which windows to keep when background windows are sampled: every other window, and at most
    ``ratio`` background windows per other window.

    The background windows kept are those of lowest stable rank (a hash of
    ``seed`` and the window's key), so the choice does not depend on the
    order of the windows, and adding windows changes it little.

    Parameters
    ----------
    classes : list of str
        Each window's class text.
    keys : list of str
        A stable name of each window (``{id}#{window}``).
    background : str or None
        The background class; ``None`` (no background windows) keeps all.
    ratio : float or None
        At most this many background windows per other window; ``None`` keeps all.
    seed : int
        Seed of the ranks.

    Returns
    -------
    list of bool

    Examples
    --------
    >>> sample_background(["bg", "owl", "bg", "bg"], ["a#0", "a#1", "a#2", "a#3"], "bg", 1.0).count(True)
    2
    """
    keep = [True] * len(classes)
    if ratio is None or background is None:
        return keep
    idle = [i for i, cls in enumerate(classes) if cls == background]
    quota = int(ratio * (len(classes) - len(idle)) + 1e-9)
    if len(idle) <= quota:
        return keep
    kept = set(sorted(idle, key=lambda i: _rank(seed, keys[i]))[:quota])
    for i in idle:
        keep[i] = i in kept
    return keep
