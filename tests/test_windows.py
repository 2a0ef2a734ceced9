"""Fixed windows of long recordings, labels from time-box annotations, and detections back out."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from hypothesis import given, settings
from hypothesis import strategies as st

import annotations
import audio_processing
import detections
import labelling
import make_catalog
import predict
from spectrogram_math import spectrogram, spectrogram_windows, window_bounds

WINDOWS = {"length": 2.0, "hop": 1.0, "last": "pad"}
SETTINGS = {"sr": 16000, "n_mels": 32, "n_fft": 512, "hop_length": 256}


def long_recording(path, seconds=5.3, sr=22050, stereo=False):
    """A gliding tone (every window differs), written to ``path``; returns the samples."""
    t = np.arange(int(round(seconds * sr))) / sr
    y = (0.3 * np.sin(2 * np.pi * (300 + 150 * t) * t)).astype(np.float32)
    if stereo:
        y = np.stack([y, 0.5 * y[::-1]], axis=1)
    sf.write(path, y, sr)
    return y, sr


@pytest.mark.parametrize(
    "duration, length, hop, last, expected",
    [
        (5.0, 2.0, 1.0, "pad", [(0, 2), (1, 3), (2, 4), (3, 5)]),  # whole windows only, nothing left over
        (5.3, 2.0, 1.0, "pad", [(0, 2), (1, 3), (2, 4), (3, 5), (4, 6)]),  # 0.3 s left: one padded window
        (5.3, 2.0, 1.0, "drop", [(0, 2), (1, 3), (2, 4), (3, 5)]),
        (5.5, 2.0, None, "pad", [(0, 2), (2, 4), (4, 6)]),  # hop defaults to the length
        (1.2, 2.0, 1.0, "pad", [(0, 2)]),  # shorter than one window: one padded window
        (1.2, 2.0, 1.0, "drop", []),  # ... or none
        (3.0, 0.3, 0.1, "drop", [(round(0.1 * k, 6), round(0.1 * k + 0.3, 6)) for k in range(28)]),  # float steps
    ],
)
def test_window_bounds_at_the_edges(duration, length, hop, last, expected):
    bounds = window_bounds(duration, length, hop, last)
    np.testing.assert_allclose(bounds, np.array(expected, dtype=float).reshape(-1, 2), atol=1e-9)


@pytest.mark.parametrize("stereo", [False, True])
def test_each_window_is_the_clip_cut_out(tmp_path, stereo):
    y, sr = long_recording(tmp_path / "long.wav", stereo=stereo)
    settings = {**SETTINGS, "channels": "stereo" if stereo else "mono"}
    arrays = list(spectrogram_windows(tmp_path / "long.wav", settings, WINDOWS))
    assert len(arrays) == 5
    for k, (start, _) in enumerate(window_bounds(len(y) / sr, 2.0, 1.0)):
        cut = tmp_path / f"cut{k}.wav"
        sf.write(cut, y[int(round(start * sr)) : int(round((start + 2.0) * sr))], sr)
        np.testing.assert_array_equal(arrays[k], spectrogram(cut, {**settings, "duration": 2.0}))
    assert not np.array_equal(arrays[0], arrays[1])


def test_both_branches_of_a_windowed_recording(tmp_path):
    long_recording(tmp_path / "long.wav", stereo=True)
    settings = {**SETTINGS, "channels": "stereo"}
    shape = audio_processing.process_windows(
        tmp_path / "long.wav", {"npy": tmp_path / "long.npy", "png": tmp_path / "long.png"}, settings, WINDOWS
    )
    x = np.load(tmp_path / "long.npy")
    assert shape == x.shape and x.shape[0] == 5 and x.shape[-1] == 2 and x.dtype == np.float32
    back = audio_processing.load_png(tmp_path / "long.png", channels=2)
    assert back.shape == x.shape and np.max(np.abs(back - x)) <= 1 / 510 + 1e-7
    reference = list(spectrogram_windows(tmp_path / "long.wav", settings, WINDOWS))
    np.testing.assert_array_equal(x, np.stack(reference))


def test_a_recording_with_no_window_is_refused(tmp_path):
    long_recording(tmp_path / "short.wav", seconds=1.0)
    with pytest.raises(audio_processing.AudioError, match="shorter than one window"):
        audio_processing.process_windows(
            tmp_path / "short.wav",
            {"npy": tmp_path / "s.npy", "png": tmp_path / "s.png"},
            SETTINGS,
            {**WINDOWS, "last": "drop"},
        )
    assert not (tmp_path / "s.npy").exists() and not (tmp_path / "s.png").exists()


# --- annotations ---------------------------------------------------------------------------


RAVEN = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tSpecies\n"
    "1\tWaveform 1\t1\t1.2\t1.8\t0\t0\towl\n"
    "1\tSpectrogram 1\t1\t1.2\t1.8\t200\t4000\towl\n"
    "2\tSpectrogram 1\t1\t3.9\t5.0\t200\t4000\tjay\n"
)


def test_raven_table_beside_its_recording_counts_each_selection_once(tmp_path):
    (tmp_path / "site").mkdir()
    table = tmp_path / "site" / "rec.1.Table.1.selections.txt"
    table.write_text(RAVEN)
    relpaths = ["site/rec.1.wav", "site/rec.wav", "other/rec.1.wav"]
    grouped = annotations.events_by_recording(relpaths, "raven", [str(table)], str(tmp_path), "Species")
    assert [(e["start"], e["end"], e["class"]) for e in grouped["site/rec.1.wav"]] == [(1.2, 1.8, "owl"), (3.9, 5.0, "jay")]
    assert grouped["site/rec.wav"] == [] and grouped["other/rec.1.wav"] == []


def test_raven_begin_file_and_file_offset(tmp_path):
    table = tmp_path / "all.selections.txt"
    table.write_text(
        "Selection\tBegin Time (s)\tEnd Time (s)\tBegin File\tFile Offset (s)\tAnnotation\n"
        "1\t61.0\t61.5\tb.wav\t1.0\tcall\n"
        "2\t2.0\t3.0\ta.wav\t2.0\tsong\n"
    )
    grouped = annotations.events_by_recording(["x/a.wav", "x/b.wav"], "raven", [str(table)], str(tmp_path))
    assert [(e["start"], e["end"], e["class"]) for e in grouped["x/b.wav"]] == [(1.0, 1.5, "call")]
    assert [(e["start"], e["end"]) for e in grouped["x/a.wav"]] == [(2.0, 3.0)]


def test_a_table_with_raven_pros_own_date_columns_is_read(tmp_path):
    """Raven Pro writes dates unpadded with two spaces before the time (``2019/9/16  6:12:54.041``, seen in a real
    AMAR table); such columns are carried along, not parsed, so they never break a table."""
    table = tmp_path / "rec.Table.1.selections.txt"
    table.write_text(
        "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tBegin Date\tBegin Clock Time\tBegin Date Time\t"
        "Annotation\n"
        "1\tSpectrogram 1\t1\t6.041\t9.226\t2019/9/16\t6:12:54.041\t2019/9/16  6:12:54.041\tgrunt\n"
    )
    grouped = annotations.events_by_recording(["rec.wav"], "raven", [str(table)], str(tmp_path))
    assert [(e["start"], e["end"], e["class"]) for e in grouped["rec.wav"]] == [(6.041, 9.226, "grunt")]


def test_annotation_csv(tmp_path):
    table = tmp_path / "boxes.csv"
    table.write_text("path,start,end,class\nsite/rec.wav,1.2,1.8,owl\nsite/rec.wav,3.9,5.0,jay\n")
    grouped = annotations.events_by_recording(["site/rec.wav", "site/other.wav"], str(table), [])
    assert [e["class"] for e in grouped["site/rec.wav"]] == ["owl", "jay"] and grouped["site/other.wav"] == []


@pytest.mark.parametrize(
    "text, message",
    [
        ("path,start,end,class\nrec.wav,2.0,1.0,owl\n", "line 2: end 1 s is not after start 2 s"),
        ("path,start,end,class\nrec.wav,1.0,2.0,owl\nrec.wav,x,2.0,owl\n", "line 3: start 'x' is not a number"),
        ("path,start,end,class\nrec.wav,-1.0,2.0,owl\n", "line 2: start -1 s is before the start"),
        ("path,start,end,class\nnowhere.wav,1.0,2.0,owl\n", "line 2: unknown recording 'nowhere.wav'"),
        ("path,start,end,class\nrec.wav,1.0,2.0,\n", "line 2: the class is empty"),
        ("path,begin,end,class\nrec.wav,1.0,2.0,owl\n", "missing column(s) start"),
    ],
)
def test_malformed_annotation_csv_names_file_and_line(tmp_path, text, message):
    table = tmp_path / "boxes.csv"
    table.write_text(text)
    with pytest.raises(annotations.AnnotationError) as err:
        annotations.events_by_recording(["rec.wav"], str(table), [])
    assert str(table) in str(err.value) and message in str(err.value)


def test_raven_errors_name_the_table(tmp_path):
    table = tmp_path / "orphan.Table.1.selections.txt"
    table.write_text(RAVEN)
    with pytest.raises(annotations.AnnotationError, match="orphan.Table.1.selections.txt: unknown recording"):
        annotations.events_by_recording(["rec.wav"], "raven", [str(table)], str(tmp_path), "Species")
    with pytest.raises(annotations.AnnotationError, match="missing column.*Annotation"):
        annotations.events_by_recording(["orphan.wav"], "raven", [str(table)], str(tmp_path))
    grouped = annotations.events_by_recording(["orphan.wav"], "raven", [str(table)], str(tmp_path), "Species")
    with pytest.raises(annotations.AnnotationError, match=r"line 4: end 5 s is past the end of orphan.wav \(4.5 s\)"):
        annotations.check_durations(grouped, {"orphan.wav": 4.5})


def test_window_labels_overlap_rule():
    bounds = window_bounds(6.0, 2.0, 1.0)  # [0,2] [1,3] [2,4] [3,5] [4,6]
    events = [
        {"start": 1.2, "end": 1.8, "class": "owl"},  # inside [0,2] and [1,3]
        {"start": 3.9, "end": 5.0, "class": "jay"},  # 0.1 s of [2,4]: too little; all of it in [3,5]; 1 s of [4,6]
    ]
    assert annotations.window_labels(bounds, events, 0.5, "background") == ["owl", "owl", None, "jay", "jay"]
    assert annotations.window_labels(bounds, events, 0.95, "background") == ["owl", "owl", None, "jay", None]
    assert annotations.window_labels(window_bounds(9.0, 2.0, 2.0), events, 0.5, None) == ["owl", None, "jay", None, None]
    assert annotations.window_labels(window_bounds(9.0, 2.0, 2.0), events, 0.5, "noise")[-1] == "noise"
    # an event longer than the window: the fraction is of the window
    long_event = [{"start": 0.0, "end": 10.0, "class": "rain"}]
    assert annotations.window_labels(bounds, long_event, 0.5, None) == ["rain"] * 5
    # two events in one window: the larger overlap wins
    both = [{"start": 0.1, "end": 0.5, "class": "a"}, {"start": 0.8, "end": 1.9, "class": "b"}]
    assert annotations.window_labels(bounds[:1], both, 0.5, None) == ["b"]


def test_clip_labels_carry_over_to_every_window():
    table = pd.DataFrame(
        {"id": ["a/x", "b/y"], "audio_path": ["d/a/x.wav", "d/b/y.wav"], "class": ["a", "b"], "class_id": [0, 1],
         "author": ["p", "q"], "split": ["train", "test"]}
    )
    rows, events = make_catalog.window_rows(table, {"a/x": 5.3, "b/y": 1.0}, WINDOWS, {"from": "pattern"}, audio_dir="d")
    assert events is None
    assert list(rows["window"]) == [0, 1, 2, 3, 4, 0]
    assert (rows.groupby("id")["class"].nunique() == 1).all() and (rows.groupby("id")["split"].nunique() == 1).all()
    assert list(rows.loc[rows["id"] == "b/y", "end"]) == [2.0]


# --- detections ---------------------------------------------------------------------------


def test_consecutive_windows_merge_into_one_selection(tmp_path):
    rows = pd.DataFrame(
        {
            "start": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "end": [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "predicted": ["owl", "owl", "owl", "background", "jay", "owl", "owl"],
            "score": [0.9, 0.6, 0.3, 0.99, 0.7, 0.8, 0.95],
        }
    )
    selections = detections.merge_detections(rows, threshold=0.5, background="background", duration=7.5)
    assert selections == [(0.0, 3.0, "owl", 0.9), (4.0, 6.0, "jay", 0.7), (5.0, 7.5, "owl", 0.95)]
    table = tmp_path / "rec.selections.txt"
    table.write_text(predict.raven_selections(selections, 0.0, 8000.0))
    back = annotations.read_raven_table(str(table))  # the detections open as a Raven table, and read back here
    assert [(e["start"], e["end"], e["class"]) for e in back] == [(s, e, c) for s, e, c, _ in selections]


def test_a_recording_shorter_than_one_window_is_rejected_before_any_job_with_drop(tmp_path):
    from audio_io import check_audio

    long_recording(tmp_path / "short.wav", seconds=1.5)
    assert check_audio(tmp_path / "short.wav") is None
    assert "shorter than one window (2 s) and windows.last is drop" in check_audio(tmp_path / "short.wav", min_duration=2.0)


# --- several classes per window (labels.multi_label) ------------------------------------------

CHORUS = [(1.2, 1.8, "owl"), (3.9, 5.0, "jay"), (0.5, 3.5, "frog")]  # the worked table of docs/windows.md
CHORUS_TABLE = [  # window: (one class, class text, label_frog, label_jay, label_owl)
    ("frog", "frog;owl", 1, 0, 1),
    ("frog", "frog;owl", 1, 0, 1),
    ("frog", "frog", 1, 0, 0),
    ("jay", "jay", 0, 1, 0),
    ("jay", "jay", 0, 1, 0),
    ("background", "background", 0, 0, 0),
]


def chorus_catalog(tmp_path, source, multi_label):
    """The catalog of one 7-s recording annotated with CHORUS, from a Raven table or a CSV."""
    (tmp_path / "site").mkdir(exist_ok=True)
    if source == "raven":
        rows = ["Selection\tView\tBegin Time (s)\tEnd Time (s)\tAnnotation"]
        rows += [f"{i}\t{view}\t{s}\t{e}\t{c}" for i, (s, e, c) in enumerate(CHORUS, 1)
                 for view in ("Waveform 1", "Spectrogram 1")]
        table = tmp_path / "site" / "rec.Table.1.selections.txt"
        table.write_text("\n".join(rows) + "\n")
        labels_at, tables = None, [str(table)]
    else:
        table = tmp_path / "boxes.csv"
        table.write_text("path,start,end,class\n" + "".join(f"site/rec.wav,{s},{e},{c}\n" for s, e, c in CHORUS))
        labels_at, tables = str(table), []
    labels = {"from": "annotations", "annotations": labels_at, "raven_column": "Annotation", "min_overlap": 0.5,
              "background": "background", "multi_label": multi_label}
    rows = [["site/rec", f"{tmp_path}/site/rec.wav", "(annotations)", 0, "unknown", "train"]]
    facts = {f"{tmp_path}/site/rec.wav": {"duration": 7.0, "sample_rate": 16000, "channels": 1}}
    return make_catalog.build_catalog(rows, facts, WINDOWS, labels, tables, str(tmp_path))


@pytest.mark.parametrize("source", ["raven", "csv"])
def test_overlapping_events_give_the_multi_hot_rows_of_the_worked_table(tmp_path, source):
    catalog, classes, summary, _ = chorus_catalog(tmp_path, source, multi_label=True)
    assert list(catalog["window"]) == list(range(6))
    assert list(catalog["class"]) == [row[1] for row in CHORUS_TABLE]
    assert catalog[["label_frog", "label_jay", "label_owl"]].values.tolist() == [list(row[2:]) for row in CHORUS_TABLE]
    assert "class_id" not in catalog.columns and list(catalog.columns[-3:]) == ["label_frog", "label_jay", "label_owl"]
    assert classes.values.tolist() == [["frog", 0], ["jay", 1], ["owl", 2]]
    counts = dict(zip(summary["class"], summary["files"]))  # a window counts under each of its classes
    assert counts == {"frog": 3, "jay": 2, "owl": 2, "background": 1}
    single, _, _, _ = chorus_catalog(tmp_path, source, multi_label=False)
    assert list(single["class"]) == [row[0] for row in CHORUS_TABLE]
    assert "class_id" in single.columns and not [c for c in single.columns if c.startswith("label_")]


def test_a_multi_label_manifest_reads_back_with_plain_pandas(tmp_path):
    import io

    import make_manifest
    import tables

    catalog, _, _, _ = chorus_catalog(tmp_path, "csv", multi_label=True)
    manifest = make_manifest.build_manifest(catalog, "specs", ".npy", {catalog["audio_path"][0]: (6, 32, 63)},
                                            SETTINGS)
    text = io.StringIO()
    tables.safe_frame(manifest).to_csv(text, index=False)
    back = pd.read_csv(io.StringIO(text.getvalue()))
    labels = back.filter(like="label_")
    assert list(labels.dtypes) == [np.int64] * 3 and labels.values.tolist() == [list(r[2:]) for r in CHORUS_TABLE]
    assert list(back.columns[-6:]) == ["window", "start", "end", "label_frog", "label_jay", "label_owl"]


events_strategy = st.lists(
    st.tuples(st.floats(0, 9, allow_nan=False), st.floats(0.05, 4, allow_nan=False), st.sampled_from("abc")),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(events=events_strategy, length=st.sampled_from([0.5, 1.0, 2.0]), hop=st.sampled_from([0.25, 0.5, 1.0]),
       min_overlap=st.sampled_from([0.1, 0.5, 0.9]), background=st.sampled_from(["bg", None]))
def test_multi_label_windows_hold_every_class_that_overlaps_enough(events, length, hop, min_overlap, background):
    """For any events: a window's classes are exactly those with an event covering min_overlap of it or of the
    event; the same windows are left out as with one class per window, whose class is always one of them."""
    events = [{"start": s, "end": s + d, "class": c} for s, d, c in events]
    bounds = window_bounds(10.0, length, hop)
    one = annotations.window_labels(bounds, events, min_overlap, background)
    several = annotations.window_labels(bounds, events, min_overlap, background, multi_label=True)
    for (start, end), single, multi in zip(bounds, one, several):
        assert (single is None) == (multi is None)
        if multi is None or multi == background:
            continue
        held = set(multi.split(";"))
        enough = {e["class"] for e in events
                  if min(end, e["end"]) - max(start, e["start"]) >= (min_overlap - 1e-9) * min(end - start,
                                                                                              e["end"] - e["start"])
                  and min(end, e["end"]) > max(start, e["start"])}
        assert held == enough and single in held and multi == ";".join(sorted(held))


def test_a_class_that_could_not_be_told_apart_is_refused(tmp_path):
    table = tmp_path / "boxes.csv"
    table.write_text("path,start,end,class\nrec.wav,1.0,2.0,frog;owl\n")
    grouped = annotations.events_by_recording(["rec.wav"], str(table), [])
    with pytest.raises(annotations.AnnotationError, match=r"boxes.csv, line 2: class 'frog;owl' holds ';'"):
        annotations.check_multi_label_classes(grouped, "background")
    table.write_text("path,start,end,class\nrec.wav,1.0,2.0,background\n")
    grouped = annotations.events_by_recording(["rec.wav"], str(table), [])
    with pytest.raises(annotations.AnnotationError, match="line 2: class 'background' is also labels.background"):
        annotations.check_multi_label_classes(grouped, "background")


def test_a_labels_csv_gives_a_file_several_classes_only_when_multi_label(tmp_path):
    table = tmp_path / "labels.csv"
    table.write_text("path,class,author\na.wav,owl,ann\na.wav,frog,ann\nb.wav,jay,bob\nb.wav,jay,bob\n")
    assert labelling.read_label_csv(str(table), multi_label=True) == {"a.wav": ("frog;owl", "ann"),
                                                                      "b.wav": ("jay", "bob")}
    with pytest.raises(labelling.LabelError, match=r"labels.csv: a.wav is listed with classes 'frog' and 'owl' "
                                                   r"\(lines 2, 3\).*labels.multi_label: true"):
        labelling.read_label_csv(str(table))
    table.write_text("path,class,author\nb.wav,jay,bob\nb.wav,jay,cyd\n")
    with pytest.raises(labelling.LabelError, match="b.wav is listed with authors 'bob' and 'cyd'"):
        labelling.read_label_csv(str(table), multi_label=True)
