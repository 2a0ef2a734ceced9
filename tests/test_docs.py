"""README documents every configuration key exactly as the schema defines it."""

from pathlib import Path

import yaml

import config_docs

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
