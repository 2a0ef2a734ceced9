"""Annotations checked before any job (missing tables, annotators' agreement, overlapping classes) and the
rates and sizes of a run (resampling warning, mixed rates, background sampling, the size estimate)."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

import annotations
import make_catalog
import scale
from spectrogram_math import window_bounds
from test_windows_workflow import CONFIG, recording, soundscapes
from workflow import copy_workflow, planned, run

HEADER = "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tAnnotation\tAnnotator"


def raven(path, rows):
    """A Raven table of ``(start, end, class, annotator)`` rows."""
    lines = [HEADER] + [f"{i}\tSpectrogram 1\t1\t{a}\t{b}\t{c}\t{w}" for i, (a, b, c, w) in enumerate(rows, start=1)]
    path.write_text("\n".join(lines) + "\n")


# --- unit tests of the pure functions ---


def test_a_recording_without_a_table_is_refused_skipped_or_background(tmp_path):
    for stem in ("a", "b", "c"):
        (tmp_path / f"{stem}.wav").write_bytes(b"")
    raven(tmp_path / "a.Table.1.selections.txt", [(0.1, 0.5, "owl", "ann")])
    raven(tmp_path / "c.Table.1.selections.txt", [])  # annotated, no event
    tables = [str(p) for p in sorted(tmp_path.glob("*.txt"))]
    grouped, annotated = annotations.read_annotations(["a.wav", "b.wav", "c.wav"], "raven", tables, str(tmp_path))
    assert annotated == {"a.wav", "c.wav"} and [len(grouped[r]) for r in ("a.wav", "b.wav", "c.wav")] == [1, 0, 0]
    with pytest.raises(annotations.AnnotationError, match=r"^1 of 3 recordings have no annotation table \(e.g. b.wav\)"
                       r".*labels.unannotated"):
        annotations.unannotated(["a.wav", "b.wav", "c.wav"], annotated, None)
    assert annotations.unannotated(["a.wav", "b.wav", "c.wav"], annotated, "skip") == ["b.wav"]
    assert annotations.unannotated(["a.wav", "b.wav", "c.wav"], annotated, "background") == []


def test_the_table_of_a_rejected_recording_is_skipped_not_refused(tmp_path):
    raven(tmp_path / "bad.Table.1.selections.txt", [(0.1, 0.5, "owl", "")])
    table = str(tmp_path / "bad.Table.1.selections.txt")
    with pytest.raises(annotations.AnnotationError, match="unknown recording"):
        annotations.read_annotations(["good.wav"], "raven", [table], str(tmp_path))
    grouped, annotated = annotations.read_annotations(["good.wav"], "raven", [table], str(tmp_path),
                                                      ignored={"bad.wav"})
    assert grouped == {"good.wav": []} and annotated == set()


def test_agreement_of_two_annotators_counted_by_hand(tmp_path):
    # ann and bob on one recording: owl 0-1 drawn by both (overlapping boxes), an owl only ann drew,
    # a jay only bob drew, which overlaps ann's second owl (another class); on a second recording only
    # ann drew: it is not compared.
    raven(tmp_path / "r1.Table.1.selections.txt", [(0.0, 1.0, "owl", "ann"), (0.2, 1.1, "owl", "bob"),
                                                     (3.0, 4.0, "owl", "ann"), (3.5, 4.5, "jay", "bob"),
                                                     (6.0, 7.0, "jay", "ann"), (6.5, 7.5, "jay", "bob")])
    raven(tmp_path / "r2.Table.1.selections.txt", [(0.0, 1.0, "owl", "ann")])
    tables = [str(tmp_path / f"r{i}.Table.1.selections.txt") for i in (1, 2)]
    grouped, _ = annotations.read_annotations(["r1.wav", "r2.wav"], "raven", tables, str(tmp_path))
    table = annotations.agreement_table(grouped)
    assert table.to_dict(orient="records") == [
        {"class": "jay", "boxes": 3, "other_class": 1, "annotator_a": "ann", "annotator_b": "bob",
         "both": 1, "only_a": 0, "only_b": 1, "agreement": 0.5},
        {"class": "owl", "boxes": 4, "other_class": 1, "annotator_a": "ann", "annotator_b": "bob",
         "both": 1, "only_a": 1, "only_b": 0, "agreement": 0.5},
    ]
    assert annotations.agreement_summary(table) == (
        "2 annotators (ann, bob): 2 boxes matched by the other annotator, 2 drawn by one only; "
        "2 boxes overlap a box of another class"
    )


def test_without_annotators_only_overlapping_classes_are_counted():
    events = [{"start": 0.0, "end": 1.0, "class": "owl", "annotator": None},
              {"start": 0.5, "end": 2.0, "class": "jay", "annotator": None},
              {"start": 5.0, "end": 6.0, "class": "owl", "annotator": None}]
    table = annotations.agreement_table({"r.wav": events})
    assert table[["class", "boxes", "other_class", "annotator_a"]].values.tolist() == [["jay", 1, 1, ""],
                                                                                        ["owl", 2, 1, ""]]
    assert annotations.agreement_summary(table) == "2 boxes overlap a box of another class"


def test_windows_that_drop_a_second_class_are_counted():
    bounds = np.array([[0.0, 2.0], [1.0, 3.0], [2.0, 4.0]])
    events = [{"start": 0.5, "end": 2.5, "class": "frog"}, {"start": 1.2, "end": 1.8, "class": "owl"}]
    counts = {}
    assert annotations.window_labels(bounds, events, 0.5, "bg", counts=counts) == ["frog", "frog", None]
    assert counts == {"dropped": 2}
    counts = {}
    annotations.window_labels(bounds, events, 0.5, "bg", multi_label=True, counts=counts)
    assert counts == {}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), max_size=60), st.floats(0, 5), st.integers(0, 3))
def test_background_sampling_keeps_every_event_window_and_at_most_ratio_background(is_event, ratio, seed):
    classes = ["owl" if event else "bg" for event in is_event]
    keys = [f"rec#{k}" for k in range(len(classes))]
    keep = annotations.sample_background(classes, keys, "bg", ratio, seed)
    kept = [cls for cls, k in zip(classes, keep) if k]
    events, idle = sum(is_event), len(classes) - sum(is_event)
    assert kept.count("owl") == events
    assert kept.count("bg") == min(idle, int(ratio * events + 1e-9))
    # the same windows in another order keep the same ones
    again = annotations.sample_background(classes[::-1], keys[::-1], "bg", ratio, seed)
    assert again[::-1] == keep


def test_sampling_applies_to_the_train_split_only():
    rows = pd.DataFrame({"id": ["a"] * 6 + ["b"] * 6, "window": list(range(6)) * 2,
                         "class": ["owl", "bg", "bg", "bg", "bg", "bg"] * 2, "split": ["train"] * 6 + ["test"] * 6})
    out = make_catalog.sampled_background(rows, "bg", 1.0, seed=1)
    assert out.groupby("split")["class"].value_counts().to_dict() == {
        ("test", "bg"): 5, ("test", "owl"): 1, ("train", "bg"): 1, ("train", "owl"): 1}


def test_rates_far_above_sr_and_mixed_rates_under_sr_null():
    rates = {"s1/a.wav": 96000, "s2/b.wav": 256000, "s3/c.wav": 16000}
    warning = scale.rate_warning(rates, 16000)
    assert warning.startswith("spectrogram.sr: 2 of 3 files are recorded at up to 256000 Hz (e.g. s2/b.wav) and "
                              "will be resampled to 16000 Hz, losing everything above 8000 Hz")
    assert "1 of 3 files" in scale.rate_warning(rates, 128000)  # at 2 × sr: warned
    assert scale.rate_warning(rates, 128001) is None
    assert scale.rate_warning({"a.wav": 31999}, 16000) is None
    assert "s3/c.wav" in scale.rate_problem(rates, None) and scale.rate_problem({"a.wav": 8000}, None) is None


def test_the_size_estimate_against_a_hand_count():
    spec = {"sr": 16000, "type": "mel", "n_mels": 24, "hop_length": 256, "time_pool": 1, "freq_pool": 1,
            "duration": 1.0}
    windows = {"length": 2.0, "hop": 1.0, "last": "pad"}
    image = {"scale": 0.5, "height": None, "width": None}
    counts = scale.estimate({"a.wav": 5.3, "b.wav": 3.0, "c.wav": None}, {}, spec, windows, 1, image)
    # 5.3 s: windows 0-2 … 4-6 (five, the last padded); 3.0 s: 0-2, 1-3. A window: 32,000 samples,
    # 1 + 32000 // 256 = 126 frames × 24 mel bands, float32; its PNG at half size 12 × 63 pixels.
    # BirdNET: one 1,024-float32 embedding per window; a 2-s window fits one 3-s frame.
    assert counts == {"files": 2, "examples": 7, "npy": 7 * 24 * 126 * 4, "png": int(7 * 12 * 63 * 0.8),
                      "birdnet": 7 * 1024 * 4, "birdnet_frames": 7}
    clips = scale.estimate({"a.wav": 5.3}, {"a.wav": 48000}, {**spec, "sr": None}, None, 2)
    assert clips["examples"] == 1 and clips["npy"] == 24 * (1 + 48000 // 256) * 2 * 4
    line = scale.estimate_line({"files": 500, "examples": 1_800_000, "npy": 46e9, "png": 9.2e9}, ["npy"], windows, 501)
    assert line == ("this run makes 1,800,000 windows of 500 recordings (and 1 files whose header gives no length): "
                    "about 46 GB (npy) of spectrograms")


# --- small dry runs ---


def windowed(tmp_path, extra="", **audio):
    """A workflow copy with the soundscapes of test_windows_workflow; ``extra`` YAML is appended to its config."""
    work = copy_workflow(tmp_path / "wf")
    folder = soundscapes(tmp_path / "audio", **audio)
    (work / "test.yaml").write_text(CONFIG.format(audio_dir=folder, fresh=folder) + extra)
    return work, folder


def test_missing_tables_stop_the_dry_run_or_follow_labels_unannotated(tmp_path):
    work, folder = windowed(tmp_path)
    (folder / "bob_1.Table.1.selections.txt").unlink()
    out = run(work, "-n", "results/catalog.csv", "--configfile", "test.yaml", check=False)
    assert out.returncode != 0
    assert ("1 of 6 recordings have no annotation table (e.g. bob_1.wav); set labels.unannotated: background "
            "(their windows are all background) or skip (leave them out)") in out.stdout
    _, ids = planned(work, "results/catalog.csv", "--configfile", "test.yaml", "--config", "labels={unannotated: skip}")
    assert "bob_1" not in ids and len(ids) == 5
    _, ids = planned(work, "results/catalog.csv", "--configfile", "test.yaml",
                     "--config", "labels={unannotated: background}")
    assert "bob_1" in ids and len(ids) == 6


@pytest.mark.parametrize(
    "change, message",
    [
        ({"raven_column": "Species"}, "missing column(s) Species of a Raven selection table"),
        ({"end": "9.5"}, "end 9.5 s is past the end of ann_0.wav (6.3 s)"),
        ({"begin": "x"}, "Begin Time (s) 'x' is not a number"),
    ],
)
def test_a_table_error_stops_the_dry_run_before_any_job(tmp_path, change, message):
    work, folder = windowed(tmp_path, per=1)
    table = folder / "ann_0.Table.1.selections.txt"
    lines = table.read_text().splitlines()
    cells = lines[1].split("\t")
    cells[3], cells[4] = change.get("begin", cells[3]), change.get("end", cells[4])
    table.write_text("\n".join([lines[0], "\t".join(cells)] + lines[2:]) + "\n")
    args = ["--config", f"labels={{raven_column: {change['raven_column']}}}"] if "raven_column" in change else []
    out = run(work, "-n", "results/catalog.csv", "--configfile", "test.yaml", *args, check=False)
    assert out.returncode != 0 and message in out.stdout
    assert "Job stats" not in out.stdout


def test_rates_agreement_and_size_are_said_before_any_job(tmp_path):
    work, folder = windowed(tmp_path, per=1)
    y, sr = sf.read(folder / "ann_0.wav")
    sf.write(folder / "ann_0.wav", np.repeat(y, 3), 3 * sr)  # the same 6.3 s at 48 kHz
    raven(folder / "bob_0.Table.1.selections.txt", [(0.6, 1.2, "owl", "ann"), (0.7, 1.3, "owl", "eve"),
                                                    (2.1, 2.8, "jay", "ann"), (2.5, 3.0, "owl", "eve")])
    out = run(work, "-n", "results/catalog.csv", "--configfile", "test.yaml").stdout
    assert ("spectrogram.sr: 1 of 3 files are recorded at up to 48000 Hz (e.g. ann_0.wav) and will be resampled "
            "to 16000 Hz, losing everything above 8000 Hz") in out
    assert ("annotations: 2 annotators (ann, eve): 1 boxes matched by the other annotator, 2 drawn by one only; "
            "2 boxes overlap a box of another class") in out
    # 6.3 s, length 1, hop 0.5: 11 whole windows and a padded one, 12 per recording; 1 + 16000 // 256 = 63
    # frames × 24 mel bands, float32
    assert f"this run makes 36 windows of 3 recordings: about {scale.size_text(36 * 24 * 63 * 4)} (npy), " in out
    (work / "native.yaml").write_text("spectrogram: {sr: null}\n")
    out = run(work, "-n", "results/catalog.csv", "--configfile", "test.yaml", "native.yaml", check=False)
    assert out.returncode != 0
    assert ("spectrogram.sr: null keeps each file's own rate, but the files have 2 rates: 48000 Hz (ann_0.wav) and "
            "16000 Hz (2 files, e.g. bob_0.wav)") in out.stdout


def test_a_catalog_with_sampled_background_and_its_agreement_table(tmp_path):
    work, folder = windowed(tmp_path, per=1)
    raven(folder / "ann_0.Table.1.selections.txt", [(0.6, 1.2, "owl", "ann"), (0.7, 1.3, "owl", "eve")])
    (work / "ratio.yaml").write_text("labels: {background_ratio: 0.5}\n")
    run(work, "results/catalog.csv", "--cores", "2", "--configfile", "test.yaml", "ratio.yaml")
    catalog = pd.read_csv(work / "results" / "catalog.csv")
    train = catalog[catalog["split"] == "train"]  # ann_0: owl in 0-1, 0.5-1.5, 1-2 s; one background kept of nine
    assert train["class"].value_counts().to_dict() == {"owl": 3, "quiet": 1}
    for split, stem in (("val", "bob_0"), ("test", "cyd_0")):  # every window the rule labels
        table = str(folder / f"{stem}.Table.1.selections.txt")
        events = annotations.events_by_recording([f"{stem}.wav"], "raven", [table], str(folder))[f"{stem}.wav"]
        labels = annotations.window_labels(window_bounds(6.3, 1.0, 0.5), events, 0.5, "quiet")
        assert list(catalog.loc[catalog["split"] == split, "class"]) == [c for c in labels if c is not None]
    lines = (work / "results" / "annotation_agreement.csv").read_text().splitlines()
    assert lines[0] == "class,boxes,other_class,annotator_a,annotator_b,both,only_a,only_b,agreement"
    assert lines[1:] == ["jay,4,0,,,,,,", "owl,4,0,ann,eve,1,0,0,1.0"]  # bob_0 and cyd_0: jay at 2.1 and 4.2 s
