"""CSV tables that are safe to open in a spreadsheet and read back exactly.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return is a formula to Excel, LibreOffice and Google Sheets: a file, class or
author name taken from a folder could run one. As spreadsheet-export
libraries do (the OWASP advice on CSV injection), such a text cell is written
with a leading apostrophe, which spreadsheets show as text; a text cell that
itself starts with an apostrophe gets one more, so :func:`read_csv` undoes it
exactly. Numbers are numbers and are left alone.
"""

import pandas as pd

from atomic import atomic_path

#: How a cell that a spreadsheet would read as a formula starts.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def protect(value):
    """A text cell made safe for a spreadsheet (``'=1+2'`` → ``"'=1+2"``); other values unchanged.

    Examples
    --------
    >>> protect("=HYPERLINK(1)"), protect("-5dB"), protect("robin"), protect(-5)
    ("'=HYPERLINK(1)", "'-5dB", 'robin', -5)
    >>> unprotect(protect("'quoted")) == "'quoted"
    True
    """
    if isinstance(value, str) and value.startswith(FORMULA_START + (QUOTE,)):
        return QUOTE + value
    return value


def unprotect(value):
    """Undo :func:`protect`."""
    if isinstance(value, str) and value.startswith(QUOTE) and value[1:].startswith(FORMULA_START + (QUOTE,)):
        return value[1:]
    return value


def _is_text(dtype):
    """Whether a column or index of this dtype holds text (object, or pandas' string dtype)."""
    return dtype == object or pd.api.types.is_string_dtype(dtype)


def _text_columns(frame):
    return [column for column in frame.columns if _is_text(frame[column].dtype)]


def map_text(frame, function):
    """``frame`` with ``function`` applied to every text cell, column name and text index label (in place)."""
    for column in _text_columns(frame):
        frame[column] = frame[column].map(function)
    frame.columns = [function(column) for column in frame.columns]
    if _is_text(frame.index.dtype):
        frame.index = [function(label) for label in frame.index]
    return frame


def safe_frame(frame):
    """A copy of ``frame`` with every text cell, column name and index label protected."""
    return map_text(frame.copy(), protect)


def write_csv(frame, path, index=False, durable=False):
    """Write ``frame`` as a spreadsheet-safe CSV, atomically."""
    with atomic_path(path, durable) as tmp:
        safe_frame(frame).to_csv(tmp, index=index)


def read_csv(path, **kwargs):
    """Read a CSV written by :func:`write_csv` back exactly (``pandas.read_csv`` arguments pass through)."""
    return map_text(pd.read_csv(path, **kwargs), unprotect)
