"""A growing corpus: any sequence of changes, then a run, gives what a clean run gives, rerunning only what changed.

A Hypothesis state machine draws sequences of the changes a real user makes to a corpus, its label sources
and the configuration (files added, removed, renamed, moved, replaced, touched, made unreadable and
repaired; labels CSV, Raven tables and annotation CSV edited; settings, seed, files_per_job, branches,
windows and image.cmap changed; a run killed part-way). After each step it runs the workflow, runs it
again from scratch in a fresh folder on the same files, and compares every output byte for byte; it also
compares the spectrograms that were computed with those the change should cause (the batches whose files
or settings changed, see ``expected_batches``).

CI runs a few seeded sequences (``INCREMENTAL_EXAMPLES`` × ``INCREMENTAL_STEPS``, 2 × 5 by default); set
them higher, ``INCREMENTAL_RANDOM=1`` for fresh draws and ``INCREMENTAL_SHRINK=1`` to shrink a failure, for
long local runs.
"""

import hashlib
import os
import shutil
import signal
import time
from pathlib import Path

import pytest
import soundfile as sf
import yaml
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import batches
from discovery import discover_audio
from workflow import ROOT, copy_workflow, finish, jobs_in, run, start, tone_clip

CLASSES = ("bark", "chirp", "hum")
AUTHORS = ("ann", "bob", "cyd", "dan")
NEW_AUTHORS = ("eve", "fay")
SR = 16000
SECONDS = 0.5
FORM_FOLDERS = {"npy": ("results/specs", ".npy"), "png": ("results/spect", ".png")}
COLOR_FOLDER = "results/spect_color"
COMPARED_TABLES = (
    "catalog.csv",
    "classes.csv",
    "split_summary.csv",
    "rejected.csv",
    "events.csv",
    "final_specs.csv",
    "final_spects.csv",
    "train_data.csv",
)
ALWAYS = ("catalog.csv", "classes.csv", "split_summary.csv", "rejected.csv")
EXAMPLES = int(os.environ.get("INCREMENTAL_EXAMPLES", "2"))
STEPS = int(os.environ.get("INCREMENTAL_STEPS", "5"))
SHRINK = os.environ.get("INCREMENTAL_SHRINK") == "1"


def outputs(work, tables=COMPARED_TABLES):
    """Every output a clean run is compared on: relative path → bytes (``tables``, spectrograms, file facts).

    Every spectrogram folder is read, those of the forms turned off too (a run removes them); of the
    tables, those of the current configuration (a branch turned off keeps its manifest and model).
    """
    work = Path(work)
    found = {}
    for name in tables:
        path = work / "results" / name
        if path.exists():
            found[f"results/{name}"] = path.read_bytes()
    for folder in [f for f, _ in FORM_FOLDERS.values()] + [COLOR_FOLDER, "results/file_facts"]:
        root = work / folder
        if root.exists():
            for path in root.rglob("*"):
                if path.is_file():
                    found[str(path.relative_to(work))] = path.read_bytes()
    return found


def differences(incremental, clean):
    """A short description of how two :func:`outputs` differ (empty when equal)."""
    only_inc = sorted(set(incremental) - set(clean))
    only_clean = sorted(set(clean) - set(incremental))
    changed = sorted(p for p in set(incremental) & set(clean) if incremental[p] != clean[p])
    lines = []
    if only_inc:
        lines.append(f"only in the incremental run: {only_inc[:5]}")
    if only_clean:
        lines.append(f"only in the clean run: {only_clean[:5]}")
    if changed:
        lines.append(f"different: {changed[:5]}")
    return "\n".join(lines)


class Corpus:
    """The test's model of a corpus: audio files, label sources and configuration, written to disk on demand."""

    def __init__(self, base):
        self.base = Path(base)
        self.audio = self.base / "audio"
        self.files = {}  # relpath → seed of its content
        self.corrupt = set()  # relpaths whose content is currently not audio
        self.relabel = {}  # relpath → class in the labels CSV (instead of its folder's)
        self.events = {}  # relpath → list of (start, end, class) for annotation modes
        self.tables = set()  # relpaths whose Raven table exists (mode raven)
        self.counter = 0
        self.config = {
            "files_per_job": 4,
            "on_bad_audio": "skip",
            "spectrogram": {"sr": SR, "duration": SECONDS, "n_mels": 32, "n_fft": 512, "hop_length": 256},
            "split": {
                "by": "author",
                "seed": 42,
                "fractions": {"train": 0.6, "val": 0.2, "test": 0.2},
                "assign": {"val": ["bob"], "test": ["cyd"]},
            },
            "branches": ["npy", "png"],
            "image": {"cmap": None},
            "windows": {"length": None},
        }
        self.source = "pattern"  # pattern | csv | raven | annotations_csv
        for cls in CLASSES:
            for author in AUTHORS:
                self.add(f"{cls}/{author}_0.wav", seed=self.next_seed())

    def next_seed(self):
        self.counter += 1
        return self.counter

    def write_audio(self, rel, seed):
        path = self.audio / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        freq = 200.0 + 37.0 * (seed % 40)
        sf.write(path, tone_clip(freq, sr=SR, seconds=SECONDS, seed=seed), SR, subtype="PCM_16")

    def add(self, rel, seed):
        self.files[rel] = seed
        self.write_audio(rel, seed)
        cls = rel.split("/")[0]
        self.events[rel] = [(0.0, 0.2, cls)]
        self.tables.add(rel)

    def remove(self, rel):
        (self.audio / rel).unlink()
        del self.files[rel]
        self.corrupt.discard(rel)
        self.relabel.pop(rel, None)
        self.events.pop(rel, None)
        self.tables.discard(rel)

    def move(self, rel, new):
        (self.audio / new).parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.audio / rel, self.audio / new)
        self.files[new] = self.files.pop(rel)
        if rel in self.corrupt:
            self.corrupt.discard(rel)
            self.corrupt.add(new)
        if rel in self.relabel:
            self.relabel[new] = self.relabel.pop(rel)
        self.events[new] = self.events.pop(rel)
        if rel in self.tables:
            self.tables.discard(rel)
            self.tables.add(new)

    def extra_files(self):
        """Files beyond the base corpus (index ≥ 1): these may be removed, renamed, moved or broken."""
        return sorted(rel for rel in self.files if not rel.endswith("_0.wav"))

    def new_name(self, cls, author):
        self.counter += 1
        return f"{cls}/{author}_{self.counter}.wav"

    def usable(self):
        return sorted(rel for rel in self.files if rel not in self.corrupt)

    def annotated(self):
        return self.source in ("raven", "annotations_csv")

    def write_sources(self):
        """Write the label sources of the current mode (Raven tables beside the recordings, CSVs) and the config."""
        for old in self.audio.rglob("*.txt"):
            old.unlink()
        labels_dir = self.base / "labels"
        labels_dir.mkdir(exist_ok=True)
        config = yaml.safe_load(yaml.safe_dump(self.config))
        config["audio_dir"] = str(self.audio)
        pattern = r"^(?P<class>[^/]+)/(?P<author>[^_/]+)_\d+$"
        if self.source == "pattern":
            config["labels"] = {"from": "pattern", "pattern": pattern}
        elif self.source == "csv":
            rows = ["path,class,author"]
            for rel in sorted(self.files):
                cls, name = rel.split("/")
                rows.append(f"{rel},{self.relabel.get(rel, cls)},{name.split('_')[0]}")
            (labels_dir / "labels.csv").write_text("\n".join(rows) + "\n")
            config["labels"] = {"from": "csv", "csv": str(labels_dir / "labels.csv")}
        else:
            config["labels"] = {"from": "annotations", "pattern": r"^[^/]+/(?P<author>[^_/]+)_"}
            config["windows"] = {"length": 0.25, "hop": 0.25, "last": "pad"}
            if self.source == "raven":
                header = "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tAnnotation"
                for rel in sorted(self.tables):
                    lines = [header] + [
                        f"{i}\tSpectrogram 1\t1\t{start}\t{end}\t100\t4000\t{cls}"
                        for i, (start, end, cls) in enumerate(self.events[rel], start=1)
                    ]
                    table = (self.audio / rel).with_suffix(".Table.1.selections.txt")
                    table.write_text("\n".join(lines) + "\n")
            else:
                rows = ["path,start,end,class"] + [
                    f"{rel},{start},{end},{cls}" for rel in sorted(self.files) for start, end, cls in self.events[rel]
                ]
                (labels_dir / "events.csv").write_text("\n".join(rows) + "\n")
                config["labels"]["annotations"] = str(labels_dir / "events.csv")
        return config

    def targets(self):
        targets = ["results/split_summary.csv", "results/rejected.csv"]
        if "npy" in self.config["branches"]:
            targets.append("results/final_specs.csv")
        if "png" in self.config["branches"]:
            targets += ["results/final_spects.csv", "results/train_data.csv"]
        return targets

    def plan(self):
        """The spectrogram jobs the current state needs: batch name → (what makes its outputs, its ids)."""
        ids = {os.path.splitext(rel)[0]: rel for rel in self.usable()}
        spectro = repr(
            (
                self.config["spectrogram"],
                sorted(self.config["branches"]),
                self.config["image"]["cmap"],
                self.annotated() or self.config["windows"]["length"],
            )
        )
        return spectrogram_plan(self.audio, self.usable(), self.config["files_per_job"], spectro)


def spectrogram_plan(audio, relpaths, files_per_job, settings=""):
    """The spectrogram jobs of a corpus: job name → (what makes its outputs, its ids).

    What makes a job's outputs: the settings, and each file's id, name and content.
    """
    ids = {os.path.splitext(rel)[0]: rel for rel in relpaths}
    plan = batches.plan_batches(ids, files_per_job) if files_per_job > 1 else {clip: [clip] for clip in ids}
    return {
        name: (
            (settings, tuple((clip, ids[clip], digest(Path(audio) / ids[clip])) for clip in clips)),
            set(clips),
        )
        for name, clips in plan.items()
    }


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def expected_batches(before, after):
    """The ids whose spectrograms a run must compute to go from plan ``before`` to plan ``after``."""
    return set().union(*[ids for name, (key, ids) in after.items() if before.get(name, (None,))[0] != key])


class IncrementalEqualsClean(RuleBasedStateMachine):
    """Changes to a corpus, each followed by a run that must equal a clean run and rerun only what changed."""

    def __init__(self):
        super().__init__()
        self.tmp = Path(os.environ.get("INCREMENTAL_TMP", "/tmp")) / f"incremental-{os.getpid()}-{time.monotonic_ns()}"
        self.corpus = Corpus(self.tmp)
        self.work = copy_workflow(self.tmp / "wf")
        self.done = {}  # the plan of the last completed run
        self.dirty = False  # a run was killed since: which jobs rerun is not exactly known
        self.changed = True  # anything changed since the last completed run
        self.deleted = set()  # ids whose spectrogram was deleted by hand since
        self.steps = 0

    def teardown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- the run after every step ----------------------------------------------------------------

    def write(self, work):
        config = self.corpus.write_sources()
        (Path(work) / "test.yaml").write_text(yaml.safe_dump(config))

    @invariant()
    def incremental_equals_clean(self):
        self.write(self.work)
        plan = self.corpus.plan()
        clean = copy_workflow(self.tmp / f"clean{self.steps}")
        self.write(clean)
        # the clean run goes beside the incremental one (two workflow copies share nothing): half the wait
        beside = start(clean, *self.corpus.targets(), "--cores", "2", "--configfile", "test.yaml")
        try:
            proc = run(self.work, *self.corpus.targets(), "--cores", "2", "--configfile", "test.yaml")
        finally:
            finish(beside)
        rules, ids = jobs_in(proc.stdout)
        expected = expected_batches(self.done, plan)
        expected |= set().union(*[ids_ for _, ids_ in plan.values() if ids_ & self.deleted])
        if self.dirty:  # the killed run may have finished some of the expected jobs, never caused others
            assert ids <= expected, sorted(ids - expected)
        else:
            assert ids == expected, (f"computed {sorted(ids)}, expected {sorted(expected)}", proc.stdout[-3000:])
            if not self.changed:
                assert not rules, f"nothing changed, yet {dict(rules)} ran"
        tables = [name for name in COMPARED_TABLES if f"results/{name}" in self.corpus.targets() or name in ALWAYS]
        tables += ["events.csv"] if self.corpus.annotated() else []
        problem = differences(outputs(self.work, tables), outputs(clean, tables))
        assert not problem, problem
        shutil.rmtree(clean)
        self.done, self.dirty, self.changed, self.deleted = plan, False, False, set()
        self.steps += 1

    # ---- changes to the audio files --------------------------------------------------------------

    def draw_extra(self, data):
        """One of the files beyond the base corpus, drawn."""
        return data.draw(st.sampled_from(self.corpus.extra_files()))

    @rule(cls=st.sampled_from(CLASSES), author=st.sampled_from(AUTHORS + NEW_AUTHORS))
    def add_file(self, cls, author):
        self.corpus.add(self.corpus.new_name(cls, author), self.corpus.next_seed())
        self.changed = True

    @rule()
    def add_past_a_doubling(self):
        """Add files until the batch count doubles (every batch splits in two)."""
        fpj = self.corpus.config["files_per_job"]
        n = len(self.corpus.usable())
        target = batches.batch_count(n, fpj) * max(fpj, 1) + 1
        for i in range(max(1, target - n)):
            cls, author = CLASSES[i % 3], (AUTHORS + NEW_AUTHORS)[i % 6]
            self.corpus.add(self.corpus.new_name(cls, author), self.corpus.next_seed())
        self.changed = True

    @precondition(lambda self: self.corpus.extra_files())
    @rule(data=st.data())
    def remove_file(self, data):
        self.corpus.remove(self.draw_extra(data))
        self.changed = True

    @precondition(lambda self: self.corpus.extra_files())
    @rule(data=st.data())
    def rename_within_folder(self, data):
        rel = self.draw_extra(data)
        cls, name = rel.split("/")
        self.corpus.move(rel, self.corpus.new_name(cls, name.split("_")[0]))
        self.changed = True

    @precondition(lambda self: self.corpus.extra_files())
    @rule(data=st.data())
    def move_to_other_class(self, data):
        rel = self.draw_extra(data)
        cls, name = rel.split("/")
        other = data.draw(st.sampled_from([c for c in CLASSES if c != cls]))
        self.corpus.move(rel, f"{other}/{name}")
        self.corpus.events[f"{other}/{name}"] = [(0.0, 0.2, other)]
        self.changed = True

    @rule(data=st.data(), keep_time=st.booleans())
    def replace_content(self, data, keep_time):
        """A new recording under the old name; with ``keep_time`` also the old size and modification time."""
        rel = data.draw(st.sampled_from(sorted(set(self.corpus.files) - self.corpus.corrupt)))
        path = self.corpus.audio / rel
        before = path.stat()
        self.corpus.files[rel] = self.corpus.next_seed()
        self.corpus.write_audio(rel, self.corpus.files[rel])
        if keep_time:
            assert path.stat().st_size == before.st_size
            os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        self.changed = True

    @rule(data=st.data())
    def touch(self, data):
        """A new modification time, the same content: nothing may rerun."""
        rel = data.draw(st.sampled_from(sorted(self.corpus.files)))
        os.utime(self.corpus.audio / rel)

    @precondition(lambda self: set(self.corpus.extra_files()) - self.corpus.corrupt)
    @rule(data=st.data())
    def make_unreadable(self, data):
        rel = data.draw(st.sampled_from(sorted(set(self.corpus.extra_files()) - self.corpus.corrupt)))
        path = self.corpus.audio / rel
        path.write_bytes(b"not audio " * (path.stat().st_size // 10))
        self.corpus.corrupt.add(rel)
        self.changed = True

    @precondition(lambda self: self.corpus.corrupt)
    @rule(data=st.data())
    def repair(self, data):
        rel = data.draw(st.sampled_from(sorted(self.corpus.corrupt)))
        self.corpus.write_audio(rel, self.corpus.files[rel])
        self.corpus.corrupt.discard(rel)
        self.changed = True

    @rule(data=st.data())
    def delete_a_spectrogram_by_hand(self, data):
        """A spectrogram removed from results/: its job must run again, though its facts table is there."""
        clip = os.path.splitext(data.draw(st.sampled_from(self.corpus.usable())))[0]
        branch = data.draw(st.sampled_from(self.corpus.config["branches"]))
        folder, suffix = FORM_FOLDERS[branch]
        path = self.work / folder / f"{clip}{suffix}"
        if path.exists():
            path.unlink()
            self.deleted.add(clip)
            self.changed = True

    # ---- changes to the label sources ------------------------------------------------------------

    @rule(source=st.sampled_from(["pattern", "csv", "raven", "annotations_csv"]))
    def switch_label_source(self, source):
        self.changed |= source != self.corpus.source
        self.corpus.source = source

    @precondition(lambda self: self.corpus.source == "csv" and self.corpus.extra_files())
    @rule(data=st.data())
    def edit_labels_csv(self, data):
        rel = self.draw_extra(data)
        self.corpus.relabel[rel] = data.draw(st.sampled_from(CLASSES))
        self.changed = True

    @precondition(lambda self: self.corpus.annotated())
    @rule(data=st.data(), start=st.sampled_from([0.0, 0.1, 0.25]), cls=st.sampled_from(CLASSES))
    def edit_annotation(self, data, start, cls):
        """Edit an event's time and class (in the Raven table or the annotation CSV of the current mode)."""
        rel = data.draw(st.sampled_from(sorted(self.corpus.files)))
        self.corpus.events[rel] = [(start, start + 0.2, cls)]
        self.changed = True

    @precondition(lambda self: self.corpus.source == "raven")
    @rule(data=st.data())
    def remove_or_add_raven_table(self, data):
        rel = data.draw(st.sampled_from(sorted(self.corpus.files)))
        if rel in self.corpus.tables:
            self.corpus.tables.discard(rel)
        else:
            self.corpus.tables.add(rel)
        self.changed = True

    # ---- configuration changes ------------------------------------------------------------------

    def set_config(self, section, key, value):
        """Set ``config[section][key]``; a different value is a change."""
        self.changed |= value != self.corpus.config[section][key]
        self.corpus.config[section][key] = value

    @rule(n_mels=st.sampled_from([24, 32]))
    def spectrogram_setting(self, n_mels):
        self.set_config("spectrogram", "n_mels", n_mels)

    @rule(seed=st.sampled_from([1, 42]))
    def split_seed(self, seed):
        self.set_config("split", "seed", seed)

    @rule(files_per_job=st.sampled_from([1, 2, 3, 4, 8]))
    def files_per_job(self, files_per_job):
        self.changed |= files_per_job != self.corpus.config["files_per_job"]
        self.corpus.config["files_per_job"] = files_per_job

    @rule(branches=st.sampled_from([["npy", "png"], ["npy"], ["png"]]))
    def branches(self, branches):
        self.changed |= branches != self.corpus.config["branches"]
        self.corpus.config["branches"] = branches

    @rule(cmap=st.sampled_from([None, "magma"]))
    def image_cmap(self, cmap):
        self.set_config("image", "cmap", cmap)

    @precondition(lambda self: not self.corpus.annotated())
    @rule(length=st.sampled_from([None, 0.25]))
    def windows(self, length):
        self.changed |= length != self.corpus.config["windows"]["length"]
        self.corpus.config["windows"] = {"length": length} if length is None else {"length": length, "hop": 0.25}

    # ---- a run killed part-way, then a change ---------------------------------------------------

    @rule(delay=st.floats(0.5, 6.0), change=st.sampled_from(["add", "touch", "seed", "n_mels"]))
    def killed_run_then_change(self, delay, change):
        """A run killed at a drawn moment (after a change, so it has work to do), then one more change."""
        self.add_file(CLASSES[self.steps % 3], NEW_AUTHORS[self.steps % 2])
        self.write(self.work)
        child = start(self.work, *self.corpus.targets(), "--cores", "2", "--configfile", "test.yaml")
        time.sleep(delay)
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        # a killed run leaves its lock (docs/failures.md): --unlock, as Snakemake's message says
        if any((self.work / ".snakemake" / "locks").glob("*.lock")):
            run(self.work, "--unlock", *self.corpus.targets(), "--configfile", "test.yaml")
        self.dirty = True
        if change == "add":
            self.add_file("hum", "eve")
        elif change == "touch":
            os.utime(self.corpus.audio / sorted(self.corpus.files)[0])
        elif change == "seed":
            self.split_seed(1 if self.corpus.config["split"]["seed"] == 42 else 42)
        else:
            self.spectrogram_setting(24 if self.corpus.config["spectrogram"]["n_mels"] == 32 else 32)


IncrementalEqualsClean.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=os.environ.get("INCREMENTAL_RANDOM") != "1",
    suppress_health_check=list(HealthCheck),
    print_blob=True,
    # each step runs the workflow twice: shrinking a failure would take far longer than CI has
    phases=[Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if SHRINK else []),
)
TestIncrementalEqualsClean = IncrementalEqualsClean.TestCase


# ---- the two reproductions of issue 24, on the demo's recordings -----------------------------------

DEMO_TARGETS = ["results/final_specs.csv", "results/split_summary.csv"]
DEMO_FILES_PER_JOB = 32


@pytest.fixture(scope="module")
def demo_corpus(tmp_path_factory):
    """The demo's 320 recordings, made once by the workflow and copied to a folder of their own."""
    base = tmp_path_factory.mktemp("demo")
    maker = copy_workflow(base / "maker")
    run(maker, "--cores", "2", "results/demo_audio/clicks/delta_00.wav")
    corpus = base / "corpus"
    shutil.copytree(maker / "results" / "demo_audio", corpus)
    return corpus


def demo_start(work, corpus, dry=False):
    """Start the demo run of ``work`` on ``corpus`` (a dry run with ``dry``); :func:`workflow.finish` ends it."""
    (Path(work) / "c.yaml").write_text(f"audio_dir: {corpus}\nfiles_per_job: {DEMO_FILES_PER_JOB}\n")
    args = ["-n"] if dry else []
    return start(work, *args, *DEMO_TARGETS, "--cores", "2", "--configfile", "c.yaml")


def demo_run(work, corpus, dry=False):
    return jobs_in(finish(demo_start(work, corpus, dry)).stdout)


@pytest.mark.parametrize(
    "change",
    [
        # a recording put back into a folder whose run had gone without it: it joins an existing batch
        ("clicks/delta_00.wav", None),
        # a recording renamed into another class folder
        ("clicks/delta_02.wav", "harmonic/zulu_01.wav"),
    ],
    ids=["added", "renamed"],
)
def test_demo_file_added_or_renamed_reruns_its_batches_and_equals_a_clean_run(demo_corpus, tmp_path, change):
    old, new = change
    corpus = tmp_path / "corpus"
    shutil.copytree(demo_corpus, corpus)
    work = copy_workflow(tmp_path / "wf")
    files_per_job = DEMO_FILES_PER_JOB
    if new is None:  # first run without the file, then put it back
        shutil.move(corpus / old, tmp_path / "aside.wav")
        demo_run(work, corpus)
        before = spectrogram_plan(corpus, discover_audio(corpus), files_per_job)
        shutil.move(tmp_path / "aside.wav", corpus / old)
    else:
        demo_run(work, corpus)
        before = spectrogram_plan(corpus, discover_audio(corpus), files_per_job)
        os.rename(corpus / old, corpus / new)
    after = spectrogram_plan(corpus, discover_audio(corpus), files_per_job)
    clean = copy_workflow(tmp_path / "clean")
    beside = demo_start(clean, corpus)  # the clean run goes beside the incremental one's steps
    rules, ids = demo_run(work, corpus, dry=True)
    assert ids == expected_batches(before, after), "exactly the batches whose files changed"
    assert (new or old)[:-4] in ids and len(ids) < 0.25 * len(discover_audio(corpus))
    assert {"catalog", "manifest_npy"} <= set(rules) and "train" not in rules
    demo_run(work, corpus)
    assert demo_run(work, corpus, dry=True) == (jobs_in("")[0], set()), "a second run has nothing to do"
    finish(beside)
    problem = differences(outputs(work), outputs(clean))
    assert not problem, problem


# ---- models: training is deterministic, so an incremental model equals a clean run's --------------

TRAINING = {"epochs": 3, "min_steps": 0, "average_epochs": 2, "batch_size": 8, "conv_blocks": 1, "filters": 4, "dense_units": 8}


def model_weights(work, branch):
    """The weights of ``results/model_{branch}.keras`` (a list of arrays)."""
    from model import setup_keras  # registers the workflow's own layers

    return setup_keras().models.load_model(Path(work) / f"results/model_{branch}.keras", compile=False).get_weights()


def test_models_after_changes_equal_a_clean_run(tmp_path):
    """Files added, moved and replaced after a first training: the retrained model is the clean run's, weight for weight."""
    import numpy as np

    corpus = Corpus(tmp_path)
    corpus.config["branches"] = ["npy"]
    corpus.config["training"] = dict(TRAINING)
    work = copy_workflow(tmp_path / "wf")

    def train_start(folder):
        (Path(folder) / "test.yaml").write_text(yaml.safe_dump(corpus.write_sources()))
        return start(folder, "results/model_npy.keras", "--cores", "2", "--configfile", "test.yaml")

    def train_run(folder):
        return jobs_in(finish(train_start(folder)).stdout)

    train_run(work)
    corpus.add(corpus.new_name("hum", "eve"), corpus.next_seed())
    corpus.add(corpus.new_name("bark", "ann"), corpus.next_seed())
    extra = corpus.new_name("chirp", "dan")
    corpus.add(extra, corpus.next_seed())
    corpus.move(extra, "bark/" + extra.split("/")[1])
    corpus.files["hum/ann_0.wav"] = corpus.next_seed()
    corpus.write_audio("hum/ann_0.wav", corpus.files["hum/ann_0.wav"])
    clean = copy_workflow(tmp_path / "clean")
    beside = train_start(clean)  # beside the retraining: two copies share nothing (and training is deterministic)
    rules, _ = train_run(work)
    finish(beside)
    assert rules["train"] == 1
    ours, theirs = model_weights(work, "npy"), model_weights(clean, "npy")
    assert len(ours) == len(theirs) and all(np.array_equal(a, b) for a, b in zip(ours, theirs))
    problem = differences(outputs(work, ALWAYS + ("final_specs.csv",)), outputs(clean, ALWAYS + ("final_specs.csv",)))
    assert not problem, problem
    for name in ("history.csv", "confusion_matrix.csv", "misclassified.csv"):
        assert (work / "results/npy" / name).read_bytes() == (clean / "results/npy" / name).read_bytes(), name


def test_a_spectrogram_deleted_by_hand_is_made_again_by_its_batch(tmp_path):
    """A spectrogram removed from results/ while its batch's facts table stays: the next run (and its dry run)
    plans exactly that batch, and the outputs equal a clean run's."""
    corpus = Corpus(tmp_path)
    work = copy_workflow(tmp_path / "wf")
    (work / "test.yaml").write_text(yaml.safe_dump(corpus.write_sources()))
    args = [*corpus.targets(), "--cores", "2", "--configfile", "test.yaml"]
    clean = copy_workflow(tmp_path / "clean")
    (clean / "test.yaml").write_text(yaml.safe_dump(corpus.write_sources()))
    beside = start(clean, *args)  # the clean run, beside the first
    run(work, *args)
    finish(beside)
    clip = os.path.splitext(corpus.usable()[3])[0]
    (work / "results" / "specs" / f"{clip}.npy").unlink()
    batch = next(ids for _, ids in corpus.plan().values() if clip in ids)
    proc = run(work, "-n", *args)
    assert "running its job again" in proc.stdout
    assert jobs_in(proc.stdout)[1] == batch
    assert jobs_in(run(work, *args).stdout)[1] == batch
    problem = differences(outputs(work), outputs(clean))
    assert not problem, problem
