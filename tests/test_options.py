"""Options of users' own scripts, run through the workflow on tiny synthetic data (seeds 001, 003, 004)."""

import numpy as np
import pytest
import soundfile as sf

import audio_processing
import spectrogram_math
from workflow import SMALL_CONFIG, STAGE, copy_workflow, make_audio_folder, planned, run


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
