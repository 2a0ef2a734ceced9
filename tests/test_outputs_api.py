"""The outputs from the user's own code: the axes files, ManifestDataset, and the examples of docs/outputs.md.

The axes are checked against arrays the computation really makes (their shapes, where a tone's row and
onset fall) for the settings that change them; the dataset class against what PyTorch's DataLoader asks
of a map-style dataset, without PyTorch; the documentation's examples are run on the demo run.
"""

import functools
import json
import linecache
import os
import pickle
import re
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import audio_processing
import loaders
import make_manifest
import spectrogram_math
from settings import complete, spectrogram_settings

ROOT = Path(__file__).resolve().parents[1]
SR = 16000


def tone(freq, seconds=1.0, onset=0.0, channels=1, sr=SR):
    """A tone at ``freq`` Hz from ``onset`` seconds on, after near-silence (deterministic noise)."""
    rng = np.random.default_rng(0)
    t = np.arange(int(round(seconds * sr))) / sr
    y = 1e-4 * rng.standard_normal(t.size) + 0.5 * np.sin(2 * np.pi * freq * t) * (t >= onset)
    y = y.astype(np.float32)
    return np.stack([y] * channels) if channels > 1 else y


def loudest_row(x):
    """The row (of channel 0) with the most energy."""
    x = x[..., 0] if x.ndim == 3 else x
    return int(x.mean(axis=1).argmax())


def onset_column(x, row):
    """The first column whose level in ``row`` reaches half the row's range."""
    x = x[..., 0] if x.ndim == 3 else x
    level = x[row]
    return int(np.argmax(level >= level.min() + 0.5 * (level.max() - level.min())))


def row_spacing(freqs, row):
    """The distance to the farther neighbour of ``row``: how far a peak may fall from its true frequency."""
    return max(np.diff(freqs)[max(row - 1, 0) : row + 1])


SETTINGS = {
    "mel": {},
    "mel band crop": {"fmin": 300.0, "fmax": 4000.0, "n_mels": 40},
    "linear band crop": {"type": "linear", "fmin": 500.0, "fmax": 3000.0, "n_fft": 512},
    "pooled": {"freq_pool": 2, "time_pool": 3, "n_mels": 48},
    "odd n_fft, short hop": {"n_fft": 501, "hop_length": 100, "n_mels": 40},
    "mel resolutions, stereo": {"resolutions": [256, 1024], "channels": "stereo"},
    "linear resolutions": {"type": "linear", "resolutions": [256, 1024], "n_fft": 512},
    "log1p at 22.05 kHz": {"scale": "log1p", "sr": 22050},
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_axes_fit_the_arrays_and_put_a_tone_where_it_is(name):
    s = spectrogram_settings({"n_mels": 32, "duration": 1.0, **SETTINGS[name]})
    sr = s["sr"]
    channels = 2 if s["channels"] == "stereo" else 1
    x = spectrogram_math.spectrogram_from_audio(tone(1500.0, onset=0.4, channels=channels, sr=sr), sr, s)
    axes = spectrogram_math.axes(sr, s, seconds=1.0)
    freqs, times = np.array(axes["frequency_hz"]), np.array(axes["time_s"])
    assert (len(freqs), len(times)) == x.shape[:2]
    assert freqs[0] >= s["fmin"] and freqs[-1] <= axes["fmax_hz"] == (s["fmax"] or sr / 2) and np.all(np.diff(freqs) > 0)
    row = loudest_row(x)
    assert abs(freqs[row] - 1500.0) <= row_spacing(freqs, row)
    np.testing.assert_allclose(times, axes["first_column_s"] + np.arange(len(times)) * axes["seconds_per_column"])
    assert axes["seconds_per_column"] == pytest.approx(s["hop_length"] * s["time_pool"] / sr)
    window = max(s["resolutions"] or [s["n_fft"]]) / sr  # a frame hears the tone from half a window before its centre
    assert 0.4 - window / 2 - axes["seconds_per_column"] <= times[onset_column(x, row)] <= 0.4 + axes["seconds_per_column"]


@pytest.mark.parametrize("image", [{"scale": 0.5}, {"height": 20, "width": 150}, {"scale": 2.0, "height": 40}])
def test_png_axes_are_those_of_the_pixels_drawn(tmp_path, image):
    s = spectrogram_settings({"n_mels": 32, "duration": 1.0})
    image = complete("image", image)
    audio = tmp_path / "tone.wav"
    sf.write(audio, tone(1500.0, onset=0.4), SR)
    audio_processing.process_file(str(audio), {"png": str(tmp_path / "t.png")}, s, image=image)
    x = audio_processing.load_png(str(tmp_path / "t.png"))
    axes = spectrogram_math.axes(SR, s, 1.0, functools.partial(audio_processing.image_size, image=image))
    freqs, times = np.array(axes["frequency_hz"]), np.array(axes["time_s"])
    assert (len(freqs), len(times)) == x.shape
    row = loudest_row(x)
    assert abs(freqs[row] - 1500.0) <= 2 * row_spacing(freqs, row)
    assert abs(times[onset_column(x, row)] - 0.4) <= 1024 / SR / 2 + 2 * axes["seconds_per_column"]
    np.testing.assert_allclose(np.diff(times), axes["seconds_per_column"])


def test_axes_of_windows_count_from_the_window_start(tmp_path):
    s = spectrogram_settings({"n_mels": 32})
    windows = {"length": 1.0, "hop": 0.5, "last": "pad"}
    audio = tmp_path / "rec.wav"
    sf.write(audio, tone(1500.0, seconds=2.7, onset=1.3), SR)
    bounds = spectrogram_math.recording_windows(str(audio), windows)
    arrays = list(spectrogram_math.spectrogram_windows(str(audio), s, windows))
    axes = spectrogram_math.axes(SR, s, seconds=windows["length"])
    assert all(x.shape == (len(axes["frequency_hz"]), len(axes["time_s"])) for x in arrays)
    start, x = bounds[2][0], arrays[2]  # the window from 1.0 s
    heard = start + np.array(axes["time_s"])[onset_column(x, loudest_row(x))]
    assert 1.3 - 1024 / SR / 2 - 0.016 <= heard <= 1.3 + 0.016


def test_natural_lengths_give_the_spacing_but_no_list_of_times():
    s = spectrogram_settings({"n_mels": 32, "duration": None})
    x = spectrogram_math.spectrogram_from_audio(tone(1500.0, seconds=0.7), SR, s)
    axes = spectrogram_math.axes(SR, s)
    assert axes["time_s"] is None and len(axes["frequency_hz"]) == x.shape[0]
    assert axes["first_column_s"] + (x.shape[1] - 1) * axes["seconds_per_column"] == pytest.approx(0.7, abs=0.016)
    kept = functools.partial(audio_processing.image_size, image=complete("image", {"height": 16}))
    resized = functools.partial(audio_processing.image_size, image=complete("image", {"scale": 0.5}))
    assert spectrogram_math.axes(SR, s, size=kept)["seconds_per_column"] == axes["seconds_per_column"]
    assert len(spectrogram_math.axes(SR, s, size=kept)["frequency_hz"]) == 16
    assert spectrogram_math.axes(SR, s, size=resized)["seconds_per_column"] is None


def small_manifest(rates, shape="32x63"):
    return pd.DataFrame({"spectrogram_sample_rate": rates, "shape": [shape] * len(rates)})


def test_axes_file_of_a_stereo_png_branch_lists_every_stored_row():
    s = spectrogram_settings({"n_mels": 32, "channels": "stereo", "pad_mode": "center"})
    content = make_manifest.axes_file(small_manifest([SR, SR], "32x63x2"), "png", s, complete("image", {"height": 16}))
    assert content["channels"] == 2 and content["sample_rate"] == SR and content["image_size"] == [16, 63]
    assert content["image_row_hz"] == content["frequency_hz"][::-1] * 2
    assert content["by_sample_rate"][str(SR)]["frequency_hz"] == content["frequency_hz"]
    assert "pad_mode center" in content["time_origin"]
    json.dumps(content, allow_nan=False)


def test_axes_file_gives_each_rate_when_sr_is_null():
    s = spectrogram_settings({"n_mels": 32, "sr": None})
    content = make_manifest.axes_file(small_manifest([8000, 22050, 8000]), "npy", s)
    assert content["sample_rate"] is None and content["frequency_hz"] is None
    assert sorted(content["by_sample_rate"]) == ["22050", "8000"]
    assert [content["by_sample_rate"][rate]["fmax_hz"] for rate in ("8000", "22050")] == [4000.0, 11025.0]
    assert len(content["by_sample_rate"]["8000"]["time_s"]) == 32  # 1 s at 8 kHz, hop 256


# --- ManifestDataset: what DataLoader asks of a map-style dataset ------------------------------------------


def default_collate(items):
    """What torch's default_collate does to a batch of ``(ndarray, int | ndarray)`` items, with numpy."""
    features, labels = zip(*items)
    return np.stack(features), np.stack([np.asarray(label) for label in labels])


@pytest.fixture
def tiny_run(tmp_path):
    """Both branches' files and manifests of five stereo clips, and a multi-label NPY manifest of windows."""
    s = spectrogram_settings({"n_mels": 16, "n_fft": 256, "hop_length": 128, "duration": 0.25, "channels": "stereo"})
    rows = []
    for folder in ("specs", "spect"):
        os.makedirs(tmp_path / folder)
    for i in range(5):
        audio = tmp_path / f"c{i}.wav"
        sf.write(audio, tone(300.0 * (i + 1), seconds=0.25).repeat(2).reshape(-1, 2), SR)
        outputs = {"npy": str(tmp_path / "specs" / f"c{i}.npy"), "png": str(tmp_path / "spect" / f"c{i}.png")}
        shape = audio_processing.process_file(str(audio), outputs, s)
        rows.append({"id": f"c{i}", "author": "ab"[i % 2], "class": f"k{i % 3}", "class_id": i % 3,
                     "split": "train" if i < 3 else "test", "shape": "x".join(map(str, shape))})
    table = pd.DataFrame(rows)
    for branch, suffix in (("specs", ".npy"), ("spect", ".png")):
        table.assign(filename=[f"{branch}/{clip}{suffix}" for clip in table["id"]]).to_csv(
            tmp_path / f"{branch}.csv", index=False)
    windows = np.stack([np.full((16, 9), k / 4, dtype=np.float32) for k in range(3)])
    np.save(tmp_path / "specs" / "rec.npy", windows)
    pd.DataFrame({"filename": ["specs/rec.npy"] * 3, "id": ["rec"] * 3, "author": ["a"] * 3, "class": ["x;y", "y", "q"],
                  "split": ["train"] * 3, "shape": ["16x9"] * 3, "window": [0, 1, 2], "label_x": [1, 0, 0],
                  "label_y": [1, 1, 0]}).to_csv(tmp_path / "multi.csv", index=False)
    return tmp_path


@pytest.mark.parametrize("manifest", ["specs.csv", "spect.csv"])
def test_dataset_has_the_protocol_dataloader_relies_on(tiny_run, manifest):
    ds = loaders.ManifestDataset(str(tiny_run / manifest))
    assert len(ds) == 5 and ds.classes == ["k0", "k1", "k2"] and not ds.multi_label
    x, label = ds[np.int64(3)]
    assert x.dtype == np.float32 and x.shape == (16, 32, 2) and label == 0 and isinstance(label, int)
    npy = np.load(tiny_run / "specs" / "c3.npy")
    np.testing.assert_allclose(x, npy, atol=1 / 510 + 1e-7)  # the PNG branch: /255, flipped back
    assert loudest_row(x) == loudest_row(npy)
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(TypeError):
        ds[1.0]
    assert len(list(ds)) == 5  # iteration by indexing until IndexError
    np.testing.assert_array_equal(ds[-1][0], ds[4][0])
    clone = pickle.loads(pickle.dumps(ds))  # what a worker process gets
    batch = default_collate([clone[i] for i in np.random.default_rng(0).permutation(len(ds))[:4]])
    assert batch[0].shape == (4, 16, 32, 2) and batch[1].shape == (4,) and batch[0].dtype == np.float32
    test = loaders.ManifestDataset(str(tiny_run / manifest), split="test")
    assert len(test) == 2 and [test[i][1] for i in range(2)] == [0, 1]
    assert len(loaders.ManifestDataset(str(tiny_run / manifest), split=["train", "test"])) == 5


def test_dataset_of_a_multi_label_manifest_of_windows(tiny_run):
    ds = loaders.ManifestDataset(str(tiny_run / "multi.csv"), split="train")
    assert ds.multi_label and ds.classes == ["x", "y"] and len(ds) == 3
    x, label = ds[1]
    assert x.shape == (16, 9, 1) and np.all(x == 0.25)  # window 1 of the recording's file
    assert label.dtype == np.float32 and label.tolist() == [0.0, 1.0]
    features, labels = default_collate([ds[i] for i in range(3)])
    assert labels.tolist() == [[1, 1], [0, 1], [0, 0]] and features.shape == (3, 16, 9, 1)


# --- the examples of docs/outputs.md, on the demo run -------------------------------------------------------

SECTION = "## Using the outputs in your own code"
NEEDS_TORCH = re.compile(r"^\s*(import|from) torch\b", re.M)


def doc_examples():
    """The Python blocks of the docs' section on using the outputs, in order."""
    text = (ROOT / "docs" / "outputs.md").read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```", section, flags=re.S | re.M)


def test_the_documented_examples_run_on_a_real_run(demo_trained, monkeypatch):
    blocks = doc_examples()
    assert len(blocks) >= 5 and sum(bool(NEEDS_TORCH.search(block)) for block in blocks) == 1
    monkeypatch.chdir(demo_trained)
    monkeypatch.setattr(sys, "path", list(sys.path))
    module = types.ModuleType("outputs_examples")  # the examples run as one module, as a user's script would
    monkeypatch.setitem(sys.modules, module.__name__, module)
    space = module.__dict__
    for i, block in enumerate(blocks):
        name = f"<docs/outputs.md, example {i + 1}>"
        linecache.cache[name] = (len(block), None, block.splitlines(True), name)  # its source, for tracebacks and tf
        code = compile(block, name, "exec")
        if not NEEDS_TORCH.search(block):  # no PyTorch here: that block is compiled, not run
            exec(code, space)
    config = spectrogram_settings({})
    manifest, X, axes = space["manifest"], space["X"], space["axes"]
    assert X.shape == (len(manifest), config["n_mels"], 63, 1) and X.dtype == np.float32
    assert set(manifest["spectrogram_sample_rate"]) == {config["sr"]} and len(set(manifest["sample_rate"])) > 1
    freqs, times = space["freqs"], space["times"]
    assert len(freqs) == X.shape[1] == config["n_mels"] and len(times) == X.shape[2]
    assert freqs[0] >= config["fmin"] and freqs[-1] <= config["sr"] / 2 and np.all(np.diff(freqs) > 0)
    np.testing.assert_allclose(times, np.arange(63) * config["hop_length"] / config["sr"])
    png_axes, png_x = space["png_axes"], space["png_x"]
    assert len(png_axes["frequency_hz"]) == png_x.shape[0] and png_axes["image_size"] == list(png_x.shape)
    np.testing.assert_allclose(png_x, X[0, :, :, 0], atol=1 / 510 + 1e-7)  # the flipped PNG is the array
    features, labels = space["features"], space["labels"]
    assert tuple(features.shape) == (32,) + X.shape[1:] and set(labels.numpy()) <= set(manifest["class_id"])
    train = space["train"]
    assert len(train) == int((manifest["split"] == "train").sum())
    first = manifest.index[manifest["split"] == "train"][0]
    np.testing.assert_array_equal(train[0][0], X[first])
    assert train[0][1] == manifest["class_id"][first]
    png_train = loaders.ManifestDataset("results/final_spects.csv", split="train")
    assert len(png_train) == len(train) and png_train[0][1] == train[0][1]
    np.testing.assert_allclose(png_train[0][0], train[0][0], atol=1 / 510 + 1e-7)


def test_doctests():
    import doctest

    assert doctest.testmod(spectrogram_math).failed == 0 and doctest.testmod(make_manifest).failed == 0
