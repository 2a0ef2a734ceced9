"""Finding audio files and labelling them: pattern, folder and CSV sources."""

import doctest

import pytest

import discovery
import labelling


@pytest.fixture
def tree(tmp_path):
    for rel in ["birds/robin/site1_01.WAV", "birds/robin/site2_02.flac", "birds/wren/site1_03.Ogg",
                "frogs/site3_04.aiff", "frogs/site3_05.aif", "frogs/site4_06.mp3", "top_07.wav"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "birds" / ".hidden_08.wav").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "a_09.wav").write_bytes(b"x")
    (tmp_path / "frogs" / "notes.txt").write_text("not audio")
    (tmp_path / "frogs" / "site3_04.wav.bak").write_text("not audio")
    return tmp_path


def test_discovery_is_recursive_case_blind_and_skips_hidden(tree):
    assert discovery.discover_audio(str(tree)) == [
        "birds/robin/site1_01.WAV", "birds/robin/site2_02.flac", "birds/wren/site1_03.Ogg",
        "frogs/site3_04.aiff", "frogs/site3_05.aif", "frogs/site4_06.mp3", "top_07.wav",
    ]


def test_ids_keep_folders_and_drop_extensions(tree):
    index = discovery.index_files(discovery.discover_audio(str(tree)))
    assert index["birds/robin/site1_01"] == "birds/robin/site1_01.WAV"
    assert "top_07" in index


def test_two_files_with_one_id_are_refused():
    with pytest.raises(discovery.DuplicateIdError, match="a/x.wav and a/x.flac"):
        discovery.index_files(["a/x.wav", "a/x.flac"])


def test_docstring_examples():
    result = doctest.testmod(discovery)
    assert result.failed == 0
    assert result.attempted > 0


def test_pattern_labels():
    labels = labelling.label_files(["7_theo_12.wav", "0_george_3.wav"], "pattern", r"^(?P<class>\d)_(?P<author>[a-z]+)_\d+$")
    assert labels == [("7", "theo"), ("0", "george")]


def test_pattern_without_author_gives_unknown():
    assert labelling.label_files(["dog/1.wav"], "pattern", r"^(?P<class>[^/]+)/") == [("dog", "unknown")]


def test_pattern_that_does_not_match_names_the_file():
    with pytest.raises(labelling.LabelError, match="stray.wav"):
        labelling.label_files(["7_theo_1.wav", "stray.wav"], "pattern", r"^(?P<class>\d)_")


def test_pattern_needs_a_class_group():
    with pytest.raises(labelling.LabelError, match=r"no \(\?P<class>"):
        labelling.label_files(["a.wav"], "pattern", r"(?P<kind>a)")
    with pytest.raises(labelling.LabelError, match="not a valid regular expression"):
        labelling.label_files(["a.wav"], "pattern", r"(?P<class>a")


def test_folder_labels(tree):
    rels = discovery.discover_audio(str(tree))
    labels = dict(zip(rels[:-1], labelling.label_files(rels[:-1], "folder", r"(?P<author>site\d)")))
    assert labels["birds/robin/site1_01.WAV"] == ("robin", "site1")
    assert labels["frogs/site4_06.mp3"] == ("frogs", "site4")
    with pytest.raises(labelling.LabelError, match="top_07.wav.*not inside a class folder"):
        labelling.label_files(rels, "folder")


def test_csv_labels(tmp_path):
    table = tmp_path / "labels.csv"
    table.write_text("path,class,author\nsub/a.wav,whale,buoy1\nb.flac,dolphin,buoy2\n")
    assert labelling.label_files(["sub/a.wav", "b.flac"], "csv", csv_path=str(table)) == [("whale", "buoy1"), ("dolphin", "buoy2")]
    with pytest.raises(labelling.LabelError, match="c.wav: no row in"):
        labelling.label_files(["c.wav"], "csv", csv_path=str(table))
    bad = tmp_path / "bad.csv"
    bad.write_text("file,label\n")
    with pytest.raises(labelling.LabelError, match="missing column"):
        labelling.label_files(["c.wav"], "csv", csv_path=str(bad))


def test_class_ids_follow_sorted_names():
    assert labelling.class_ids(["wren", "robin", "wren", "jay"]) == {"jay": 0, "robin": 1, "wren": 2}
