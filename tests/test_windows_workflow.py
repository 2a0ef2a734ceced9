"""Long recordings through the workflow: windows labelled by Raven tables, grouped splits, reruns, detections."""

import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import loaders
from spectrogram_math import window_bounds
from workflow import STAGE, copy_workflow, planned, run

SR = 16000
CALLS = {"owl": 500.0, "jay": 2000.0}
AUTHORS = ("ann", "bob", "cyd")
CONFIG = """\
audio_dir: {audio_dir}
files_per_job: 1
labels:
  from: annotations
  pattern: '^(?P<author>[a-z]+)_'
  min_overlap: 0.5
  background: quiet
windows: {{length: 1.0, hop: 0.5, last: pad}}
spectrogram: {{sr: 16000, n_mels: 24, n_fft: 512, hop_length: 256}}
split:
  by: author
  fractions: {{train: 1.0, val: 0.0, test: 0.0}}
  assign: {{val: [bob], test: [cyd]}}
training: {{epochs: 2, min_steps: 0, conv_blocks: 1, filters: 4, dense_units: 8, early_stopping_patience: 0}}
predict: {{fresh: {fresh}}}
"""


def recording(folder, stem, seconds, events, seed):
    """A noisy recording with tone calls at the given ``(start, end, class)`` times, and its Raven table."""
    rng = np.random.default_rng(seed)
    y = 0.01 * rng.standard_normal(int(seconds * SR))
    for start, end, label in events:
        t = np.arange(int((end - start) * SR)) / SR
        y[int(start * SR) : int(start * SR) + len(t)] += 0.3 * np.sin(2 * np.pi * CALLS[label] * t)
    sf.write(folder / f"{stem}.wav", y.astype(np.float32), SR)
    rows = ["Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tAnnotation"]
    for i, (start, end, label) in enumerate(events, start=1):
        rows += [f"{i}\tWaveform 1\t1\t{start}\t{end}\t{label}", f"{i}\tSpectrogram 1\t1\t{start}\t{end}\t{label}"]
    (folder / f"{stem}.Table.1.selections.txt").write_text("\n".join(rows) + "\n")


def soundscapes(folder, authors=AUTHORS, per=2, seconds=6.3):
    folder.mkdir(parents=True, exist_ok=True)
    for a, author in enumerate(authors):
        for i in range(per):
            events = [(0.6, 1.2, "owl"), (2.1, 2.8, "jay"), (4.2, 4.7, "owl" if i else "jay")]
            events = [event for event in events if event[1] < seconds]
            recording(folder, f"{author}_{i}", seconds, events, seed=10 * a + i)
    return folder


@pytest.fixture(scope="module")
def windowed(tmp_path_factory):
    base = tmp_path_factory.mktemp("windows")
    work = copy_workflow(base / "wf")
    audio = soundscapes(base / "audio")
    fresh = soundscapes(base / "fresh", authors=("dan",), per=1, seconds=4.0)
    (work / "test.yaml").write_text(CONFIG.format(audio_dir=audio, fresh=fresh))
    run(work, *STAGE, "results/predictions/fresh.csv", "--cores", "2", "--configfile", "test.yaml", timeout=1200)
    return work, audio, fresh


def test_one_example_per_labelled_window_on_both_branches(windowed):
    work, audio, _ = windowed
    results = work / "results"
    manifest = loaders.read_manifest(results / "final_specs.csv")
    assert {"window", "start", "end"} <= set(manifest.columns)
    bounds = window_bounds(6.3, 1.0, 0.5)  # 11 whole windows and a padded one
    for clip, rows in manifest.groupby("id"):
        x = np.load(results / "specs" / f"{clip}.npy")
        assert x.shape[0] == len(bounds) == 12 and x.shape[1] == 24
        np.testing.assert_allclose(rows[["start", "end"]].to_numpy(), bounds[rows["window"].to_numpy()])
    # 0.5 s windows that hold a little of a call are left out; calls and quiet windows are in
    assert set(manifest["class"]) == {"owl", "jay", "quiet"} and len(manifest) < 6 * 12
    first = manifest[(manifest["id"] == "ann_0") & (manifest["window"] == 1)]  # [0.5, 1.5] holds the owl
    assert first["class"].tolist() == ["owl"]
    npy = loaders.load_npy_data(str(results / "final_specs.csv"))
    png = loaders.load_csv_data(str(results / "train_data.csv"))
    assert npy.features.shape == png.features.shape == (len(manifest), 24, 63, 1)
    assert list(npy.ids) == list(png.ids) and len(set(npy.ids)) == len(manifest)
    assert np.max(np.abs(npy.features - png.features)) <= 1 / 510 + 1e-7
    png_manifest = loaders.read_manifest(results / "final_spects.csv")
    assert list(png_manifest["shape"]) == list(manifest["shape"]) == ["24x63"] * len(manifest)


def test_no_recording_is_in_two_splits(windowed):
    work, _, _ = windowed
    catalog = pd.read_csv(work / "results" / "catalog.csv")
    assert (catalog.groupby("id")["split"].nunique() == 1).all()
    assert (catalog.groupby("author")["split"].nunique() == 1).all()
    assert dict(catalog.groupby("split")["author"].first()) == {"train": "ann", "val": "bob", "test": "cyd"}


def test_a_changed_recording_reruns_only_its_own_outputs(windowed, tmp_path):
    work, audio, _ = windowed
    original = (audio / "bob_1.wav").read_bytes()
    y, sr = sf.read(audio / "bob_1.wav")
    try:
        sf.write(audio / "bob_1.wav", y[::-1], sr)
        rules, ids = planned(work, *STAGE, "--configfile", "test.yaml")
    finally:
        (audio / "bob_1.wav").write_bytes(original)
    assert ids == {"bob_1"} and rules["spectrogram"] == 1
    assert set(rules) == {"spectrogram", "catalog", "manifest_npy", "manifest_png", "train_data"}


def test_an_edited_table_relabels_without_new_spectrograms(windowed):
    work, audio, _ = windowed
    table = audio / "ann_1.Table.1.selections.txt"
    original = table.read_text()
    try:
        table.write_text(original.replace("jay", "owl"))
        rules, ids = planned(work, *STAGE, "--configfile", "test.yaml")
    finally:
        table.write_text(original)
    assert not ids and set(rules) == {"catalog", "manifest_npy", "manifest_png", "train_data"}


# SHA-256 of the run's tables (the audio folder's path written AUDIO) as the workflow wrote them before
# labels.multi_label existed (commit b0e7fc5, the same recordings and configuration): a single-label run is
# unchanged byte for byte. The spectrograms' bytes are not pinned: another CPU's FFT may round differently.
# The manifests are compared without the column added since (spectrogram_sample_rate, issue 28).
SINGLE_LABEL_TABLES = {
    "catalog.csv": "b55e4aed792808c0151cebb1edafa9bb288623a0213d9f560b57495c50bd2594",
    "classes.csv": "359cae8f4d114711456eab2f3cf80981c0240b76a751194cdf27578f500e1322",
    "split_summary.csv": "d1042f0072e2297df65f85d2ea049cf7a37dc0ea2ecdac7ef5c997fc9d41332a",
    "events.csv": "94a269fd425bbb1a6ca67e432b23fd3c75b9f77ddaff971c471223e62ea03421",
    "final_specs.csv": "8068961acc521222e8d3d33a8451e1d148e7c26eb95b2ae9cfa97e747f35bcda",
    "final_spects.csv": "1c177f3456bef716e8818d9c0268e8cc2f9b72750d2346eee5af0d02e983893f",
}


def test_a_single_label_run_writes_the_tables_it_wrote_before_multi_label_existed(windowed):
    import hashlib

    work, audio, _ = windowed
    texts = {name: (work / "results" / name).read_text().replace(str(audio), "AUDIO") for name in SINGLE_LABEL_TABLES}
    for name in ("final_specs.csv", "final_spects.csv"):
        texts[name] = without_column(texts[name], "spectrogram_sample_rate")
    digests = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in texts.items()}
    assert digests == SINGLE_LABEL_TABLES


def without_column(text, column):
    """A CSV's text without one column (which must be there), every other byte as it was."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    drop = rows[0].index(column)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(row[:drop] + row[drop + 1 :] for row in rows)
    return out.getvalue()


def test_a_new_detection_threshold_reruns_prediction_only(windowed):
    work, _, _ = windowed
    (work / "threshold.yaml").write_text("windows: {length: 1.0, hop: 0.5, last: pad, threshold: 0.9}\n")
    rules, ids = planned(work, "results/predictions/fresh.csv", "--configfile", "test.yaml", "threshold.yaml")
    assert set(rules) == {"predict", "predictions"} and not ids  # no spectrogram, catalog or model


def test_detections_of_a_new_recording(windowed):
    work, _, fresh = windowed
    table = pd.read_csv(work / "results" / "predictions" / "fresh.csv")
    assert list(table.columns[:5]) == ["file", "start", "end", "predicted", "score"]
    assert len(table) == len(window_bounds(4.0, 1.0, 0.5)) == 7
    np.testing.assert_allclose(table[[c for c in table.columns if c.startswith("p_")]].sum(axis=1), 1.0, atol=1e-4)
    selections = (work / "results" / "predictions" / "fresh.selections" / "dan_0.selections.txt").read_text()
    header = selections.splitlines()[0].split("\t")
    assert header[3:5] == ["Begin Time (s)", "End Time (s)"] and "Annotation" in header
    provenance = json.loads((work / "results" / "model_npy.provenance.json").read_text())
    assert provenance["config"]["windows"]["length"] == 1.0
    metrics = json.loads((work / "results" / "npy" / "metrics.json").read_text())
    level = metrics["test"]["event_level"]
    assert level["events"] == 6 and 0 <= level["caught"] <= 6  # cyd's two recordings, three calls each
    assert level["recall"] == pytest.approx(level["caught"] / 6)
    if level["detections"]:
        assert level["precision"] == pytest.approx(level["correct"] / level["detections"])
    # one class per window: average precision of every call class, none of the background (quiet)
    assert metrics["multi_label"] is False and "thresholds" not in metrics
    assert set(metrics["test"]["per_class"]) == {"jay", "owl", "quiet"}
    assert metrics["test"]["per_class"]["quiet"]["average_precision"] is None
    aps = [metrics["test"]["per_class"][c]["average_precision"] for c in ("jay", "owl")]
    assert metrics["test"]["macro_map"] == pytest.approx(np.mean(aps))
    scores = pd.read_csv(work / "results" / "npy" / "scores.csv")
    assert list(scores.columns) == ["id", "split", "label_jay", "label_owl", "p_jay", "p_owl"]


def test_files_cut_by_duration_are_reported_at_the_start(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    audio = tmp_path / "audio"
    for c, name in enumerate(("owl", "jay")):
        (audio / name).mkdir(parents=True)
        for a, author in enumerate(AUTHORS):
            seconds = 5.0 if a < 2 else 0.8  # four of six files are more than twice spectrogram.duration
            t = np.arange(int(seconds * SR)) / SR
            sf.write(audio / name / f"{author}_{c}.wav", (0.3 * np.sin(2 * np.pi * 400 * t)).astype(np.float32), SR)
    (work / "test.yaml").write_text(
        f"audio_dir: {audio}\nspectrogram: {{duration: 2.0}}\n"
        "split: {by: author, fractions: {train: 1.0, val: 0.0, test: 0.0}, assign: {val: [bob], test: [cyd]}}\n"
    )
    out = run(work, "results/split_summary.csv", "--cores", "1", "--configfile", "test.yaml").stdout
    assert "4 of 6 audio files are longer than twice 2 s" in out and "windows.length" in out
    (work / "windows.yaml").write_text("windows: {length: 2.0}\n")
    out = run(work, "results/split_summary.csv", "--cores", "1", "--configfile", "test.yaml", "windows.yaml").stdout
    assert "longer than twice" not in out


def test_gallery_of_windows(windowed, tmp_path):
    import gallery

    work, _, _ = windowed
    shown = gallery.plot_gallery(str(work / "results" / "final_specs.csv"), str(tmp_path / "g.png"),
                                 {"sr": 16000, "n_mels": 24, "n_fft": 512, "hop_length": 256}, per_class=2)
    assert set(shown["class"]) == {"owl", "jay", "quiet"} and (tmp_path / "g.png").stat().st_size > 1000
    assert gallery.example_array(str(work / "results"), shown.iloc[0]).shape == (24, 63)
