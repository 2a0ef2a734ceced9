"""Class and author of each audio file: from a regex on its path, its folder, or a CSV.

Also the class ids (positions of the sorted class names). Pure
standard-library code: it runs at every Snakemake parse.
"""

import csv
import os
import re

from discovery import file_id


class LabelError(ValueError):
    """A file that cannot be labelled, or a labelling setting that cannot work."""


#: The class of a recording labelled by time-box annotations, until its windows are labelled (catalog job).
ANNOTATED = "(annotations)"


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


#: Joins the classes of one example in the ``class`` column of a multi-label catalog (``labels.multi_label``).
SEPARATOR = ";"


#: Prefix of the 0/1 column of each class in multi-label catalogs and manifests (``label_owl``).
LABEL_PREFIX = "label_"


def label_columns(columns):
    """The multi-label columns among ``columns`` (``label_{class}``, in class-id order); empty for single-label."""
    return [name for name in columns if str(name).startswith(LABEL_PREFIX)]


def join_classes(names):
    """The ``class`` text of a multi-label example: its classes sorted and joined by :data:`SEPARATOR`.

    Examples
    --------
    >>> join_classes(["owl", "jay", "owl"]), join_classes([])
    ('jay;owl', '')
    """
    return SEPARATOR.join(sorted(set(names)))


def split_classes(text, background=None):
    """The classes of a multi-label example's ``class`` text (none for ``''`` or the ``background`` name).

    Examples
    --------
    >>> split_classes("jay;owl"), split_classes("background", "background")
    (['jay', 'owl'], [])
    """
    if not text or text == background:
        return []
    return text.split(SEPARATOR)


def check_class_name(name, where):
    """Refuse a multi-label class name holding :data:`SEPARATOR` (it joins an example's classes)."""
    if SEPARATOR in name:
        raise LabelError(f"{where}: class {name!r} holds {SEPARATOR!r}, which labels.multi_label uses to join "
                         "an example's classes; rename the class")


def read_label_csv(csv_path, multi_label=False):
    """Read a metadata CSV with columns ``path``, ``class`` and ``author``.

    A file may be listed on several rows: with ``multi_label``, one row per
    class it holds; otherwise only with the same class and author again.

    Returns
    -------
    dict
        Relative path (``/`` separators) to ``(class, author)``; with
        ``multi_label`` the class text of :func:`join_classes`.

    Raises
    ------
    LabelError
        For a missing column, or a file listed with two classes (or two
        authors) without ``multi_label``, naming the CSV, the file and the fix.
    """
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"path", "class"} - set(reader.fieldnames or ())
        if missing:
            raise LabelError(f"{csv_path}: missing column(s) {', '.join(sorted(missing))} (need path, class, author)")
        rows = {}
        for line, row in enumerate(reader, start=2):
            rel = row["path"].replace("\\", "/").strip()
            cls, author = row["class"].strip(), (row.get("author") or "").strip()
            if multi_label:
                check_class_name(cls, f"{csv_path}, line {line}")
            rows.setdefault(rel, []).append((cls, author, line))
    table = {}
    for rel, entries in rows.items():
        classes = sorted({cls for cls, _, _ in entries if cls or not multi_label})
        authors = sorted({author for _, author, _ in entries})
        if len(authors) > 1:
            raise LabelError(f"{csv_path}: {rel} is listed with authors {' and '.join(map(repr, authors))} "
                             f"(lines {', '.join(str(line) for _, _, line in entries)}); give one author per file")
        if len(classes) > 1 and not multi_label:
            raise LabelError(f"{csv_path}: {rel} is listed with classes {' and '.join(map(repr, classes))} "
                             f"(lines {', '.join(str(line) for _, _, line in entries)}); give one class per file, "
                             "or set labels.multi_label: true for several classes per file")
        table[rel] = (join_classes(classes) if multi_label else classes[0], authors[0])
    return table


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
        elif source == "annotations":
            cls = ANNOTATED
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


def label_files(relpaths, source="pattern", pattern=None, csv_path=None, problems=None, multi_label=False):
    """Class and author of every file.

    Parameters
    ----------
    relpaths : list of str
        Paths relative to the audio folder.
    source : {'pattern', 'folder', 'csv', 'annotations'}
        ``'pattern'``: the named groups ``class`` and ``author`` of ``pattern``
        searched in the relative path without extension. ``'folder'``: the
        class is the name of the file's folder; the author comes from the
        ``author`` group of ``pattern`` when given. ``'csv'``: the rows of
        ``csv_path`` (columns path, class, author). ``'annotations'``: the
        class is :data:`ANNOTATED` (time boxes label each window later, in
        the catalog job); the author comes from ``pattern`` as for ``'folder'``.
    pattern : str or None
        Regular expression with named groups.
    csv_path : str or None
        Metadata CSV for ``source='csv'``.
    problems : dict or None
        If given, a file that cannot be labelled is recorded here (relative
        path → reason) and gets ``None`` instead of stopping the labelling.
    multi_label : bool
        ``labels.multi_label``: a CSV may give a file several classes (:func:`read_label_csv`).

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
    table = read_label_csv(csv_path, multi_label) if source == "csv" else None
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


def class_ids(classes):
    """Stable class ids: the position of each class in the sorted class names."""
    return {name: i for i, name in enumerate(sorted(set(classes)))}
