"""Spectrogram batches: which files one spectrogram job computes.

A batch is a prefix of the SHA-256 of a file's id, so a file's batch does not
depend on the other files (see :func:`batch_count`). Pure standard-library
code: it runs at every Snakemake parse.
"""

import hashlib


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


def batch_digest(members):
    """What a spectrogram job's outputs are made of, as 12 hex digits: a part of its facts table's name.

    Parameters
    ----------
    members : iterable of (str, str, str)
        ``(clip id, audio path, content digest)`` of each file of the job.

    Returns
    -------
    str
        A digest that changes whenever a file joins or leaves the job, is
        renamed or moved, or its content changes. Naming the facts table by it
        changes the catalog's set of inputs, so the catalog reruns and
        Snakemake runs exactly the jobs whose facts tables it then finds
        missing, whatever it recorded (or did not record) about those jobs'
        earlier outputs.
    """
    digest = hashlib.sha256()
    for member in sorted(members):
        digest.update("\0".join(member).encode("utf-8") + b"\n")
    return digest.hexdigest()[:12]
