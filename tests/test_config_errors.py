"""Bad configuration stops the run before any job, with a message naming the key or file."""

import pytest

from workflow import SMALL_CONFIG, copy_workflow, make_audio_folder, run


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("cfg")
    work = copy_workflow(base / "wf")
    audio = base / "audio"
    make_audio_folder(audio, authors=("ann", "bob", "cyd"), per=1)
    return work, audio


def dry_run_error(work, audio, extra, audio_dir=None):
    (work / "bad.yaml").write_text(SMALL_CONFIG.format(audio_dir=audio_dir or audio) + extra)
    proc = run(work, "-n", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0, proc.stdout
    assert "spectrogram" not in [line.split()[-1] for line in proc.stdout.splitlines() if line.startswith("rule ")]
    return proc.stdout


@pytest.mark.parametrize(
    "extra, expected",
    [
        ("spectrogram:\n  n_fft: -5\n", "n_fft"),
        ("spectrogram:\n  n_mels: 'many'\n", "n_mels"),
        ("spectrogram:\n  fmax: 12000\n", "spectrogram.fmax: 12000 Hz is above the Nyquist rate 8000"),
        ("spectrogram:\n  win_length: 4096\n", "spectrogram.win_length"),
        ("spectrogram:\n  colour: red\n", "colour"),
        ("labels:\n  pattern: '^(?P<kind>[^/]+)/'\n", "has no (?P<class>...) group"),
        ("split:\n  fractions: {train: 0.5, val: 0.1, test: 0.1}\n", "split.fractions"),
    ],
)
def test_bad_setting_names_the_key(setup, extra, expected):
    work, audio = setup
    assert expected in dry_run_error(work, audio, extra)


def test_missing_audio_dir(setup, tmp_path):
    work, audio = setup
    out = dry_run_error(work, audio, "", audio_dir=tmp_path / "nowhere")
    assert "audio_dir" in out and "nowhere" in out and "is not a folder" in out


def test_folder_without_audio(setup, tmp_path):
    work, audio = setup
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no audio here")
    out = dry_run_error(work, audio, "", audio_dir=tmp_path / "empty")
    assert "no audio files" in out and "empty" in out


def test_unlabelled_file_is_named(setup, tmp_path):
    work, audio = setup
    import shutil

    shutil.copytree(audio, tmp_path / "a")
    shutil.copy(tmp_path / "a" / "hum" / "ann_0.WAV", tmp_path / "a" / "stray-take.wav")
    out = dry_run_error(work, audio, "on_bad_audio: fail\n", audio_dir=tmp_path / "a")
    assert "stray-take.wav" in out and "labels.pattern" in out and "does not match" in out


def test_empty_audio_dir_setting(setup):
    work, audio = setup
    assert "audio_dir" in dry_run_error(work, audio, "", audio_dir="''")


def test_fewer_authors_than_splits(setup, tmp_path):
    work, audio = setup
    import shutil

    shutil.copytree(audio, tmp_path / "a")
    for path in (tmp_path / "a").rglob("cyd_*"):
        path.unlink()
    out = dry_run_error(work, audio, "split:\n  assign: {}\n", audio_dir=tmp_path / "a")
    assert "2 authors outside holdout cannot fill the 3 splits" in out and "split.assign" in out


def test_class_with_a_single_file(setup, tmp_path):
    work, audio = setup
    import shutil

    shutil.copytree(audio, tmp_path / "a")
    (tmp_path / "a" / "solo").mkdir()
    shutil.copy(tmp_path / "a" / "hum" / "ann_0.WAV", tmp_path / "a" / "solo" / "ann_0.wav")
    out = dry_run_error(work, audio, "", audio_dir=tmp_path / "a")
    assert "solo/ann_0.wav: the only file of class 'solo'" in out and "add recordings" in out
