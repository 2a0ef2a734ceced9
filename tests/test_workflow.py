"""End-to-end runs of the workflow on a small synthetic folder, and what dry runs plan after changes."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from PIL import Image

import audio_processing as ap
from workflow import SMALL_CONFIG, copy_workflow, STAGE, make_audio_folder, planned, run, tone_clip

AGGREGATES = {"catalog", "manifest_npy", "manifest_png", "train_data"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A workflow copy that has run to completion on a 30-file folder."""
    base = tmp_path_factory.mktemp("built")
    work = copy_workflow(base / "wf")
    audio = base / "audio"
    rels = make_audio_folder(audio)
    (work / "test.yaml").write_text(SMALL_CONFIG.format(audio_dir=audio))
    run(work, *STAGE, "--cores", "2", "--configfile", "test.yaml")
    return work, audio, rels


@pytest.fixture
def clone(built, tmp_path):
    """A private copy of the built workflow (results and metadata included) to change."""
    work, audio, rels = built
    new_audio = tmp_path / "audio"
    shutil.copytree(audio, new_audio)
    new_work = tmp_path / "wf"
    shutil.copytree(work, new_work, symlinks=True)
    (new_work / "test.yaml").write_text(SMALL_CONFIG.format(audio_dir=new_audio))
    # the copied metadata names the old audio folder: one settling run makes the clone up to date
    run(new_work, *STAGE, "--cores", "2", "--configfile", "test.yaml")
    return new_work, new_audio, rels


def read_manifest(path):
    return pd.read_csv(path, dtype={"author": str, "class": str, "id": str}, keep_default_na=False)


def test_manifests_list_every_file_once(built):
    work, audio, rels = built
    ids = sorted(rel.rsplit(".", 1)[0] for rel in rels)
    for name, folder, ext in [("final_specs.csv", "specs", "npy"), ("final_spects.csv", "spect", "png")]:
        m = read_manifest(work / "results" / name)
        assert sorted(m["id"]) == ids  # hidden files, hidden folders and notes.txt left out
        assert list(m.columns) == [
            "filename", "audio_path", "id", "author", "class", "class_id", "split", "duration", "sample_rate",
            "spectrogram_sample_rate", "shape",
        ]
        assert all(m["filename"] == [f"{folder}/{i}.{ext}" for i in m["id"]])
        assert set(m["shape"]) == {"32x32"}
        assert set(m["sample_rate"]) == {16000, 22050} and set(m["spectrogram_sample_rate"]) == {16000}
        np.testing.assert_allclose(m["duration"], 0.5, atol=1e-4)
        assert all((work / "results" / f).exists() for f in m["filename"])
    classes = pd.read_csv(work / "results" / "classes.csv")
    assert list(classes["class"]) == ["bark", "chirp", "hum"] and list(classes["class_id"]) == [0, 1, 2]
    m = read_manifest(work / "results" / "final_specs.csv")
    assert all(m["class_id"] == m["class"].map({"bark": 0, "chirp": 1, "hum": 2}))


def test_splits_group_authors(built):
    work, _, _ = built
    m = read_manifest(work / "results" / "final_specs.csv")
    assert m.groupby("author")["split"].nunique().max() == 1
    assert set(m.loc[m["author"] == "bob", "split"]) == {"val"}
    assert set(m.loc[m["author"] == "cyd", "split"]) == {"test"}
    summary = pd.read_csv(work / "results" / "split_summary.csv")
    assert summary["files"].sum() == len(m)
    assert set(summary["split"]) == set(m["split"])


def test_branches_agree_for_every_file(built):
    work, _, _ = built
    m = read_manifest(work / "results" / "final_specs.csv")
    for clip in m["id"]:
        npy = np.load(work / "results" / "specs" / f"{clip}.npy")
        png = np.asarray(Image.open(work / "results" / "spect" / f"{clip}.png"))
        assert npy.dtype == np.float32 and png.dtype == np.uint8
        assert png.shape == npy.shape
        assert np.max(np.abs(png[::-1].astype(np.float64) / 255 - npy)) <= 1 / 510 + 1e-6  # float32 rounding of x itself
        assert 0.0 <= npy.min() and npy.max() <= 1.0


def test_npy_equals_the_in_process_computation(built):
    work, audio, rels = built
    settings = {"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512, "hop_length": 256}
    rel = rels[3]
    expected = ap.spectrogram(str(audio / rel), settings)
    got = np.load(work / "results" / "specs" / (rel.rsplit(".", 1)[0] + ".npy"))
    np.testing.assert_array_equal(got, expected)


def test_legacy_pixel_table_holds_the_png_pixels(built):
    work, _, _ = built
    table = pd.read_csv(work / "results" / "train_data.csv", dtype={"author": str, "class": str})
    m = read_manifest(work / "results" / "final_spects.csv")
    assert len(table) == len(m)
    assert list(table.columns[:7]) == ["filename", "author", "class", "class_id", "split", "height", "width"]
    row = table.iloc[5]
    pixels = np.asarray(Image.open(work / "results" / row["filename"]))
    flat = table.iloc[5, 7:].to_numpy(dtype=np.uint8)
    np.testing.assert_array_equal(flat.reshape(row["height"], row["width"]), pixels)


def test_up_to_date_plans_nothing(built):
    work, _, _ = built
    rules, _ = planned(work, *STAGE, "--configfile", "test.yaml")
    assert sum(rules.values()) == 0


def test_changed_audio_reruns_only_its_spectrogram(clone):
    work, audio, rels = clone
    target = audio / rels[0]
    sr = sf.info(target).samplerate
    sf.write(target, tone_clip(1234.0, sr=sr, seed=99), sr)
    rules, ids = planned(work, *STAGE, "--configfile", "test.yaml")
    assert ids == {rels[0].rsplit(".", 1)[0]}
    assert set(rules) == AGGREGATES | {"spectrogram"} and rules["spectrogram"] == 1


def test_incremental_runs_write_the_tables_of_a_clean_run(built, clone):
    """A file changed and changed back: every aggregate holds the clean run's bytes (its audio folder aside)."""
    work, audio, rels = clone
    clean, clean_audio, _ = built
    target = audio / rels[0]
    original = target.read_bytes()
    sr = sf.info(target).samplerate
    sf.write(target, tone_clip(1234.0, sr=sr, seconds=0.7, seed=99), sr)
    run(work, *STAGE, "--cores", "2", "--configfile", "test.yaml")
    changed = read_manifest(work / "results" / "final_specs.csv")
    assert changed.loc[changed["audio_path"] == str(target), "duration"].item() == pytest.approx(0.7)
    target.write_bytes(original)
    run(work, *STAGE, "--cores", "2", "--configfile", "test.yaml")
    names = ["catalog.csv", "classes.csv", "split_summary.csv", "rejected.csv", "final_specs.csv", "final_spects.csv",
             "train_data.csv"]
    names += [str(p.relative_to(clean / "results")) for p in sorted((clean / "results" / "file_facts").rglob("*.json"))]
    assert len(names) == 7 + len(rels)
    for name in names:
        got = (work / "results" / name).read_bytes().replace(str(audio).encode(), str(clean_audio).encode())
        assert got == (clean / "results" / name).read_bytes(), name


def test_touch_alone_plans_nothing(clone):
    work, audio, rels = clone
    (audio / rels[1]).touch()
    rules, _ = planned(work, *STAGE, "--configfile", "test.yaml")
    assert sum(rules.values()) == 0


def test_added_file_runs_only_its_spectrogram(clone):
    work, audio, _ = clone
    sf.write(audio / "hum" / "fay_0.flac", tone_clip(900.0, seed=5), 16000)
    rules, ids = planned(work, *STAGE, "--configfile", "test.yaml")
    assert ids == {"hum/fay_0"}
    assert set(rules) == AGGREGATES | {"spectrogram"}


def test_removed_file_leaves_the_manifests(clone):
    work, audio, rels = clone
    (audio / rels[2]).unlink()
    rules, ids = planned(work, *STAGE, "--configfile", "test.yaml")
    assert not ids and set(rules) == AGGREGATES
    run(work, *STAGE, "--cores", "2", "--configfile", "test.yaml")
    m = read_manifest(work / "results" / "final_specs.csv")
    assert rels[2].rsplit(".", 1)[0] not in set(m["id"]) and len(m) == len(rels) - 1


def test_spectrogram_setting_reruns_every_spectrogram(clone):
    work, _, rels = clone
    (work / "change.yaml").write_text("spectrogram:\n  n_mels: 24\n")
    rules, ids = planned(work, *STAGE, "--configfile", "test.yaml", "change.yaml")
    assert rules["spectrogram"] == len(rels) and len(ids) == len(rels)


def test_split_setting_reruns_no_spectrogram(clone):
    work, _, _ = clone
    (work / "change.yaml").write_text("split:\n  seed: 7\n")
    rules, _ = planned(work, *STAGE, "--configfile", "test.yaml", "change.yaml")
    assert rules["spectrogram"] == 0
    assert set(rules) == AGGREGATES


@pytest.mark.parametrize("module", ["audio_io.py", "spectrogram_math.py", "audio_processing.py"])
def test_changed_math_reruns_every_spectrogram(clone, module):
    work, _, rels = clone
    path = Path(work) / "scripts" / module
    original = path.read_text()
    path.write_text(original + "\n# a changed line of a module that makes spectrograms\n")
    try:
        rules, _ = planned(work, *STAGE, "--configfile", "test.yaml")
    finally:
        path.write_text(original)
    assert rules["spectrogram"] == len(rels)
