"""Broken, unusual and hostile audio files: each broken one named and left out (or the run stopped),
each unusual one processed correctly, no file name ever run as a command."""

import os
import shutil

import numpy as np
import pandas as pd
import pytest

import audio_io
import audio_processing
import discovery
from settings import spectrogram_settings
from bad_corpus import BROKEN, HOSTILE, LATE, SHELL_NAMES, SNAKEMAKE_NAMES, UNUSUAL, make_bad_corpus
from workflow import JOB, SMALL_CONFIG, STAGE, copy_workflow, make_audio_folder, planned, run

SETTINGS = spectrogram_settings({"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512})
SHAPE = (32, 1 + 8000 // 256)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad") / "audio"
    good = make_bad_corpus(folder)
    return folder, good


@pytest.mark.parametrize("rel", sorted(BROKEN))
def test_check_names_what_is_wrong(corpus, rel):
    folder, _ = corpus
    if rel in ("hum/stray-take.wav",) or discovery.name_problem(rel):
        assert audio_io.check_audio(folder / rel) is None  # readable audio, rejected for its name
        assert rel == "hum/stray-take.wav" or BROKEN[rel] in discovery.name_problem(rel)
        return
    reason = audio_io.check_audio(folder / rel)
    assert reason and BROKEN[rel] in reason
    assert str(folder) not in reason  # the path is in the file column, not repeated in the reason


@pytest.mark.parametrize("rel", sorted(UNUSUAL))
def test_unusual_files_are_processed(corpus, rel):
    folder, _ = corpus
    assert audio_io.check_audio(folder / rel) is None
    x = audio_processing.spectrogram(folder / rel, SETTINGS)
    assert x.shape == SHAPE and x.dtype == np.float32
    assert np.all(np.isfinite(x)) and x.min() >= 0.0 and x.max() <= 1.0
    assert x.max() == 1.0  # minmax: a real signal spans [0, 1]


@pytest.mark.parametrize("rel", sorted(SHELL_NAMES))
def test_shell_names_are_refused_naming_the_character(rel):
    assert SHELL_NAMES[rel] in discovery.name_problem(rel).split(",")[0]


@pytest.mark.parametrize("rel", sorted(SNAKEMAKE_NAMES))
def test_names_snakemake_reads_are_refused_naming_what_it_reads(rel):
    assert SNAKEMAKE_NAMES[rel] in discovery.name_problem(rel)


@pytest.mark.parametrize("mode", ["skip", "fail"])
def test_prediction_folder_refuses_pathvars_in_names(tmp_path, mode):
    """A lower-case <name> in a prediction folder's file name used to stop every run at parse time
    (UndefinedPathvarException): it is left out with a warning naming it, or stops the run in one line."""
    audio, field = tmp_path / "audio", tmp_path / "field"
    make_audio_folder(audio, per=1)
    field.mkdir()
    for name in ("good_1.wav", "at<results>_9.wav", "eve<script>_9.wav"):
        shutil.copy(audio / "bark" / "ann_0.WAV", field / name)
    work = copy_workflow(tmp_path / "wf")
    config = SMALL_CONFIG.format(audio_dir=audio) + f"on_bad_audio: {mode}\npredict:\n  field: {field}\n"
    (work / "c.yaml").write_text(config)
    proc = run(work, "-n", "results/predictions/field.csv", "--configfile", "c.yaml", check=False)
    assert "Undefined pathvar" not in proc.stdout, proc.stdout[-2000:]
    reason = discovery.name_problem("at<results>_9.wav")
    jobs = {m.group(1) for m in map(JOB.match, proc.stdout.splitlines()) if m}
    if mode == "skip":
        assert proc.returncode == 0, proc.stdout[-2000:]
        assert f"predict: 2 of 3 files under {field} left out (e.g. at<results>_9.wav: {reason})" in proc.stdout
        assert "predict" in jobs
    else:
        assert proc.returncode != 0 and not jobs
        assert f"{field}/at<results>_9.wav: {reason}; fix or remove it, or set on_bad_audio: skip" in proc.stdout


def test_silence_gives_zeros_not_nan(corpus):
    folder, _ = corpus
    assert not audio_processing.spectrogram(folder / "bark/silence_1.wav", SETTINGS).any()


def test_check_files_probes_each_version_once(tmp_path, monkeypatch):
    monkeypatch.setattr(discovery, "RACY_NS", 0)  # files written just now are trusted (see the test below)
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "x.wav").write_bytes(b"")
    (folder / "y.wav").write_bytes(b"abc")
    calls = []

    def probe(path):
        calls.append(os.path.basename(path))
        return None if os.path.getsize(path) else "empty"

    cache = str(tmp_path / "checks.csv")
    rels = ["x.wav", "y.wav", "bad\nname.wav"]
    assert discovery.check_files(str(folder), rels, probe, cache, "v1") == {
        "x.wav": "empty",
        "bad\nname.wav": "the file name holds a control character (newline, tab, ...): rename the file",
    }
    assert sorted(calls) == ["x.wav", "y.wav"]
    discovery.check_files(str(folder), rels, probe, cache, "v1")
    assert len(calls) == 2  # nothing changed: nothing probed
    (folder / "x.wav").write_bytes(b"now audio")
    assert discovery.check_files(str(folder), rels, probe, cache, "v1") == {"bad\nname.wav": discovery.name_problem(rels[2])}
    assert calls[2:] == ["x.wav"]  # only the changed file
    discovery.check_files(str(folder), rels, probe, cache, "v2")
    assert sorted(calls[3:]) == ["x.wav", "y.wav"]  # a new probe version checks everything again


def test_check_files_sees_new_content_with_old_size_and_times(tmp_path, monkeypatch):
    """A content replaced with the same size and modification time is read again (its change time moved);
    a file changed within the last RACY_NS is checked again at the next call, whatever its times say."""
    folder = tmp_path / "a"
    folder.mkdir()
    path = folder / "x.wav"
    path.write_bytes(b"first")
    cache, digests = str(tmp_path / "checks.csv"), {}
    discovery.check_files(str(folder), ["x.wav"], lambda p: None, cache, "v1", digests=digests)
    first = digests["x.wav"]
    assert first == discovery.content_digest(str(path))
    # within RACY_NS of its change, the entry is not trusted: the next call reads the file again
    assert discovery.read_checks(cache, "v1")["x.wav"][2] == -1
    before = path.stat()
    path.write_bytes(b"other")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    monkeypatch.setattr(discovery, "RACY_NS", 0)
    discovery.check_files(str(folder), ["x.wav"], lambda p: None, cache, "v1", digests=digests)
    assert digests["x.wav"] == discovery.content_digest(str(path)) != first
    # a touch: read again, the same digest
    os.utime(path)
    discovery.check_files(str(folder), ["x.wav"], lambda p: None, cache, "v1", digests=digests)
    assert digests["x.wav"] == discovery.content_digest(str(path))


@pytest.fixture(scope="module")
def skipped_run(corpus, tmp_path_factory):
    """The spectrogram stage on the corpus with on_bad_audio: skip, in batches of 4 files."""
    folder, good = corpus
    work = copy_workflow(tmp_path_factory.mktemp("skip") / "wf")
    config = SMALL_CONFIG.format(audio_dir=folder).replace("files_per_job: 1", "files_per_job: 4")
    (work / "c.yaml").write_text(config + "on_bad_audio: skip\n")
    proc = run(work, "--cores", "2", *STAGE, "results/rejected.csv", "--configfile", "c.yaml")
    return work, folder, good, proc.stdout


def test_skip_lists_every_broken_file(skipped_run):
    work, folder, _, out = skipped_run
    rejected = pd.read_csv(work / "results/rejected.csv")
    assert list(rejected.columns) == ["file", "reason"]
    expected = {**BROKEN, **LATE}
    assert sorted(rejected["file"]) == sorted(f"{folder}/{rel}" for rel in expected)
    for file, reason in zip(rejected["file"], rejected["reason"]):
        assert expected[file[len(str(folder)) + 1 :]] in reason
    n_found = len(BROKEN) + len(LATE) + len(skipped_run[2])
    assert f"{len(BROKEN)} of {n_found} audio files left out" in out  # at the start: the checks before any job
    assert f"{len(BROKEN) + len(LATE)} of {n_found} audio files left out" in out  # at the end: and the jobs'


def test_files_rejected_by_their_job_are_left_out_of_every_table(skipped_run):
    work, folder, good, _ = skipped_run
    late = {discovery.file_id(rel) for rel in LATE}
    for table in ("catalog.csv", "final_specs.csv", "final_spects.csv"):
        ids = set(pd.read_csv(work / "results" / table, dtype=str, keep_default_na=False)["id"])
        assert not ids & late, table
    summary = pd.read_csv(work / "results/split_summary.csv")
    assert summary["files"].sum() == len(good)
    for rel in LATE:  # their marked outputs say why
        assert LATE[rel] in audio_processing.rejection(work / "results" / "spect" / f"{discovery.file_id(rel)}.png")


def test_skip_keeps_every_good_file(skipped_run):
    work, _, good, _ = skipped_run
    manifest = pd.read_csv(work / "results/final_specs.csv", dtype=str, keep_default_na=False)
    assert sorted(manifest["id"]) == sorted(discovery.file_id(rel) for rel in good)
    for name in manifest["filename"]:
        x = np.load(work / "results" / name)
        assert x.shape == SHAPE and np.all(np.isfinite(x)) and 0.0 <= x.min() and x.max() <= 1.0
    pixels = pd.read_csv(work / "results/train_data.csv")
    assert len(pixels) == len(good)
    catalog = pd.read_csv(work / "results/catalog.csv", dtype=str, keep_default_na=False)
    assert not set(catalog["id"]) & {discovery.file_id(rel) for rel in BROKEN}
    assert discovery.file_id(HOSTILE) not in set(catalog["id"])


def test_no_file_name_is_run(skipped_run):
    work, folder, _, _ = skipped_run
    for place in (work, folder, folder / "hum", work / "results", os.getcwd(), os.path.expanduser("~"), "/tmp"):
        for n in ("", "2", "3", "4"):
            assert not os.path.exists(os.path.join(place, f"PWNED{n}")), place


def test_fixed_file_is_taken_in(skipped_run, tmp_path):
    work, folder, _, _ = skipped_run
    fixed = tmp_path / "audio"
    shutil.copytree(folder, fixed)
    shutil.copy(fixed / "bark/ann_0.WAV", fixed / "bark/empty_1.wav")
    (work / "fixed.yaml").write_text(
        SMALL_CONFIG.format(audio_dir=fixed).replace("files_per_job: 1", "files_per_job: 4") + "on_bad_audio: skip\n"
    )
    rules, ids = planned(work, "results/final_specs.csv", "--configfile", "fixed.yaml")
    assert "bark/empty_1" in ids


def test_fail_stops_before_any_job(corpus, tmp_path):
    folder, _ = corpus
    work = copy_workflow(tmp_path / "wf")
    (work / "c.yaml").write_text(SMALL_CONFIG.format(audio_dir=folder) + "on_bad_audio: fail\n")
    proc = run(work, "-n", "--configfile", "c.yaml", check=False)
    assert proc.returncode != 0
    first = sorted(BROKEN)[0]
    message = [line for line in proc.stdout.splitlines() if f"{folder}/{first}" in line]
    assert message, proc.stdout[-2000:]
    assert BROKEN[first] in message[0] and "on_bad_audio: skip" in message[0]
    assert f"and {len(BROKEN) - 1} more" in message[0]
    assert "rule spectrogram" not in proc.stdout and not (work / "results/specs").exists()


def test_on_silent_keep_trains_on_silence_and_fail_names_a_damaged_file(corpus, tmp_path):
    folder, good = corpus
    work = copy_workflow(tmp_path / "wf")
    config = SMALL_CONFIG.format(audio_dir=folder).replace("files_per_job: 1", "files_per_job: 8")
    (work / "keep.yaml").write_text(config + "on_bad_audio: skip\non_silent: keep\n")
    run(work, "--cores", "2", "results/final_specs.csv", "--configfile", "keep.yaml")
    ids = set(pd.read_csv(work / "results/final_specs.csv", dtype=str, keep_default_na=False)["id"])
    assert {"bark/silence_1", "hum/constant_1"} <= ids and "chirp/damaged_1" not in ids
    x = np.load(work / "results" / "specs" / "bark" / "silence_1.npy")
    assert x.shape == SHAPE and not x.any()
    only_late = tmp_path / "audio"  # under fail the checks before any job stop first: keep the job-time problem only
    shutil.copytree(folder, only_late)
    for rel in BROKEN:
        (only_late / rel).unlink()
    fail = SMALL_CONFIG.format(audio_dir=only_late).replace("files_per_job: 1", "files_per_job: 8")
    (work / "fail.yaml").write_text(fail + "on_bad_audio: fail\non_silent: keep\n")
    proc = run(work, "--cores", "2", "results/final_specs.csv", "--configfile", "fail.yaml", check=False)
    assert proc.returncode != 0 and "logs/spectrogram/" in proc.stdout  # the failed job's log is named
    logs = "".join(path.read_text() for path in (work / "logs" / "spectrogram").glob("*.log"))
    assert f"{only_late}/chirp/damaged_1.flac: cannot decode audio: the audio data is damaged" in logs
