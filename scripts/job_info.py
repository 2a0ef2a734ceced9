"""What Snakemake prints about each job, summarised: long lists of files cut to a few and a count.

A dry run of a 3,000-file dataset printed 738 KB: the catalog job alone listed
every input file twice, in ``input:`` and again in its ``reason:`` line (about
318,000 characters). :class:`SummaryFilter`, installed on Snakemake's logger by
``rules/common.smk``, shortens what is printed for each job (its input,
output and log lists and the lists inside its reason) to the first
:data:`KEEP` names and how many more there are. Only the printing changes:
the DAG, the reasons Snakemake finds and the jobs it runs are the same, and
``--verbose``, or the environment variable :data:`FULL` set to 1 (for scripts
that read every file of every job from Snakemake's output), prints everything.
Pure standard library.
"""

import logging

#: Names printed of a long list; the rest are counted.
KEEP = 3
#: The environment variable that, set to 1, keeps every list whole.
FULL = "SPECTROGRAM_FULL_JOB_INFO"


def summarise_list(items, keep=KEEP):
    """The first ``keep`` items of a list and, when there are more, one item counting them.

    Examples
    --------
    >>> summarise_list(["a", "b", "c", "d", "e"]), summarise_list(["a", "b"])
    (['a', 'b', 'c', '… and 2 more'], ['a', 'b'])
    """
    items = list(items)
    if len(items) <= keep + 1:
        return items
    return items[:keep] + [f"… and {len(items) - keep} more"]


def summarise_reason(reason, keep=KEEP):
    """A job's reason line with every list of files in it cut by :func:`summarise_list`.

    Snakemake writes a reason as parts separated by ``"; "``, each a label, ``": "``
    and the files separated by ``", "``.

    Examples
    --------
    >>> summarise_reason("Missing output files: out.csv; Input files updated by another job: a, b, c, d, e")
    'Missing output files: out.csv; Input files updated by another job: a, b, c, … and 2 more'
    """
    parts = []
    for part in str(reason).split("; "):
        label, colon, files = part.partition(": ")
        parts.append(label + colon + ", ".join(summarise_list(files.split(", "), keep)) if colon else part)
    return "; ".join(parts)


class SummaryFilter(logging.Filter):
    """Shorten the file lists of Snakemake's job-info records (:func:`summarise_list`, :func:`summarise_reason`)."""

    def filter(self, record):
        if str(getattr(record, "event", "")).lower().endswith("job_info") and hasattr(record, "input"):
            for key in ("input", "output", "log"):
                value = getattr(record, key, None)
                if isinstance(value, (list, tuple)):
                    setattr(record, key, summarise_list(value))
            if isinstance(getattr(record, "reason", None), str):
                record.reason = summarise_reason(record.reason)
        return True


def install(logger, verbose=False):
    """Add one :class:`SummaryFilter` to ``logger`` (again is a no-op), unless ``verbose`` or :data:`FULL` is 1."""
    import os

    if verbose or os.environ.get(FULL) == "1":
        return
    if not any(isinstance(f, SummaryFilter) for f in logger.filters):
        logger.addFilter(SummaryFilter())
