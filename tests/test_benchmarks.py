"""Smoke test: the benchmark command runs on tiny sizes, so it cannot rot."""

import os
import re
import subprocess
import sys

import pytest

from workflow import ENV, FSDD, ROOT

TINY = ["--fsdd-files", "24", "--notebook-files", "2", "--dry-sizes", "40", "--dry-repeats", "2",
        "--memory-sizes", "24,48", "--windows", "2x8,0.01", "--load-files", "40", "--birdnet-files", "24",
        "--cores", "2"]


@pytest.mark.skipif(not FSDD.is_dir(), reason=f"{FSDD} not found: the benchmark reads FSDD from ../shared")
def test_benchmark_prints_the_six_measurements_next_to_their_goals(tmp_path):
    out = tmp_path / "results.md"
    proc = subprocess.run([sys.executable, "benchmarks/run.py", *TINY, "--out", str(out)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = out.read_text()
    assert table.strip() == proc.stdout.strip()
    assert f"machine with {os.cpu_count()} cores (2 used)" in table
    rows = re.findall(r"^\| ([1-6]) \| (.+?) \| (.+?) \| (.+?) \| (yes|\*\*no\*\*) \|$", table, re.M)
    assert sorted({number for number, *_ in rows}) == ["1", "2", "3", "4", "5", "6"]
    goals = {goal for *_, goal, _ in rows}
    assert {"≤ 10%", "≤ 3%", "≤ bare + 1.0 s", "≤ 2×", "≥ 35×", "≤ 1.2× bare", "≤ 1.5×", "< 1024 MB", "≥ 20×"} <= goals
    # the dry run at each size is measured --dry-repeats times, every pair printed
    dry = next(measured for number, what, measured, _, _ in rows if number == "3")
    assert len(re.findall(r"= [0-9.]+×", dry)) == 2
    ratios = [float(m) for m in re.findall(r"\| ([0-9.]+)(?:×|%) ", table)]
    assert ratios and all(r > 0 for r in ratios)
    # the reruns after one changed file, then one added file: their single batch (all 24 files here, then 25) and
    # the aggregates, nothing else; each against bare Snakemake's dry run over the same files, with its phases
    reruns = [measured for number, what, measured, _, _ in rows if what == "jobs of that rerun"]
    for jobs, files in zip(reruns, (24, 25)):
        spectrograms = [job for job in jobs.split(", ") if job.startswith("spectrogram")]
        assert len(spectrograms) == 1 and spectrograms[0].endswith(f" ({files} files)")
        assert sorted(set(jobs.split(", ")) - set(spectrograms)) == ["catalog", "manifest_npy", "manifest_png"]
    assert re.search(r"^\| 1 \| one file added \(\d_[a-z]+_\d+\.wav, a copy of \d_[a-z]+_\d+\.wav\), 25 FSDD files: ",
                     table, re.M)
    floors = [measured for number, what, measured, goal, _ in rows if goal == "≤ bare + 1.0 s"]
    assert len(floors) == 2 and all(re.fullmatch(r"[0-9.]+ s against [0-9.]+ s: [+-][0-9.]+ s", m) for m in floors)
    went = re.findall(r"^\| 1 \| where that rerun's time went .*? \| start and parse [0-9.]+ s \([0-9.]+; [0-9.]+\), "
                      r"DAG .*?, jobs [0-9.]+ s \(spectrogram_b\w+ [0-9.]+ s, .*catalog [0-9.]+ s.*\), end [0-9.]+ s",
                      table, re.M)
    assert len(went) == 3  # the two reruns at 24 files and the one at 48
    # BirdNET's stage through the workflow against the same interpreter in one process, on the same 24 files
    assert re.search(r"^\| 6 \| birdnet embedding stage, 24 FSDD files: workflow ÷ in-process loop \| [0-9.]+× "
                     r"\([0-9.]+ s ÷ [0-9.]+ s\) \| ≤ 1\.5× \|", table, re.M)
    # every run has its peak RSS
    runs = re.findall(r"^\| (workflow|bare|in-process|seed-002)[^|]*\|[^|]*\|[^|]*\|[^|]*\| ([0-9]+) \|$", table, re.M)
    assert len(runs) >= 10 and all(int(mb) > 0 for _, mb in runs)


def test_windows_benchmark_prints_its_two_measurements(tmp_path):
    out = tmp_path / "windows.md"
    proc = subprocess.run([sys.executable, "benchmarks/windows.py", "--hours", "0.01", "--recordings", "2",
                           "--seconds", "8", "--cores", "2", "--out", str(out)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = re.findall(r"^\| (.+?) \| (.+?) \| (.+?) \| (yes|\*\*no\*\*) \|$", out.read_text(), re.M)
    assert [goal for _, _, goal, _ in rows] == ["≤ 1.5×", "< 1024 MB"]
    assert float(re.search(r"([0-9.]+)×", rows[0][1]).group(1)) > 0 and int(rows[1][1].split()[0]) > 0
    assert "2 recordings of 8 s (14 windows)" in rows[0][0]


@pytest.mark.skipif(not FSDD.is_dir(), reason=f"{FSDD} not found: the benchmark reads FSDD from ../shared")
def test_upstream_fix_benchmark_runs_both_snakemakes_and_compares_their_outputs(tmp_path):
    out = tmp_path / "upstream.md"
    proc = subprocess.run([sys.executable, "benchmarks/upstream.py", "--fsdd-files", "24", "--repeats", "1",
                           "--cores", "2", "--out", str(out)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = dict(re.findall(r"^\| (.+?) \| (.+?) \|", out.read_text(), re.M))
    assert re.fullmatch(r"[0-9.]+", rows["cold stage, every run (s)"])  # one stock run (and one patched)
    assert re.search(r"^\| median ÷ in-process loop \([0-9.]+ s\) \| [0-9.]+× \| [0-9.]+× \| ≤ 2× \|$",
                     out.read_text(), re.M)
    # the patched Snakemake records the same input checksums and writes the same manifests
    same = next(line for line in out.read_text().splitlines() if line.startswith("| same manifests"))
    assert same.endswith("| yes | yes |") and re.search(r"\(\d{2,} records\)", same)


def test_small_fsdd_keeps_the_held_out_speakers_whole_and_nests_the_sizes():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import accuracy

    names = [f"{d}_{s}_{i}.wav" for d in range(10) for s in ("george", "jackson", "lucas", "theo") for i in range(50)]
    names += ["README.md", "0_george_x.wav"]  # not FSDD clips: never chosen
    sizes = {k: accuracy.small_fsdd(names, k) for k in accuracy.SMALL_SIZES}
    for k, chosen in sizes.items():
        speakers = [name.split("_")[1] for name in chosen]
        assert speakers.count("jackson") == speakers.count("theo") == 500  # val and test whole
        assert speakers.count("george") == speakers.count("lucas") == 10 * k
        for d in range(10):
            assert sum(name.startswith(f"{d}_george_") for name in chosen) == k
    for small, large in zip(accuracy.SMALL_SIZES, accuracy.SMALL_SIZES[1:]):
        assert set(sizes[small]) <= set(sizes[large])
    assert accuracy.small_fsdd(names, 3) == sizes[3]  # seeded
    row = {"dataset": "fsdd-3", "branch": "npy", "train_clips": 120, "cpu_seconds": 41.2,
           "cnn": {"accuracy": 0.61, "macro_f1": 0.6}, "baseline": {"accuracy": 0.64, "macro_f1": 0.6},
           "training": {"steps": 480, "passes_per_epoch": 2}}
    table = accuracy.small_data_table([row, {**row, "branch": "png", "cnn": {"accuracy": 0.64, "macro_f1": 0.6}}])
    assert table[2] == "| 3 | 120 | npy | 0.640 | 0.610 | 0.600 | 480 (2) | 41 | **no** |"
    assert table[3].endswith("| yes |")
