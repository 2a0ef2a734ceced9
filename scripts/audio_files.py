"""Find the audio files of a folder and label them.

Pure standard-library code: it runs every time Snakemake parses the
workflow, so it must stay cheap (no numpy, no librosa).
"""

import csv
import hashlib
import os
import re

AUDIO_EXTENSIONS = (".wav", ".flac", ".aif", ".aiff", ".ogg", ".mp3")


class LabelError(ValueError):
    """A file that cannot be labelled, or a labelling setting that cannot work."""


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
    found = []
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(audio_dir, rel) if rel else audio_dir) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                sub = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir():
                    stack.append(sub)
                elif entry.is_file() and entry.name.lower().endswith(AUDIO_EXTENSIONS):
                    found.append(sub)
    return sorted(found)


def file_id(relpath):
    """The id of a file: its relative path without the extension."""
    return os.path.splitext(relpath)[0]


def index_files(relpaths):
    """Map each file id to its relative path.

    Raises
    ------
    LabelError
        If two files share an id (``a.wav`` and ``a.flac`` in one folder).
    """
    index = {}
    for rel in relpaths:
        key = file_id(rel)
        if key in index:
            raise LabelError(
                f"{index[key]} and {rel} would both make spectrogram {key!r}: rename or remove one"
            )
        index[key] = rel
    return index


def compile_pattern(pattern, need_class=True):
    """Compile a label pattern and check its named groups.

    Raises
    ------
    LabelError
        If the regex is invalid or lacks the ``class`` group.
    """
    try:
        regex = re.compile(pattern)
    except re.error as err:
        raise LabelError(f"labels.pattern {pattern!r} is not a valid regular expression: {err}") from None
    if need_class and "class" not in regex.groupindex:
        raise LabelError(
            f"labels.pattern {pattern!r} has no (?P<class>...) group: add one that captures the class"
        )
    return regex


def read_label_csv(csv_path):
    """Read a metadata CSV with columns ``path``, ``class`` and ``author``.

    Returns
    -------
    dict
        Relative path (``/`` separators) to ``(class, author)``.
    """
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"path", "class"} - set(reader.fieldnames or ())
        if missing:
            raise LabelError(f"{csv_path}: missing column(s) {', '.join(sorted(missing))} (need path, class, author)")
        return {
            row["path"].replace("\\", "/").strip(): (row["class"].strip(), (row.get("author") or "").strip())
            for row in reader
        }


def label_file(rel, source="pattern", regex=None, table=None, csv_path=None):
    """Class and author of one file, or :class:`LabelError` saying why there is none.

    The arguments are those of :func:`label_files`, with the pattern already
    compiled (``regex``) and the CSV already read (``table``). The error
    message gives the reason only; :func:`label_files` prefixes the file.
    """
    cls, author, match = None, None, None
    if source == "csv":
        cls, author = table.get(rel, (None, None))
        if cls is None:
            raise LabelError(f"no row in {csv_path} (its path column must hold this relative path)")
    else:
        match = regex.search(file_id(rel)) if regex else None
        if source == "pattern":
            if match is None or not match.groupdict().get("class"):
                raise LabelError(f"labels.pattern {regex.pattern!r} does not match its name")
            cls = match.group("class")
        else:
            parent = os.path.dirname(rel)
            if not parent:
                raise LabelError("labels.from is 'folder' but the file is not inside a class folder")
            cls = os.path.basename(parent)
        if match is not None and "author" in match.re.groupindex:
            author = match.group("author")
    if not cls:
        raise LabelError("empty class label")
    return cls, author or "unknown"


def label_files(relpaths, source="pattern", pattern=None, csv_path=None, problems=None):
    """Class and author of every file.

    Parameters
    ----------
    relpaths : list of str
        Paths relative to the audio folder.
    source : {'pattern', 'folder', 'csv'}
        ``'pattern'``: the named groups ``class`` and ``author`` of ``pattern``
        searched in the relative path without extension. ``'folder'``: the
        class is the name of the file's folder; the author comes from the
        ``author`` group of ``pattern`` when given. ``'csv'``: the rows of
        ``csv_path`` (columns path, class, author).
    pattern : str or None
        Regular expression with named groups.
    csv_path : str or None
        Metadata CSV for ``source='csv'``.
    problems : dict or None
        If given, a file that cannot be labelled is recorded here (relative
        path → reason) and gets ``None`` instead of stopping the labelling.

    Returns
    -------
    list of tuple or None
        ``(class, author)`` per file; a missing author is ``'unknown'``.

    Raises
    ------
    LabelError
        If a setting cannot work (invalid pattern, missing CSV column), or,
        when ``problems`` is None, naming the first file that cannot be
        labelled.
    """
    regex = None
    if pattern and source != "csv":
        regex = compile_pattern(pattern, need_class=(source == "pattern"))
    elif source == "pattern":
        raise LabelError("labels.from is 'pattern' but labels.pattern is empty: give a regex with (?P<class>...)")
    table = read_label_csv(csv_path) if source == "csv" else None
    labels = []
    for rel in relpaths:
        try:
            labels.append(label_file(rel, source, regex, table, csv_path))
        except LabelError as err:
            if problems is None:
                hint = "; fix the pattern or move the file out" if source == "pattern" else ""
                raise LabelError(f"{rel}: {err}{hint}") from None
            problems[rel] = str(err)
            labels.append(None)
    return labels


def name_problem(relpath):
    """Why a file name cannot be used, or ``None``.

    Control characters (newline, tab, ...) break tables and logs; braces are
    read by Snakemake as wildcards in file paths.
    """
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in relpath):
        return "the file name holds a control character (newline, tab, ...): rename the file"
    if "{" in relpath or "}" in relpath:
        return "the file name holds { or }, which Snakemake reads as a wildcard: rename the file"
    return None


CHECKS_HEADER = ["relpath", "size", "mtime_ns", "reason"]


def read_checks(cache_path, version):
    """Earlier check results: relative path → ``(size, mtime_ns, reason)``; empty if absent or stale."""
    try:
        with open(cache_path, newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            if next(rows, None) != [f"# checks {version}"] or next(rows, None) != CHECKS_HEADER:
                return {}
            return {rel: (int(size), int(mtime), reason) for rel, size, mtime, reason in rows}
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


def check_files(audio_dir, relpaths, probe, cache_path=None, version=""):
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
                reason = known[2] or None
            else:
                reason = probe(os.path.join(audio_dir, rel))
            entries[rel] = (stat.st_size, stat.st_mtime_ns, reason or "")
        if reason:
            problems[rel] = " ".join(reason.split())
    if cache_path and entries != cache:
        write_checks(cache_path, version, entries)
    return problems


def class_ids(classes):
    """Stable class ids: the position of each class in the sorted class names."""
    return {name: i for i, name in enumerate(sorted(set(classes)))}


def batch_count(n_files, files_per_job):
    """Number of spectrogram batches: the smallest power of two ≥ n_files / files_per_job.

    A power of two, so that batches are prefixes of a hash: when the dataset
    grows past a doubling, every batch splits in two; between doublings a new
    file joins one existing batch and leaves the others untouched.
    """
    needed = max(1, -(-n_files // max(1, files_per_job)))
    return 1 << (needed - 1).bit_length()


def batch_index(clip_id, n_batches):
    """The batch of a clip: the top bits of a SHA-256 of its id (independent of the other files)."""
    if n_batches == 1:
        return 0
    bits = n_batches.bit_length() - 1
    return int(hashlib.sha256(clip_id.encode("utf-8")).hexdigest()[:8], 16) >> (32 - bits)


def plan_batches(clip_ids, files_per_job):
    """Group clip ids into spectrogram jobs.

    Parameters
    ----------
    clip_ids : iterable of str
        Ids of the run's clips.
    files_per_job : int
        Target files per job (about half to the full number per batch).

    Returns
    -------
    dict
        Batch name (``b0007`` …) → sorted clip ids; empty batches are left out.
    """
    clip_ids = list(clip_ids)
    n_batches = batch_count(len(clip_ids), files_per_job)
    width = max(2, len(str(n_batches - 1)))
    batches = {}
    for clip in sorted(clip_ids):
        batches.setdefault(f"b{batch_index(clip, n_batches):0{width}d}", []).append(clip)
    return dict(sorted(batches.items()))
