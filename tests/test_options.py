"""Options of users' own scripts, run through the workflow on tiny synthetic data (seeds 001, 003, 004)."""

import numpy as np
import pytest
import soundfile as sf

import audio_processing
import spectrogram_math
from workflow import SMALL_CONFIG, STAGE, copy_workflow, make_audio_folder, planned, run, tone_clip


def test_pad_and_cut_are_two_settings():
    y = np.arange(10.0)
    short = np.arange(1.0, 5.0)
    assert spectrogram_math.fix_duration(y, 6, "center", "right").tolist() == [0, 1, 2, 3, 4, 5]  # CENTER_RCUT
    assert spectrogram_math.fix_duration(short, 6, "center", "right").tolist() == [0, 1, 2, 3, 4, 0]
    assert spectrogram_math.fix_duration(y, 6, "right", "left").tolist() == [4, 5, 6, 7, 8, 9]  # RPAD_LCUT
    assert spectrogram_math.fix_duration(short, 6, "right", "left").tolist() == [1, 2, 3, 4, 0, 0]
    assert spectrogram_math.fix_duration(y, 6, "left").tolist() == [4, 5, 6, 7, 8, 9]  # cut follows pad


@pytest.fixture(scope="module")
def long_clips(tmp_path_factory):
    """A workflow copy on a folder of 1.2 s clips cut to 0.5 s, run once with the defaults."""
    base = tmp_path_factory.mktemp("options")
    audio = base / "audio"
    rels = make_audio_folder(audio, per=1)
    for rel in rels:  # make every clip 1.2 s: a different sound in each part, so where it is cut shows
        y, sr = sf.read(audio / rel, dtype="float32")
        t = np.arange(int(0.7 * sr)) / sr
        sf.write(audio / rel, np.concatenate([y, 0.3 * np.sin(2 * np.pi * 3000 * t).astype(np.float32)]), sr)
    work = copy_workflow(base / "wf")
    (work / "test.yaml").write_text(SMALL_CONFIG.format(audio_dir=audio))
    run(work, *STAGE, "--cores", "2", "--configfile", "test.yaml")
    return work, audio, rels


def test_cut_mode_through_the_workflow(long_clips):
    work, audio, rels = long_clips
    (work / "cut.yaml").write_text("spectrogram:\n  pad_mode: center\n  cut_mode: right\n")
    rules, ids = planned(work, *STAGE, "--configfile", "test.yaml", "cut.yaml")
    assert rules["spectrogram"] == len(rels) and len(ids) == len(rels)  # a setting of the math: every file reruns
    run(work, *STAGE, "--cores", "2", "--configfile", "test.yaml", "cut.yaml")
    settings = {"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512, "hop_length": 256}
    rel = rels[0]
    clip = rel.rsplit(".", 1)[0]
    x = np.load(work / "results" / "specs" / f"{clip}.npy")
    np.testing.assert_array_equal(x, audio_processing.spectrogram(audio / rel, {**settings, "pad_mode": "center",
                                                                               "cut_mode": "right"}))
    centred = audio_processing.spectrogram(audio / rel, {**settings, "pad_mode": "center"})
    assert not np.array_equal(x, centred)  # cut at the end, not at both ends


@pytest.mark.parametrize("scale", ["linear", "log1p"])
def test_raw_magnitudes_through_the_workflow(long_clips, scale):
    work, audio, rels = long_clips
    (work / "scale.yaml").write_text(f"spectrogram:\n  scale: {scale}\n  power: 1.0\n")
    run(work, *STAGE, "--cores", "2", "--configfile", "test.yaml", "scale.yaml")
    settings = {"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512, "hop_length": 256, "power": 1.0}
    rel = rels[1]
    x = np.load(work / "results" / "specs" / f"{rel.rsplit('.', 1)[0]}.npy")
    np.testing.assert_array_equal(x, audio_processing.spectrogram(audio / rel, {**settings, "scale": scale}))
    assert x.min() == 0.0 and x.max() == 1.0
    png = audio_processing.load_png(work / "results" / "spect" / f"{rel.rsplit('.', 1)[0]}.png")
    assert np.max(np.abs(png - x)) <= 1 / 510 + 1e-7
    y, sr = sf.read(audio / rel, dtype="float32")
    import librosa

    magnitude = librosa.feature.melspectrogram(y=librosa.resample(y, orig_sr=sr, target_sr=16000)[:8000],
                                               sr=16000, n_fft=512, hop_length=256, n_mels=32, power=1.0)
    expected = magnitude if scale == "linear" else np.log1p(magnitude)
    span = expected.max() - expected.min()
    np.testing.assert_allclose(x, (expected - expected.min()) / span, atol=1e-4)


# --- Image size and colour (seed 001 --image-scale, --cmap) ---------------------------------


def test_image_size_follows_scale_then_height_and_width():
    image = {"scale": None, "height": None, "width": None}
    assert audio_processing.image_size((64, 63), image) == (64, 63)
    assert audio_processing.image_size((64, 63), {**image, "scale": 0.5}) == (32, 32)
    assert audio_processing.image_size((64, 63), {**image, "scale": 0.01}) == (1, 1)
    assert audio_processing.image_size((64, 63, 2), {**image, "scale": 2, "width": 10}) == (128, 10)


def test_resize_resamples_each_channel_and_stays_in_range():
    rng = np.random.default_rng(0)
    x = rng.random((8, 6, 2)).astype(np.float32)
    image = {"scale": 2, "height": None, "width": None, "resample": "nearest"}
    big = audio_processing.resize(x, image)
    assert big.shape == (16, 12, 2) and big.dtype == np.float32
    np.testing.assert_array_equal(big[::2, ::2], x)  # nearest at twice the size: each cell four times
    small = audio_processing.resize(x, {**image, "scale": None, "height": 3, "width": 5, "resample": "lanczos"})
    assert small.shape == (3, 5, 2) and small.min() >= 0.0 and small.max() <= 1.0
    assert audio_processing.resize(x, {**image, "scale": None}) is x  # the array's own size: untouched


def test_colour_pixels_are_the_colormap_of_the_array():
    import matplotlib

    x = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    rgb = audio_processing.color_pixels(x, "viridis")
    assert rgb.shape == (3, 4, 3) and rgb.dtype == np.uint8
    expected = np.rint(np.asarray(matplotlib.colormaps["viridis"](float(x[0, 0]))[:3]) * 255)
    np.testing.assert_array_equal(rgb[-1, 0], expected)  # row 0 (lowest frequency) at the bottom
    stacked = audio_processing.color_pixels(np.stack([x, 1 - x], axis=-1), "magma")
    assert stacked.shape == (6, 4, 3)  # channels stacked vertically, as the grayscale PNG


def test_a_rejected_file_says_why_in_every_form(tmp_path):
    outputs = {"npy": str(tmp_path / "a.npy"), "png": str(tmp_path / "a.png"), "color": str(tmp_path / "c.png")}
    audio_processing.save_rejected(outputs, "the decoder crashed\n(signal 11)")
    for path in outputs.values():
        assert audio_processing.rejection(path) == "the decoder crashed (signal 11)"
    audio_processing.save_npy(np.zeros((2, 2)), str(tmp_path / "real.npy"))
    assert audio_processing.rejection(str(tmp_path / "real.npy")) is None


# --- Channels and several resolutions (seeds 003, 004) --------------------------------------


def four_channels(path, seconds=0.5, sr=16000, seed=0):
    """A 4-channel clip with a different tone in each channel."""
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng(seed)
    y = np.stack([0.3 * np.sin(2 * np.pi * f * t) for f in (300, 900, 1800, 3600)], axis=1)
    sf.write(path, (y + 0.01 * rng.standard_normal(y.shape)).astype(np.float32), sr)


def test_channels_pick_list_all_and_refuse_a_missing_one(tmp_path):
    import audio_io

    four_channels(tmp_path / "four.wav")
    y, _ = audio_io.load_audio(tmp_path / "four.wav", channels="all")
    assert y.shape[0] == 4
    picked, _ = audio_io.load_audio(tmp_path / "four.wav", channels=[3, 0])
    np.testing.assert_array_equal(picked, y[[3, 0]])
    one, _ = audio_io.load_audio(tmp_path / "four.wav", channels=[2])
    np.testing.assert_array_equal(one, y[2])
    with pytest.raises(audio_io.AudioError, match="has 4 channel.*channel 5"):
        audio_io.load_audio(tmp_path / "four.wav", channels=[0, 5])
    assert audio_io.header_channels(tmp_path / "four.wav") == 4


@pytest.mark.parametrize("kind", ["mel", "linear"])
def test_several_resolutions_stack_as_channels_on_one_grid(tmp_path, kind):
    four_channels(tmp_path / "four.wav")
    base = {"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512, "hop_length": 128, "type": kind}
    x = spectrogram_math.spectrogram(tmp_path / "four.wav", {**base, "channels": [0, 3], "resolutions": [256, 1024]})
    rows = 32 if kind == "mel" else 257
    assert x.shape == (rows, 63, 4)
    assert spectrogram_math.n_channels({"channels": [0, 3], "resolutions": [256, 1024]}) == 4
    if kind == "mel":  # mel bands are one grid at every FFT size: each channel is that FFT size's own spectrogram
        for r, n_fft in enumerate([256, 1024]):
            alone = spectrogram_math.spectrogram(tmp_path / "four.wav", {**base, "channels": [0, 3], "n_fft": n_fft})
            np.testing.assert_array_equal(x[..., r], alone[..., 0])  # audio channel 0
            np.testing.assert_array_equal(x[..., 2 + r], alone[..., 1])  # audio channel 3
    else:  # the 1024-point spectrogram, interpolated onto the 512-point bins
        assert 0.0 <= x.min() and x.max() == 1.0 and not np.array_equal(x[..., 0], x[..., 1])


def test_progress_line_counts_files_and_speed():
    import workers

    now = [0.0]
    progress = workers.Progress(100, interval=5.0, clock=lambda: now[0])
    now[0] = 1.0
    assert progress.add(10) is None  # less than 5 s since the start: no line yet
    now[0] = 6.0
    assert progress.add(20) == "spectrograms: 30 of 100 files (30%), 5.0 files/s, about 14 s left"
    now[0] = 7.0
    assert progress.add(70) == "spectrograms: 100 of 100 files (100%), 14.3 files/s"  # the last: always


def test_comparison_skips_arrays_and_pngs_of_different_sizes(tmp_path):
    import compare_branches
    import pandas as pd

    x = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    audio_processing.save_npy(x, str(tmp_path / "a.npy"))
    audio_processing.save_png(x, str(tmp_path / "a.png"))
    image = {"scale": 2.0, "height": None, "width": None, "resample": "nearest"}
    audio_processing.save_pixels(audio_processing.to_pixels(audio_processing.resize(x, image)), str(tmp_path / "b.png"))
    pd.DataFrame({"id": ["a"], "filename": ["a.npy"]}).to_csv(tmp_path / "npy.csv", index=False)
    pd.DataFrame({"id": ["a"], "filename": ["a.png"]}).to_csv(tmp_path / "same.csv", index=False)
    pd.DataFrame({"id": ["a"], "filename": ["b.png"]}).to_csv(tmp_path / "big.csv", index=False)
    worst, compared = compare_branches.largest_difference(tmp_path / "npy.csv", tmp_path / "same.csv")
    assert compared == 1 and 0 < worst <= 1 / 510
    assert compare_branches.largest_difference(tmp_path / "npy.csv", tmp_path / "big.csv") == (None, 0)
    record = compare_branches.comparison({}, None, 0)
    assert "not compared" in compare_branches.markdown(record)


# --- Through the workflow -------------------------------------------------------------------


@pytest.fixture(scope="module")
def multichannel(tmp_path_factory):
    """A workflow copy on 4-channel clips: channels [0, 3], two FFT sizes, colour images; run once."""
    base = tmp_path_factory.mktemp("multichannel")
    audio = base / "audio"
    rels = []
    for c_i, name in enumerate(("bark", "chirp", "hum")):
        (audio / name).mkdir(parents=True)
        for a_i, author in enumerate(("ann", "bob", "cyd", "dan", "eve")):
            four_channels(audio / name / f"{author}_0.wav", seed=10 * c_i + a_i)
            rels.append(f"{name}/{author}_0.wav")
    work = copy_workflow(base / "wf")
    (work / "test.yaml").write_text(SMALL_CONFIG.format(audio_dir=audio))
    (work / "opts.yaml").write_text("spectrogram:\n  channels: [0, 3]\n  resolutions: [256, 1024]\nimage:\n  cmap: viridis\n")
    out = run(work, *STAGE, "--cores", "2", "--configfile", "test.yaml", "opts.yaml")
    return work, audio, sorted(rels), out.stdout


def test_channels_and_resolutions_through_the_workflow(multichannel):
    work, audio, rels, _ = multichannel
    settings = {"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512, "hop_length": 256, "channels": [0, 3]}
    for rel in rels[:3]:
        clip = rel.rsplit(".", 1)[0]
        x = np.load(work / "results" / "specs" / f"{clip}.npy")
        expected = spectrogram_math.spectrogram(audio / rel, {**settings, "resolutions": [256, 1024]})
        assert x.shape == (32, 32, 4)
        np.testing.assert_array_equal(x, expected)
        back = audio_processing.load_png(work / "results" / "spect" / f"{clip}.png", channels=4)
        assert back.shape == x.shape and np.max(np.abs(back - x)) <= 1 / 510 + 1e-7
        from PIL import Image

        with Image.open(work / "results" / "spect_color" / f"{clip}.png") as img:
            assert img.mode == "RGB" and img.size == (32, 4 * 32)
    manifest = (work / "results" / "final_specs.csv").read_text()
    assert "32x32x4" in manifest
    import loaders

    data = loaders.load_csv_data(str(work / "results" / "train_data.csv"), channels=4)
    assert data.features.shape == (len(rels), 32, 32, 4)


def test_progress_is_in_the_log(multichannel):
    *_, log = multichannel
    assert "spectrograms: 15 of 15 files (100%)" in log


def test_an_image_setting_reruns_the_spectrogram_jobs(multichannel):
    work, _, rels, _ = multichannel
    (work / "magma.yaml").write_text("image:\n  cmap: magma\n")
    rules, ids = planned(work, *STAGE, "--configfile", "test.yaml", "opts.yaml", "magma.yaml")
    assert rules["spectrogram"] == len(rels) and len(ids) == len(rels)
    rules, _ = planned(work, *STAGE, "--configfile", "test.yaml", "opts.yaml")
    assert rules["spectrogram"] == 0  # nothing else changed: nothing to do


def test_channels_all_needs_one_channel_count(multichannel, tmp_path):
    work, audio, rels, _ = multichannel
    odd = tmp_path / "odd"
    for rel in rels:
        (odd / rel).parent.mkdir(parents=True, exist_ok=True)
        (odd / rel).write_bytes((audio / rel).read_bytes())
    sf.write(odd / rels[4], tone_clip(500, stereo=True), 16000)
    (work / "all.yaml").write_text(f"audio_dir: {odd}\nspectrogram:\n  channels: all\n")
    out = run(work, "-n", *STAGE, "--configfile", "test.yaml", "all.yaml", check=False)
    assert out.returncode != 0
    assert f"spectrogram.channels: all needs the same channel count in every file, but {odd}/{rels[4]} has 2" in out.stdout


def test_every_channel_through_the_workflow(multichannel):
    work, audio, rels, _ = multichannel  # runs last of the multichannel tests: it changes the run's settings
    (work / "all.yaml").write_text("spectrogram:\n  channels: all\n  resolutions: null\n")
    run(work, *STAGE, "--cores", "2", "--configfile", "test.yaml", "opts.yaml", "all.yaml")
    settings = {"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512, "hop_length": 256, "channels": "all"}
    clip = rels[0].rsplit(".", 1)[0]
    x = np.load(work / "results" / "specs" / f"{clip}.npy")
    assert x.shape == (32, 32, 4)
    np.testing.assert_array_equal(x, spectrogram_math.spectrogram(audio / rels[0], settings))
    back = audio_processing.load_png(work / "results" / "spect" / f"{clip}.png", channels=4)
    assert np.max(np.abs(back - x)) <= 1 / 510 + 1e-7


@pytest.fixture(scope="module")
def png_only(tmp_path_factory):
    """A workflow copy with only the PNG branch, its images drawn at half size; the stage run once."""
    base = tmp_path_factory.mktemp("png_only")
    audio = base / "audio"
    rels = make_audio_folder(audio, per=1)
    work = copy_workflow(base / "wf")
    (work / "test.yaml").write_text(SMALL_CONFIG.format(audio_dir=audio) + "branches: [png]\nimage:\n  scale: 0.5\n  resample: box\n")
    targets = ["results/final_spects.csv", "results/train_data.csv", "results/split_summary.csv"]
    run(work, *targets, "--cores", "2", "--configfile", "test.yaml")
    return work, audio, rels


def test_a_branch_that_is_off_is_not_in_the_plan(png_only):
    work, _, rels = png_only
    assert not (work / "results" / "specs").exists() and not (work / "results" / "final_specs.csv").exists()
    (work / "again.yaml").write_text("spectrogram:\n  n_mels: 24\n")
    rules, _ = planned(work, "--configfile", "test.yaml", "again.yaml")
    assert rules["spectrogram"] == len(rels) and rules["train"] == 1 and rules["train_data"] == 1
    assert not {"manifest_npy", "stack_npy", "compare_branches", "comparison_page"} & set(rules)
    out = run(work, "-n", "results/model_npy.keras", "--configfile", "test.yaml", check=False)
    assert out.returncode != 0 and "the npy branch is off" in out.stdout
    (work / "npy.yaml").write_text("branches: [npy]\n")
    plan = run(work, "-n", "--configfile", "test.yaml", "npy.yaml").stdout
    rules, ids = planned(work, "--configfile", "test.yaml", "npy.yaml")
    assert rules["spectrogram"] == len(ids) == len(rels) and rules["stack_npy"] == 1 and rules["train"] == 1
    assert not {"manifest_png", "train_data", "compare_branches"} & set(rules)
    assert "results/spect/" not in plan and "results/final_spects.csv" not in plan


def test_pixel_table_follows_the_image_size(png_only):
    work, audio, rels = png_only
    import loaders

    clip = rels[0].rsplit(".", 1)[0]
    settings = {"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512, "hop_length": 256}
    x = spectrogram_math.spectrogram(audio / rels[0], settings)
    image = {"scale": 0.5, "height": None, "width": None, "resample": "box"}
    expected = audio_processing.from_pixels(audio_processing.to_pixels(audio_processing.resize(x, image)))
    png = audio_processing.load_png(work / "results" / "spect" / f"{clip}.png")
    assert png.shape == (16, 16)
    np.testing.assert_array_equal(png, expected)
    data = loaders.load_csv_data(str(work / "results" / "train_data.csv"))
    assert data.features.shape == (len(rels), 16, 16, 1)
    assert "16x16" in (work / "results" / "final_spects.csv").read_text()
