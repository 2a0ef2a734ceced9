"""README documents every configuration key exactly as the schema defines it."""

import re
from pathlib import Path

import yaml

import config_docs
from workflow import copy_workflow, run

ROOT = Path(__file__).resolve().parents[1]


def test_readme_config_table_matches_the_schema():
    readme = (ROOT / "README.md").read_text()
    assert config_docs.START in readme and config_docs.END in readme
    assert config_docs.replace_in(readme, config_docs.table()) == readme, (
        "README.md's configuration table differs from schemas/config.schema.yaml: "
        "run `python scripts/config_docs.py --write`"
    )


def test_config_yaml_sets_only_schema_keys_with_schema_defaults():
    schema = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())["properties"]
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for key, value in config.items():
        assert key in schema
        if isinstance(value, dict) and "properties" in schema[key]:
            for sub, subvalue in value.items():
                assert sub in schema[key]["properties"], f"{key}.{sub}"
                assert schema[key]["properties"][sub].get("default") == subvalue, f"{key}.{sub}"
        else:
            assert schema[key].get("default") == value, key


def test_every_schema_key_has_a_description():
    schema = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())
    assert all(row.count("|") >= 5 and not row.endswith("|  |") for row in config_docs.rows(schema["properties"]))


def rule_edges(dot):
    """The edges of a rule graph in DOT as (rule, rule) pairs (node numbers vary from run to run)."""
    names = dict(re.findall(r'^\s*(\d+)\[label = "([^"]+)"', dot, flags=re.M))
    return {(names[a], names[b]) for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, flags=re.M)}


def test_rulegraph_picture_is_current(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    current = rule_edges(run(work, "--rulegraph", "--quiet", "all", "all", "--config", "files_per_job=1").stdout)
    assert ("spectrogram", "manifest_npy") in current
    assert current == rule_edges((ROOT / "docs" / "rulegraph.dot").read_text()), (
        "the rule graph changed: redraw docs/rulegraph.dot and docs/rulegraph.svg (see README, What it does)"
    )
    svg = (ROOT / "docs" / "rulegraph.svg").read_text()
    for rule in ("spectrogram", "catalog", "train", "gallery"):
        assert f">{rule}<" in svg
