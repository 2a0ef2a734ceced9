"""Detections from the scores of fixed windows, and how well they match annotated events.

A model trained on windows of long recordings scores every window. A run of
windows of one class becomes one *selection* (start, end, class, score: the
run's highest), as in a Raven selection table:

- single-label models (one class per window, the argmax of a softmax): a run is
  consecutive windows of the same class, every class but the background
  (:func:`merge_detections`);
- multi-label models (overlapping sounds, one score per class): each class on
  its own, its windows scoring at least its threshold (:func:`class_runs`,
  :func:`multilabel_detections`); selections of different classes may overlap.

:func:`split_detections` does either for the evaluated windows of many
recordings, and :func:`event_metrics` counts, against the annotated events,
the events caught (recall) and the detections that are right (precision), as
bioacousticians report them.

numpy and pandas only.
"""

import numpy as np
import pandas as pd

#: Columns of a table of detections (:func:`split_detections`).
DETECTION_COLUMNS = ["id", "start", "end", "class", "score"]


def _runs(starts, ends, scores, breaks):
    """Merge windows into runs: the first window of each run, and each run's end and highest score.

    A window (in start order) opens a new run where ``breaks`` is True, or where it starts after every
    earlier window of the current run has ended; otherwise it joins the run (``start <= end`` so far).
    ``breaks[0]`` must be True.
    """
    if len(starts) == 0:
        return np.zeros(0, dtype=int), np.zeros(0), np.zeros(0)
    segment = np.cumsum(breaks)
    reach = pd.Series(ends).groupby(segment).cummax().groupby(segment).shift().to_numpy()  # NaN at a break
    first = np.flatnonzero(breaks | (starts > reach))
    return first, np.maximum.reduceat(ends, first), np.maximum.reduceat(scores, first)


def _selections(starts, ends, labels, scores, duration=None):
    """``[(start, end, class, score), ...]`` as plain Python values, ends clipped to ``duration`` when given."""
    if duration is not None:
        ends = np.minimum(ends, duration)
    return [(float(s), float(e), str(c), float(p)) for s, e, c, p in zip(starts, ends, labels, scores)]


def class_runs(starts, ends, scores, threshold, label, duration=None):
    """The selections of one class: its windows scoring at least ``threshold``, merged where they overlap or touch.

    In start order, a window at or above the threshold joins the current selection when it starts before or
    when that selection ends, else it opens a new one; windows below the threshold neither join nor split a
    selection, so two selections of the class never overlap, whatever the hop.

    Parameters
    ----------
    starts, ends : np.ndarray
        ``(N,)`` bounds of the windows of one recording, in seconds (any order).
    scores : np.ndarray
        ``(N,)`` the class's score in each window.
    threshold : float
        Least score of a window that counts as a detection.
    label : str
        The class.
    duration : float or None
        Length of the recording: a selection never ends after it.

    Returns
    -------
    list of tuple
        ``(start, end, class, score)`` in start order, the score being the selection's highest.

    Examples
    --------
    >>> class_runs([0.0, 1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 5.0, 6.0], [0.9, 0.7, 0.2, 0.1, 0.8], 0.5, "owl",
    ...            duration=5.5)
    [(0.0, 3.0, 'owl', 0.9), (4.0, 5.5, 'owl', 0.8)]
    """
    starts, ends, scores = (np.asarray(a, dtype=np.float64) for a in (starts, ends, scores))
    order = np.argsort(starts, kind="stable")
    hits = order[scores[order] >= threshold]
    breaks = np.zeros(len(hits), dtype=bool)
    breaks[:1] = True
    first, end, score = _runs(starts[hits], ends[hits], scores[hits], breaks)
    return _selections(starts[hits][first], end, [label] * len(first), score, duration)


def merge_detections(rows, threshold=0.5, background=None, duration=None):
    """Selections from one recording's window rows: runs of consecutive windows of one class.

    Parameters
    ----------
    rows : pandas.DataFrame
        The recording's rows of :func:`predict.window_table` (``start``, ``end``, ``predicted``, ``score``),
        in window order.
    threshold : float
        Least score of a window that counts as a detection.
    background : str or None
        The class that is no detection (the background class of training).
    duration : float or None
        Length of the recording: a selection never ends after it.

    Returns
    -------
    list of tuple
        ``(start, end, class, score)``, the score being the run's highest.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"start": [0.0, 1.0, 2.0, 3.0], "end": [2.0, 3.0, 4.0, 5.0],
    ...                      "predicted": ["owl", "owl", "background", "owl"], "score": [0.9, 0.7, 0.8, 0.4]})
    >>> merge_detections(rows, threshold=0.5, background="background")
    [(0.0, 3.0, 'owl', 0.9)]
    """
    starts, ends, scores = (rows[c].to_numpy(dtype=np.float64) for c in ("start", "end", "score"))
    labels = rows["predicted"].to_numpy(dtype=object)
    hit = (scores >= threshold) & (labels != background)
    # a run goes on only from a window that is a detection of the same class: anything else ends it
    goes_on = np.r_[False, hit[:-1] & (labels[1:] == labels[:-1])]
    hits = np.flatnonzero(hit)
    first, end, score = _runs(starts[hits], ends[hits], scores[hits], ~goes_on[hits])
    return _selections(starts[hits][first], end, labels[hits][first], score, duration)


def multilabel_detections(starts, ends, scores, classes, thresholds, duration=None):
    """The selections of every class of one recording (:func:`class_runs`), sorted by start then class.

    Parameters
    ----------
    starts, ends : np.ndarray
        ``(N,)`` window bounds in seconds.
    scores : np.ndarray
        ``(N, C)`` the score of each class in each window.
    classes : list of str
        The ``C`` class names.
    thresholds : np.ndarray
        ``(C,)`` least score of a detection of each class.
    duration : float or None
        Length of the recording: a selection never ends after it.

    Returns
    -------
    list of tuple
        ``(start, end, class, score)``; selections of different classes may overlap in time.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[0.9, 0.1], [0.8, 0.7], [0.1, 0.9]])  # an owl, and a jay calling over its end
    >>> multilabel_detections([0.0, 1.0, 2.0], [2.0, 3.0, 4.0], scores, ["owl", "jay"], [0.5, 0.5])
    [(0.0, 3.0, 'owl', 0.9), (1.0, 4.0, 'jay', 0.9)]
    """
    scores = np.asarray(scores)
    selections = [
        selection
        for i, label in enumerate(classes)
        for selection in class_runs(starts, ends, scores[:, i], thresholds[i], label, duration)
    ]
    return sorted(selections, key=lambda selection: (selection[0], selection[2]))


def split_detections(recordings, times, scores, classes, thresholds=None, background=None):
    """The detections of the evaluated windows of many recordings, as a table.

    Parameters
    ----------
    recordings : np.ndarray
        ``(N,)`` recording id of each window.
    times : np.ndarray
        ``(N, 2)`` start and end of each window, in seconds.
    scores : np.ndarray
        ``(N, C)`` the model's scores.
    classes : list of str
        The ``C`` class names.
    thresholds : np.ndarray or None
        None for a single-label model: each window is of its highest-scoring class, every window that is
        not ``background`` is a detection, and consecutive windows of a class merge
        (:func:`merge_detections` with threshold 0). ``(C,)`` for a multi-label model: the threshold of each
        class (:func:`multilabel_detections`).
    background : str or None
        The class that is no detection (single-label only).

    Returns
    -------
    pandas.DataFrame
        ``id``, ``start``, ``end``, ``class``, ``score``: by recording id, then as the selections come.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[0.8, 0.2], [0.3, 0.7], [0.9, 0.1], [0.6, 0.4]])
    >>> split_detections(np.array(["b", "a", "a", "a"]), np.array([[0, 2], [2, 4], [0, 2], [1, 3]]), scores,
    ...                  ["owl", "background"], background="background")
      id  start  end class  score
    0  a    0.0  3.0   owl    0.9
    1  b    0.0  2.0   owl    0.8
    """
    recordings, times, scores = np.asarray(recordings), np.asarray(times, dtype=np.float64), np.asarray(scores)
    names = np.asarray(classes, dtype=object)
    parts = []
    for recording, rows in pd.Series(np.arange(len(recordings))).groupby(recordings, sort=True):
        rows = rows.to_numpy()[np.argsort(times[rows.to_numpy(), 0], kind="stable")]
        starts, ends = times[rows, 0], times[rows, 1]
        if thresholds is None:
            best = scores[rows].argmax(axis=1)
            window_rows = pd.DataFrame(
                {"start": starts, "end": ends, "predicted": names[best], "score": scores[rows, best]}
            )
            selections = merge_detections(window_rows, threshold=0.0, background=background)
        else:
            selections = multilabel_detections(starts, ends, scores[rows], classes, thresholds)
        parts.extend((recording, *selection) for selection in selections)
    return pd.DataFrame(parts, columns=DETECTION_COLUMNS)


def _overlapped(intervals, others):
    """Whether each row of ``intervals`` overlaps (by more than 0 s) a row of ``others`` of its id and class.

    Sort-based, per (id, class): for each interval, the row of ``others`` that starts last before the interval
    ends (:func:`pandas.merge_asof`) carries the latest end of all rows starting so far; they overlap when that
    end is after the interval's start. O((n + m) log(n + m)), whatever the number of recordings.
    """
    keys = ["id", "class"]
    if len(intervals) == 0 or len(others) == 0:
        return np.zeros(len(intervals), dtype=bool)

    def table(frame):
        frame = frame[keys + ["start", "end"]].astype({"id": str, "class": str, "start": float, "end": float})
        return frame.reset_index(drop=True)

    left = table(intervals).assign(row=np.arange(len(intervals))).sort_values("end", kind="stable")
    right = table(others).sort_values("start", kind="stable")
    right["reach"] = right.groupby(keys, sort=False)["end"].cummax()
    matched = pd.merge_asof(left, right[keys + ["start", "reach"]].rename(columns={"start": "other_start"}),
                            left_on="end", right_on="other_start", by=keys, allow_exact_matches=False)
    overlapped = np.zeros(len(intervals), dtype=bool)
    overlapped[matched["row"].to_numpy()] = (matched["reach"] > matched["start"]).to_numpy()
    return overlapped


def event_metrics(events, detections):
    """Event-level recall and precision of detections against annotated events.

    An event is caught when a detection of its class on its recording overlaps it; a detection is correct
    when it overlaps an event of its class on its recording (an overlap of more than 0 s: touching ends do
    not count). A detection of another class overlapping an event is neither.

    Parameters
    ----------
    events : pandas.DataFrame
        ``id``, ``start``, ``end``, ``class``: the annotated events (e.g. those of the test split's recordings).
    detections : pandas.DataFrame
        ``id``, ``start``, ``end``, ``class`` (``score`` and other columns are not read), e.g.
        :func:`split_detections`.

    Returns
    -------
    dict or None
        None when there is no event, else ``events``, ``caught``, ``recall``, ``detections``, ``correct``
        and ``precision`` (None when there is no detection).

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"id": ["a", "a"], "start": [1.0, 4.0], "end": [2.0, 5.0], "class": ["owl", "jay"]})
    >>> found = pd.DataFrame({"id": ["a", "a"], "start": [0.0, 4.5], "end": [1.5, 6.0], "class": ["owl", "owl"]})
    >>> event_metrics(events, found)  # the second owl is where the jay is: wrong, and the jay is missed
    {'events': 2, 'caught': 1, 'recall': 0.5, 'detections': 2, 'correct': 1, 'precision': 0.5}
    """
    if len(events) == 0:
        return None
    caught = int(_overlapped(events, detections).sum())
    correct = int(_overlapped(detections, events).sum())
    return {
        "events": int(len(events)),
        "caught": caught,
        "recall": caught / len(events),
        "detections": int(len(detections)),
        "correct": correct,
        "precision": correct / len(detections) if len(detections) else None,
    }


def per_class_event_metrics(events, detections):
    """:func:`event_metrics` of each class of the events or the detections (None for a class with no event).

    Examples
    --------
    >>> import pandas as pd
    >>> events = pd.DataFrame({"id": ["a"], "start": [1.0], "end": [2.0], "class": ["owl"]})
    >>> found = pd.DataFrame({"id": ["a", "a"], "start": [1.5, 3.0], "end": [2.5, 4.0], "class": ["owl", "jay"]})
    >>> per_class_event_metrics(events, found)
    {'jay': None, 'owl': {'events': 1, 'caught': 1, 'recall': 1.0, 'detections': 1, 'correct': 1, 'precision': 1.0}}
    """
    classes = sorted(set(events["class"].astype(str)) | set(detections["class"].astype(str)))
    return {
        name: event_metrics(events[events["class"].astype(str) == name],
                            detections[detections["class"].astype(str) == name])
        for name in classes
    }


def per_hour(detections, hour_of):
    """How many detections each site has of each class in each hour.

    Parameters
    ----------
    detections : pandas.DataFrame
        ``class``, and ``site`` and ``begin_datetime`` (ISO 8601) when known (``predict.detection_table``).
    hour_of : callable
        ISO 8601 date-time → the hour it falls in (``recording_times.hour_of``; ``''`` for ``''``).

    Returns
    -------
    pandas.DataFrame
        ``site``, ``class``, ``hour``, ``detections``, sorted by site, hour and class; a site or hour that is not
        known is ``''``.

    Examples
    --------
    >>> import pandas as pd
    >>> found = pd.DataFrame({"class": ["owl", "owl", "jay"], "site": ["S1", "S1", "S1"],
    ...                       "begin_datetime": ["2024-05-01T05:10:00", "2024-05-01T05:50:00", "2024-05-01T06:00:00"]})
    >>> per_hour(found, lambda t: t[:13] + ":00:00").to_dict("list")["detections"]
    [2, 1]
    """
    frame = pd.DataFrame(
        {
            "site": detections["site"].astype(str) if "site" in detections else "",
            "class": detections["class"].astype(str),
            "hour": detections["begin_datetime"].astype(str).map(hour_of) if "begin_datetime" in detections else "",
        },
        index=detections.index,
    )
    counts = frame.groupby(["site", "hour", "class"], sort=True).size().rename("detections").reset_index()
    return counts[["site", "class", "hour", "detections"]]
