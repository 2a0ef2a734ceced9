# Helpers of the workflow: configuration checks, the audio file list and labels (computed
# once per parse), and the functions the rules call. Keep module-level work cheap: it runs
# at every parse, and on a cluster in every job.
import functools
import hashlib
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
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


AUDIO_DIR, AUDIO_FILES = discover()
try:
    CLIPS = audio_files.index_files(AUDIO_FILES)
    audio_files.label_files(
        AUDIO_FILES,
        config["labels"]["from"],
        config["labels"]["pattern"],
        config["labels"]["csv"],
    )
except audio_files.LabelError as err:
    raise WorkflowError(f"{err} (audio_dir: {AUDIO_DIR})") from None


def all_audio():
    """Every audio file of the run."""
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
    """The work of a spectrogram job, in this process: both branches from one computation per file."""
    import audio_processing

    for source, npy_path, png_path in zip(audio, npy, png):
        try:
            audio_processing.process_file(source, npy_path, png_path, settings)
        except audio_processing.AudioError as err:
            message = f"{source}: {err}"
            Path(log).write_text(f"{message}\n")
            raise WorkflowError(message) from None


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
