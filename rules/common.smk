# Parse-time helpers of the workflow: configuration checks, the audio files with their labels
# and splits (computed once per parse), the one table of the two branches' outputs, and the
# functions the rules call for their inputs, outputs and params. Job bodies live in scripts/.
# Keep module-level work cheap: it runs at every parse, and on a cluster in every job.
import csv
import functools
import hashlib
import os
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

sys.path.insert(0, str(Path(workflow.basedir) / "scripts"))

import batches
import config_checks
import demo_data
import discovery
import labelling
import scale
import spectrogram_math

# What Snakemake prints about each job: long lists of files cut to a few names and a count
# (scripts/job_info.py), so a dry run of thousands of files fits on a screen per job; --verbose
# (or SPECTROGRAM_FULL_JOB_INFO=1) prints them whole. Only the printing changes, not what
# Snakemake checks or runs.
import job_info

job_info.install(logger, workflow.output_settings.verbose)

# --config section={key: 0.002} hands nested values over as strings: read them as the schema's types first.
import config_types

_SCHEMA = workflow.source_path("../schemas/config.schema.yaml")
_schema = config_types.read_schema(_SCHEMA)
config.update(config_types.coerce(config, _schema))
# An experiment's training changes are keys of training: read them as that section's types.
for _experiment in config.get("experiments") or []:
    if isinstance(_experiment, dict) and isinstance(_experiment.get("training"), dict):
        _experiment["training"] = config_types.coerce(
            _experiment["training"], _schema["properties"]["training"], _schema
        )
validate(config, _SCHEMA)
_problems = config_checks.check_config(config)
if _problems:
    raise WorkflowError("invalid configuration:\n" + "\n".join(_problems))

# The built-in demo datasets (audio_dir: demo | demo_soundscapes | demo_soundscapes_overlap), made
# by rule demo_audio; the soundscapes' held-out recordings (for predict) go to a folder of their own
# beside them. The overlap variant's calls overlap calls of other classes (labels.multi_label).
DEMO_DIRS = {
    "demo": "results/demo_audio",
    "demo_soundscapes": "results/demo_soundscapes",
    "demo_soundscapes_overlap": "results/demo_soundscapes_overlap",
}
SOUNDSCAPE_DEMOS = {"demo_soundscapes": False, "demo_soundscapes_overlap": True}
HELDOUT_DIR = DEMO_DIRS.get(config["audio_dir"], "") + "_heldout"


def soundscape_demo():
    """Whether the run's audio is a soundscape demo: None (no), False (calls apart) or True (overlapping)."""
    return SOUNDSCAPE_DEMOS.get(config["audio_dir"])


# The two branches, side by side: where each file's spectrogram goes (folder/{id}{suffix}), the
# branch's manifest, and what its training job reads. Every rule and script takes these paths from
# here (through params:). Both branches hold the same array: float32 exactly in .npy, channels last
# (n_freq, n_frames[, channels]); 8-bit in .png, a multi-channel array's channels stacked
# vertically (channel 0 on top; scripts/audio_processing.py). CHANNELS (below) says how many
# channels each array has. BRANCHES holds the branches that `branches:` turns on; ALL_BRANCHES both.
ALL_BRANCHES = {
    "npy": {
        "folder": "results/specs",
        "suffix": ".npy",
        "manifest": "results/final_specs.csv",
        "training": {
            "data": "results/final_specs.csv",
            "stack": "results/npy/features.npy",
        },
    },
    "png": {
        "folder": "results/spect",
        "suffix": ".png",
        "manifest": "results/final_spects.csv",
        "training": {"data": "results/train_data.csv"},
    },
}
BRANCHES = {
    branch: layout
    for branch, layout in ALL_BRANCHES.items()
    if branch in config["branches"]
}
# Every form of a spectrogram the run writes: the enabled branches and, with image.cmap, the
# colour images (a third image form, not a branch: no manifest, no model).
COLOR_FORM = {"color": {"folder": "results/spect_color", "suffix": ".png"}}
FORMS = dict(BRANCHES)
if config["image"]["cmap"] is not None:
    FORMS.update(COLOR_FORM)


# The birdnet branch (branches: [.., birdnet]): BirdNET embeddings of every clip or window
# (rules/embedding.smk, scripts/birdnet.py) and a Keras head on them. Not a form of the
# spectrogram jobs: its own per-file outputs, made by its own jobs on the same warm workers.
EMBEDDING = "birdnet" in config["branches"]
EMBEDDINGS = {
    "folder": "results/embeddings",
    "suffix": ".npy",
    "manifest": "results/final_embeddings.csv",
}
# Every branch that trains a model: the spectrogram branches and birdnet.
MODEL_BRANCHES = list(BRANCHES) + (["birdnet"] if EMBEDDING else [])
if EMBEDDING:
    import birdnet

    _problem = birdnet.file_problem()
    if _problem:
        raise WorkflowError(_problem)


def require_branch(branch):
    """Stop with a clear error when an output of a branch that ``branches:`` turns off is asked for."""
    if branch not in MODEL_BRANCHES:
        raise WorkflowError(
            f"branches: the {branch} branch is off (branches: {config['branches']}); "
            f"add {branch} to branches to build its outputs"
        )


# Keys of windows: that only prediction reads: left out of every other rule's params and of the
# models' provenance, so a changed detection threshold reruns predict and nothing else.
PREDICTION_ONLY = ("threshold",)


def window_settings():
    """The ``windows:`` section without its prediction-only keys: what spectrograms, catalog and models depend on."""
    return {
        key: value
        for key, value in config["windows"].items()
        if key not in PREDICTION_ONLY
    }


def windowing():
    """The windows settings (window_settings) when recordings are cut into fixed windows, else None (one clip per file)."""
    return window_settings() if config["windows"]["length"] is not None else None


# Modules under scripts/ whose code makes the spectrograms (see code_digest).
SPECTROGRAM_CODE = (
    "audio_io.py",
    "spectrogram_math.py",
    "audio_processing.py",
    "file_facts.py",
)


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
        return DEMO_DIRS["demo"], [entry["relpath"] for entry in demo_data.demo_plan()]
    if soundscape_demo() is not None:
        plan = demo_data.soundscape_plan(overlap=soundscape_demo())
        return DEMO_DIRS[config["audio_dir"]], [entry["relpath"] for entry in plan]
    audio_dir = os.path.normpath(
        config["audio_dir"]
    )  # "data/" and "data" are one folder
    relpaths = discovery.discover_audio(audio_dir)
    if not relpaths:
        raise WorkflowError(
            f"audio_dir: no audio files (wav, flac, aif, aiff, ogg, mp3) under {config['audio_dir']!r}"
        )
    return audio_dir, relpaths


# Length in seconds of each checked audio file (from its header, remembered with the checks).
DURATIONS = {}
# Native sample rate of each checked audio file (from its header, remembered with the checks).
RATES = {}
# Content digest of each usable audio file (discovery.content_digest, remembered with the checks;
# for a demo, the digest of the code that makes it): what names the spectrogram jobs' facts tables.
CONTENT = {}


def screen(audio_dir, relpaths):
    """Split the files into usable ones and rejected ones (relative path → reason).

    Unreadable audio (checked once per file version, see discovery.check_files)
    and files that cannot be labelled are rejected; with on_bad_audio: fail, the
    first of them stops the run here, before any job.
    """
    import audio_io

    rejected = {}
    if audio_dir not in DEMO_DIRS.values():
        windows = windowing()
        shortest = windows["length"] if windows and windows["last"] == "drop" else None
        rejected = discovery.check_files(
            audio_dir,
            relpaths,
            functools.partial(audio_io.check_audio, min_duration=shortest),
            cache_path="results/.audio_checks.csv",
            version=f"{code_digest('audio_io.py', 'discovery.py')}-{shortest}-{os.path.realpath(audio_dir)}",
            measure=audio_io.header_facts,
            measured=DURATIONS,
            digests=CONTENT,
            rates=RATES,
        )
    else:
        CONTENT.update(dict.fromkeys(relpaths, code_digest("demo_data.py")))
    readable = [rel for rel in relpaths if rel not in rejected]
    labels = config["labels"]
    try:
        labelled = labelling.label_files(
            readable,
            labels["from"],
            labels["pattern"],
            labels["csv"],
            problems=rejected,
            multi_label=labels["multi_label"],
        )
    except labelling.LabelError as err:
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


def file_table(audio_dir, relpaths, pairs):
    """Class ids and splits of the usable files (labelled by screen).

    Computed once, at parse time, so that a problem stops the run before any
    job; the catalog job receives the rows (catalog_rows) instead of labelling
    and splitting again.
    """
    import make_catalog
    import splits

    try:
        table = make_catalog.file_table(relpaths, pairs, config["split"], audio_dir)
    except splits.SplitError as err:
        raise WorkflowError(f"{err} (audio_dir: {audio_dir})") from None
    problems = make_catalog.single_file_classes(
        make_catalog.one_row_per_class(
            table, multi_label=config["labels"]["multi_label"]
        )
    )
    if problems:
        more = f" ({len(problems) - 1} more such classes)" if len(problems) > 1 else ""
        raise WorkflowError(problems[0] + more)
    return table


AUDIO_DIR, FOUND_FILES = discover()
AUDIO_FILES, REJECTED, LABELS = screen(AUDIO_DIR, FOUND_FILES)


def annotation_tables():
    """The Raven selection tables the catalog job reads (an input, so an edited table reruns it).

    With labels.annotations a CSV, that file; a folder, every table (*.txt) in
    it; null, the tables beside the recordings (for a demo, the planned ones).
    """
    labels = config["labels"]
    if labels["from"] != "annotations":
        return []
    path = labels["annotations"]
    if path is not None and os.path.isfile(path):
        return [path]
    if path is None and AUDIO_DIR in DEMO_DIRS.values():
        return [f"{AUDIO_DIR}/{rel}" for rel in demo_data.demo_tables(AUDIO_DIR)]
    folder = path or AUDIO_DIR
    return [f"{folder}/{rel}" for rel in discovery.discover_files(folder, [".txt"])]


def read_annotations(audio_dir, relpaths):
    """Read and check every annotation table, once per parse: events by recording, or None.

    None without labels.from: annotations, and for a demo's tables (its job makes
    them). Every table error stops the run here, before any job, with its
    one-line message; so does a recording without a table unless
    labels.unannotated says what it means (docs/windows.md).
    """
    import annotations

    labels = config["labels"]
    if labels["from"] != "annotations" or (
        audio_dir in DEMO_DIRS.values() and labels["annotations"] is None
    ):
        return None
    source, root = annotations.annotation_source(labels, audio_dir)
    try:
        grouped, annotated = annotations.read_annotations(
            relpaths,
            source,
            annotation_tables(),
            root,
            labels["raven_column"],
            ignored=REJECTED,
        )
        annotations.check_durations(grouped, DURATIONS)
        if labels["multi_label"]:
            annotations.check_multi_label_classes(grouped, labels["background"])
        skipped = annotations.unannotated(relpaths, annotated, labels["unannotated"])
    except annotations.AnnotationError as err:
        raise WorkflowError(str(err)) from None
    for rel in skipped:
        REJECTED[rel] = "no annotation table (labels.unannotated: skip)"
        del grouped[rel]
    report_agreement(grouped)
    return grouped


def report_agreement(grouped):
    """Warn, at parse time, how the annotators' boxes agree and how many boxes overlap a box of another class."""
    import annotations

    line = annotations.agreement_summary(annotations.agreement_table(grouped))
    if line is None or workflow.remote_exec:
        return
    resolution = (
        "labels.multi_label keeps every class that overlaps a window"
        if config["labels"]["multi_label"]
        else "a window keeps the class that overlaps it most (labels.multi_label: true keeps every class)"
    )
    logger.warning(
        f"annotations: {line} (per class: results/annotation_agreement.csv); {resolution}"
    )


ANNOTATIONS = read_annotations(AUDIO_DIR, AUDIO_FILES)
if ANNOTATIONS is not None and len(ANNOTATIONS) < len(AUDIO_FILES):
    if not ANNOTATIONS:
        raise WorkflowError(
            f"labels.unannotated: skip leaves out all {len(AUDIO_FILES)} recordings: none has an annotation table"
        )
    LABELS = [pair for rel, pair in zip(AUDIO_FILES, LABELS) if rel in ANNOTATIONS]
    AUDIO_FILES = [rel for rel in AUDIO_FILES if rel in ANNOTATIONS]


def check_rates():
    """Stop when native rates differ under spectrogram.sr: null; warn when files are recorded far above sr.

    From the rates in the files' headers, remembered with the checks (a demo's are not checked).
    """
    rates = {rel: RATES[rel] for rel in AUDIO_FILES if rel in RATES}
    problem = scale.rate_problem(rates, config["spectrogram"]["sr"])
    if problem:
        raise WorkflowError(f"{problem} (audio_dir: {AUDIO_DIR})")
    warning = scale.rate_warning(rates, config["spectrogram"]["sr"])
    if warning and not workflow.remote_exec:
        logger.warning(warning)


check_rates()
try:
    CLIPS = discovery.index_files(AUDIO_FILES)
except discovery.DuplicateIdError as err:
    raise WorkflowError(f"{err} (audio_dir: {AUDIO_DIR})") from None
FILE_TABLE = file_table(AUDIO_DIR, AUDIO_FILES, LABELS)


def audio_channels():
    """The channel count every audio file has, for ``spectrogram.channels: all`` (read from the headers).

    Other channel settings do not depend on the files: 1 is returned.
    """
    import audio_io

    if config["spectrogram"]["channels"] != "all":
        return 1
    counts = {}
    for rel in AUDIO_FILES:
        channels = audio_io.header_channels(f"{AUDIO_DIR}/{rel}")
        counts.setdefault(channels, []).append(rel)
    if len(counts) > 1:
        usual = max(counts, key=lambda n: len(counts[n]))
        odd = min((n for n in counts if n != usual), key=lambda n: len(counts[n]))
        raise WorkflowError(
            f"spectrogram.channels: all needs the same channel count in every file, but {AUDIO_DIR}/{counts[odd][0]} "
            f"has {odd} and {len(counts[usual])} files have {usual}; list the channels to keep (e.g. [0, 1]) "
            "or use mono"
        )
    return next(iter(counts))


CHANNELS = spectrogram_math.n_channels(config["spectrogram"], audio_channels())


def report_scale():
    """Log, at parse time, how many clips or windows the run makes and about how many GB each branch writes.

    From the lengths and rates in the files' headers (a demo's from its plan).
    """
    if workflow.remote_exec:
        return
    if config["audio_dir"] == "demo" or soundscape_demo() is not None:
        plan = (
            demo_data.demo_plan()
            if config["audio_dir"] == "demo"
            else demo_data.soundscape_plan(overlap=soundscape_demo())
        )
        durations = {entry["relpath"]: entry["duration"] for entry in plan}
        rates = {entry["relpath"]: entry["sr"] for entry in plan}
    else:
        durations = {rel: DURATIONS.get(rel) for rel in AUDIO_FILES}
        rates = RATES
    image = config["image"] if "png" in BRANCHES else None
    counts = scale.estimate(
        durations, rates, config["spectrogram"], windowing(), CHANNELS, image
    )
    logger.info(
        scale.estimate_line(counts, MODEL_BRANCHES, windowing(), len(AUDIO_FILES))
    )


report_scale()


def warn_author_case(authors):
    """Warn about authors whose names differ only in letter case: they are split as different authors."""
    groups = {}
    for author in sorted(set(authors)):
        groups.setdefault(author.casefold(), []).append(author)
    clashes = [names for names in groups.values() if len(names) > 1]
    if clashes:
        logger.warning(
            f"split: {len(clashes)} author names differ only in letter case ({' / '.join(clashes[0])}); "
            "they are different authors for splitting: rename files or use labels.csv to make them one"
        )


warn_author_case(FILE_TABLE["author"])


def catalog_rows():
    """The labelled, split files as rows for the catalog job (a params value, so a changed label or split reruns it)."""
    return FILE_TABLE.to_dict(orient="split")["data"]


def rejected_files():
    """The rejected audio files as [path, reason] pairs, sorted (a params value of the catalog)."""
    return [[f"{AUDIO_DIR}/{rel}", reason] for rel, reason in sorted(REJECTED.items())]


def report_cut_audio():
    """Say how many files lose more than half their audio to spectrogram.duration (windows off)."""
    duration = config["spectrogram"]["duration"]
    if windowing() is not None or duration is None:
        return
    long = [rel for rel in AUDIO_FILES if DURATIONS.get(rel, 0.0) > 2 * duration]
    if long:
        logger.warning(
            f"spectrogram.duration: {len(long)} of {len(AUDIO_FILES)} audio files are longer than twice "
            f"{duration:g} s and lose more than half their audio (e.g. {long[0]}, {DURATIONS[long[0]]:g} s); "
            "set windows.length to cut long recordings into windows (docs/windows.md), or "
            "spectrogram.duration: null to keep whole files"
        )


def report_rejected(finished=False):
    """Say how many audio files were left out (on_bad_audio: skip), at the start and end of a run.

    At the end, results/rejected.csv also counts the files a spectrogram job rejected.
    """
    n = len(REJECTED)
    if finished and os.path.exists("results/rejected.csv"):
        with open("results/rejected.csv", encoding="utf-8") as f:
            n = max(n, sum(1 for _ in csv.reader(f)) - 1)
    if n:
        logger.warning(
            f"on_bad_audio: skip: {n} of {len(FOUND_FILES)} audio files left out; "
            "see results/rejected.csv for each file and the reason"
        )


def clean_leftovers():
    """Remove temporary files that a killed run left under results/ (this run holds the lock)."""
    import atomic

    removed = atomic.remove_leftovers("results") if os.path.isdir("results") else 0
    if removed:
        logger.info(
            f"removed {removed} temporary files left by an interrupted run under results/"
        )


onstart:
    clean_leftovers()
    remove_orphans()
    report_rejected()
    report_cut_audio()


onsuccess:
    report_rejected(finished=True)


def all_audio():
    """Every usable audio file of the run."""
    return [f"{AUDIO_DIR}/{rel}" for rel in AUDIO_FILES]


def audio_root(wildcards):
    """The folder of the run's audio files (a function, so no path prefix is hard-coded)."""
    return AUDIO_DIR


def demo_outputs():
    """The files of the built-in demo dataset in use (clips, or soundscapes with their tables and held-out ones)."""
    if config["audio_dir"] == "demo":
        return all_audio()
    if soundscape_demo() is not None:
        return [
            f"{folder}/{entry[key]}"
            for folder, heldout in ((AUDIO_DIR, False), (HELDOUT_DIR, True))
            for entry in demo_data.soundscape_plan(heldout, overlap=soundscape_demo())
            for key in ("relpath", "table")
        ]
    return []


def demo_kind():
    """What the demo_audio job makes: ``clips``, ``soundscapes`` or ``soundscapes_overlap``."""
    if soundscape_demo() is None:
        return "clips"
    return "soundscapes_overlap" if soundscape_demo() else "soundscapes"


def audio_input(rel):
    """A spectrogram job's input for audio file ``rel``: its modification time is not looked at.

    What a job's outputs are made of is the files' content (CONTENT): it names
    a batch's facts table (batches.batch_digest) and is a params value of a
    one-file job, so a ``touch`` reruns nothing and a new content with the old
    size and time reruns the job.
    """
    return ancient(f"{AUDIO_DIR}/{rel}")


def audio_path(wildcards):
    """The audio file of spectrogram ``wildcards.id``."""
    try:
        return audio_input(CLIPS[wildcards.id])
    except KeyError:
        raise WorkflowError(
            f"no audio file under {AUDIO_DIR!r} has id {wildcards.id!r} (its path without extension)"
        )


def branch_folder(branch):
    """The spectrogram folder of ``branch`` as a params function (a path is not hard-coded in a rule)."""
    return lambda wildcards: BRANCHES[branch]["folder"]


def spec_path(form, clip):
    """The spectrogram of ``clip`` (an id, or ``"{id}"`` for a rule) in ``form``: ``'npy'``, ``'png'`` or ``'color'``."""
    layout = FORMS[form]
    return f"{layout['folder']}/{clip}{layout['suffix']}"


def spec_files(branch):
    """Spectrogram paths of one branch for every clip."""
    return [spec_path(branch, clip) for clip in CLIPS]


FILES_PER_JOB = config["files_per_job"]
# Seconds of audio of each clip id (from its header, at the checks; 0 where unknown, as for a demo):
# with windows, batches are also sized by seconds of audio, and every job's cluster resources follow
# the audio it holds (batches.job_resources).
SECONDS = {clip: DURATIONS.get(rel, 0.0) for clip, rel in CLIPS.items()}
BATCHES = (
    batches.plan_batches(
        CLIPS,
        FILES_PER_JOB,
        SECONDS,
        config["seconds_per_job"] if windowing() is not None else None,
    )
    if FILES_PER_JOB > 1
    else {}
)
# Each batch's files and their content, as a digest that names its facts table: a file added,
# removed, renamed or changed gives the batch's facts a new name, which Snakemake finds missing.
BATCH_DIGESTS = {
    batch: batches.batch_digest(
        (clip, CLIPS[clip], CONTENT[CLIPS[clip]]) for clip in clips
    )
    for batch, clips in BATCHES.items()
}
# What each spectrogram job made of its files (scripts/file_facts.py), named by its batch (or id),
# in a folder named by the forms the jobs write: the aggregates ask for the facts only, and
# Snakemake looks for a job's missing outputs only among the files a needed job asks for, so a
# branch turned on (or off) must change the facts' paths for the jobs to run again.
FACTS_DIR = "results/file_facts/" + "-".join(FORMS)


def facts_path(job):
    """The file-facts table of spectrogram job ``job``: a batch (named with its BATCH_DIGESTS), or an id or ``"{id}"``."""
    if job in BATCH_DIGESTS:
        return os.path.join(FACTS_DIR, f"{job}-{BATCH_DIGESTS[job]}.json")
    return os.path.join(FACTS_DIR, f"{job}.json")


def fact_files():
    """The file-facts table of every spectrogram job: what the catalog and the manifests read."""
    return [facts_path(job) for job in (BATCHES if FILES_PER_JOB > 1 else CLIPS)]


def audio_content(wildcards):
    """The content digest of a one-file spectrogram job's audio (a params value: a new content reruns it)."""
    return CONTENT[CLIPS[wildcards.id]]


@functools.cache
def job_resources(clips):
    """Cluster runtime (minutes) and mem_mb of a spectrogram job of ``clips`` (a tuple), from the audio they hold.

    batches.job_resources sizes them by seconds of audio and the size of the longest file's
    arrays; batch_resources in the configuration overrides either for every job (one setting,
    where --set-resources would need each generated rule's name). Worked out once per job.
    """
    seconds = [SECONDS.get(clip, 0.0) for clip in clips]
    longest = max(clips, key=lambda clip: SECONDS.get(clip, 0.0))
    array_bytes = scale.estimate(
        {longest: SECONDS.get(longest, 0.0)},
        {longest: RATES.get(CLIPS[longest], 48000)},
        config["spectrogram"],
        windowing(),
        CHANNELS,
    )["npy"]
    derived = batches.job_resources(sum(seconds), array_bytes, CHANNELS)
    override = config["batch_resources"]
    return {
        key: override[key] if override[key] is not None else value
        for key, value in derived.items()
    }


def file_job_resources(key):
    """A resource of a one-file spectrogram job (files_per_job: 1), as a function of its ``{id}``."""
    return lambda wildcards: job_resources((wildcards.id,))[key]


def spectrogram_rules():
    """Name, audio input, outputs (form → path or paths), log, content and resources of each spectrogram rule.

    With ``files_per_job: 1`` one rule with an ``{id}`` wildcard (one job per
    file); otherwise one rule per batch (``spectrogram_b007`` …), each listing
    its files. The outputs are the job's file facts (first: Snakemake finds
    the producer of an aggregate's input by trying a rule's outputs in order),
    the enabled branches' spectrograms and, with ``image.cmap``, the colour images.
    The content (a params value) is the audio's content digest (of each file,
    or of a batch's files with their names: BATCH_DIGESTS).
    """
    if FILES_PER_JOB == 1:
        return [
            (
                "spectrogram",
                audio_path,
                {
                    "facts": facts_path("{id}"),
                    **{form: spec_path(form, "{id}") for form in FORMS},
                },
                "logs/spectrogram/{id}.log",
                audio_content,
                {key: file_job_resources(key) for key in ("runtime", "mem_mb")},
            )
        ]
    return [
        (
            f"spectrogram_{batch}",
            [audio_input(CLIPS[clip]) for clip in clips],
            {
                "facts": facts_path(batch),
                **{form: [spec_path(form, clip) for clip in clips] for form in FORMS},
            },
            f"logs/spectrogram/{batch}.log",
            BATCH_DIGESTS[batch],
            job_resources(tuple(clips)),
        )
        for batch, clips in BATCHES.items()
    ]


@functools.cache
def spectrogram_jobs():
    """Each spectrogram job's facts table and its spectrograms (every form), for the checks of output_state."""
    jobs = BATCHES if FILES_PER_JOB > 1 else {clip: [clip] for clip in CLIPS}
    return [
        (facts_path(job), [spec_path(form, clip) for clip in clips for form in FORMS])
        for job, clips in jobs.items()
    ]


def stage_folders():
    """The folders that hold only the spectrogram stage's outputs: each form's (enabled or not), and the facts tables.

    A form turned off keeps nothing worth keeping: turned on again, every job
    reruns (its facts tables have another folder, FACTS_DIR).
    """
    return [layout["folder"] for layout in {**ALL_BRANCHES, **COLOR_FORM}.values()] + [
        "results/file_facts",
        EMBEDDINGS["folder"],
    ]


@functools.cache
def stage_files():
    """Every file under stage_folders(), listed once per process (at the parse; nothing changes them before the run)."""
    import output_state

    existing = set()
    for folder in stage_folders():
        existing |= output_state.files_under(folder)
    return frozenset(existing)


def force_jobs(paths):
    """Add ``paths`` to this run's ``--forcerun``: their jobs run again, and a dry run shows them.

    Snakemake gives the workflow its DAG settings only after the parse, just
    before it builds the DAG (snakemake.api.DAGApi), so the paths are added
    when it starts executing (tests/test_incremental.py checks that this works
    with the pinned Snakemake).
    """
    execute = workflow.execute

    @functools.wraps(execute)
    def execute_forcing(*args, **kwargs):
        settings = workflow.dag_settings
        settings.forcerun = frozenset(settings.forcerun) | frozenset(paths)
        return execute(*args, **kwargs)

    workflow.execute = execute_forcing


def repair_stage_outputs():
    """Run again every spectrogram job whose facts table is there but one of whose spectrograms is not.

    The aggregates ask for the facts tables only, and Snakemake looks for
    missing outputs only among the files of jobs that must run, so such a job
    (a spectrogram deleted by hand) would otherwise never run again: its facts
    table is forced (force_jobs). Skipped in a cluster job's own Snakemake
    (the main process repaired, and other jobs may be writing).
    """
    import output_state

    if workflow.remote_exec:
        return
    broken = output_state.incomplete_jobs(spectrogram_jobs(), stage_files())
    if broken:
        facts, missing = broken[0]
        more = f" (and {len(broken) - 1} more such jobs)" if len(broken) > 1 else ""
        logger.warning(
            f"{missing}: missing, though its job's facts table {facts} is there{more}: "
            "running its job again"
        )
        force_jobs([facts for facts, _ in broken])


repair_stage_outputs()


def remove_orphans():
    """Remove the spectrograms and facts tables that no file of the current corpus makes (at the start of a run).

    Left by removed, renamed or rejected files and by earlier batches; a clean
    run would not have them, and a later one could take them for current.
    """
    import output_state

    expected = {path for facts, specs in spectrogram_jobs() for path in (facts, *specs)}
    expected |= set(embedding_files())
    stale = output_state.orphans(stage_files(), expected)
    removed = output_state.remove_files(stale, roots=stage_folders())
    if removed:
        logger.info(
            f"removed {removed} spectrograms and facts tables of files no longer in audio_dir "
            f"(e.g. {stale[0]})"
        )


def image_settings():
    """The ``image:`` settings when the run writes images (a params value: changing them reruns those jobs), else None."""
    return config["image"] if set(FORMS) - {"npy"} else None


def warm_workers():
    """Start the spectrogram workers' fork server as soon as Snakemake starts a real local run.

    Its imports (librosa and the rest of workers.PRELOAD: 2-3 s) then overlap with
    the building of the DAG instead of delaying the first spectrogram job. A
    watching thread waits for the executor, known only after the parse; a dry run,
    --touch and a cluster's submitting process start nothing.
    """
    import threading
    import time

    def watch():
        while workflow.executor_plugin is None:
            time.sleep(0.05)
        if workflow.local_exec and not workflow.dryrun and not workflow.touch:
            import workers

            workers.prestart()

    threading.Thread(target=watch, daemon=True, name="warm-workers").start()


warm_workers()


# The run's progress line during the spectrogram stage (scripts/workers.py: Progress), made at
# the first job that finishes, when the DAG knows how many files this run computes; its rate
# counts from the start of the first job (STARTED).
PROGRESS = []
STARTED = []


def report_progress(n_files):
    """Count ``n_files`` more spectrograms done and log the progress line when one is due."""
    import workers

    if not PROGRESS:
        jobs = workflow.dag.needrun_jobs(exclude_finished=False) if workflow.dag else []
        total = sum(
            len(workers.as_list(job.input.audio))
            for job in jobs
            if job.rule.name.startswith("spectrogram")
        )
        PROGRESS.append(
            workers.Progress(max(total, n_files), start=STARTED[0] if STARTED else None)
        )
    line = PROGRESS[0].add(n_files)
    if line:
        logger.info(line)


def audio_seconds(paths):
    """Audio path → its length in seconds from its header (None where unknown), for a job's time limits."""
    prefix = f"{AUDIO_DIR}/"
    return {path: DURATIONS.get(str(path)[len(prefix) :]) for path in paths}


def compute_spectrograms(input, output, params, log):
    """The body of a spectrogram job (in a thread of the Snakemake process): hands its files to workers.run_job.

    file_timeout is not a param: a time limit changes no output, so changing it reruns nothing.
    It counts per minute of audio (workers.file_limit): each file's length comes from its header.
    """
    import time

    from workers import as_list, run_job

    if not STARTED:
        STARTED.append(time.monotonic())
    seconds = audio_seconds(as_list(input.audio))
    run_job(
        input.audio,
        {form: output[form] for form in FORMS},
        params.settings,
        log[0],
        workflow.cores,
        params.windows,
        config["file_timeout"],
        config["on_bad_audio"],
        params.on_silent,
        params.image,
        report_progress,
        output.facts,
        params.channels,
        seconds,
    )


def embedding_path(clip):
    """The BirdNET embedding of ``clip`` (an id, or ``"{id}"`` for a rule): results/embeddings/{id}.npy."""
    return f"{EMBEDDINGS['folder']}/{clip}{EMBEDDINGS['suffix']}"


def embedding_files():
    """The embedding of every clip (none when the birdnet branch is off)."""
    return [embedding_path(clip) for clip in CLIPS] if EMBEDDING else []


def embedding_rules():
    """Name, audio input, output, log, content and resources of each embedding rule (as spectrogram_rules).

    The same batches as the spectrogram jobs (one job per file with files_per_job: 1), so a file
    added or changed reruns one batch of each; their own jobs, so turning the branch on or off
    reruns no spectrogram job.
    """
    if FILES_PER_JOB == 1:
        return [
            (
                "embedding",
                audio_path,
                embedding_path("{id}"),
                "logs/embedding/{id}.log",
                audio_content,
                {key: file_embedding_resources(key) for key in ("runtime", "mem_mb")},
            )
        ]
    return [
        (
            f"embedding_{batch}",
            [audio_input(CLIPS[clip]) for clip in clips],
            [embedding_path(clip) for clip in clips],
            f"logs/embedding/{batch}.log",
            BATCH_DIGESTS[batch],
            embedding_job_resources(tuple(clips)),
        )
        for batch, clips in BATCHES.items()
    ]


def embedding_job_resources(clips):
    """Cluster runtime and mem_mb of an embedding job of ``clips``: BirdNET's cost per second of audio.

    batch_resources in the configuration overrides them, as it does the spectrogram jobs'.
    """
    derived = batches.embedding_resources(
        sum(SECONDS.get(clip, 0.0) for clip in clips), windowing()
    )
    override = config["batch_resources"]
    return {
        key: override[key] if override[key] is not None else value
        for key, value in derived.items()
    }


def file_embedding_resources(key):
    """A resource of a one-file embedding job (files_per_job: 1), as a function of its ``{id}``."""
    return lambda wildcards: embedding_job_resources((wildcards.id,))[key]


def compute_embeddings(input, output, params, log):
    """The body of an embedding job (a thread of the Snakemake process): its files to the warm workers.

    workers.run_job with birdnet.process_one as the per-file work: the workers' fork server has
    loaded the BirdNET interpreter (birdnet_preload in workers.PRELOAD), so no job pays for it.
    """
    import birdnet
    from workers import as_list, run_job

    seconds = audio_seconds(as_list(input.audio))
    run_job(
        input.audio,
        {"npy": output.embeddings},
        None,
        log[0],
        workflow.cores,
        params.windows,
        config["file_timeout"],
        config["on_bad_audio"],
        seconds=seconds,
        work=birdnet.process_one,
    )


if EMBEDDING:
    import workers

    workers.PRELOAD.append("birdnet_preload")


def final_targets():
    """The targets of the workflow's default run: each enabled branch's model and figures, and the comparison of two."""
    targets = [
        "results/split_summary.csv",
        "results/figures/gallery.png",
        "results/effective_config.yaml",
        "results/report/split_summary.html",
        "results/report/rejected.html",
    ]
    for branch in MODEL_BRANCHES:
        targets += [
            f"results/model_{branch}.keras",
            f"results/figures/{branch}_training_curves.png",
            f"results/figures/{branch}_confusion_matrix.png",
            f"results/figures/{branch}_pr_curves.png",
        ]
    if len(MODEL_BRANCHES) >= 2:
        targets += [
            "results/branch_comparison.md",
            "results/report/branch_comparison.html",
        ]
    return targets + learning_curve_targets() + experiment_targets()


def catalog_outputs():
    """The catalog's tables; with annotations also results/events.csv (every annotated event, for evaluation)."""
    outputs = {
        "catalog": "results/catalog.csv",
        "classes": "results/classes.csv",
        "summary": "results/split_summary.csv",
        "rejected": "results/rejected.csv",
    }
    if annotation_labels() is not None:
        outputs["events"] = "results/events.csv"
        outputs["agreement"] = "results/annotation_agreement.csv"
    return outputs


def annotation_labels():
    """The ``labels:`` section when windows are labelled by annotations (a params value of the catalog), else None.

    With labels.background_ratio it also holds ``seed`` (split.seed), which seeds the sampling.
    """
    labels = config["labels"]
    if labels["from"] != "annotations":
        return None
    if labels["background_ratio"] is None:
        return labels
    return {**labels, "seed": config["split"]["seed"]}


def annotation_inputs():
    """The annotation tables as the catalog's inputs: their modification times are not looked at (see table_contents)."""
    return [ancient(path) for path in annotation_tables()]


def table_contents():
    """Each annotation table's content digest (a params value of the catalog: an edited table reruns it, a touched one not).

    A demo's tables, made by the demo_audio job, are named by the digest of the code that makes them.
    """
    if AUDIO_DIR in DEMO_DIRS.values() and config["labels"]["annotations"] is None:
        return {path: code_digest("demo_data.py") for path in annotation_tables()}
    return {path: discovery.content_digest(path) for path in annotation_tables()}


def training_inputs(wildcards):
    """What a model trains on: the NPY manifest and its stacked arrays, or the legacy pixel table.

    With annotations, also results/events.csv, for the event-level recall of the test split. The
    models of experiments and folds read the NPY manifest's arrays, not the stack (see
    learning_curve_inputs), and a fold's model also results/folds.csv.
    """
    require_branch(wildcards.branch)
    experiment, fold = variant_of(wildcards)
    if experiment is None and fold is None and wildcards.branch in BRANCHES:
        inputs = dict(BRANCHES[wildcards.branch]["training"])
    else:
        inputs = learning_curve_inputs(wildcards)
        require_variant_branch(experiment, wildcards.branch)
    if fold is not None:
        inputs["folds"] = "results/folds.csv"
    if annotation_labels() is not None:
        inputs["events"] = "results/events.csv"
    return inputs


# --- experiments and cross-validation folds ----------------------------------------------------
# Every model beside the default ones has a prefix under results/: experiments/{name}/ (an
# experiment's training), folds/{fold}/ (the training section on one fold) or
# experiments/{name}/folds/{fold}/; its files are laid out under it as results/ is. The prefix is
# the wildcard `prefix` of rule train and the figure rules ("" for the default models).
EXPERIMENTS = {experiment["name"]: experiment for experiment in config["experiments"]}


@functools.cache
def fold_names():
    """The folds of split.folds in their order ([] without folds); a fold column is read at parse time."""
    folds = config["split"]["folds"]
    if folds["k"] is None and folds["column"] is None:
        return []
    if folds["k"] is not None:
        return [str(i) for i in range(1, folds["k"] + 1)]
    from make_folds import FoldError, read_fold_column

    try:
        return splits.fold_order(
            read_fold_column(fold_table(), folds["column"]).values()
        )
    except FoldError as error:
        raise WorkflowError(str(error)) from None


def fold_table():
    """The CSV of split.folds.column: split.folds.csv, else labels.csv (None for k folds)."""
    folds = config["split"]["folds"]
    if folds["column"] is None:
        return None
    return folds["csv"] or config["labels"]["csv"]


@functools.cache
def variants():
    """Prefix → (experiment, fold) of every model beside the default ones (None where not one)."""
    found = {f"folds/{fold}/": (None, fold) for fold in fold_names()}
    for name in EXPERIMENTS:
        found[f"experiments/{name}/"] = (name, None)
        found.update(
            {f"experiments/{name}/folds/{fold}/": (name, fold) for fold in fold_names()}
        )
    return found


def variant_of(wildcards):
    """``(experiment, fold)`` of a job's ``prefix`` wildcard: ``(None, None)`` for a default model."""
    prefix = getattr(wildcards, "prefix", "")
    if prefix == "":
        return None, None
    if prefix not in variants():
        raise WorkflowError(
            f"results/{prefix}: no experiment or fold of that name in the configuration (experiments: "
            f"{', '.join(EXPERIMENTS) or 'none'}; folds: {', '.join(fold_names()) or 'none'})"
        )
    return variants()[prefix]


def variant_branches(experiment):
    """The branches an experiment trains on (every enabled branch for the default training)."""
    if experiment is None:
        return list(MODEL_BRANCHES)
    return EXPERIMENTS[experiment].get("branches") or list(MODEL_BRANCHES)


def require_variant_branch(experiment, branch):
    """Stop with one line when an experiment's model is asked for a branch it does not train on."""
    if branch not in variant_branches(experiment):
        raise WorkflowError(
            f"experiment {experiment!r} trains on {', '.join(variant_branches(experiment))}, not {branch}: "
            "add the branch to its branches"
        )


def variant_fold(wildcards):
    """What train.py needs to know of a fold's model (None for a model of the default split)."""
    _, fold = variant_of(wildcards)
    if fold is None:
        return None
    return {"fold": fold, "names": fold_names(), "val": config["split"]["folds"]["val"]}


def variant_models():
    """``(experiment, branch, fold, prefix)`` of every model, the default ones first (experiment "default")."""
    models = [("default", branch, "", "") for branch in MODEL_BRANCHES]
    for prefix, (experiment, fold) in variants().items():
        models += [
            (experiment or "default", branch, fold or "", prefix)
            for branch in variant_branches(experiment)
        ]
    return models


def experiment_targets():
    """The comparison of every model and each experiment's figures, when experiments or folds are configured."""
    if not variants():
        return []
    targets = ["results/experiments.md", "results/report/experiments.html"]
    for name in EXPERIMENTS:
        for branch in variant_branches(name):
            targets += [
                f"results/experiments/{name}/figures/{branch}_training_curves.png",
                f"results/experiments/{name}/figures/{branch}_confusion_matrix.png",
                f"results/experiments/{name}/figures/{branch}_pr_curves.png",
            ]
    return targets


def learning_curve_inputs(wildcards):
    """What a branch's learning curve reads: the NPY manifest (its arrays, not the stack) or the pixel table.

    Not the stacked NPY file: it is temp(), and making it again for the curve would make the model
    look stale and retrain it.
    """
    require_branch(wildcards.branch)
    if wildcards.branch == "birdnet":
        return {
            "data": EMBEDDINGS["manifest"],
            "baseline": BRANCHES[listing_branch()]["training"]["data"],
        }
    return {"data": BRANCHES[wildcards.branch]["training"]["data"]}


def model_training(wildcards=None):
    """The training settings a model depends on: all but ``learning_curve``, which only its own rule reads.

    So a changed list of fractions reruns the learning curve, never the model; ``head_units`` only
    for the birdnet branch's head. An experiment's model
    (``wildcards.prefix``) has the training section with the experiment's changes.
    """
    experiment, _ = variant_of(wildcards) if wildcards is not None else (None, None)
    changes = EXPERIMENTS[experiment]["training"] if experiment is not None else {}
    unused = {"learning_curve"}
    if getattr(wildcards, "branch", None) != "birdnet":
        # the birdnet head's: a CNN does not retrain when it changes
        unused.add("head_units")
    return {
        key: value
        for key, value in {**config["training"], **changes}.items()
        if key not in unused
    }


def learning_curve_targets():
    """Each branch's learning curve and its figure, when ``training.learning_curve`` lists fractions."""
    if not config["training"]["learning_curve"]:
        return []
    return [f"results/figures/{branch}_learning_curve.png" for branch in MODEL_BRANCHES]


def provenance_config(wildcards):
    """The configuration a model's provenance records: what defines its data and its training.

    The PNG branch's also holds ``image:`` (the size its images are drawn at); an experiment's or a
    fold's, its name. Without folds, ``split`` has no ``folds`` key, so that turning folds on does not
    retrain the default models.
    """
    keys = ("audio_dir", "labels", "spectrogram")
    keys += ("image",) if wildcards.branch == "png" else ()
    embedding = (
        {"embedding": {"model": birdnet.VERSION, "baseline_branch": listing_branch()}}
        if wildcards.branch == "birdnet"
        else {}
    )
    experiment, fold = variant_of(wildcards)
    split = dict(config["split"])
    if fold is None:
        split.pop("folds")
    variant = {"experiment": experiment, "fold": fold} if experiment or fold else {}
    return {
        **{key: config[key] for key in keys},
        "split": split,
        "windows": window_settings(),
        "training": model_training(wildcards),
        **embedding,
        **variant,
    }


def model_branch():
    """The branch whose model predict and the demo use: predict_model, else NPY (PNG when the NPY branch is off)."""
    if config["predict_model"] is not None:
        require_branch(config["predict_model"])
        return config["predict_model"]
    return "npy" if "npy" in BRANCHES else "png"


def listen_spectrogram(wildcards):
    """The NPY spectrogram that the listening check turns back into audio (the NPY branch must be on).

    It inverts one clip of one or two channels at one FFT size: windows and
    resolutions are refused with a clear error.
    """
    require_branch("npy")
    if windowing() is not None or config["spectrogram"]["resolutions"]:
        raise WorkflowError(
            "listen: the listening check turns one clip back into audio; it does not handle "
            "windows.length or spectrogram.resolutions (turn them off in a configuration for listening)"
        )
    return spec_path("npy", wildcards.id)


def listing_branch():
    """The branch whose spectrograms the catalog and the gallery read (NPY when it is on)."""
    return next(iter(BRANCHES))


PREDICTION_BATCH = "results/predictions/{name}.batches/{batch}"


def prediction_outputs():
    """The merged outputs of a predict folder: the CSV, and with windows the Raven tables, detections and per hour."""
    outputs = {"csv": "results/predictions/{name}.csv"}
    if windowing() is not None:
        outputs["selections"] = directory("results/predictions/{name}.selections")
        outputs["detections"] = "results/predictions/{name}_detections.csv"
        outputs["per_hour"] = "results/predictions/{name}_per_hour.csv"
        outputs["figure"] = report(
            "results/figures/predictions_{name}_per_hour.png",
            caption="../report/per_hour.rst",
            category="Predictions",
        )
    return outputs


def prediction_batch_outputs():
    """One prediction job's outputs: its rows, and with windows its detections and its recordings' Raven tables."""
    outputs = {"csv": f"{PREDICTION_BATCH}.csv"}
    if windowing() is not None:
        outputs["detections"] = f"{PREDICTION_BATCH}.detections.csv"
        outputs["selections"] = directory(f"{PREDICTION_BATCH}.selections")
    return outputs


def prediction_folder(wildcards):
    """The folder named ``wildcards.name`` in ``config["predict"]``."""
    return prediction_plan(wildcards.name)["folder"]


@functools.cache
def prediction_plan(name):
    """The folder named ``name`` in ``config["predict"]``, planned once per parse.

    Returns
    -------
    dict
        ``folder``; ``seconds`` (usable recording, relative path → seconds of audio, in the folder's order);
        ``batches`` (batch → relative paths, ``batches.plan_prediction_batches`` at ``predict_seconds_per_job``);
        ``places`` (relative path → site and start, ``recording_times.recording_places``, or None).
    """
    import recording_times

    try:
        folder = config["predict"][name]
    except KeyError:
        raise WorkflowError(
            f"predict: no folder named {name!r}; add predict: {{{name}: /path/to/audio}}"
        )
    if folder == HELDOUT_DIR and soundscape_demo() is not None:
        plan = demo_data.soundscape_plan(heldout=True, overlap=soundscape_demo())
        seconds = {entry["relpath"]: entry["duration"] for entry in plan}
    elif not os.path.isdir(folder):
        raise WorkflowError(f"predict.{name}: {folder!r} is not a folder")
    else:
        seconds = screen_prediction(folder, discovery.discover_audio(folder))
    try:
        places = recording_times.recording_places(
            list(seconds), config["recordings"], discovery.file_id
        )
    except (recording_times.RecordingNameError, re.error) as err:
        raise WorkflowError(f"predict.{name} ({folder}): {err}")
    return {
        "folder": folder,
        "seconds": seconds,
        "batches": batches.plan_prediction_batches(
            seconds, config["predict_seconds_per_job"]
        ),
        "places": places,
    }


def prediction_batch(wildcards):
    """The relative paths of one prediction job's recordings."""
    try:
        return prediction_plan(wildcards.name)["batches"][wildcards.batch]
    except KeyError:
        raise WorkflowError(f"predict.{wildcards.name}: no batch {wildcards.batch}")


def prediction_audio(wildcards):
    """The audio files of one prediction job."""
    folder = prediction_folder(wildcards)
    return [os.path.join(folder, rel) for rel in prediction_batch(wildcards)]


def prediction_places(wildcards):
    """Site and start of each recording of one prediction job (relative path → dict), or None when unknown."""
    places = prediction_plan(wildcards.name)["places"]
    if places is None:
        return None
    return {rel: places[rel] for rel in prediction_batch(wildcards)}


def prediction_runtime(wildcards):
    """Cluster minutes of one prediction job, from the seconds of audio it holds (batches.prediction_runtime)."""
    seconds = prediction_plan(wildcards.name)["seconds"]
    audio = sum(seconds[rel] or 0.0 for rel in prediction_batch(wildcards))
    if (
        model_branch() == "birdnet"
    ):  # BirdNET costs more than a log-mel per second of audio
        return batches.prediction_runtime(
            audio,
            max(
                batches.PREDICT_SECONDS_PER_AUDIO_SECOND,
                batches.birdnet_rate(windowing()),
            ),
        )
    return batches.prediction_runtime(audio)


def prediction_batch_files(kind):
    """The aggregate's input function: ``kind`` (an output of prediction_batch_outputs) of every batch."""

    def files(wildcards):
        return [
            PREDICTION_BATCH.format(name=wildcards.name, batch=batch)
            + {
                "csv": ".csv",
                "detections": ".detections.csv",
                "selections": ".selections",
            }[kind]
            for batch in prediction_plan(wildcards.name)["batches"]
        ]

    return files


def screen_prediction(folder, relpaths):
    """The files of a prediction folder that can be used, with their seconds of audio (from the header).

    The checks of the training folder (names, audio). Under on_bad_audio: skip the others are left out with a
    warning naming them; under fail the first stops the run. Each file is checked once while it is unchanged (a
    cache per folder, as for the training folder).

    Returns
    -------
    dict
        Relative path → seconds (None when the header does not say), in the order of ``relpaths``.
    """
    import audio_io

    measured = {}
    rejected = discovery.check_files(
        folder,
        relpaths,
        audio_io.check_audio,
        cache_path=f"results/.predict_checks/{hashlib.sha256(os.path.realpath(folder).encode()).hexdigest()[:16]}.csv",
        version=f"{code_digest('audio_io.py', 'discovery.py')}-seconds-{os.path.realpath(folder)}",
        measure=audio_io.header_seconds,
        measured=measured,
    )
    if rejected:
        rel, reason = min(rejected.items())
        if config["on_bad_audio"] == "fail":
            raise WorkflowError(
                f"{folder}/{rel}: {reason}; fix or remove it, or set on_bad_audio: skip"
            )
        logger.warning(
            f"predict: {len(rejected)} of {len(relpaths)} files under {folder} left out "
            f"(e.g. {rel}: {reason})"
        )
    return {rel: measured.get(rel) for rel in relpaths if rel not in rejected}
