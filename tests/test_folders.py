"""Folders as users have them: links, trailing slashes, names that clash, long names, stale caches, leftovers."""

import os
import time

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import atomic
import discovery
from workflow import SMALL_CONFIG, copy_workflow, make_audio_folder, run, tone_clip


def test_links_to_folders_are_not_followed(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "other").mkdir()
    sf.write(tmp_path / "a" / "x_1.wav", tone_clip(400), 16000)
    sf.write(tmp_path / "other" / "y_1.wav", tone_clip(500), 16000)
    os.symlink(".", tmp_path / "a" / "loop")  # would recurse for ever
    os.symlink(tmp_path / "other", tmp_path / "a" / "elsewhere")  # would bring y_1 in twice
    os.symlink(tmp_path / "a" / "x_1.wav", tmp_path / "a" / "linked_2.wav")  # a link to a file is a file
    assert discovery.discover_audio(str(tmp_path / "a")) == ["linked_2.wav", "x_1.wav"]


@pytest.mark.parametrize(
    "names, clashing",
    [
        (["a/x.wav", "a/x.flac", "a/y.wav"], {"a/x.wav", "a/x.flac"}),
        (["Bark/ann_1.wav", "bark/ann_1.wav", "bark/bob_1.wav"], {"Bark/ann_1.wav", "bark/ann_1.wav"}),
        (["bark/Zo\u00eb_1.wav", "bark/Zoe\u0308_1.wav"], {"bark/Zo\u00eb_1.wav", "bark/Zoe\u0308_1.wav"}),
        (["a.wav", "a.npy/b.wav", "c.wav"], {"a.wav", "a.npy/b.wav"}),
        (["a.wav", "a.png/b.wav"], {"a.wav", "a.png/b.wav"}),
        (["a/x.wav", "b/x.wav", "x.npy.wav"], set()),
    ],
)
def test_ids_that_clash_are_all_rejected(names, clashing):
    clashes = discovery.id_clashes(names)
    assert set(clashes) == clashing
    assert all("rename" in reason for reason in clashes.values())


def test_clashing_files_are_skipped_not_a_stop(tmp_path):
    audio = tmp_path / "audio"
    make_audio_folder(audio, per=1)
    sf.write(audio / "bark" / "ann_0.flac", tone_clip(420), 16000)  # beside bark/ann_0.WAV
    work = copy_workflow(tmp_path / "wf")
    (work / "c.yaml").write_text(SMALL_CONFIG.format(audio_dir=f"{audio}/") + "on_bad_audio: skip\n")
    run(work, "results/split_summary.csv", "--cores", "1", "--configfile", "c.yaml")
    rejected = pd.read_csv(work / "results" / "rejected.csv")
    assert sorted(rejected["file"]) == [f"{audio}/bark/ann_0.WAV", f"{audio}/bark/ann_0.flac"]
    catalog = pd.read_csv(work / "results" / "catalog.csv")
    assert not catalog["audio_path"].str.contains("//").any()  # the trailing slash of audio_dir is gone
    assert "bark/ann_0" not in set(catalog["id"])


def test_audio_dir_inside_results_is_refused(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    make_audio_folder(work / "results" / "mine", per=1)
    (work / "c.yaml").write_text(SMALL_CONFIG.format(audio_dir="results/mine"))
    proc = run(work, "-n", "--configfile", "c.yaml", check=False)
    assert proc.returncode != 0 and "overlap (one is inside the other)" in proc.stdout


def test_authors_that_differ_only_in_case_are_named(tmp_path):
    audio = tmp_path / "audio"
    make_audio_folder(audio, per=1)
    sf.write(audio / "bark" / "Ann_1.wav", tone_clip(430), 16000)
    work = copy_workflow(tmp_path / "wf")
    (work / "c.yaml").write_text(SMALL_CONFIG.format(audio_dir=audio))
    out = run(work, "-n", "--configfile", "c.yaml").stdout
    assert "differ only in letter case (Ann / ann)" in out


def test_a_long_name_still_has_a_temporary_name(tmp_path):
    name = "x" * 250 + ".npy"  # 254 bytes: the longest a name can be is 255
    atomic.write_bytes(tmp_path / name, b"data")
    assert (tmp_path / name).read_bytes() == b"data"
    assert os.listdir(tmp_path) == [name]


def test_leftovers_of_a_killed_run_are_removed(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / ".tmp-abc.npy").write_bytes(b"half")
    (tmp_path / ".tmp-def.csv").write_bytes(b"half")
    (tmp_path / "specs" / "keep.npy").write_bytes(b"done")
    assert atomic.remove_leftovers(tmp_path) == 2
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == ["specs/keep.npy"]


def test_the_check_cache_sees_new_content_with_the_old_size_and_time(tmp_path):
    audio = tmp_path / "a.wav"
    sf.write(audio, tone_clip(400), 16000)
    calls = []

    def probe(path):  # reads the content, as the real check does
        calls.append(path)
        return None if sf.read(path)[0].any() else "silent"

    cache = tmp_path / "checks.csv"
    assert discovery.check_files(str(tmp_path), ["a.wav"], probe, str(cache), "v1") == {}
    stat = os.stat(audio)
    time.sleep(0.01)
    sf.write(audio, np.zeros(8000, dtype=np.float32), 16000, subtype="PCM_16")  # same size, new content
    os.utime(audio, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the old modification time
    assert os.stat(audio).st_size == stat.st_size and os.stat(audio).st_mtime_ns == stat.st_mtime_ns
    assert discovery.check_files(str(tmp_path), ["a.wav"], probe, str(cache), "v1") == {"a.wav": "silent"}
    assert len(calls) == 2


def test_a_vanished_file_is_a_rejection_not_a_traceback(tmp_path):
    problems = discovery.check_files(str(tmp_path), ["gone.wav"], lambda path: None, str(tmp_path / "c.csv"), "v1")
    assert problems == {"gone.wav": "the file cannot be read (No such file or directory)"}
    assert not (tmp_path / "c.csv").exists() or "gone.wav" not in (tmp_path / "c.csv").read_text()


def test_gallery_shows_dollar_names_as_text_and_long_names_short(tmp_path):
    import gallery
    import spectrogram_math
    from PIL import Image
    from settings import spectrogram_settings

    settings = spectrogram_settings({"n_mels": 16})
    (tmp_path / "specs").mkdir()
    rows = []
    for i, (name, clip) in enumerate([("$x$", "a" * 70), ("bad $x^$ math", "b_1"), ("$x$", "c_2")]):
        y = np.sin(2 * np.pi * (300 + 200 * i) * np.arange(8000) / 16000).astype(np.float32)
        np.save(tmp_path / "specs" / f"{i}.npy", spectrogram_math.spectrogram_from_audio(y, 16000, settings))
        rows.append({"filename": f"specs/{i}.npy", "id": clip, "class": name, "class_id": int(name == "$x$"),
                     "split": "train", "sample_rate": 16000})
    pd.DataFrame(rows).to_csv(tmp_path / "final_specs.csv", index=False)
    gallery.plot_gallery(str(tmp_path / "final_specs.csv"), str(tmp_path / "g.png"), settings, per_class=2)
    with Image.open(tmp_path / "g.png") as img:
        assert img.size[0] > 100
    from plots import short_label

    assert len(short_label("a" * 70)) == 28 and short_label("a" * 70).count("…") == 1


def test_csv_cells_that_spreadsheets_run_are_neutralised_and_read_back_exactly(tmp_path):
    import tables

    frame = pd.DataFrame(
        {"id": ["=HYPERLINK(\"x\")", "+1", "-5dB", "@SUM(A1)", "'quoted", "'=both", "plain"],
         "n": [1, -2, 3, 4, 5, 6, 7]}
    )
    tables.write_csv(frame, tmp_path / "t.csv")
    text = (tmp_path / "t.csv").read_text()
    assert not any(line.split(",")[0].startswith(("=", "+", "-", "@")) for line in text.splitlines())
    back = tables.read_csv(tmp_path / "t.csv", dtype={"id": str})
    pd.testing.assert_frame_equal(back, frame)
    confusion = pd.DataFrame([[1, 0], [0, 1]], index=["=a", "b"], columns=["=a", "b"])
    tables.write_csv(confusion, tmp_path / "c.csv", index=True)
    pd.testing.assert_frame_equal(tables.read_csv(tmp_path / "c.csv", index_col=0), confusion, check_names=False)
