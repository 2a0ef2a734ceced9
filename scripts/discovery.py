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
import re
import time

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

    Recursive; hidden files and folders are skipped, and so are links to
    folders (a link to ``.`` would loop, a link to another folder would
    bring its recordings in twice under new ids). Links to files are
    followed. Paths are relative to ``folder``, with ``/`` separators, sorted.
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
                if entry.is_dir(follow_symlinks=False):
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


def id_clashes(relpaths, suffixes=(".npy", ".png")):
    """Files whose spectrograms would overwrite, or be confused with, another file's.

    Two files clash when their ids are equal once letter case and Unicode
    normalisation are ignored (``x.wav`` and ``x.flac``; ``Bark/a.wav`` and
    ``bark/a.wav``, one file on a case-insensitive file system; ``é`` composed
    and decomposed), or when one file's spectrogram would be a folder of the
    other's (``a.wav`` beside a folder ``a.npy/``).

    Returns
    -------
    dict
        Relative path → reason, for every file of every clash (none is chosen
        over the others).
    """
    import unicodedata

    def fold(text):
        return unicodedata.normalize("NFC", text).casefold()

    groups = {}
    for rel in relpaths:
        groups.setdefault(fold(file_id(rel)), []).append(rel)
    clashes = {}
    for members in groups.values():
        if len(members) > 1:
            for rel in members:
                others = ", ".join(other for other in members if other != rel)
                clashes[rel] = (
                    f"its spectrogram would be the same file as that of {others} (names that differ only in letter "
                    "case, Unicode form or extension): rename one"
                )
    folded = {fold(file_id(rel)): rel for rel in relpaths}
    for rel in relpaths:
        parts = fold(file_id(rel)).split("/")
        for depth in range(1, len(parts)):
            prefix = "/".join(parts[:depth])
            for suffix in suffixes:
                if prefix.endswith(suffix) and prefix[: -len(suffix)] in folded:
                    other = folded[prefix[: -len(suffix)]]
                    reason = f"its folder has the name of the spectrogram of {other}: rename the folder"
                    clashes[rel] = reason
                    clashes[other] = f"its spectrogram would have the name of the folder of {rel}: rename one"
    return clashes


#: Characters a file name may not hold: a shell reads them even inside double quotes, or they end
#: the quoting (``$``, backtick, ``"``, ``\``), Python's quoting of a path switches on ``'``, and
#: Slurm reads ``%`` in names as a pattern. A cluster executor builds a shell line that holds file
#: names (the Slurm plugin's ``sbatch --wrap="..."``), so such a name could run a command there.
SHELL_CHARACTERS = "$`\"'\\%"

#: What Snakemake reads as a path variable ("pathvar") in every input and output path: ``<``, a
#: lower-case name, ``>`` (``PATHVAR_REGEX`` of ``snakemake/pathvars.py``, applied by
#: ``snakemake/io/__init__.py`` to each path a rule gets). An undefined one (``<script>``) stops every
#: run at parse time; a defined one (``<results>``, ``<logs>``, ...) is replaced by its value, so the
#: file would be looked for under another name. Snakemake offers no escape; other angle brackets
#: (``<Tag>``, ``a<b``) are left alone.
PATHVAR = re.compile(r"<[a-z][a-z0-9_]*>")


def name_problem(relpath):
    """Why a file name cannot be used, or ``None``.

    Control characters (newline, tab, ...) break tables and logs; braces are
    read by Snakemake as wildcards in file paths, and a lower-case ``<name>``
    as a path variable (:data:`PATHVAR`); :data:`SHELL_CHARACTERS` would
    reach a shell on a cluster.

    Examples
    --------
    >>> name_problem("birds/robin (2).wav") is None
    True
    >>> name_problem("hum/$(touch PWNED).wav")
    'the file name holds $, which a shell or Slurm reads (a cluster executor builds a shell command line of file names): rename the file'
    >>> name_problem("hum/eve<script>_9.wav")
    'the file name holds <script>, which Snakemake reads as a path variable (pathvar): rename the file'
    >>> name_problem("hum/<Tag> a<b_9.wav") is None
    True
    """
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in relpath):
        return "the file name holds a control character (newline, tab, ...): rename the file"
    if "{" in relpath or "}" in relpath:
        return "the file name holds { or }, which Snakemake reads as a wildcard: rename the file"
    pathvars = PATHVAR.findall(relpath)
    if pathvars:
        return (
            f"the file name holds {' '.join(pathvars)}, which Snakemake reads as a path variable (pathvar): "
            "rename the file"
        )
    found = [ch for ch in SHELL_CHARACTERS if ch in relpath]
    if found:
        return (
            f"the file name holds {' '.join(found)}, which a shell or Slurm reads (a cluster executor builds a "
            "shell command line of file names): rename the file"
        )
    return None


CHECKS_HEADER = ["relpath", "size", "mtime_ns", "ctime_ns", "inode", "reason", "seconds", "content", "rate"]


def read_checks(cache_path, version):
    """Earlier check results: relative path → ``(size, mtime_ns, ctime_ns, inode, reason, seconds, content, rate)``.

    Empty if absent or stale.
    """
    try:
        with open(cache_path, newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            if next(rows, None) != [f"# checks {version}"] or next(rows, None) != CHECKS_HEADER:
                return {}
            return {
                rel: (int(a), int(b), int(c), int(d), reason, seconds, content, rate)
                for rel, a, b, c, d, reason, seconds, content, rate in rows
            }
    except (OSError, ValueError):
        return {}


def write_checks(cache_path, version, entries):
    """Write check results atomically (several Snakemake processes may parse at once)."""
    import io

    from atomic import write_text

    buf = io.StringIO(newline="")
    rows = csv.writer(buf)
    rows.writerow([f"# checks {version}"])
    rows.writerow(CHECKS_HEADER)
    rows.writerows([rel, *entry] for rel, entry in sorted(entries.items()))
    write_text(cache_path, buf.getvalue(), durable=True)


#: A file changed less than this long ago is checked again at the next parse: a file system's clock
#: ticks coarsely (a few ms), so a second write within the tick keeps every time of the first (git's
#: "racy" entries).
RACY_NS = 2_000_000_000


def content_digest(path):
    """A digest of a file's bytes (SHA-256, 32 hex digits): what identifies a recording's content.

    Read only when a file is new or its size, times or inode changed (see
    :func:`check_files`), so a ``touch`` costs one read and changes nothing.
    """
    import hashlib

    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()[:32]


def check_files(audio_dir, relpaths, probe, cache_path=None, version="", measure=None, measured=None,
                digests=None, rates=None):
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
        CSV remembering each file's size, modification and change times,
        inode and result, so that only new or changed files are probed again
        (a file that cannot be read now is never remembered).
    version : str
        Identifies the probe and the folder; a cache written for another is ignored.
    measure : callable or None
        ``measure(path)`` → length in seconds (or ``None``) of a usable file,
        remembered with the check (e.g. ``audio_io.header_seconds``); or
        ``(seconds, sample_rate)`` (e.g. ``audio_io.header_facts``), both remembered.
    measured : dict or None
        Filled with relative path → seconds for the usable files, when
        ``measure`` is given.
    digests : dict or None
        Filled with relative path → :func:`content_digest` for the usable
        files, when given. A file is read again only when its size,
        modification or change time or inode differs from the cache's: the
        change time moves whenever the content is written, even when the size
        and modification time are set back (as git's index relies on), so a
        replaced content is never taken for the old one.
    rates : dict or None
        Filled with relative path → sample rate for the usable files whose
        ``measure`` gave one.

    Returns
    -------
    dict
        Relative path → reason, for the files that cannot be used.
    """
    cache = read_checks(cache_path, version) if cache_path else {}
    entries, problems = {}, dict(id_clashes(relpaths))
    for rel in relpaths:
        reason = problems.get(rel) or name_problem(rel)
        if reason is None:
            path = os.path.join(audio_dir, rel)
            try:
                stat = os.stat(path)
                readable = os.access(path, os.R_OK)
            except OSError as err:  # vanished between listing and use: not remembered
                problems[rel] = f"the file cannot be read ({err.strerror})"
                continue
            key = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
            known = cache.get(rel)
            if not readable:  # e.g. a permission a chmod fixes later: never remembered
                problems[rel] = "the file cannot be read (permission denied): fix its permissions"
                continue
            if known is not None and known[:4] == key and (digests is None or known[4] or known[6]):
                reason, seconds, content, rate = known[4] or None, known[5], known[6], known[7]
            else:
                reason = probe(path)
                seconds = measure(path) if measure and not reason else None
                seconds, rate = seconds if isinstance(seconds, tuple) else (seconds, None)
                seconds = "" if seconds is None else repr(float(seconds))
                rate = "" if rate is None else str(int(rate))
                content = content_digest(path) if digests is not None and not reason else ""
            if time.time_ns() - stat.st_ctime_ns < RACY_NS:
                key = (*key[:2], -1, key[3])  # changed just now: might change again within the clock's tick
            entries[rel] = (*key, reason or "", seconds, content, rate)
            if measured is not None and seconds:
                measured[rel] = float(seconds)
            if rates is not None and rate:
                rates[rel] = int(rate)
            if digests is not None and not reason:
                digests[rel] = content
        if reason:
            problems[rel] = " ".join(reason.split())
    if cache_path and entries != cache:
        write_checks(cache_path, version, entries)
    return problems
