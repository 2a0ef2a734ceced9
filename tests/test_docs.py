"""The documentation: every configuration key exactly as the schema defines it, links that lead somewhere,
a short README and a current rule graph."""

import re
from pathlib import Path

import yaml

import config_docs
from workflow import copy_workflow, run

ROOT = Path(__file__).resolve().parents[1]


def test_config_table_in_docs_matches_the_schema():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    assert config_docs.DOC == ROOT / "docs" / "configuration.md"
    assert config_docs.START in doc and config_docs.END in doc
    assert config_docs.replace_in(doc, config_docs.table()) == doc, (
        "docs/configuration.md's configuration table differs from schemas/config.schema.yaml: "
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


MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def markdown_files():
    """README.md and every docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def relative_links(text):
    """The targets of the Markdown links and images in ``text`` that point into the repository.

    Code (fenced blocks and inline spans) is left out; so are web addresses, ``mailto:`` and links to an anchor
    of the same page. An anchor (``docs/x.md#section``) is cut off: only the file part is returned.
    """
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = []
    for target in MARKDOWN_LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, flags=re.I) or target.startswith("#"):
            continue
        targets.append(target.split("#", 1)[0])
    return targets


def test_relative_links_point_to_files_that_exist():
    assert relative_links("[a](docs/x.md#part) ![b](pic.svg) [c](https://x.org) [d](#top) `[e](no.md)`") == [
        "docs/x.md",
        "pic.svg",
    ]
    broken = []
    for page in markdown_files():
        for target in relative_links(page.read_text()):
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, "links to files that do not exist: " + ", ".join(broken)


def test_readme_is_short_and_links_every_doc():
    readme = ROOT / "README.md"
    assert readme.stat().st_size < 12_000, "README.md is for newcomers: move reference text to docs/*.md"
    linked = {(ROOT / target).resolve() for target in relative_links(readme.read_text())}
    for doc in sorted((ROOT / "docs").glob("*.md")):
        assert doc.resolve() in linked, f"README.md does not link {doc.relative_to(ROOT)}"


def rule_edges(dot):
    """The edges of a rule graph in DOT as (rule, rule) pairs (node numbers vary from run to run)."""
    names = dict(re.findall(r'^\s*(\d+)\[label = "([^"]+)"', dot, flags=re.M))
    return {(names[a], names[b]) for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, flags=re.M)}


def test_rulegraph_picture_is_current(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    current = rule_edges(run(work, "--rulegraph", "--quiet", "all", "all", "--config", "files_per_job=1").stdout)
    assert ("spectrogram", "manifest_npy") in current
    assert current == rule_edges((ROOT / "docs" / "rulegraph.dot").read_text()), (
        "the rule graph changed: redraw docs/rulegraph.dot and docs/rulegraph.svg (see docs/workflow.md)"
    )
    svg = (ROOT / "docs" / "rulegraph.svg").read_text()
    for rule in ("spectrogram", "catalog", "train", "gallery"):
        assert f">{rule}<" in svg
