"""Atomic file writing: a temporary file in the target's folder, renamed into place.

A reader, or a rerun after a crash, sees either the old file or the complete
new one, never a half-written file.
"""

import contextlib
import os
import tempfile

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path):
    """A temporary path to write to; renamed to ``path`` when the block succeeds.

    The temporary file lives in the folder of ``path`` (so the rename is
    atomic) and ends with the same name, so that writers that pick the format
    from the extension (numpy, matplotlib, Keras) behave as for ``path``. On
    error it is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The final file.

    Yields
    ------
    str
        The temporary path.

    Examples
    --------
    >>> import pandas as pd
    >>> with atomic_path("table.csv") as tmp:  # doctest: +SKIP
    ...     pd.DataFrame({"a": [1]}).to_csv(tmp, index=False)
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix="-" + os.path.basename(path))
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))
