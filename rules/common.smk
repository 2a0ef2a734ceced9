# Helpers of the workflow: configuration checks, the audio file list and labels (computed
# once per parse), and the functions the rules call. Keep module-level work cheap: it runs
# at every parse, and on a cluster in every job.
import hashlib
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

# Digest of the spectrogram math: a params value of every spectrogram job, so a change of
# scripts/audio_processing.py reruns them all (Snakemake tracks only a rule's own code).
MATH_DIGEST = hashlib.sha256(
    (Path(workflow.basedir) / "scripts" / "audio_processing.py").read_bytes()
).hexdigest()[:16]


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


def make_spectrogram(audio, npy, png, settings, log):
    """Run the per-file work in this process: both branches from one computation."""
    import audio_processing

    try:
        audio_processing.process_file(audio, npy, png, settings)
    except audio_processing.AudioError as err:
        message = f"{audio}: {err}"
        Path(log).write_text(message + "\n")
        raise WorkflowError(message) from None
