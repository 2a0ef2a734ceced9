"""A simulated passive-acoustic-monitoring deployment, and how the workflow would run it on Slurm.

``simulate()`` writes, into a folder of your choice (nothing is stored in the
repository), recordings of several sites named as field recorders name them
(``SITE3_20240501_053000.wav``: site, start date and time), each hours long at
96 kHz or more: a site's own noise floor with calls of a few classes at known
times, and a Raven selection table beside each recording
(``SITE3_20240501_053000.Table.1.selections.txt``). The audio is written in
blocks of a minute, so memory stays small whatever the length.

``main()`` then plans the workflow on it with the Slurm profile (a dry run:
no Slurm needed) and prints, per spectrogram job, the files and seconds of
audio it holds beside the runtime and memory it asks for
(``scripts/batches.py``: ``job_resources``), and how the dry run reads.

Usage::

    .venv/bin/python benchmarks/deployment.py --folder /scratch/deployment --sites 4 --per-site 3 --hours 2
"""

import argparse
import datetime
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))

from workflow import ENV, SNAKEMAKE, copy_workflow  # noqa: E402

#: Calls of the simulated deployment: class → (low, high) Hz of a rising sweep.
CALLS = {"whistle": (6000.0, 12000.0), "moan": (300.0, 900.0), "click": (20000.0, 30000.0)}
START = datetime.datetime(2024, 5, 1, 5, 30, 0)
CONFIG = """\
audio_dir: {audio_dir}
files_per_job: 32
seconds_per_job: {seconds_per_job}
labels:
  from: annotations
  pattern: '^(?P<author>SITE\\d+)_'
  min_overlap: 0.5
  background: background
windows: {{length: 2.0, hop: 1.0, last: pad}}
spectrogram: {{sr: 48000, n_mels: 64, n_fft: 2048, hop_length: 512}}
split:
  by: author
  fractions: {{train: 1.0, val: 0.0, test: 0.0}}
  assign: {{val: [SITE1], test: [SITE2]}}
"""


def recording_name(site, start):
    """``SITE3_20240501_053000``: the site and the start, as Wildlife Acoustics recorders name files."""
    return f"SITE{site}_{start:%Y%m%d_%H%M%S}"


def plan_events(seconds, rng, every=20.0):
    """Calls at known times, one every ``every`` seconds on average: ``(start, end, class)``, sorted."""
    events, t = [], float(rng.uniform(1.0, every))
    while t + 3.0 < seconds:
        length = float(rng.uniform(0.4, 1.5))
        events.append((round(t, 3), round(t + length, 3), str(rng.choice(sorted(CALLS)))))
        t += length + float(rng.exponential(every))
    return events


def write_recording(path, seconds, sr, events, floor_db, rng, block=60.0):
    """Write a recording block by block: white noise at ``floor_db`` dBFS and a rising sweep per event."""
    floor = 10 ** (floor_db / 20)
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as out:
        at = 0.0
        while at < seconds:
            n = int(round(min(block, seconds - at) * sr))
            y = floor * rng.standard_normal(n)
            for start, end, label in events:
                if end <= at or start >= at + n / sr:
                    continue
                low, high = CALLS[label]
                first, last = max(start, at), min(end, at + n / sr)
                t = np.arange(int(round((last - first) * sr))) / sr + (first - start)
                phase = 2 * np.pi * (low * t + (high - low) * t**2 / (2 * (end - start)))
                i = int(round((first - at) * sr))
                y[i : i + len(t)] += 0.2 * np.sin(phase)[: n - i]
            out.write(np.clip(y, -1, 1).astype(np.float32))
            at += n / sr


def raven_table(events):
    """A Raven selection table of ``(start, end, class)`` events."""
    lines = ["Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tAnnotation"]
    for i, (start, end, label) in enumerate(events, start=1):
        low, high = CALLS[label]
        lines.append(f"{i}\tSpectrogram 1\t1\t{start:.3f}\t{end:.3f}\t{low:.1f}\t{high:.1f}\t{label}")
    return "\n".join(lines) + "\n"


def simulate(folder, sites=3, per_site=2, seconds=3600.0, sr=96000, seed=0):
    """Write a deployment: ``sites`` × ``per_site`` recordings of ``seconds`` at ``sr`` Hz, with Raven tables.

    Returns
    -------
    dict
        Recording name (without extension) → its events ``(start, end, class)``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    planned = {}
    for site in range(1, sites + 1):
        floor = -70.0 + 6.0 * site
        for k in range(per_site):
            name = recording_name(site, START + datetime.timedelta(days=k, hours=site))
            events = plan_events(seconds, rng)
            write_recording(folder / f"{name}.wav", seconds, sr, events, floor, rng)
            (folder / f"{name}.Table.1.selections.txt").write_text(raven_table(events))
            planned[name] = events
    return planned


JOB_RULE = re.compile(r"^\s*(?:local)?rule (spectrogram\w*):\s*$")


def spectrogram_jobs(out):
    """The spectrogram jobs of a dry run's output: ``[{"rule", "input": [...], "runtime", "mem_mb"}]``."""
    jobs, current = [], None
    for line in out.splitlines():
        match = JOB_RULE.match(line)
        if match:
            current = {"rule": match.group(1)}
            jobs.append(current)
        elif current is not None and line.strip().startswith("input:"):
            current["input"] = [p.strip() for p in line.split("input:", 1)[1].split(", ")]
        elif current is not None and line.strip().startswith("resources:"):
            fields = dict(item.split("=", 1) for item in line.split("resources:", 1)[1].strip().split(", "))
            current["runtime"], current["mem_mb"] = int(fields["runtime"]), int(fields["mem_mb"])
            current = None
    return jobs


def plan(work, audio, seconds_per_job, *args, full=True):
    """A dry run of the deployment with the Slurm profile; its output (lists whole with ``full``)."""
    (Path(work) / "deployment.yaml").write_text(CONFIG.format(audio_dir=audio, seconds_per_job=seconds_per_job))
    env = dict(ENV)
    if not full:
        env.pop("SPECTROGRAM_FULL_JOB_INFO", None)
    proc = subprocess.run(SNAKEMAKE + ["results/final_specs.csv", "-n", "--profile", "profiles/slurm",
                                       "--configfile", "deployment.yaml", *args],
                          cwd=work, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"the dry run failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return proc.stdout + proc.stderr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", required=True, help="where the recordings are written (GBs: 690 MB per hour)")
    parser.add_argument("--sites", type=int, default=3)
    parser.add_argument("--per-site", type=int, default=2)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--sr", type=int, default=96000)
    parser.add_argument("--seconds-per-job", type=float, default=3600)
    args = parser.parse_args(argv)
    audio = Path(args.folder) / "audio"
    if not any(audio.glob("*.wav")):
        simulate(audio, args.sites, args.per_site, args.hours * 3600, args.sr)
    work = copy_workflow(Path(args.folder) / "wf")
    out = plan(work, audio, args.seconds_per_job)
    print("| job | files | audio (h) | runtime (min) | mem_mb |\n| --- | --- | --- | --- | --- |")
    for job in spectrogram_jobs(out):
        seconds = sum(sf.info(path if Path(path).is_absolute() else work / path).duration for path in job["input"])
        print(f"| {job['rule']} | {len(job['input'])} | {seconds / 3600:.2f} | {job['runtime']} | {job['mem_mb']} |")
    short = plan(work, audio, args.seconds_per_job, full=False)
    print(f"\ndry run: {len(short):,} characters, longest line {max(map(len, short.splitlines())):,} "
          f"(lists whole: {len(out):,})")


if __name__ == "__main__":
    main()
