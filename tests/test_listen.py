"""Listening check: spectrograms turned back into audio with Griffin-Lim."""

import numpy as np
import pytest
import soundfile as sf

import audio_processing
import inversion
import spectrogram_math
from settings import spectrogram_settings
import listen
from workflow import SMALL_CONFIG, copy_workflow, make_audio_folder, planned, run


def dominant_frequency(y, sr):
    """Frequency (Hz) of the largest peak of the magnitude spectrum of mono audio."""
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    return float(np.fft.rfftfreq(y.size, 1.0 / sr)[np.argmax(spectrum)])


def tone(freq, sr, seconds, stereo=False):
    """A tone with a short fade in and out."""
    t = np.arange(int(sr * seconds)) / sr
    y = 0.5 * np.sin(2 * np.pi * freq * t) * np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.02)
    y = y.astype(np.float32)
    return np.stack([y, 0.5 * y], axis=1) if stereo else y


@pytest.mark.parametrize(
    "settings, freq",
    [
        ({}, 1000.0),
        ({"type": "linear", "normalize": "fixed_db", "fmin": 200.0, "fmax": 4000.0, "power": 1.0}, 700.0),
        ({"channels": "stereo", "time_pool": 2, "freq_pool": 2}, 1500.0),
    ],
    ids=["mel-minmax", "linear-magnitude-fixed_db-band", "stereo-pooled"],
)
def test_inverted_tone_keeps_its_frequency(tmp_path, settings, freq):
    sr = 16000
    audio = tmp_path / "tone.wav"
    sf.write(audio, tone(freq, 22050, 0.8, stereo=settings.get("channels") == "stereo"), 22050)
    s = spectrogram_settings(settings)
    audio_processing.get_spec_npy(audio, tmp_path / "tone.npy", s)
    y = listen.listen(tmp_path / "tone.npy", audio, tmp_path / "back.wav", s)
    back, back_sr = sf.read(tmp_path / "back.wav", always_2d=True)
    assert back_sr == sr and back.shape == (int(s["duration"] * sr), 2 if s["channels"] == "stereo" else 1)
    assert np.all(np.isfinite(back)) and np.max(np.abs(back)) == pytest.approx(listen.PEAK, abs=1e-3)
    np.testing.assert_allclose(back.T.squeeze(), y, atol=1e-4)  # the returned audio is what was written
    # mel bands are ~100 Hz wide here: the tone comes back within a band of where it was
    for channel in back.T:
        found = dominant_frequency(channel[: int(0.8 * sr)], sr)
        assert abs(found - freq) < 0.08 * freq, (found, freq)


def test_db_bounds_undo_the_normalisation_exactly():
    sr = 16000
    y = tone(440.0, sr, 0.6) + 0.01 * np.random.default_rng(0).standard_normal(int(0.6 * sr)).astype(np.float32)
    for normalize in ("minmax", "fixed_db"):
        s = spectrogram_settings({"normalize": normalize, "top_db": 60.0})
        x = spectrogram_math.spectrogram_from_audio(y, sr, s)
        db = spectrogram_math.decibels(y, sr, s)
        low, high = spectrogram_math.db_bounds(db, s)
        inside = (db >= low) & (db <= high)  # fixed_db clips outside its range
        np.testing.assert_allclose((low + x * (high - low))[inside], db[inside], atol=1e-3)
        assert inside.mean() > 0.9
    assert (low, high) == (-100.0, 20.0)


def test_file_db_bounds_reads_the_audio_only_for_minmax(tmp_path):
    audio = tmp_path / "a.wav"
    sf.write(audio, tone(300.0, 8000, 0.5), 8000)
    low, high = inversion.file_db_bounds(audio, spectrogram_settings({"sr": 8000, "top_db": 50.0}))
    assert high == pytest.approx(0.0) and low == pytest.approx(-50.0)  # minmax: 0 dB at the peak
    assert inversion.file_db_bounds(tmp_path / "absent.wav", spectrogram_settings({"normalize": "fixed_db"})) == (-100.0, 20.0)


def test_listen_rule_plans_one_spectrogram_and_its_inversion(tmp_path):
    audio = tmp_path / "audio"
    rels = make_audio_folder(audio)
    work = copy_workflow(tmp_path / "wf")
    (work / "test.yaml").write_text(SMALL_CONFIG.format(audio_dir=audio))
    clip = rels[0].rsplit(".", 1)[0]
    rules, ids = planned(work, f"results/listen/{clip}.wav", "--configfile", "test.yaml")
    assert rules["listen"] == 1 and rules["spectrogram"] == 1 and ids == {clip}
    assert set(rules) == {"listen", "spectrogram"}


def test_listen_rule_on_the_demo(demo_trained):
    clip = "upsweep/bay_00"
    run(demo_trained, f"results/listen/{clip}.wav", "--cores", "1")
    y, sr = sf.read(demo_trained / "results" / "listen" / f"{clip}.wav")
    assert sr == 16000 and y.shape == (16000,) and np.all(np.isfinite(y))
    assert np.max(np.abs(y)) == pytest.approx(listen.PEAK, abs=1e-3)
    log = demo_trained / "logs" / "listen" / f"{clip}.log"
    assert log.exists()
