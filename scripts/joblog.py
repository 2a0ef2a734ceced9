"""The log of a job that runs in the Snakemake process (a ``run:`` rule in a thread).

A ``script:`` job sends its stderr to its log by replacing ``sys.stderr``; a job
in a thread of the Snakemake process must not (the other threads, and
Snakemake itself, write there too). It writes to the file :func:`logged` opens
instead, which also receives the traceback of an error before the error goes
on to Snakemake.
"""

import contextlib
import traceback


@contextlib.contextmanager
def logged(path):
    """Open the job's log ``path`` for writing (always created); an error is written to it and raised again.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "job.log")
    >>> with logged(path) as log:
    ...     print("warning: one class has a single author", file=log)
    >>> open(path).read()
    'warning: one class has a single author\\n'
    """
    with open(path, "w", encoding="utf-8") as log:
        try:
            yield log
        except BaseException:
            log.write(traceback.format_exc())
            raise
