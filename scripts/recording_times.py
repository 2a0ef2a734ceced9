"""Where and when each recording was made: its site and start time, from its name or from a CSV.

Passive acoustic monitoring recorders write the start time (and often the
site) into the file name. ``recordings.pattern`` is a regular expression
searched in a recording's id (its path relative to the folder, without the
extension, ``/`` separators) with the named groups ``site`` and ``start``;
``recordings.time_format`` is the :func:`datetime.datetime.strptime` format of
``start``. Common conventions (``pattern``, then ``time_format``):

- AudioMoth, ``SITE3/20240501_053000.WAV`` (the site is the folder):
  ``(?P<site>[^/]+)/(?P<start>\\d{8}_\\d{6})$``, ``%Y%m%d_%H%M%S``;
- Wildlife Acoustics SM4, ``SITE3_20240501_053000.wav``:
  ``(?P<site>[^/]+)_(?P<start>\\d{8}_\\d{6})$``, ``%Y%m%d_%H%M%S``;
- SoundTrap, ``5783.240501053000.wav`` (``{serial}.{yymmddHHMMSS}``, the serial as site):
  ``(?P<site>\\d+)\\.(?P<start>\\d{12})$``, ``%y%m%d%H%M%S``.

Or ``recordings.csv``: a CSV of ``path`` (relative to the folder), ``site``
and ``start`` (ISO 8601, ``2024-05-01T05:30:00``). Times are kept as the
recorder wrote them (no time zone is assumed; ``%z`` in the format keeps an
offset). Standard library only: it runs at every Snakemake parse.
"""

import csv
import datetime
import re

#: The named groups of ``recordings.pattern`` that are read.
GROUPS = ("site", "start")


class RecordingNameError(ValueError):
    """A recording whose site or start cannot be read; the message names the file and the fix."""


def compile_pattern(pattern):
    """``recordings.pattern`` compiled, with at least one of the groups ``site`` and ``start``.

    Examples
    --------
    >>> compile_pattern(r"(?P<site>[^/]+)_(?P<start>\\d{8}_\\d{6})$").groupindex["start"]
    2
    """
    compiled = re.compile(pattern)
    if not set(GROUPS) & set(compiled.groupindex):
        raise RecordingNameError(f"recordings.pattern {pattern!r} has neither a (?P<site>…) nor a (?P<start>…) group")
    return compiled


def parse_start(text, time_format):
    """The start time written ``text`` in ``time_format``, or :class:`RecordingNameError`.

    Examples
    --------
    >>> parse_start("240501053000", "%y%m%d%H%M%S")
    datetime.datetime(2024, 5, 1, 5, 30)
    """
    try:
        return datetime.datetime.strptime(text, time_format)
    except ValueError as err:
        message = f"start {text!r} does not match recordings.time_format {time_format!r} ({err})"
        raise RecordingNameError(message) from None


def from_name(recording_id, pattern, time_format):
    """``(site, start)`` of one recording from its id, or None when the pattern does not match it.

    Parameters
    ----------
    recording_id : str
        The path relative to the folder without the extension, ``/`` separators.
    pattern : re.Pattern
        :func:`compile_pattern`.
    time_format : str
        strptime format of the ``start`` group.

    Returns
    -------
    tuple or None
        ``(site or None, datetime or None)``.

    Examples
    --------
    >>> from_name("SITE3_20240501_053000", compile_pattern(r"(?P<site>[^/]+)_(?P<start>\\d{8}_\\d{6})$"),
    ...           "%Y%m%d_%H%M%S")
    ('SITE3', datetime.datetime(2024, 5, 1, 5, 30))
    """
    match = pattern.search(recording_id)
    if match is None:
        return None
    groups = match.groupdict()
    start = groups.get("start")
    return groups.get("site"), parse_start(start, time_format) if start is not None else None


def read_table(path):
    """``path`` → ``(site, start)`` of a CSV with columns path, site and start (ISO 8601; either may be empty)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = {"path", "site", "start"} - set(reader.fieldnames or ())
        if missing:
            raise RecordingNameError(f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                                     "recordings.csv needs path, site, start")
        table = {}
        for line, row in enumerate(reader, start=2):
            start = (row["start"] or "").strip()
            try:
                start = datetime.datetime.fromisoformat(start) if start else None
            except ValueError:
                raise RecordingNameError(f"{path}, line {line}: start {start!r} is not an ISO 8601 date-time") from None
            table[row["path"].replace("\\", "/").strip()] = ((row["site"] or "").strip() or None, start)
    return table


def iso(moment):
    """A date-time as ISO 8601 to the millisecond (``''`` for None).

    Examples
    --------
    >>> iso(datetime.datetime(2024, 5, 1, 5, 30)), iso(None)
    ('2024-05-01T05:30:00.000', '')
    """
    return moment.isoformat(timespec="milliseconds") if moment is not None else ""


def recording_places(relpaths, settings, stem):
    """Site and start of every recording, by its relative path.

    Parameters
    ----------
    relpaths : list of str
        The recordings, relative to their folder.
    settings : dict
        ``recordings:`` (``pattern``, ``time_format``, ``csv``, ``unmatched``).
    stem : callable
        Relative path → id (the path without the extension), e.g. ``discovery.file_id``.

    Returns
    -------
    dict or None
        None when neither ``pattern`` nor ``csv`` is set; else relative path →
        ``{"site": str, "start": str}`` (ISO 8601, ``''`` when unknown).

    Raises
    ------
    RecordingNameError
        For the first recording (in path order) that the pattern does not match or the CSV does not
        list, under ``unmatched: fail``; for a start that does not parse, always.
    """
    if not settings.get("pattern") and not settings.get("csv"):
        return None
    if settings.get("csv"):
        table, source = read_table(settings["csv"]), f"recordings.csv {settings['csv']}"
        found = {rel: table.get(rel) for rel in relpaths}
    else:
        pattern, source = compile_pattern(settings["pattern"]), f"recordings.pattern {settings['pattern']!r}"
        found = {}
        for rel in relpaths:
            try:
                found[rel] = from_name(stem(rel), pattern, settings["time_format"])
            except RecordingNameError as err:
                raise RecordingNameError(f"{rel}: {err}") from None
    places = {}
    for rel in sorted(relpaths):
        if found[rel] is None and settings.get("unmatched", "fail") == "fail":
            raise RecordingNameError(f"{rel}: not matched by {source}; fix it, or set recordings.unmatched: empty")
        site, start = found[rel] or (None, None)
        places[rel] = {"site": site or "", "start": iso(start)}
    return places


def at(start, seconds):
    """``start`` (ISO 8601, or ``''``) plus ``seconds``, as ISO 8601 to the millisecond (``''`` when unknown).

    Examples
    --------
    >>> at("2024-05-01T23:59:59.000", 1.5), at("", 3.0)
    ('2024-05-02T00:00:00.500', '')
    """
    if not start:
        return ""
    return iso(datetime.datetime.fromisoformat(start) + datetime.timedelta(seconds=round(float(seconds), 3)))


def raven_time(start, seconds):
    """The ``Begin Date Time`` of a Raven table (``2024/05/01 05:30:01.500``) ``seconds`` after ``start`` (ISO 8601).

    Raven Pro's own tables write the same fields unpadded, with two spaces before the time
    (``2019/9/16  6:12:54.041``); the zero-padded form is read alike by Raven and by parsers that split
    date and time on whitespace, and it sorts as text.

    Examples
    --------
    >>> raven_time("2024-05-01T05:30:00.000", 1.5)
    '2024/05/01 05:30:01.500'
    """
    moment = datetime.datetime.fromisoformat(start) + datetime.timedelta(seconds=round(float(seconds), 3))
    return moment.strftime("%Y/%m/%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def hour_of(moment):
    """The hour an ISO 8601 date-time falls in, as ISO 8601 (``''`` for ``''``).

    Examples
    --------
    >>> hour_of("2024-05-01T05:59:59.999")
    '2024-05-01T05:00:00'
    """
    if not moment:
        return ""
    return datetime.datetime.fromisoformat(moment).replace(minute=0, second=0, microsecond=0).isoformat()
