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


def _event(recording, start, end, label, where):
    """One checked event as a dict (start ≥ 0, end after start, a class)."""
    if start < 0:
        raise AnnotationError(f"{where}: start {start:g} s is before the start of the recording")
    if end <= start:
        raise AnnotationError(f"{where}: end {end:g} s is not after start {start:g} s")
    if not label:
        raise AnnotationError(f"{where}: the class is empty")
    return {"recording": recording, "start": start, "end": end, "class": label, "where": where}


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
            events.append(_event(recording, start, end, (row["class"] or "").strip(), where))
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
            events.append(_event(recording, begin, end, (row[column] or "").strip(), where))
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


def events_by_recording(relpaths, source, tables, root=None, column="Annotation"):
    """Every event of the run, grouped by the recording it belongs to.

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

    Returns
    -------
    dict
        Relative path → list of events (see :func:`read_csv_table`).

    Raises
    ------
    AnnotationError
        For a table or an event that names no recording of the run.
    """
    known = set(relpaths)
    by_name = {}
    for rel in relpaths:
        by_name.setdefault(os.path.basename(rel), []).append(rel)
    grouped = {rel: [] for rel in relpaths}
    if source != "raven":
        for event in read_csv_table(source):
            if event["recording"] not in known:
                raise AnnotationError(
                    f"{event['where']}: unknown recording {event['recording']!r} (path must be relative to audio_dir)"
                )
            grouped[event["recording"]].append(event)
        return grouped
    for table in tables:
        events = read_raven_table(table, column)
        rel_table = os.path.relpath(table, root) if root else os.path.basename(table)
        owner = table_recording(rel_table.replace(os.sep, "/"), relpaths)
        for event in events:
            target = owner
            if event["recording"] is not None:
                matches = by_name.get(event["recording"], [])
                if len(matches) != 1:
                    reason = "no recording" if not matches else f"{len(matches)} recordings"
                    raise AnnotationError(f"{event['where']}: Begin File {event['recording']!r} names {reason} of the run")
                target = matches[0]
            if target is None:
                raise AnnotationError(
                    f"{table}: unknown recording: name the table after its recording (rec1.Table.1.selections.txt "
                    "beside rec1.wav) or add a Begin File column"
                )
            grouped[target].append(event)
    return grouped


def check_durations(grouped, durations, tolerance=0.01):
    """Refuse events that end after their recording does (beyond ``tolerance`` seconds).

    Raises
    ------
    AnnotationError
        Naming the table, line, event end and recording length.
    """
    for rel, events in grouped.items():
        for event in events:
            if event["end"] > durations[rel] + tolerance:
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


def window_labels(bounds, events, min_overlap=0.5, background="background", multi_label=False):
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
