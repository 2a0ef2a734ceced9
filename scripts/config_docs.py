"""The table of configuration keys in docs/configuration.md, generated from schemas/config.schema.yaml.

Usage::

    python scripts/config_docs.py            # print the table
    python scripts/config_docs.py --write    # replace it in docs/configuration.md

``tests/test_docs.py`` fails when docs/configuration.md and the schema drift apart.
"""

import argparse
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("image", "labels", "spectrogram", "windows", "split", "training")
START, END = "<!-- config-table:start -->", "<!-- config-table:end -->"
DOC = ROOT / "docs" / "configuration.md"


def _type(spec):
    if "oneOf" in spec:
        return " or ".join(_type(option) for option in spec["oneOf"])
    if "enum" in spec:
        return " \\| ".join(str(v) for v in spec["enum"])
    kind = spec.get("type", "")
    return " or ".join(kind) if isinstance(kind, list) else kind


def _default(value):
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False).strip().removesuffix("...").strip()


def rows(properties, prefix=""):
    """One Markdown table row per configuration key, sections flattened as ``section.key``."""
    for key, spec in properties.items():
        if key in SECTIONS and "properties" in spec:
            yield from rows(spec["properties"], f"{prefix}{key}.")
            continue
        text = " ".join(spec.get("description", "").split())
        yield f"| `{prefix}{key}` | {_type(spec)} | `{_default(spec.get('default'))}` | {text} |"


def table(schema_path=ROOT / "schemas" / "config.schema.yaml"):
    """The whole Markdown table."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    head = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    return "\n".join(head + list(rows(schema["properties"])))


def replace_in(doc_text, new_table):
    """Markdown text with the table between the markers replaced."""
    if START not in doc_text or END not in doc_text:
        raise ValueError(f"the markers {START} and {END} are missing")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    return pattern.sub(lambda _: f"{START}\n{new_table}\n{END}", doc_text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/configuration.md in place")
    args = parser.parse_args()
    if args.write:
        DOC.write_text(replace_in(DOC.read_text(), table()))
    else:
        print(table())
