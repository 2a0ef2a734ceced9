"""The workflow stays lint-clean and formatted; conda envs pin what requirements.txt pins."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean():
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Congratulations, your workflow is in a good condition!" in out, out


def test_snakefmt_check_is_clean():
    proc = subprocess.run([str(BIN / "snakefmt"), "--check", "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


CONDA_TO_PIP = {"pysoundfile": "soundfile", "soxr-python": "soxr", "matplotlib-base": "matplotlib"}


def pip_pins():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def env_pins(path):
    pins = {}
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                name, version = pip_dep.split("==")
                pins[name.lower()] = version
        elif "=" in dep:
            name, version = (part.strip() for part in dep.split("=", 1))
            pins[CONDA_TO_PIP.get(name, name).lower()] = version.lstrip("=")
    return pins


def test_conda_envs_pin_the_pip_versions():
    pip = pip_pins()
    envs = sorted((ROOT / "envs").glob("*.yaml"))
    assert envs
    for env in envs:
        pins = env_pins(env)
        assert pins.pop("python") == "3.11"
        assert pins, env
        for name, version in pins.items():
            assert name in pip, f"{env.name}: {name} is not pinned in requirements.txt"
            assert pip[name] == version, f"{env.name}: {name} {version} but requirements.txt has {pip[name]}"


def test_every_rule_file_uses_envs_that_exist():
    for smk in (ROOT / "rules").glob("*.smk"):
        for env in re.findall(r'"\.\./(envs/[^"]+)"', smk.read_text()):
            assert (ROOT / env).exists(), f"{smk.name} names {env}"


def test_rulegraph_and_summary_work():
    graph = subprocess.run([sys.executable, "-m", "snakemake", "--rulegraph"], cwd=ROOT, capture_output=True,
                           text=True, timeout=300)
    assert graph.returncode == 0 and graph.stdout.lstrip().startswith("digraph"), graph.stderr
    for rule in ("catalog", "manifest_npy", "train", "compare_branches"):
        assert f'label = "{rule}"' in graph.stdout
    summary = subprocess.run([sys.executable, "-m", "snakemake", "--summary"], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
    assert summary.returncode == 0, summary.stderr
    assert "results/final_specs.csv" in summary.stdout and "results/model_npy.keras" in summary.stdout


def commented_config(text):
    """config.yaml with its commented-out key lines (``# key: value``, ``#   key: value``) uncommented."""
    key_line = re.compile(r"^# ( *)([a-z_]+:)")
    return yaml.safe_load("\n".join(key_line.sub(r"\1\2", line) for line in text.splitlines()))


def test_config_yaml_shows_every_key_at_the_schema_default():
    """The schema is the one source of defaults: config.yaml only shows them (commented out), and shows them right."""
    import settings

    schema = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())["properties"]
    text = (ROOT / "config.yaml").read_text()
    assert yaml.safe_load(text) == {"audio_dir": "demo"}, "config.yaml sets only audio_dir; the rest is commented out"
    shown = commented_config(text)
    assert set(shown) == set(schema)
    for key, spec in schema.items():
        if "properties" in spec:
            assert shown[key] == settings.defaults(key), key
        else:
            assert shown[key] == spec.get("default"), key
