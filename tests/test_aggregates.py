"""The catalog and manifest jobs: what reaches their log, and the file facts of the spectrogram jobs they read."""

import types

import numpy as np
import pytest
import soundfile as sf

import audio_processing
import file_facts
import joblog
import make_manifest
import workers


def test_an_error_in_a_job_of_the_snakemake_process_goes_to_its_log_and_on(tmp_path):
    log = tmp_path / "job.log"
    with pytest.raises(ZeroDivisionError):
        with joblog.logged(str(log)) as stream:
            print("warning: before the error", file=stream)
            1 / 0
    text = log.read_text()
    assert text.startswith("warning: before the error\n")
    assert "Traceback" in text and "ZeroDivisionError" in text


def test_manifest_rule_body_reads_the_named_fields_and_logs_a_missing_catalog(tmp_path):
    log = tmp_path / "manifest.log"
    job = types.SimpleNamespace(catalog=str(tmp_path / "absent.csv"), facts=[])
    params = types.SimpleNamespace(folder=str(tmp_path / "specs"), suffix=".npy", branch="npy", spectrogram={},
                                   image=None, windows=None)
    output = types.SimpleNamespace(manifest=str(tmp_path / "final_specs.csv"), axes=str(tmp_path / "final_specs.axes.json"))
    with pytest.raises(FileNotFoundError):
        make_manifest.run_rule(job, output, params, [str(log)])
    assert "absent.csv" in log.read_text()
    assert not (tmp_path / "final_specs.csv").exists() and not (tmp_path / "final_specs.axes.json").exists()



# --- the file facts of the spectrogram jobs (scripts/file_facts.py) ---------------------------------

SETTINGS = {"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512, "hop_length": 256}


def made(tmp_path, name, settings, windows=None, image=None, seconds=0.5, stereo=False):
    """A clip (or a longer recording cut into windows) and its outputs in both branches."""
    import soundfile as sf

    from workflow import tone_clip

    audio = tmp_path / f"{name}.wav"
    sf.write(audio, tone_clip(500.0, seconds=seconds, stereo=stereo), 16000)
    outputs = {"npy": str(tmp_path / f"{name}.npy"), "png": str(tmp_path / f"{name}.png")}
    if windows is None:
        audio_processing.process_file(audio, outputs, settings, image=image)
    else:
        audio_processing.process_windows(audio, outputs, settings, windows, image=image)
    return str(audio), outputs


@pytest.mark.parametrize(
    "kind",
    ["clip", "stereo", "windows", "resized"],
)
def test_facts_give_the_shapes_of_the_arrays_the_files_hold(tmp_path, kind):
    settings, windows, image, channels = SETTINGS, None, None, 1
    if kind == "stereo":
        settings, channels = {**SETTINGS, "channels": "stereo"}, 2
    if kind == "windows":
        settings, windows = {k: v for k, v in SETTINGS.items() if k != "duration"}, {"length": 0.5, "hop": 0.25, "last": "pad"}
    if kind == "resized":
        image = {"scale": 0.5}
    audio, outputs = made(tmp_path, kind, settings, windows, image, seconds=1.3, stereo=kind == "stereo")
    entry = file_facts.file_facts(audio, outputs, channels)
    assert entry["rejected"] is None
    assert entry["shapes"]["npy"] == list(np.load(outputs["npy"]).shape)
    assert entry["shapes"]["png"] == list(audio_processing.load_png(outputs["png"], channels).shape)
    info = sf.info(audio)
    assert entry["duration"] == info.frames / info.samplerate and entry["sample_rate"] == 16000
    assert entry["channels"] == (2 if kind == "stereo" else 1)
    if kind == "resized":
        assert entry["shapes"]["png"] == [16, 16] and entry["shapes"]["npy"] == [32, 32]
    if kind == "windows":
        assert entry["shapes"]["npy"][0] == 5


def test_facts_of_a_rejected_file_give_its_reason(tmp_path):
    outputs = {"npy": str(tmp_path / "bad.npy"), "png": str(tmp_path / "bad.png")}
    audio_processing.save_rejected(outputs, "the decoder crashed (signal 11)")
    assert file_facts.file_facts(str(tmp_path / "bad.wav"), outputs) == {"rejected": "the decoder crashed (signal 11)"}
    only_png = {"png": outputs["png"]}  # a PNG-only run tells it from the PNG
    assert file_facts.file_facts(str(tmp_path / "bad.wav"), only_png)["rejected"] == "the decoder crashed (signal 11)"


def test_job_facts_are_the_same_bytes_for_the_same_outputs_and_merge_across_jobs(tmp_path):
    a, out_a = made(tmp_path, "a", SETTINGS)
    b, out_b = made(tmp_path, "b", SETTINGS)
    paths = {form: [out_a[form], out_b[form]] for form in out_a}
    file_facts.write_facts(str(tmp_path / "j1.json"), file_facts.job_facts([a, b], paths))
    first = (tmp_path / "j1.json").read_bytes()
    file_facts.write_facts(str(tmp_path / "j1.json"), workers.read_facts_on_pool([a, b], paths, 1))
    assert (tmp_path / "j1.json").read_bytes() == first
    file_facts.write_facts(str(tmp_path / "j2.json"), file_facts.job_facts([a], {form: [p[0]] for form, p in paths.items()}))
    merged = file_facts.read_facts([str(tmp_path / "j1.json"), str(tmp_path / "j2.json")])
    assert sorted(merged) == sorted([a, b]) and merged[b]["shapes"]["npy"] == [32, 32]


def test_manifest_names_a_file_without_facts(tmp_path):
    import pandas as pd

    catalog = pd.DataFrame({"id": ["x"], "audio_path": ["d/x.wav"], "author": ["a"], "class": ["c"], "class_id": [0],
                            "split": ["train"], "duration": [1.0], "sample_rate": [8000]})
    with pytest.raises(ValueError, match="d/x.wav: no shape in the spectrogram jobs' file facts"):
        make_manifest.build_manifest(catalog, "specs", ".npy", {}, {"sr": 16000})


@pytest.mark.parametrize("sr, rates", [(16000, [16000, 16000]), (None, [8000, 44100])])
def test_manifest_gives_the_spectrogram_rate_beside_the_file_rate(sr, rates):
    import pandas as pd

    catalog = pd.DataFrame({"id": ["x", "y"], "audio_path": ["d/x.wav", "d/y.wav"], "author": ["a", "b"],
                            "class": ["c", "c"], "class_id": [0, 0], "split": ["train", "test"], "duration": [1.0, 1.0],
                            "sample_rate": [8000, 44100]})
    manifest = make_manifest.build_manifest(catalog, "specs", ".npy", {"d/x.wav": [64, 63], "d/y.wav": [64, 63]},
                                            {"sr": sr})
    assert list(manifest.columns) == make_manifest.COLUMNS
    assert list(manifest.columns[8:10]) == ["sample_rate", "spectrogram_sample_rate"]
    assert list(manifest["sample_rate"]) == [8000, 44100] and list(manifest["spectrogram_sample_rate"]) == rates
