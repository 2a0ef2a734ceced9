"""Cold spectrogram stage: the workflow against an in-process loop, side by side in one run.

Both compute the same spectrograms (NPY and PNG branches) of the same FSDD
files with the same function (``audio_processing.process_file``) on the same
number of cores; the loop is the limit a workflow can approach. Prints the
wall times, the ratio workflow ÷ loop and the peak memory (RSS) of each.

Usage::

    .venv/bin/python benchmarks/spectrograms.py            # all 3,000 FSDD files, 2 cores
    .venv/bin/python benchmarks/spectrograms.py --files 300 --cores 2
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

FSDD = ROOT.parent / "shared" / "data" / "fsdd" / "recordings"
SETTINGS = {"sr": 8000, "duration": 1.0, "n_fft": 256, "hop_length": 80, "n_mels": 40, "fmax": 4000.0}
CONFIG = """\
audio_dir: {audio_dir}
labels:
  pattern: '^(?P<class>\\d)_(?P<author>[a-z]+)_\\d+$'
spectrogram: {settings}
split:
  fractions: {{train: 1.0, val: 0.0, test: 0.0}}
"""


class PeakRSS:
    """Poll the summed RSS of a process tree (the process and all its children) every 0.1 s."""

    def __init__(self, pid):
        import psutil

        self.proc, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        import psutil

        while not self._stop.is_set():
            try:
                tree = [self.proc] + self.proc.children(recursive=True)
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def mb(self):
        return self.peak / 2**20


def _work(job):
    import audio_processing

    audio, npy, png = job
    audio_processing.process_file(audio, npy, png, SETTINGS)


def _warm(job):
    """Pay the imports and librosa's first-call costs before timing (the workflow pays them too)."""
    import time as _time

    _work(job)
    _time.sleep(0.5)  # let every worker take one warm-up job
    return os.getpid()


def _jobs(files, out):
    return [(str(f), str(out / "specs" / f"{f.stem}.npy"), str(out / "spect" / f"{f.stem}.png")) for f in files]


def in_process_loop(files, out, cores):
    """The limit: one warm process per core, no workflow manager (imports paid before timing)."""
    jobs = _jobs(files, out)
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_warm, jobs[:cores]))
        with PeakRSS(os.getpid()) as rss:
            start = time.perf_counter()
            list(pool.map(_work, jobs, chunksize=16))
            return time.perf_counter() - start, rss.mb


def cold_loop(files, out, cores):
    """The same loop in a fresh Python process, imports and start-up included (as the workflow pays them)."""
    cmd = [sys.executable, __file__, "--cold-loop", str(out), "--files", str(len(files)), "--cores", str(cores)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    with PeakRSS(proc.pid) as rss:
        proc.wait()
    if proc.returncode != 0:
        raise SystemExit("the cold loop failed")
    return time.perf_counter() - start, rss.mb


def workflow(files, work, cores):
    """The cold spectrogram stage of the workflow (both manifests), in a fresh copy."""
    from workflow import copy_workflow

    audio = work / "audio"
    audio.mkdir(parents=True)
    for f in files:
        os.symlink(f, audio / f.name)
    copy_workflow(work)
    (work / "bench.yaml").write_text(CONFIG.format(audio_dir=audio, settings=SETTINGS))
    cmd = [sys.executable, "-m", "snakemake", "results/final_specs.csv", "results/final_spects.csv"]
    cmd += ["--cores", str(cores), "--configfile", "bench.yaml", "--quiet", "all"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with PeakRSS(proc.pid) as rss:
        out, _ = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"workflow failed:\n{out[-3000:]}")
    return wall, rss.mb


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000, help="number of FSDD files (default: all 3,000)")
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--cold-loop", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_loop:
        with ProcessPoolExecutor(args.cores) as pool:
            list(pool.map(_work, _jobs(sorted(FSDD.glob("*.wav"))[: args.files], Path(args.cold_loop)), chunksize=16))
        return
    if not FSDD.is_dir():
        raise SystemExit(f"{FSDD} not found: the benchmark needs ../shared/data/fsdd beside the repository")
    files = sorted(FSDD.glob("*.wav"))[: args.files]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name in ("loop", "cold"):
            (tmp / name / "specs").mkdir(parents=True)
            (tmp / name / "spect").mkdir(parents=True)
        loop, loop_rss = in_process_loop(files, tmp / "loop", args.cores)
        cold, cold_rss = cold_loop(files, tmp / "cold", args.cores)
        flow, flow_rss = workflow(files, tmp / "wf", args.cores)
        shutil.rmtree(tmp / "wf" / "results", ignore_errors=True)
    print(f"cold spectrogram stage, {len(files)} FSDD files, both branches, {args.cores} cores (machine: {os.cpu_count()})")
    print(f"{'':<22}{'wall s':>9}{'files/s':>9}{'peak RSS MB':>13}")
    rows = [("loop, warm workers", loop, loop_rss), ("loop, cold process", cold, cold_rss), ("workflow, cold", flow, flow_rss)]
    for name, wall, rss in rows:
        print(f"{name:<22}{wall:>9.1f}{len(files) / wall:>9.0f}{rss:>13.0f}")
    print(f"ratio workflow / cold loop: {flow / cold:.1f}x   (goal of the speed issue: <= 2x)")
    print(f"ratio workflow / warm loop: {flow / loop:.1f}x   (start-up excluded from the loop)")


if __name__ == "__main__":
    main()
