"""Unit tests of the spectrogram math on synthetic clips."""

import os

import librosa
import numpy as np
import pytest
import soundfile as sf

import audio_io
import audio_processing as ap
import spectrogram_math as sm
from settings import spectrogram_settings


def spec(y, sr, settings):
    """The math on audio in memory, ``settings`` completed with the schema's defaults."""
    return sm.spectrogram_from_audio(y, sr, spectrogram_settings(settings))


def tone(freq, sr=16000, seconds=1.0, amp=0.5):
    t = np.arange(int(sr * seconds)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def write(tmp_path, name, y, sr, subtype="PCM_16"):
    path = tmp_path / name
    sf.write(path, y.T if y.ndim == 2 else y, sr, subtype=subtype)
    return str(path)


@pytest.mark.parametrize("freq", [300.0, 1000.0, 3000.0])
def test_sine_lands_in_its_mel_band(freq):
    settings = {"n_mels": 64, "sr": 16000}
    x = spec(tone(freq), 16000, settings)
    centres = librosa.mel_frequencies(n_mels=66, fmin=0.0, fmax=8000.0)[1:-1]
    peak_band = int(np.argmax(x.mean(axis=1)))
    assert abs(peak_band - int(np.argmin(np.abs(centres - freq)))) <= 1
    assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0


def test_default_shape_and_range():
    x = spec(tone(440), 16000, {})
    n_frames = 1 + 16000 // 256
    assert x.shape == (spectrogram_settings()["n_mels"], n_frames)
    assert np.all(np.isfinite(x)) and 0.0 <= x.min() and x.max() <= 1.0


@pytest.mark.parametrize("normalize", ["minmax", "fixed_db"])
def test_silence_gives_zeros_not_nan(tmp_path, normalize):
    path = write(tmp_path, "silence.wav", np.zeros(16000, np.float32), 16000)
    x = ap.spectrogram(path, {"normalize": normalize})
    assert np.all(np.isfinite(x))
    assert np.all(x == 0.0)


def test_fixed_db_keeps_levels_comparable():
    loud = spec(tone(1000, amp=0.5), 16000, {"normalize": "fixed_db"})
    quiet = spec(tone(1000, amp=0.05), 16000, {"normalize": "fixed_db"})
    assert loud.max() > quiet.max() + 0.1  # 20 dB apart on a 120 dB scale
    minmax_loud = spec(tone(1000, amp=0.5), 16000, {})
    minmax_quiet = spec(tone(1000, amp=0.05), 16000, {})
    assert minmax_loud.max() == minmax_quiet.max() == 1.0


def test_stereo_adds_a_channel_axis(tmp_path):
    left, right = tone(500), tone(3000)
    path = write(tmp_path, "stereo.wav", np.stack([left, right]), 16000)
    x = ap.spectrogram(path, {"channels": "stereo"})
    assert x.shape == (64, 63, 2)
    assert np.argmax(x[..., 0].mean(axis=1)) < np.argmax(x[..., 1].mean(axis=1))
    mono = ap.spectrogram(path, {"channels": "mono"})
    assert mono.shape == (64, 63)


def test_stereo_setting_duplicates_a_mono_file(tmp_path):
    path = write(tmp_path, "mono.wav", tone(800), 16000)
    x = ap.spectrogram(path, {"channels": "stereo"})
    assert x.shape == (64, 63, 2)
    np.testing.assert_allclose(x[..., 0], x[..., 1], atol=1e-6)


@pytest.mark.parametrize(
    "mode, expected_long, expected_short",
    [
        ("right", [0, 1, 2, 3], [0, 1, 2, 3, 4, 5, 0, 0]),
        ("left", [2, 3, 4, 5], [0, 0, 0, 1, 2, 3, 4, 5]),
        ("center", [1, 2, 3, 4], [0, 0, 1, 2, 3, 4, 5, 0]),
    ],
)
def test_pad_and_cut_modes(mode, expected_long, expected_short):
    y = np.arange(6, dtype=np.float32)
    np.testing.assert_array_equal(sm.fix_duration(y, 4, mode), expected_long)
    np.testing.assert_array_equal(sm.fix_duration(y, 8, mode), expected_short)
    stereo = np.stack([y, -y])
    assert sm.fix_duration(stereo, 8, mode).shape == (2, 8)


def test_duration_fixes_the_shape_whatever_the_length():
    short = spec(tone(1000, seconds=0.3), 16000, {"duration": 1.0})
    long = spec(tone(1000, seconds=2.5), 16000, {"duration": 1.0})
    assert short.shape == long.shape == (64, 63)
    natural = spec(tone(1000, seconds=2.5), 16000, {"duration": None})
    assert natural.shape == (64, 1 + 40000 // 256)


def test_linear_band_crop_for_marine_audio():
    sr = 50000
    settings = {"sr": sr, "type": "linear", "n_fft": 4096, "hop_length": 2048, "fmin": 12500.0, "fmax": 25000.0}
    x = spec(tone(15000, sr=sr) + tone(3000, sr=sr), sr, settings)
    freqs = librosa.fft_frequencies(sr=sr, n_fft=4096)
    band = freqs[(freqs >= 12500) & (freqs <= 25000)]
    assert x.shape[0] == len(band)
    assert abs(band[int(np.argmax(x.mean(axis=1)))] - 15000) < sr / 4096 * 1.5


def test_mel_band_crop_moves_the_bands():
    x = spec(tone(2000), 16000, {"fmin": 1000.0, "fmax": 4000.0, "n_mels": 32})
    centres = librosa.mel_frequencies(n_mels=34, fmin=1000.0, fmax=4000.0)[1:-1]
    assert x.shape[0] == 32
    assert abs(int(np.argmax(x.mean(axis=1))) - int(np.argmin(np.abs(centres - 2000)))) <= 1


def test_linear_and_mel_differ_in_rows():
    lin = spec(tone(1000), 16000, {"type": "linear"})
    mel = spec(tone(1000), 16000, {"type": "mel"})
    assert lin.shape == (1 + 1024 // 2, 63) and mel.shape == (64, 63)


@pytest.mark.parametrize("mode", ["avg", "max"])
def test_pooling(mode):
    x = np.arange(4 * 6, dtype=np.float32).reshape(4, 6)
    pooled = sm.pool(x, time_pool=3, freq_pool=2, mode=mode)
    assert pooled.shape == (2, 2)
    block = x[0:2, 0:3]
    assert pooled[0, 0] == (block.mean() if mode == "avg" else block.max())
    full = spec(tone(1000), 16000, {"time_pool": 2, "freq_pool": 4, "pool_mode": mode})
    assert full.shape == (16, 31)


def test_window_and_win_length_change_the_result():
    base = spec(tone(1000), 16000, {})
    hamming = spec(tone(1000), 16000, {"window": "hamming"})
    short = spec(tone(1000), 16000, {"win_length": 256})
    assert base.shape == hamming.shape == short.shape
    assert not np.array_equal(base, hamming) and not np.array_equal(base, short)


def test_png_is_the_quantised_array_flipped(tmp_path):
    path = write(tmp_path, "chirp.wav", librosa.chirp(fmin=200, fmax=6000, sr=16000, duration=1.0), 16000)
    x = ap.get_spec_npy(path, str(tmp_path / "a.npy"))
    ap.get_spec_image(path, str(tmp_path / "a.png"))
    npy = np.load(tmp_path / "a.npy")
    np.testing.assert_array_equal(npy, x)
    from PIL import Image

    pixels = np.asarray(Image.open(tmp_path / "a.png"))
    assert pixels.dtype == np.uint8 and pixels.shape == x.shape
    np.testing.assert_array_equal(pixels[-1], np.rint(x[0] * 255))  # lowest band at the bottom
    back = ap.load_png(str(tmp_path / "a.png"))
    assert np.max(np.abs(back - npy)) <= 1 / 510 + 1e-6
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".tmp")]


def test_stereo_png_round_trip(tmp_path):
    path = write(tmp_path, "st.wav", np.stack([tone(500), tone(2500)]), 16000)
    shape = ap.process_file(path, {"npy": str(tmp_path / "s.npy"), "png": str(tmp_path / "s.png")}, {"channels": "stereo"})
    x = np.load(tmp_path / "s.npy")
    assert shape == x.shape == (64, 63, 2)
    back = ap.load_png(str(tmp_path / "s.png"), channels=2)
    assert back.shape == x.shape and np.max(np.abs(back - x)) <= 1 / 510 + 1e-6


def test_png_has_no_timestamp_metadata(tmp_path):
    x = spec(tone(1000), 16000, {})
    ap.save_png(x, str(tmp_path / "one.png"))
    ap.save_png(x, str(tmp_path / "two.png"))
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "two.png").read_bytes()
    assert b"tIME" not in (tmp_path / "one.png").read_bytes()


def test_resampling_to_the_target_rate(tmp_path):
    path = write(tmp_path, "hi.wav", tone(1000, sr=44100), 44100)
    y, sr = audio_io.load_audio(path, sr=16000)
    assert sr == 16000 and abs(len(y) - 16000) <= 1
    y, sr = audio_io.load_audio(path, sr=None)
    assert sr == 44100


def test_unreadable_and_non_finite_audio_raise(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio")
    with pytest.raises(ap.AudioError, match="cannot decode"):
        ap.spectrogram(str(bad))
    y = tone(1000)
    y[100] = np.nan
    path = write(tmp_path, "nan.wav", y, 16000, subtype="FLOAT")
    with pytest.raises(ap.AudioError, match="NaN"):
        ap.spectrogram(path)


def test_unknown_setting_is_refused():
    with pytest.raises(KeyError, match="n_mel"):
        spectrogram_settings({"n_mel": 10})
