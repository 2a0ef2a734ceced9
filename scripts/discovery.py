"""The audio files of a folder: which there are, their ids, and which can be used.

:func:`discover_audio` lists a folder's audio files; :func:`file_id` and
:func:`index_files` give each its id (the path without extension, the name of
its spectrograms); :func:`check_files` says which cannot be used (their name,
or what a probe such as ``audio_io.check_audio`` finds), remembering each
file's result while it is unchanged.

Pure standard-library code: it runs every time Snakemake parses the
workflow, so it must stay cheap (no numpy, no librosa).
"""

import csv
import os

AUDIO_EXTENSIONS = (".wav", ".flac", ".aif", ".aiff", ".ogg", ".mp3")


class DuplicateIdError(ValueError):
    """Two audio files that would make the same spectrogram (``a.wav`` and ``a.flac``)."""


def discover_audio(audio_dir):
    """List the audio files under ``audio_dir``, recursively.

    Parameters
    ----------
    audio_dir : str
        Folder to search.

    Returns
    -------
    list of str
        Paths relative to ``audio_dir`` with ``/`` separators, sorted. Only
        files whose extension is one of :data:`AUDIO_EXTENSIONS` (any letter
        case) are kept; hidden files and hidden folders are skipped.
    """
    return discover_files(audio_dir, AUDIO_EXTENSIONS)


def discover_files(folder, extensions):
    """List the files under ``folder`` whose name ends with one of ``extensions`` (any letter case).

    Recursive; hidden files and folders are skipped. Paths are relative to
    ``folder``, with ``/`` separators, sorted.
    """
    found = []
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(folder, rel) if rel else folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                sub = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir():
                    stack.append(sub)
                elif entry.is_file() and entry.name.lower().endswith(tuple(extensions)):
                    found.append(sub)
    return sorted(found)


def file_id(relpath):
    """The id of a file: its relative path without the extension."""
    return os.path.splitext(relpath)[0]


def index_files(relpaths):
    """Map each file id to its relative path.

    Raises
    ------
    DuplicateIdError
        If two files share an id (``a.wav`` and ``a.flac`` in one folder).
    """
    index = {}
    for rel in relpaths:
        key = file_id(rel)
        if key in index:
            raise DuplicateIdError(
                f"{index[key]} and {rel} would both make spectrogram {key!r}: rename or remove one"
            )
        index[key] = rel
    return index


#: Characters a file name may not hold: a shell reads them even inside double quotes, or they end
#: the quoting (``$``, backtick, ``"``, ``\``), Python's quoting of a path switches on ``'``, and
#: Slurm reads ``%`` in names as a pattern. A cluster executor builds a shell line that holds file
#: names (the Slurm plugin's ``sbatch --wrap="..."``), so such a name could run a command there.
SHELL_CHARACTERS = "$`\"'\\%"


def name_problem(relpath):
    """Why a file name cannot be used, or ``None``.

    Control characters (newline, tab, ...) break tables and logs; braces are
    read by Snakemake as wildcards in file paths; :data:`SHELL_CHARACTERS`
    would reach a shell on a cluster.

    Examples
    --------
    >>> name_problem("birds/robin (2).wav") is None
    True
    >>> name_problem("hum/$(touch PWNED).wav")
    'the file name holds $, which a shell or Slurm reads (a cluster executor builds a shell command line of file names): rename the file'
    """
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in relpath):
        return "the file name holds a control character (newline, tab, ...): rename the file"
    if "{" in relpath or "}" in relpath:
        return "the file name holds { or }, which Snakemake reads as a wildcard: rename the file"
    found = [ch for ch in SHELL_CHARACTERS if ch in relpath]
    if found:
        return (
            f"the file name holds {' '.join(found)}, which a shell or Slurm reads (a cluster executor builds a "
            "shell command line of file names): rename the file"
        )
    return None


CHECKS_HEADER = ["relpath", "size", "mtime_ns", "reason", "seconds"]


def read_checks(cache_path, version):
    """Earlier check results: relative path → ``(size, mtime_ns, reason, seconds)``; empty if absent or stale."""
    try:
        with open(cache_path, newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            if next(rows, None) != [f"# checks {version}"] or next(rows, None) != CHECKS_HEADER:
                return {}
            return {rel: (int(size), int(mtime), reason, seconds) for rel, size, mtime, reason, seconds in rows}
    except (OSError, ValueError):
        return {}


def write_checks(cache_path, version, entries):
    """Write check results atomically (several Snakemake processes may parse at once)."""
    folder = os.path.dirname(cache_path) or "."
    os.makedirs(folder, exist_ok=True)
    tmp = f"{cache_path}.{os.getpid()}.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        rows = csv.writer(f)
        rows.writerow([f"# checks {version}"])
        rows.writerow(CHECKS_HEADER)
        rows.writerows([rel, *entry] for rel, entry in sorted(entries.items()))
    os.replace(tmp, cache_path)


def check_files(audio_dir, relpaths, probe, cache_path=None, version="", measure=None, measured=None):
    """Problems of the audio files of a run, each file checked once while it is unchanged.

    Parameters
    ----------
    audio_dir : str
        Folder of the files.
    relpaths : list of str
        Paths relative to ``audio_dir``.
    probe : callable
        ``probe(path)`` → reason (str) or ``None``, e.g.
        ``audio_processing.check_audio``.
    cache_path : str or None
        CSV remembering each file's size, modification time and result, so
        that only new or changed files are probed again.
    version : str
        Identifies the probe; a cache written by another version is ignored.
    measure : callable or None
        ``measure(path)`` → length in seconds (or ``None``) of a usable file,
        remembered with the check (e.g. ``audio_io.header_seconds``).
    measured : dict or None
        Filled with relative path → seconds for the usable files, when
        ``measure`` is given.

    Returns
    -------
    dict
        Relative path → reason, for the files that cannot be used.
    """
    cache = read_checks(cache_path, version) if cache_path else {}
    entries, problems = {}, {}
    for rel in relpaths:
        reason = name_problem(rel)
        if reason is None:
            stat = os.stat(os.path.join(audio_dir, rel))
            known = cache.get(rel)
            if known is not None and known[:2] == (stat.st_size, stat.st_mtime_ns):
                reason, seconds = known[2] or None, known[3]
            else:
                reason = probe(os.path.join(audio_dir, rel))
                seconds = measure(os.path.join(audio_dir, rel)) if measure and not reason else None
                seconds = "" if seconds is None else repr(float(seconds))
            entries[rel] = (stat.st_size, stat.st_mtime_ns, reason or "", seconds)
            if measured is not None and seconds:
                measured[rel] = float(seconds)
        if reason:
            problems[rel] = " ".join(reason.split())
    if cache_path and entries != cache:
        write_checks(cache_path, version, entries)
    return problems
