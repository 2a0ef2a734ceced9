"""The spectrogram stage's files on disk against what the current corpus makes of them.

A corpus changes between runs: files are added, removed, renamed, relabelled.
Snakemake reruns the jobs whose requested outputs are missing or stale, but
two states it cannot see:

- outputs of files that are no longer in the corpus (a removed or renamed
  recording's spectrograms, a batch's earlier facts tables): a clean run would
  not have them, and a later run could take them for current ones
  (:func:`orphans`, removed at the start of a run);
- a job whose facts table is there but one of whose spectrograms is not
  (deleted by hand): the aggregates ask only for the facts tables, so nothing
  would make it again (:func:`incomplete_jobs`: the workflow adds such a job's
  facts table to the run's ``--forcerun``).

Pure standard-library code: it runs at every parse.
"""

import os


def files_under(folder):
    """Every file under ``folder``, recursively, as paths joined to ``folder`` (empty if it does not exist).

    Examples
    --------
    >>> files_under("/no/such/folder")
    set()
    """
    found = set()
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    else:
                        found.add(entry.path)
        except (FileNotFoundError, NotADirectoryError):
            continue
    return found


def orphans(existing, expected):
    """The files of ``existing`` that are none of ``expected``, sorted.

    Parameters
    ----------
    existing : set of str
        The files under folders that hold only outputs of the current run's
        jobs (from :func:`files_under`).
    expected : set of str
        Every output path of those jobs (joined as ``files_under`` joins them).

    Examples
    --------
    >>> orphans({"a", "b"}, {"a"})
    ['b']
    """
    return sorted(set(existing) - set(expected))


def incomplete_jobs(jobs, existing):
    """The jobs whose facts table exists but one of whose other outputs does not.

    Parameters
    ----------
    jobs : iterable of (str, list of str)
        Each job's facts table and its other outputs.
    existing : set of str
        The files that exist (from :func:`files_under`).

    Returns
    -------
    list of (str, str)
        ``(facts table, first missing output)`` of each such job.

    Examples
    --------
    >>> incomplete_jobs([("f.json", ["a.npy", "b.npy"])], {"f.json", "a.npy"})
    [('f.json', 'b.npy')]
    >>> incomplete_jobs([("g.json", ["c.npy"])], {"c.npy"})
    []
    """
    found = []
    for facts, outputs in jobs:
        if facts in existing:
            missing = [path for path in outputs if path not in existing]
            if missing:
                found.append((facts, missing[0]))
    return found


def remove_files(paths, roots=()):
    """Remove ``paths`` and the folders they leave empty, up to ``roots``; return how many files were removed."""
    removed = 0
    stop = {os.path.normpath(root) for root in roots}
    for path in paths:
        try:
            os.unlink(path)
            removed += 1
        except FileNotFoundError:
            continue
        folder = os.path.dirname(path)
        while folder and os.path.normpath(folder) not in stop:
            try:
                os.rmdir(folder)
            except OSError:
                break
            folder = os.path.dirname(folder)
    return removed
