"""Smoke tests: the benchmark commands run on tiny sizes, so they cannot rot."""

import re
import subprocess
import sys

import pytest

from workflow import FSDD, ROOT


def bench(*args):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.mark.skipif(not FSDD.is_dir(), reason=f"{FSDD} not found: the benchmark reads FSDD from ../shared")
def test_spectrogram_benchmark_prints_its_ratio():
    out = bench("benchmarks/spectrograms.py", "--files", "24", "--cores", "2")
    assert "24 FSDD files" in out
    ratio = float(re.search(r"ratio workflow / cold loop: ([0-9.]+)x", out).group(1))
    assert ratio > 0


def test_loading_benchmark_prints_its_ratios():
    out = bench("benchmarks/loading.py", "--files", "40")
    rows = re.findall(r"^(pixel CSV|NPY files|NPY stack).*?([0-9.]+)x$", out, re.M)
    assert [name for name, _ in rows] == ["pixel CSV", "NPY files", "NPY stack"]
    assert float(rows[0][1]) == 1.0
