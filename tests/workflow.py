"""Helpers to run the workflow in a throw-away copy of the repository and read its dry runs."""

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FSDD = SHARED / "data" / "fsdd" / "recordings"
COPIED = ["Snakefile", "config.yaml", "rules", "scripts", "schemas", "profiles", "envs", "examples", "report"]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
FULL_JOB_INFO = "SPECTROGRAM_FULL_JOB_INFO"


def copy_workflow(dest):
    """Copy the workflow's files (not results, logs or caches) into ``dest``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


# Where Slurm's client tools are installed but no controller answers (CI before the Slurm test starts
# one), the Slurm executor plugin's `scontrol show config` at import waits 9 s in every Snakemake start.
# An unreadable configuration makes it fail at once; a real SLURM_CONF of the developer is kept.
ENV = dict(os.environ)
ENV.setdefault("SLURM_CONF", os.devnull)
# The tests read every job's outputs from what Snakemake prints (jobs_in): print the lists whole
# (scripts/job_info.py cuts them otherwise; tests/test_style.py checks the cut output).
ENV[FULL_JOB_INFO] = "1"


def start(workdir, *args, log=None):
    """Start snakemake in ``workdir`` in its own process group (so a kill takes its children too).

    Its output goes to a pipe, or with ``log`` to that file (a run left in the background for minutes, whose
    output nobody reads meanwhile, would fill a pipe and stall); :func:`finish` returns it either way.
    """
    with open(log, "w") if log else contextlib.nullcontext(subprocess.PIPE) as out:
        child = subprocess.Popen(
            SNAKEMAKE + list(args),
            cwd=workdir,
            env=ENV,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    child.log = log
    return child


def run(workdir, *args, check=True, timeout=900):
    """Run snakemake in ``workdir``; return the completed process (stdout and stderr merged)."""
    return finish(start(workdir, *args), check=check, timeout=timeout)


def finish(child, check=True, timeout=900):
    """Wait for a run begun by :func:`start`; return it completed (see :func:`run`).

    Two runs in two workflow copies can go side by side: ``start`` both, then ``finish`` both.
    """
    args = child.args[len(SNAKEMAKE):]
    try:
        out, _ = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)  # the whole group: no job outlives the test
        child.communicate()
        raise
    if child.log:
        out = Path(child.log).read_text()
    proc = subprocess.CompletedProcess(child.args, child.returncode, out)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}")
    return proc


JOB = re.compile(r"^\s*(?:local)?rule (\w+):\s*$")
SPECTROGRAM_FOLDERS = {"results/specs/": ".npy", "results/spect/": ".png"}


def jobs_in(out):
    """The jobs a Snakemake run or dry run printed: a Counter of rule names and the set of spectrogram ids.

    Returns
    -------
    rules : collections.Counter
        Jobs per rule; the per-batch rules ``spectrogram_b…`` count as ``spectrogram``.
    ids : set of str
        The ids of every spectrogram (NPY or PNG) that a spectrogram job makes.
    """
    rules, ids, current = Counter(), set(), None
    for line in out.splitlines():
        match = JOB.match(line)
        if match:
            current = "spectrogram" if match.group(1).startswith("spectrogram") else match.group(1)
            rules[current] += 1
            continue
        if current == "spectrogram" and line.strip().startswith("output:"):
            for path in line.split("output:", 1)[1].split(", "):
                path = path.strip()
                for folder, suffix in SPECTROGRAM_FOLDERS.items():
                    if path.startswith(folder) and path.endswith(suffix):
                        ids.add(path[len(folder) : -len(suffix)])
            current = None
    return rules, ids


def planned(workdir, *args):
    """Jobs a dry run plans (see :func:`jobs_in`)."""
    return jobs_in(run(workdir, "-n", *args).stdout)


def tone_clip(freq, sr=16000, seconds=0.5, seed=0, stereo=False):
    """A short tone with a little noise (deterministic)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sr * seconds)) / sr
    y = 0.4 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
    y = y.astype(np.float32)
    return np.stack([y, y[::-1]], axis=1) if stereo else y


def make_audio_folder(folder, classes=("bark", "chirp", "hum"), authors=("ann", "bob", "cyd", "dan", "eve"), per=2):
    """A small labelled folder ``{class}/{author}_{i}.wav`` plus files that must be ignored.

    Returns
    -------
    list of str
        Relative paths of the audio files.
    """
    folder = Path(folder)
    freqs = {name: 300.0 * (i + 1) for i, name in enumerate(classes)}
    rels = []
    for c in classes:
        for a_i, author in enumerate(authors):
            for i in range(per):
                ext = ".WAV" if (a_i + i) % 3 == 0 else ".wav"
                rel = f"{c}/{author}_{i}{ext}"
                (folder / c).mkdir(parents=True, exist_ok=True)
                sr = 16000 if i % 2 == 0 else 22050
                sf.write(folder / rel, tone_clip(freqs[c] + 20 * a_i, sr=sr, seed=a_i * 10 + i), sr)
                rels.append(rel)
    (folder / "bark" / ".hidden_9.wav").write_bytes(b"not audio, and hidden")
    (folder / "bark" / "notes.txt").write_text("not audio")
    (folder / ".cache").mkdir(exist_ok=True)
    sf.write(folder / ".cache" / "ann_5.wav", tone_clip(100), 16000)
    return sorted(rels)


SMALL_CONFIG = """\
audio_dir: {audio_dir}
files_per_job: 1
labels:
  from: pattern
  pattern: '^(?P<class>[^/]+)/(?P<author>[^_/]+)_\\d+$'
spectrogram:
  sr: 16000
  duration: 0.5
  n_mels: 32
  n_fft: 512
  hop_length: 256
split:
  by: author
  seed: 42
  fractions: {{train: 0.6, val: 0.2, test: 0.2}}
  assign: {{val: [bob], test: [cyd]}}
"""

# The spectrogram stage's outputs: targets of the tests that do not train.
STAGE = ["results/final_specs.csv", "results/final_spects.csv", "results/train_data.csv", "results/split_summary.csv"]
