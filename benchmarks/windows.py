"""Benchmark of long recordings cut into windows: throughput against an in-process loop, and peak memory.

1. The windowed spectrogram stage (both branches, manifests, pixel table) of the
   workflow on synthetic long recordings, against an in-process loop doing the
   same per-recording work (``workers.process_files`` with windows) on the same
   cores in a fresh process: the ratio of wall times, and windows per second.
2. Peak memory (maximum RSS) of one process computing both branches of a single
   long recording (default: 2 hours, 48 kHz, stereo, 16-bit; 1.4 GB on disk and
   2.8 GB as float32 samples), against the 1 GB goal.

Usage::

    .venv/bin/python benchmarks/windows.py                       # 8 one-minute recordings, a 2-hour file
    .venv/bin/python benchmarks/windows.py --hours 0.05 --recordings 2 --seconds 20     # a quick look
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from workflow import ENV, STAGE, copy_workflow  # noqa: E402

WINDOWS = {"length": 2.0, "hop": 1.0, "last": "pad", "threshold": 0.5}
SETTINGS = {"sr": 16000, "n_mels": 64, "n_fft": 1024, "hop_length": 256}


def write_long(path, seconds, sr, channels, block_seconds=60.0, seed=0):
    """Write a long 16-bit WAV block by block (a tone gliding over noise), never holding it in memory."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    block = int(block_seconds * sr)
    with sf.SoundFile(path, "w", samplerate=sr, channels=channels, subtype="PCM_16") as f:
        done = 0
        total = int(seconds * sr)
        while done < total:
            n = min(block, total - done)
            t = (done + np.arange(n)) / sr
            y = 0.2 * np.sin(2 * np.pi * (500 + 300 * np.sin(t / 7.0)) * t) + 0.02 * rng.standard_normal(n)
            f.write(np.repeat(y[:, None], channels, axis=1).astype(np.float32))
            done += n


def loop_main(spec_path):
    """The in-process loop (run in a fresh process)."""
    import workers

    spec = json.loads(Path(spec_path).read_text())
    problem = workers.process_files(spec["jobs"], spec["settings"], spec["cores"], spec["windows"])
    if problem is not None:
        raise SystemExit("{}: {}".format(*problem))


def one_main(spec_path):
    """Both branches of one long recording in this process (one worker's work); prints the peak RSS."""
    import workers

    spec = json.loads(Path(spec_path).read_text())
    problem = workers.compute([tuple(spec["job"])], spec["settings"], spec["windows"])
    if problem is not None:
        raise SystemExit("{}: {}".format(*problem))
    print(json.dumps({"maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run(cmd, cwd):
    """Run ``cmd``; (wall s, output)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return time.perf_counter() - start, proc.stdout


def throughput(tmp, recordings, seconds, cores):
    """Measurement 1: workflow against the in-process loop on the same recordings."""
    audio = tmp / "audio"
    audio.mkdir()
    for i in range(recordings):
        write_long(audio / f"site{i}_{i:02d}.wav", seconds, 22050, 1, seed=i)
    out = tmp / "loop"
    jobs = [(str(f), {"npy": str(out / f"{f.stem}.npy"), "png": str(out / f"{f.stem}.png")})
            for f in sorted(audio.glob("*.wav"))]
    spec = tmp / "loop.json"
    spec.write_text(json.dumps({"jobs": jobs, "settings": SETTINGS, "cores": cores, "windows": WINDOWS}))
    loop_wall, _ = run([sys.executable, __file__, "--loop", str(spec)], ROOT)
    work = copy_workflow(tmp / "wf")
    config = {
        "audio_dir": str(audio),
        "labels": {"from": "pattern", "pattern": r"^(?P<class>site)\d+_(?P<author>\d+)$"},
        "spectrogram": SETTINGS,
        "windows": WINDOWS,
        "split": {"by": "file", "fractions": {"train": 1.0, "val": 0.0, "test": 0.0}},
    }
    (work / "bench.yaml").write_text(json.dumps(config))
    flow_wall, _ = run([sys.executable, "-m", "snakemake", *STAGE, "--cores", str(cores), "--configfile",
                        "bench.yaml"], work)
    windows = sum(np.load(work / "results" / "specs" / f"{Path(j[0]).stem}.npy", mmap_mode="r").shape[0]
                  for j in jobs)
    return {"recordings": recordings, "seconds": seconds, "windows": windows, "loop": loop_wall, "flow": flow_wall}


def memory(tmp, hours, sr=48000, channels=2):
    """Measurement 2: peak RSS of one process making both branches of one long recording."""
    path = tmp / "long.wav"
    write_long(path, hours * 3600, sr, channels)
    spec = tmp / "one.json"
    job = [str(path), {"npy": str(tmp / "long.npy"), "png": str(tmp / "long.png")}]
    spec.write_text(json.dumps({"job": job, "settings": {**SETTINGS, "channels": "stereo"}, "windows": WINDOWS}))
    wall, out = run([sys.executable, __file__, "--one", str(spec)], ROOT)
    n = np.load(tmp / "long.npy", mmap_mode="r").shape[0]
    return {"hours": hours, "sr": sr, "channels": channels, "bytes": path.stat().st_size, "windows": n,
            "wall": wall, "maxrss_mb": json.loads(out.strip().splitlines()[-1])["maxrss_mb"]}


def report(t, m, cores):
    """The results as a Markdown table, each figure next to its goal."""
    ratio = t["flow"] / t["loop"]
    samples_gb = m["hours"] * 3600 * m["sr"] * m["channels"] * 4 / 1e9
    lines = [
        f"Windows of {WINDOWS['length']:g} s every {WINDOWS['hop']:g} s; {os.cpu_count()} cores ({cores} used), "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| measurement | measured | goal | met |",
        "| --- | --- | --- | --- |",
        f"| workflow stage / in-process loop, {t['recordings']} recordings of {t['seconds']:g} s "
        f"({t['windows']} windows) | {ratio:.2f}× ({t['flow']:.1f} s / {t['loop']:.1f} s; "
        f"{t['recordings'] * t['seconds'] / t['flow']:.0f} s of audio per second, "
        f"{t['windows'] / t['flow']:.0f} windows/s) | ≤ 1.5× | {'yes' if ratio <= 1.5 else '**no**'} |",
        f"| peak memory of one process, {m['hours']:g} h at {m['sr']} Hz, {m['channels']} channels "
        f"({m['bytes'] / 1e9:.2f} GB file, {samples_gb:.2f} GB as float32; {m['windows']} windows in "
        f"{m['wall']:.0f} s) | {m['maxrss_mb']:.0f} MB | < 1024 MB | {'yes' if m['maxrss_mb'] < 1024 else '**no**'} |",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=8, help="long recordings of the throughput run")
    parser.add_argument("--seconds", type=float, default=60.0, help="their length in seconds")
    parser.add_argument("--hours", type=float, default=2.0, help="length of the recording of the memory run")
    parser.add_argument("--cores", type=int, default=os.cpu_count())
    parser.add_argument("--out", help="also write the table to this Markdown file")
    parser.add_argument("--loop", help=argparse.SUPPRESS)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:
        return loop_main(args.loop)
    if args.one:
        return one_main(args.one)
    with tempfile.TemporaryDirectory(prefix="bench-windows-") as folder:
        tmp = Path(folder)
        (tmp / "t").mkdir()
        (tmp / "m").mkdir()
        t = throughput(tmp / "t", args.recordings, args.seconds, args.cores)
        m = memory(tmp / "m", args.hours)
    table = report(t, m, args.cores)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")


if __name__ == "__main__":
    main()
