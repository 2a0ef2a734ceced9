"""Command-line overrides of nested keys (--config section={key: value}), -d without --configfile, numbers as names."""

import copy

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from snakemake.cli import parse_config
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

import config_types
import labelling
import loaders
import make_catalog
from settings import SCHEMA
from tables import write_csv
from workflow import copy_workflow, jobs_in, make_audio_folder, run

SCHEMA_DICT = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
PROPERTIES = SCHEMA_DICT["properties"]
# Sections given whole on the command line: every one but audio_dir, a free-text path that parse_config may read
# as a number or a bool before the schema is ever asked (audio_dir=5 is 5); the nested ones are the point.
SECTIONS = sorted(set(PROPERTIES) - {"audio_dir"})
TEXT = st.text(st.sampled_from("abcxyz019_-. /:"), max_size=6)


def _bounded(spec, strategy, **kwargs):
    """``strategy`` within the schema's minimum/maximum (exclusive ones too) of ``spec``."""
    low = spec.get("minimum", spec.get("exclusiveMinimum"))
    high = spec.get("maximum", spec.get("exclusiveMaximum"))
    if strategy is st.floats:
        return st.floats(
            low, high, exclude_min="exclusiveMinimum" in spec, exclude_max="exclusiveMaximum" in spec,
            allow_nan=False, allow_infinity=False, **kwargs,
        )
    low = None if low is None else int(low) + ("exclusiveMinimum" in spec)
    high = None if high is None else int(high) - ("exclusiveMaximum" in spec)
    return st.integers(low, high)


def values(spec):
    """A strategy of typed values (as YAML reads them) of the key ``spec`` describes.

    A key that takes text keeps the command line's text, so it gets text only: ``null`` there is the text
    'null', and a name 5 (split.assign) the name '5', the same name.
    """
    if "enum" in spec:
        return st.sampled_from(spec["enum"])
    if "oneOf" in spec or "anyOf" in spec:
        return st.one_of([values(branch) for branch in spec.get("oneOf", []) + spec.get("anyOf", [])])
    types = config_types.allowed_types(spec)
    options = []
    if "string" in types:
        options.append(TEXT)
    else:
        if "integer" in types or "number" in types:
            options.append(_bounded(spec, st.integers))
        if "number" in types:
            options.append(_bounded(spec, st.floats))
        if "boolean" in types:
            options.append(st.booleans())
        if "null" in types:
            options.append(st.none())
    if "array" in types:
        items = values(spec.get("items", {}))
        options.append(st.lists(items, min_size=spec.get("minItems", 0), max_size=spec.get("maxItems", 3),
                                unique=spec.get("uniqueItems", False)))
    if "object" in types:
        options.append(objects(spec))
    return st.one_of(options)


def objects(spec):
    """A strategy of mappings holding any subset of the keys of ``spec`` (or free keys of additionalProperties)."""
    optional = {key: values(child) for key, child in spec.get("properties", {}).items()}
    extra = spec.get("additionalProperties")
    if isinstance(extra, dict):
        return st.dictionaries(st.text("abcxyz", min_size=1, max_size=4), values(extra), max_size=3)
    return st.fixed_dictionaries({}, optional=optional)


def on_command_line(section, value):
    """What Snakemake hands over for ``--config section=<value in YAML flow style>``."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    text = text.removesuffix("\n...").removesuffix("...").strip()
    return parse_config([f"{section}={text}"])


@pytest.mark.parametrize("section", SECTIONS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_command_line_round_trip_gives_back_the_value(section, data):
    """--config section=X, coerced by the schema, is the value X (numbers, bools and nulls typed again)."""
    value = data.draw(values(PROPERTIES[section]), label=section)
    assert config_types.coerce({section: value}, SCHEMA_DICT) == {section: value}  # typed values stay as they are
    assert config_types.coerce(on_command_line(section, value), SCHEMA_DICT) == {section: value}


def test_the_default_configuration_is_left_as_it_is():
    config = yaml.safe_load((SCHEMA.parents[1] / "config.yaml").read_text(encoding="utf-8"))
    validate(config, str(SCHEMA))  # every default filled in
    assert config_types.coerce(config, SCHEMA_DICT) == config


@pytest.mark.parametrize(
    "override, key, expected",
    [
        ("training={learning_rate: 1e-3}", "learning_rate", 0.001),  # YAML 1.1 reads 1e-3 as text
        ("training={batch_norm: yes}", "batch_norm", True),
        ("spectrogram={n_mels: 128.0}", "n_mels", 128),  # a whole float where only an integer fits
        ("spectrogram={cut_mode: null}", "cut_mode", None),  # text, but not one of the enum's
        ("spectrogram={sr: ~}", "sr", None),
        ("spectrogram={channels: [0, 3]}", "channels", [0, 3]),  # oneOf: the list branch
        ("spectrogram={channels: stereo}", "channels", "stereo"),
        ("labels={background: '7'}", "background", "7"),  # text where text is taken stays text
        ("split={assign: {test: [5]}}", "assign", {"test": ["5"]}),
    ],
)
def test_examples(override, key, expected):
    section = override.split("=", 1)[0]
    coerced = config_types.coerce(parse_config([override]), SCHEMA_DICT)
    assert coerced[section][key] == expected
    assert type(coerced[section][key]) is type(expected)


def test_what_does_not_convert_is_left_for_validation_to_name():
    config = config_types.coerce(parse_config(["audio_dir=demo", "training={epochs: many}"]), SCHEMA_DICT)
    assert config["training"]["epochs"] == "many"
    with pytest.raises(WorkflowError, match="epochs"):
        validate(config, str(SCHEMA))


def test_local_refs_are_followed():
    schema = {
        "$defs": {"rate": {"type": "number"}},
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/rate"}, "b": {"type": "array", "items": {"$ref": "#/$defs/rate"}}},
    }
    assert config_types.coerce({"a": "0.5", "b": ["1", "2.5"]}, schema) == {"a": 0.5, "b": [1, 2.5]}


# Numbers as names: speakers 1-5 and classes 0-2 of a labels CSV, speaker 5 named for test as YAML reads it (an int).
NUMERIC_SPLIT = {"by": "author", "seed": 42, "fractions": {"train": 1.0, "val": 0.0, "test": 0.0},
                 "holdout_authors": [4], "holdout_fraction": 0.0, "assign": {"test": [5], "val": [3]}}


def numeric_labels(folder):
    """A labels CSV naming the classes 0, 1, 2 and the authors 1-5 of a ``make_audio_folder`` folder."""
    classes = ("bark", "chirp", "hum")
    rels = make_audio_folder(folder, classes=classes, authors=("s1", "s2", "s3", "s4", "s5"), per=1)
    number = {name: str(i) for i, name in enumerate(classes)}
    lines = ["path,class,author"] + [f"{rel},{number[rel.split('/')[0]]},{rel.split('/')[1][1]}" for rel in rels]
    (folder / "labels.csv").write_text("\n".join(lines) + "\n")
    return rels


def test_numbers_name_authors_and_classes_end_to_end(tmp_path):
    validate({"audio_dir": "x", "split": copy.deepcopy(NUMERIC_SPLIT)}, str(SCHEMA))
    rels = numeric_labels(tmp_path)
    pairs = labelling.label_files(rels, source="csv", csv_path=str(tmp_path / "labels.csv"))
    table = make_catalog.file_table(rels, pairs, NUMERIC_SPLIT, str(tmp_path))
    by_author = table.groupby("author")["split"].unique().map(list).to_dict()
    assert by_author == {"1": ["train"], "2": ["train"], "3": ["val"], "4": ["holdout"], "5": ["test"]}
    write_csv(table, tmp_path / "manifest.csv")
    back = loaders.read_manifest(tmp_path / "manifest.csv")
    assert sorted(back["class"].unique()) == ["0", "1", "2"] and sorted(back["author"].unique()) == list("12345")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    base = tmp_path_factory.mktemp("overrides")
    return copy_workflow(base / "wf"), base


def test_nested_overrides_of_every_section_reach_the_configuration(workdir):
    """One real run of the cheap effective_config job: every section's nested numbers validate and arrive typed.

    The configuration file names speakers and classes by numbers (a labels CSV) and speaker 5 for test, which
    the parse-time split must find.
    """
    work, base = workdir
    numeric_labels(base / "audio")
    config = {
        "audio_dir": str(base / "audio"),
        "files_per_job": 1,
        "labels": {"from": "csv", "csv": str(base / "audio" / "labels.csv")},
        "spectrogram": {"sr": 16000, "duration": 0.5, "n_mels": 32, "n_fft": 512, "hop_length": 256},
        "split": NUMERIC_SPLIT,
    }
    (work / "numeric.yaml").write_text(yaml.safe_dump(config))
    overrides = {
        "training": {"learning_rate": 0.002, "epochs": 3, "learning_curve": [0.25], "batch_norm": True},
        "spectrogram": {"n_mels": 40, "fmax": 6000.0, "top_db": None, "db_range": [-90.0, 10.0]},
        "split": {"seed": 7},
        "windows": {"threshold": 0.7},
        "labels": {"min_overlap": 0.3, "multi_label": False},
        "image": {"height": 40, "scale": 0.5},
        "batch_resources": {"runtime": 30, "mem_mb": None},
    }
    args = [f"{section}={yaml.safe_dump(value, default_flow_style=True).strip()}" for section, value in overrides.items()]
    run(work, "--cores", "1", "results/effective_config.yaml", "--configfile", "numeric.yaml", "--config", *args)
    effective = yaml.safe_load((work / "results" / "effective_config.yaml").read_text())
    for section, value in overrides.items():
        assert {key: effective[section][key] for key in value} == value, section
    assert effective["split"]["assign"] == {"test": [5], "val": [3]}


def test_another_working_directory_finds_the_workflows_config(workdir, tmp_path):
    """snakemake -d elsewhere, without --configfile, plans the demo run there."""
    work, _ = workdir
    rules, _ = jobs_in(run(work, "-n", "-d", str(tmp_path / "elsewhere")).stdout)
    assert rules["demo_audio"] == 1 and rules["train"] == 2
    assert (tmp_path / "elsewhere" / ".snakemake").is_dir() and not (work / "results" / "demo_audio").exists()
