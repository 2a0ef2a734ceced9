# Helpers of the workflow: configuration checks, the audio file list and labels (computed
# once per parse), and the functions the rules call. Keep module-level work cheap: it runs
# at every parse, and on a cluster in every job.
import functools
import hashlib
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

import audio_files
import config_checks
import demo_data

validate(config, workflow.source_path("../schemas/config.schema.yaml"))
_problems = config_checks.check_config(config)
if _problems:
    raise WorkflowError("invalid configuration:\n" + "\n".join(_problems))

DEMO_DIR = "results/demo_audio"
SPEC_DIRS = {"npy": "results/specs", "png": "results/spect"}


@functools.cache
def code_digest(*modules):
    """Digest of modules under scripts/ that a rule's script imports.

    Used as a ``params:`` value, so that changing the code reruns the jobs
    (Snakemake tracks only a rule's own script, not what it imports).
    """
    digest = hashlib.sha256()
    for module in modules:
        digest.update((Path(workflow.basedir) / "scripts" / module).read_bytes())
    return digest.hexdigest()[:16]


def discover():
    """Audio folder and the relative paths of its audio files (the demo's are planned)."""
    if config["audio_dir"] == "demo":
        return DEMO_DIR, [entry["relpath"] for entry in demo_data.demo_plan()]
    relpaths = audio_files.discover_audio(config["audio_dir"])
    if not relpaths:
        raise WorkflowError(
            f"audio_dir: no audio files (wav, flac, aif, aiff, ogg, mp3) under {config['audio_dir']!r}"
        )
    return config["audio_dir"], relpaths


def screen(audio_dir, relpaths):
    """Split the files into usable ones and rejected ones (relative path → reason).

    Unreadable audio (checked once per file version, see audio_files.check_files)
    and files that cannot be labelled are rejected; with on_bad_audio: fail, the
    first of them stops the run here, before any job.
    """
    import audio_processing

    rejected = {}
    if audio_dir != DEMO_DIR:
        rejected = audio_files.check_files(
            audio_dir,
            relpaths,
            audio_processing.check_audio,
            cache_path="results/.audio_checks.csv",
            version=code_digest("audio_processing.py", "audio_files.py"),
        )
    readable = [rel for rel in relpaths if rel not in rejected]
    labels = config["labels"]
    try:
        labelled = audio_files.label_files(
            readable,
            labels["from"],
            labels["pattern"],
            labels["csv"],
            problems=rejected,
        )
    except audio_files.LabelError as err:
        raise WorkflowError(f"{err} (audio_dir: {audio_dir})") from None
    if rejected and config["on_bad_audio"] == "fail":
        rel, reason = min(rejected.items())
        more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
        raise WorkflowError(
            f"{audio_dir}/{rel}: {reason}{more}; fix or remove it, or set on_bad_audio: skip "
            "to leave bad files out (they are then listed in results/rejected.csv)"
        )
    usable = [rel for rel in relpaths if rel not in rejected]
    if not usable:
        rel, reason = min(rejected.items())
        raise WorkflowError(
            f"audio_dir: none of the {len(relpaths)} audio files under {audio_dir!r} can be used "
            f"(e.g. {rel}: {reason})"
        )
    return usable, rejected, [pair for pair in labelled if pair is not None]


def check_table(audio_dir, relpaths, pairs):
    """Splits of the usable files (labelled by screen), computed now so that a problem stops the run before any job."""
    import make_catalog
    import splits

    try:
        table = make_catalog.file_table(
            relpaths, config["labels"], config["split"], audio_dir, pairs
        )
    except (audio_files.LabelError, splits.SplitError) as err:
        raise WorkflowError(f"{err} (audio_dir: {audio_dir})") from None
    problems = make_catalog.single_file_classes(table)
    if problems:
        more = f" ({len(problems) - 1} more such classes)" if len(problems) > 1 else ""
        raise WorkflowError(problems[0] + more)


AUDIO_DIR, FOUND_FILES = discover()
AUDIO_FILES, REJECTED, LABELS = screen(AUDIO_DIR, FOUND_FILES)
try:
    CLIPS = audio_files.index_files(AUDIO_FILES)
except audio_files.LabelError as err:
    raise WorkflowError(f"{err} (audio_dir: {AUDIO_DIR})") from None
check_table(AUDIO_DIR, AUDIO_FILES, LABELS)


def rejected_files():
    """The rejected audio files as [path, reason] pairs, sorted (a params value of the catalog)."""
    return [[f"{AUDIO_DIR}/{rel}", reason] for rel, reason in sorted(REJECTED.items())]


def report_rejected():
    """Say how many audio files were left out (on_bad_audio: skip), at the start and end of a run."""
    if REJECTED:
        logger.warning(
            f"on_bad_audio: skip: {len(REJECTED)} of {len(FOUND_FILES)} audio files left out; "
            "see results/rejected.csv for each file and the reason"
        )


onstart:
    report_rejected()


onsuccess:
    report_rejected()


def all_audio():
    """Every usable audio file of the run."""
    return [f"{AUDIO_DIR}/{rel}" for rel in AUDIO_FILES]


def audio_root(wildcards):
    """The folder of the run's audio files (a function, so no path prefix is hard-coded)."""
    return AUDIO_DIR


def demo_outputs():
    """The clips of the built-in demo dataset."""
    if config["audio_dir"] != "demo":
        return []
    return all_audio()


def audio_path(wildcards):
    """The audio file of spectrogram ``wildcards.id``."""
    try:
        return f"{AUDIO_DIR}/{CLIPS[wildcards.id]}"
    except KeyError:
        raise WorkflowError(
            f"no audio file under {AUDIO_DIR!r} has id {wildcards.id!r} (its path without extension)"
        )


def spec_files(branch):
    """Spectrogram paths of one branch, ``'npy'`` or ``'png'``, for every clip."""
    return [f"{SPEC_DIRS[branch]}/{clip}.{branch}" for clip in CLIPS]


FILES_PER_JOB = config["files_per_job"]
BATCHES = audio_files.plan_batches(CLIPS, FILES_PER_JOB) if FILES_PER_JOB > 1 else {}


def batch_audio(batch):
    """Audio files of one spectrogram batch."""
    return [f"{AUDIO_DIR}/{CLIPS[clip]}" for clip in BATCHES[batch]]


def batch_outputs(batch, branch):
    """Spectrograms of one branch made by one batch."""
    return [f"{SPEC_DIRS[branch]}/{clip}.{branch}" for clip in BATCHES[batch]]


def make_spectrograms(audio, npy, png, settings, log):
    """The work of a spectrogram job: both branches from one computation per file.

    The files go to this Snakemake process's pool of warm worker processes
    (``scripts/workers.py``), which falls back to this process where a pool
    cannot help (one core).
    """
    import workers

    problem = workers.process_files(
        list(zip(audio, npy, png)), settings, workflow.cores or 1
    )
    if problem is not None:
        message = "{}: {}".format(*problem)
        Path(log).write_text(f"{message}\n")
        raise WorkflowError(message)


BRANCH_DATA = {
    "npy": {"data": "results/final_specs.csv", "stack": "results/npy/features.npy"},
    "png": {"data": "results/train_data.csv"},
}


def training_inputs(wildcards):
    """What a branch trains on: the NPY manifest and its stacked arrays, or the legacy pixel table."""
    return BRANCH_DATA[wildcards.branch]


def prediction_audio(wildcards):
    """The audio files of the folder named ``wildcards.name`` in ``config["predict"]``."""
    try:
        folder = config["predict"][wildcards.name]
    except KeyError:
        raise WorkflowError(
            f"predict: no folder named {wildcards.name!r}; add predict: {{{wildcards.name}: /path/to/audio}}"
        )
    if not os.path.isdir(folder):
        raise WorkflowError(f"predict.{wildcards.name}: {folder!r} is not a folder")
    return [os.path.join(folder, rel) for rel in audio_files.discover_audio(folder)]


def repository():
    """The workflow's folder (for the git commit in provenance)."""
    return workflow.basedir
