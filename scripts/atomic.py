"""Atomic file writing: a temporary file in the target's folder, renamed into place.

A reader, or a rerun after a crash, sees either the old file or the complete
new one, never a half-written file.
"""

import contextlib
import os
import tempfile

_UMASK = os.umask(0)
os.umask(_UMASK)

#: Start of every temporary name (see :func:`remove_leftovers`).
TEMP_PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_path(path, durable=False):
    """A temporary path to write to; renamed to ``path`` when the block succeeds.

    The temporary file lives in the folder of ``path`` (so the rename is
    atomic) and ends with the same name, so that writers that pick the format
    from the extension (numpy, matplotlib, Keras) behave as for ``path``. On
    error it is removed and ``path`` is left as it was.

    Parameters
    ----------
    path : str or os.PathLike
        The final file.
    durable : bool
        Flush the file to disk (``fsync``) before the rename, so that after a
        power cut the final name holds the new content or the old, never an
        empty file (for manifests, models and caches; it costs a disk flush).

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
    # The temporary name keeps the extension (writers pick the format from it) but not the whole name,
    # so that a final name near the file system's 255-byte limit still has a temporary name that fits.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX, suffix=os.path.splitext(path)[1][:16])
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs get the usual permissions
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes(path, data, durable=False):
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, durable) as tmp, open(tmp, "wb") as f:
        f.write(data)


def write_text(path, text, durable=False):
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"), durable)


def remove_leftovers(folder):
    """Remove the temporary files that a killed run left under ``folder``; return how many.

    Call it only while no other run writes there (Snakemake's lock is held).
    """
    removed = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if name.startswith(TEMP_PREFIX):
                try:
                    os.unlink(os.path.join(root, name))
                    removed += 1
                except OSError:
                    pass
    return removed
