"""The speed benchmark: the measurements of the speed issue (15) and of the birdnet stage, side by side.

1. Incremental: one file's content changes after the cold stage, then one
   file is added (a copy of an FSDD recording under a new name); each rerun's
   wall time against the cold run's and against its floor, bare one-rule
   Snakemake's up-to-date dry run over the same files (goal at 3,000 files:
   the floor + 1.0 s), exactly which jobs ran, and where the time went (from
   when Snakemake's log lines came); the content change also on the largest
   memory size (FSDD linked several times under new names).
2. Cold spectrogram stage (both branches and their manifests) on FSDD: the
   workflow against an in-process loop doing the same per-file work on the
   same cores in a fresh process (the limit), and against the seed-002
   notebook loop (librosa + a matplotlib figure per file) timed on a sample.
3. Up-to-date ``snakemake -n results/model_npy.keras`` at several sizes of
   tiny synthetic clips (made here, in a temporary folder), against a bare
   one-rule Snakemake workflow over the same files, each pair run side by
   side ``--dry-repeats`` times (all printed).
4. Long recordings cut into windows: ``benchmarks/windows.py`` (throughput
   against an in-process loop, peak memory of one process for a 2-hour
   48 kHz stereo recording), run from here.
5. Training-data load: the legacy pixel CSV against the NPY files and the
   memory-mapped stack (``benchmarks/loading.py``); and the peak memory (RSS
   of the whole process tree) of the cold spectrogram stage at two sizes.
6. The birdnet branch's embedding stage (issue 29) on FSDD: the workflow
   (``results/final_embeddings.csv``, after the spectrogram stage) against an
   in-process loop running the same BirdNET interpreter over the same files on
   the same cores in a fresh process (goal: ≤ 1.5×).

Every figure is printed next to its goal, with the machine's core count, and
the peak RSS of every run. Nothing is written to the repository: the work
happens in copies of the workflow in a temporary folder (``--work`` keeps
them).

Usage::

    .venv/bin/python benchmarks/run.py --out benchmarks/results.md      # full size: about 40 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --fsdd-files 300 --dry-sizes 1000 --memory-sizes 300,1000 --windows ''
"""

import argparse
import datetime
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from workflow import ENV, FSDD, copy_workflow  # noqa: E402

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
FSDD_SETTINGS = {"sr": 8000, "duration": 1.0, "n_fft": 256, "hop_length": 80, "n_mels": 40, "fmax": 4000.0}
FSDD_CONFIG = {
    "labels": {"from": "pattern", "pattern": r"^(?P<class>\d)_(?P<author>[a-z]+)_\d+$"},
    "spectrogram": FSDD_SETTINGS,
    "split": {"by": "author", "fractions": {"train": 1.0, "val": 0.0, "test": 0.0},
              "assign": {"val": ["jackson"], "test": ["theo"]}},
}
# Tiny clips and a tiny model: the dry-run benchmark measures the DAG, not the work.
SYNTHETIC_CONFIG = {
    "labels": {"from": "pattern", "pattern": r"^(?P<class>[^/]+)/(?P<author>[^_/]+)_\d+$"},
    "spectrogram": {"sr": 8000, "duration": 0.1, "n_fft": 128, "hop_length": 64, "n_mels": 16, "fmax": 4000.0},
    "split": {"by": "file", "fractions": {"train": 0.8, "val": 0.1, "test": 0.1}},
    "training": {"epochs": 1, "min_steps": 0, "conv_blocks": 1, "filters": 4, "dense_units": 8,
                 "early_stopping_patience": 0},
}
STAGE = ["results/final_specs.csv", "results/final_spects.csv"]
BARE_SNAKEFILE = """\
import os

DIR = config["audio_dir"]
IDS = sorted(
    os.path.relpath(os.path.join(root, name), DIR)[: -len(".wav")]
    for root, _, names in os.walk(DIR)
    for name in names
    if name.endswith(".wav")
)


rule all:
    input:
        expand("out/{id}.npy", id=IDS),


rule one:
    input:
        DIR + "/{id}.wav",
    output:
        "out/{id}.npy",
    shell:
        "touch {output}"
"""


# --- measuring -------------------------------------------------------------------------------------


class PeakRSS:
    """Poll the summed RSS of a process and all its descendants every 0.1 s; keep the peak.

    Forked workers share pages with their parent, which the sum counts once
    per process: the figure is an upper bound of the memory in use.
    """

    def __init__(self, pid):
        import psutil

        self.proc, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self):
        import psutil

        while not self._stop.is_set():
            try:
                tree = [self.proc] + self.proc.children(recursive=True)
                total = 0
                for proc in tree:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
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


def timed_run(cmd, cwd, timeout=None, env=None):
    """Run ``cmd`` (in ``env``, by default the tests' environment); return (wall s, peak RSS MB, output).

    Raises SystemExit when it fails, ``subprocess.TimeoutExpired`` (after
    killing it) when it runs longer than ``timeout`` seconds.
    """
    return stamped_run(cmd, cwd, timeout, env)[:3]


def snakemake(work, *args, timeout=None, env=None):
    """Run Snakemake in ``work`` (quietly); return (wall s, peak RSS MB, output)."""
    return timed_run([*SNAKEMAKE, *args], work, timeout=timeout, env=env)


def stamped_run(cmd, cwd, timeout=None, env=None):
    """:func:`timed_run`, and when each output line came: (wall s, peak RSS MB, output, stamps).

    ``stamps`` holds ``(seconds since the start, line)`` per line. Snakemake
    logs to stderr, which Python flushes line by line, so a line's time is
    when Snakemake wrote it (see :func:`phases`).
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=ENV if env is None else env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    stamps = []
    watchdog = threading.Timer(timeout, proc.kill) if timeout is not None else None
    if watchdog is not None:
        watchdog.start()
    try:
        with PeakRSS(proc.pid) as rss:
            for line in proc.stdout:
                stamps.append((time.perf_counter() - start, line.rstrip("\n")))
            proc.wait()
    finally:
        if watchdog is not None:
            watchdog.cancel()
    wall = time.perf_counter() - start
    out = "\n".join(line for _, line in stamps)
    if timeout is not None and wall >= timeout and proc.returncode < 0:
        raise subprocess.TimeoutExpired(cmd, timeout, output=out)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}) in {cwd}: {' '.join(map(str, cmd))}\n{out[-3000:]}")
    return wall, rss.mb, out, stamps


FINISHED = re.compile(r"^Finished jobid: (\d+)")
JOBID = re.compile(r"^\s*jobid: (\d+)\s*$")


def phases(stamps, wall):
    """Where a Snakemake run's time went, from when its log lines came (:func:`stamped_run`).

    Returns
    -------
    dict
        Seconds of ``start`` (Python and Snakemake's imports, the parse: up to
        "Building DAG of jobs..."), ``dag`` (up to "Job stats:" or "Nothing to
        be done"), ``jobs`` (up to the last "Finished jobid": the start-up
        handlers, the jobs and Snakemake's records after each) and ``end``
        (to the exit: the last records and the interpreter's exit), and
        ``each``: (rule, seconds from its job's first line to its "Finished
        jobid") of every job, in the order they started.
    """
    def first(pattern):
        return next((t for t, line in stamps if re.match(pattern, line)), None)

    dag_start = first(r"Building DAG of jobs")
    dag_end = first(r"(Job stats:|Nothing to be done)")
    started, each, rule = {}, [], None
    for t, line in stamps:
        match = JOB.match(line)
        if match:
            rule = (match.group(1), t)
            continue
        match = JOBID.match(line)
        if match and rule is not None:
            started[match.group(1)], rule = rule, None
            continue
        match = FINISHED.match(line)
        if match and match.group(1) in started:
            name, t0 = started[match.group(1)]
            each.append((name, t - t0, t0))
    if dag_start is None or dag_end is None:
        return None
    last = max((t0 + seconds for _, seconds, t0 in each), default=dag_end)
    return {"start": dag_start, "dag": dag_end - dag_start, "jobs": last - dag_end, "end": wall - last,
            "each": [(name, seconds) for name, seconds, _ in sorted(each, key=lambda job: job[2])]}


JOB = re.compile(r"^\s*(?:local)?rule (\w+):\s*$")


def planned_jobs(out):
    """Jobs of a ``snakemake -n`` output: rule names in order, and the spectrogram files per job."""
    jobs, current = [], None
    for line in out.splitlines():
        match = JOB.match(line)
        if match:
            jobs.append([match.group(1), 0])
            current = jobs[-1]
        elif current is not None and line.strip().startswith("output:"):
            current[1] = line.count("results/specs/")
            current = None
    return jobs


def describe_jobs(jobs):
    """``spectrogram_b042 (23 files), catalog, manifest_npy`` from :func:`planned_jobs`."""
    return ", ".join(f"{rule} ({n} files)" if rule.startswith("spectrogram") else rule for rule, n in jobs)


# --- the workloads ---------------------------------------------------------------------------------


def write_config(work, audio_dir, base):
    import yaml

    (work / "bench.yaml").write_text(yaml.safe_dump({"audio_dir": str(audio_dir), **base}, sort_keys=False))


def link_fsdd(folder, n, copies=1):
    """``n`` FSDD recordings as symbolic links in ``folder``; ``copies > 1`` links each again under new names."""
    folder.mkdir(parents=True)
    files = sorted(FSDD.glob("*.wav"))
    picked = [files[i * len(files) // n] for i in range(n)] if n < len(files) else files
    for copy in range(copies):
        for f in picked:
            digit, speaker, index = f.stem.split("_")
            os.symlink(f, folder / f"{digit}_{speaker}_{int(index) + 1000 * copy}.wav")
    return sorted(folder.iterdir())


def make_clips(folder, n, sr=8000, seconds=0.1):
    """``n`` tiny distinct WAV clips ``c{class}/a{author}_{i}.wav`` (10 classes, 20 authors)."""
    import numpy as np
    import soundfile as sf

    buf = io.BytesIO()
    samples = int(sr * seconds)
    sf.write(buf, np.zeros(samples, np.float32), sr, format="WAV", subtype="PCM_16")
    header = buf.getvalue()[: -2 * samples]
    t = np.arange(samples) / sr
    noise = np.random.default_rng(0).standard_normal((97, samples)) * 0.01
    for i in range(n):
        c, a = i % 10, (i // 10) % 20
        y = 0.3 * np.sin(2 * np.pi * (200 + 50 * c) * t) + noise[i % 97] * (1 + i % 13)
        (folder / f"c{c}").mkdir(parents=True, exist_ok=True)
        (folder / f"c{c}" / f"a{a:02d}_{i:06d}.wav").write_bytes(header + (y * 32767).astype("<i2").tobytes())


def loop_main(args):
    """The in-process loop (run in a fresh process): every file's two branches on ``cores`` cores."""
    import workers

    spec = json.loads(Path(args.loop).read_text())
    problem = workers.process_files(spec["jobs"], spec["settings"], spec["cores"])
    if problem is not None:
        raise SystemExit("{}: {}".format(*problem))


def notebook_main(args):
    """The seed-002 notebook loop (run in a fresh process): returns seconds per file after one warm-up file."""
    import matplotlib

    matplotlib.use("Agg")
    import librosa
    import librosa.display
    import matplotlib.pyplot as plt
    import numpy as np

    spec = json.loads(Path(args.notebook).read_text())
    out = Path(spec["out"])

    def paint(sound, dest):  # the cell of seed 002, unchanged but for the destination folder
        melody, speed = librosa.load(sound, sr=None)
        spectogram = librosa.amplitude_to_db(np.abs(librosa.stft(melody)), ref=np.max)
        plt.figure(figsize=(10, 4))
        librosa.display.specshow(spectogram, sr=speed, x_axis="time", y_axis="log")
        plt.colorbar(format="%+2.0f dB")
        plt.savefig(dest)
        plt.close()

    paint(spec["files"][0], out / "warmup.png")
    start = time.perf_counter()
    for sound in spec["files"][1:]:
        paint(sound, out / (Path(sound).stem + "-Spectogram.png"))
    print(json.dumps({"per_file": (time.perf_counter() - start) / (len(spec["files"]) - 1)}))


def helper(kind, spec, tmp):
    """Run this script's ``--loop`` or ``--notebook`` part in a fresh process; (wall s, peak MB, output)."""
    path = tmp / f"{kind}.json"
    path.write_text(json.dumps(spec))
    return timed_run([sys.executable, __file__, f"--{kind}", str(path)], cwd=ROOT)


# --- the six measurements -------------------------------------------------------------------------


def in_process_loop(tmp, files, cores):
    """The in-process loop over the FSDD ``files`` (both branches, into ``tmp/loop``): (wall s, peak RSS MB)."""
    out = tmp / "loop"
    jobs = [(str(f), {"npy": str(out / "specs" / f"{f.stem}.npy"), "png": str(out / "spect" / f"{f.stem}.png")})
            for f in files]
    return helper("loop", {"jobs": jobs, "settings": FSDD_SETTINGS, "cores": cores}, tmp)[:2]


def birdnet_loop_main(args):
    """The in-process loop of the birdnet measurement (a fresh process): every file's embedding on ``cores`` cores."""
    import birdnet
    import workers

    spec = json.loads(Path(args.birdnet_loop).read_text())
    problem = workers.process_files(spec["jobs"], None, spec["cores"], work=birdnet.process_one)
    if problem is not None:
        raise SystemExit("{}: {}".format(*problem))


def birdnet_stage(tmp, n, cores):
    """Measurement 6: the embedding stage of the workflow against the in-process loop, on the same ``n`` FSDD files."""
    work = copy_workflow(tmp / "birdnet" / "wf")
    audio = tmp / "birdnet" / "audio"
    files = link_fsdd(audio, n)
    write_config(work, audio, {**FSDD_CONFIG, "branches": ["npy", "birdnet"]})
    snakemake(work, "results/final_specs.csv", "--cores", str(cores), "--configfile", "bench.yaml")  # not timed
    out = tmp / "birdnet" / "loop"
    jobs = [(str(f), {"npy": str(out / f"{f.stem}.npy")}) for f in files]
    path = tmp / "birdnet_loop.json"
    path.write_text(json.dumps({"jobs": jobs, "cores": cores}))
    loop_wall, loop_rss, _ = timed_run([sys.executable, __file__, "--birdnet-loop", str(path)], cwd=ROOT)
    flow_wall, flow_rss, _ = snakemake(work, "results/final_embeddings.csv", "--cores", str(cores),
                                       "--configfile", "bench.yaml")
    made = len(list((work / "results" / "embeddings").glob("*.npy")))
    if made != n:
        raise SystemExit(f"the workflow made {made} embeddings, not {n}")
    return {"n": n, "loop": (loop_wall, loop_rss), "flow": (flow_wall, flow_rss)}


def cold_stage(tmp, n, cores, notebook_files):
    """Measurement 1 (and the 3k figure of 5): workflow, in-process loop and notebook on the same files."""
    work = copy_workflow(tmp / "stage" / "wf")
    audio = tmp / "stage" / "audio"
    files = link_fsdd(audio, n)
    write_config(work, audio, FSDD_CONFIG)

    loop_wall, loop_rss = in_process_loop(tmp, files, cores)

    sample = [str(f) for f in files[:: max(1, len(files) // (notebook_files + 1))][: notebook_files + 1]]
    (tmp / "notebook").mkdir()
    nb_wall, nb_rss, nb_out = helper("notebook", {"files": sample, "out": str(tmp / "notebook")}, tmp)
    per_file = json.loads(nb_out.strip().splitlines()[-1])["per_file"]

    flow_wall, flow_rss, _ = snakemake(work, *STAGE, "--cores", str(cores), "--configfile", "bench.yaml")
    made = len(list((work / "results" / "specs").glob("*.npy")))
    if made != n:
        raise SystemExit(f"the workflow made {made} spectrograms, not {n}")
    return {
        "work": work, "audio": audio, "n": n,
        "loop": (loop_wall, loop_rss), "flow": (flow_wall, flow_rss),
        "notebook": {"per_file": per_file, "files": len(sample) - 1, "rss": nb_rss},
    }


def change_content(audio):
    """Give the first recording of ``audio`` a new content (half its amplitude); its name and what it is.

    The recording is a symbolic link to FSDD: it is replaced by a file of our
    own, and FSDD is never touched.
    """
    import soundfile as sf

    victim = sorted(audio.iterdir())[0]
    y, sr = sf.read(victim, dtype="float32")
    victim.unlink()
    sf.write(victim, 0.5 * y, sr, subtype="PCM_16")
    return {"kind": "changed", "file": victim.name}


def add_recording(audio):
    """Add one recording to ``audio``: a copy of an FSDD file under a new name of the labels' pattern; its name.

    The new name is ``{digit}_{speaker}_{index}`` with an index no file of that
    digit and speaker has, so it is labelled like its source and joins one
    existing batch.
    """
    files = sorted(FSDD.glob("*.wav"))
    source = files[len(files) // 2]
    digit, speaker, _ = source.stem.split("_")
    taken = [int(f.stem.split("_")[2]) for f in audio.glob(f"{digit}_{speaker}_*.wav")]
    new = audio / f"{digit}_{speaker}_{max(taken, default=-1) + 1}.wav"
    shutil.copyfile(source, new)
    return {"kind": "added", "file": new.name, "source": source.name}


def incremental(work, audio, cores, cold, change, bare):
    """Measurement 1: one change to ``audio`` (``change``) after the cold stage; the rerun, timed, and what ran.

    The rerun against ``cold`` s, the jobs it ran, and where its time went (:func:`phases`).
    Then, side by side, the floor of any rerun: the workflow's up-to-date dry
    run of the same targets (Snakemake's start, the parse and the DAG, with
    nothing to do), bare one-rule Snakemake's own rerun of the same change (in
    ``bare``, up to date before it: one ``touch`` job and ``all``), and bare
    Snakemake's up-to-date dry run over the same files, which the goal of
    issue 24 is set against.
    """
    result = change(audio)
    wall, rss, out, stamps = stamped_run([*SNAKEMAKE, *STAGE, "--cores", str(cores), "--configfile", "bench.yaml"],
                                         work)
    jobs = planned_jobs(out)  # Snakemake prints every job it runs as the dry run would list it
    n = len(list(audio.iterdir()))
    dry, _, out, dry_stamps = stamped_run([*SNAKEMAKE, "-n", *STAGE, "--configfile", "bench.yaml"], work)
    if planned_jobs(out):
        raise SystemExit(f"the workflow is not up to date after the rerun:\n{out[-2000:]}")
    bare_wall, bare_rss, out, _ = bare_run(bare, audio, cores)
    if sorted(rule for rule, _ in planned_jobs(out)) != ["all", "one"]:
        raise SystemExit(f"bare Snakemake's rerun ran other jobs than one and all:\n{out[-2000:]}")
    bare_dry, _, out, bare_stamps = bare_run(bare, audio)
    if planned_jobs(out):
        raise SystemExit(f"the bare workflow over {audio} is not up to date:\n{out[-2000:]}")
    return {**result, "jobs": jobs, "wall": wall, "rss": rss, "cold": cold, "n": n, "dry": dry, "bare": bare_dry,
            "bare_rerun": (bare_wall, bare_rss),
            "phases": {"rerun": phases(stamps, wall), "dry": phases(dry_stamps, dry),
                       "bare": phases(bare_stamps, bare_dry)}}


def make_bare(bare, audio):
    """The bare one-rule workflow over the ``.wav`` files of ``audio``, up to date as after a real run.

    Every output exists, newer than its input, with the metadata record that
    Snakemake writes after a job (its rule, input, command, checksums...), as
    the workflow's outputs have theirs: the record of one real job (made by
    ``snakemake --touch`` on one file) is written for every output, with its
    own paths. Running the bare workflow for real, or with ``--touch``, would
    take 86 ms per file here (72 minutes at 50,000 files).
    """
    import base64
    import hashlib

    bare.mkdir(parents=True, exist_ok=True)
    (bare / "Snakefile").write_text(BARE_SNAKEFILE)
    wavs = sorted(audio.rglob("*.wav"))
    sample = bare / "sample"  # one file, to get a record in the format of this Snakemake
    sample.mkdir(exist_ok=True)
    shutil.copyfile(wavs[0], sample / "x.wav")
    timed_run([*SNAKEMAKE, "--touch", "--cores", "1", "--config", f"audio_dir={sample}"], bare)
    metadata = bare / ".snakemake" / "metadata"
    template = json.loads((metadata / base64.urlsafe_b64encode(b"out/x.npy").decode()).read_text())
    for wav in wavs:  # up to date: every output exists and is newer than its input, with its record
        rel = wav.relative_to(audio).with_suffix(".npy").as_posix()
        target = bare / "out" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
        record = dict(template, input=[str(wav)], shellcmd=f"touch out/{rel}",
                      input_checksums={str(wav): "sha256:" + hashlib.sha256(wav.read_bytes()).hexdigest()})
        key = base64.urlsafe_b64encode(f"out/{rel}".encode()).decode()
        (metadata / key).write_text(json.dumps(record))  # names stay under 255 bytes for these paths
    shutil.rmtree(sample)
    (metadata / base64.urlsafe_b64encode(b"out/x.npy").decode()).unlink()
    return bare


def bare_run(bare, audio, cores=None):
    """The bare workflow over ``audio``: a dry run, or a real one on ``cores``; (wall s, RSS MB, output, stamps)."""
    how = ["--cores", str(cores)] if cores else ["-n"]
    return stamped_run([*SNAKEMAKE, *how, "--config", f"audio_dir={audio}"], bare)


def bare_dry_run(bare, audio):
    """The bare workflow's up-to-date dry run: (wall s, peak RSS MB)."""
    wall, rss, out, _ = bare_run(bare, audio)
    if planned_jobs(out):
        raise SystemExit(f"the bare workflow over {audio} is not up to date:\n{out[-2000:]}")
    return wall, rss


def dry_runs(tmp, n, cores, repeats=1):
    """Measurement 3 at one size: build everything, then time the up-to-date dry run and the bare workflow's.

    The two are run one after the other, ``repeats`` times (a pair at a time, so
    that both see the same load of a shared machine).
    """
    base = tmp / f"dry{n}"
    audio = base / "audio"
    make_clips(audio, n)
    work = copy_workflow(base / "wf")
    write_config(work, audio, SYNTHETIC_CONFIG)
    build, build_rss, _ = snakemake(work, "results/model_npy.keras", "--cores", str(cores), "--configfile", "bench.yaml")

    bare = make_bare(base / "bare", audio)
    dry, bare_runs = [], []
    for _ in range(repeats):
        wall, rss, out = snakemake(work, "-n", "results/model_npy.keras", "--configfile", "bench.yaml")
        if planned_jobs(out):
            raise SystemExit(f"the workflow at {n} files is not up to date after its run:\n{out[-2000:]}")
        dry.append((wall, rss))
        bare_runs.append(bare_dry_run(bare, audio))
    shutil.rmtree(base, ignore_errors=True)
    return {"n": n, "build": (build, build_rss), "dry": dry, "bare": bare_runs}


def memory(tmp, n, cores, rerun=False):
    """Measurement 5 at one size: the cold stage on FSDD linked ``n // 3000`` times (or a subset).

    With ``rerun``, also measurement 1 at this size: one changed file, after the cold stage.
    """
    base = tmp / f"mem{n}"
    files = len(list(FSDD.glob("*.wav")))
    copies = max(1, -(-n // files))
    audio = base / "audio"
    link_fsdd(audio, min(n, files) if copies == 1 else files, copies)
    for extra in sorted(audio.iterdir())[n:]:
        extra.unlink()
    work = copy_workflow(base / "wf")
    write_config(work, audio, FSDD_CONFIG)
    wall, rss, _ = snakemake(work, *STAGE, "--cores", str(cores), "--configfile", "bench.yaml")
    result = {"n": n, "wall": wall, "rss": rss}
    if rerun:
        bare = make_bare(base / "bare", audio)
        result["incremental"] = incremental(work, audio, cores, wall, change_content, bare)
    shutil.rmtree(base, ignore_errors=True)
    return result


def windows(tmp, spec, cores):
    """Measurement 4: ``benchmarks/windows.py`` (``recordings x seconds, hours``); its two rows of results."""
    recordings, rest = spec.split("x")
    seconds, hours = rest.split(",")
    out = tmp / "windows.md"
    wall, _, _ = timed_run([sys.executable, str(ROOT / "benchmarks" / "windows.py"), "--recordings", recordings,
                            "--seconds", seconds, "--hours", hours, "--cores", str(cores), "--out", str(out)],
                           cwd=ROOT)
    rows = re.findall(r"^\| (.+?) \| (.+?) \| (.+?) \| (yes|\*\*no\*\*) \|$", out.read_text(), re.M)
    return {"rows": rows, "wall": wall}


def loading(n):
    """Measurement 4: ``benchmarks/loading.py``'s three loaders on ``n`` spectrograms of 64x63."""
    import loading as bench

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        bench.make_run(folder, n)
        csv_mb = os.path.getsize(folder / "train_data.csv") / 2**20
        csv = bench.timed(lambda: bench.loaders.load_csv_data(str(folder / "train_data.csv")))[0]
        files = bench.timed(lambda: bench.loaders.load_npy_data(str(folder / "final_specs.csv")))[0]
        stack = bench.timed(lambda: bench.loaders.load_npy_data(
            str(folder / "final_specs.csv"), stack=str(folder / "stack.npy")))[0]
    return {"n": n, "csv_mb": csv_mb, "csv": csv, "files": files, "stack": stack}


# --- the report ------------------------------------------------------------------------------------


def verdict(ok):
    return "yes" if ok else "**no**"


def describe_phases(runs):
    """``start 1.8 s (1.7; 1.2), DAG ..., jobs 1.0 s (spectrogram_b063 0.70 s, ...), end 1.7 s (0.7; 0.7)``.

    ``runs`` holds the :func:`phases` of the rerun, the workflow's dry run and bare Snakemake's dry run.
    """
    rerun, dry, bare = runs["rerun"], runs["dry"], runs["bare"]

    def beside(key):
        return f" ({dry[key]:.1f}; {bare[key]:.1f})" if dry and bare else ""

    each = ", ".join(f"{rule} {seconds:.2f} s" for rule, seconds in rerun["each"])
    return (f"start and parse {rerun['start']:.1f} s{beside('start')}, DAG {rerun['dag']:.1f} s{beside('dag')}, "
            f"jobs {rerun['jobs']:.1f} s ({each}), end {rerun['end']:.1f} s{beside('end')}")


def report(r, args):
    """The Markdown table of the run, numbered as the goals of issue 15."""
    lines = []
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    import snakemake as sm

    lines.append(f"Benchmark of {when}: machine with {os.cpu_count()} cores ({args.cores} used), "
                 f"Python {platform.python_version()}, Snakemake {sm.__version__}; "
                 f"load average at the end {os.getloadavg()[0]:.1f}.")
    lines.append("")
    lines.append("| # | measurement | measured | goal | met |")
    lines.append("| --- | --- | --- | --- | --- |")
    s = r.get("stage")
    mem = r.get("memory", [])
    # the goals of issue 15: at 3,000 files (the FSDD stage) ≤ 10 %, at 30,000 (the largest memory size) ≤ 3 %;
    # of issue 24, at the FSDD stage, for a changed and an added file: ≤ bare Snakemake's dry run + 1.0 s
    reruns = [(r[key], 0.10, True) for key in ("incremental", "added") if r.get(key)]
    reruns += [(m["incremental"], 0.03, False) for m in mem if m.get("incremental")]
    for inc, limit, stage in reruns:
        share = f"{100 * inc['wall'] / inc['cold']:.1f}% ({inc['wall']:.1f} s ÷ {inc['cold']:.1f} s)"
        if inc.get("kind", "changed") == "changed":
            lines.append(f"| 1 | one file's content changed ({inc['file']}), {inc['n']:,} FSDD files: rerun ÷ cold "
                         f"stage | {share} | ≤ {100 * limit:.0f}% | {verdict(inc['wall'] / inc['cold'] <= limit)} |")
        else:
            lines.append(f"| 1 | one file added ({inc['file']}, a copy of {inc['source']}), {inc['n']:,} FSDD files: "
                         f"rerun ÷ cold stage | {share} | – | – |")
        spectro = [job for job in inc["jobs"] if job[0].startswith("spectrogram")]
        only_own = len(spectro) == 1 and all(
            job[0].startswith("spectrogram") or job[0] in ("catalog", "manifest_npy", "manifest_png")
            for job in inc["jobs"])
        lines.append(f"| 1 | jobs of that rerun | {describe_jobs(inc['jobs'])} | its own batch + aggregates | "
                     f"{verdict(only_own)} |")
        if "dry" in inc:
            bare_rerun = f"; bare Snakemake's own rerun of the change {inc['bare_rerun'][0]:.1f} s" \
                if "bare_rerun" in inc else ""
            lines.append(f"| 1 | floor of any rerun at {inc['n']:,} files: up-to-date dry run of the same targets "
                         f"(start, parse, DAG; nothing to do) ÷ cold stage; bare one-rule Snakemake's over the same "
                         f"files | {100 * inc['dry'] / inc['cold']:.1f}% ({inc['dry']:.1f} s); bare "
                         f"{100 * inc['bare'] / inc['cold']:.1f}% ({inc['bare']:.1f} s){bare_rerun} | – | – |")
        if stage and "dry" in inc:
            over = inc["wall"] - inc["bare"]
            lines.append(f"| 1 | that rerun against bare one-rule Snakemake's up-to-date dry run over the same files | "
                         f"{inc['wall']:.1f} s against {inc['bare']:.1f} s: {over:+.1f} s | ≤ bare + 1.0 s | "
                         f"{verdict(over <= 1.0)} |")
        if inc.get("phases") and inc["phases"]["rerun"]:
            lines.append(f"| 1 | where that rerun's time went (from its log's timestamps; in brackets the workflow's "
                         f"dry run, then bare's) | {describe_phases(inc['phases'])} | – | – |")
    if s:
        flow, loop = s["flow"][0], s["loop"][0]
        nb_total = s["notebook"]["per_file"] * s["n"]
        lines.append(f"| 2 | cold spectrogram stage, {s['n']:,} FSDD files, both branches + manifests: "
                     f"workflow ÷ in-process loop, {args.cores} cores | {flow / loop:.1f}× ({flow:.1f} s ÷ {loop:.1f} s) "
                     f"| ≤ 2× | {verdict(flow / loop <= 2)} |")
        lines.append(f"| 2 | seed-002 notebook loop ÷ workflow (notebook timed on {s['notebook']['files']} files, "
                     f"{1 / s['notebook']['per_file']:.1f} files/s) | {nb_total / flow:.0f}× "
                     f"({nb_total:.0f} s ÷ {flow:.1f} s) | ≥ 35× | {verdict(nb_total / flow >= 35)} |")
    for d in r.get("dry", []):
        pairs = [(wall, bare) for (wall, _), (bare, _) in zip(d["dry"], d["bare"])]
        measured = "; ".join(f"{wall:.1f} s ÷ {bare:.1f} s = {wall / bare:.2f}×" for wall, bare in pairs)
        runs = f" ({len(pairs)} runs)" if len(pairs) > 1 else ""
        lines.append(f"| 3 | up-to-date `snakemake -n results/model_npy.keras`, {d['n']:,} files ÷ bare one-rule "
                     f"workflow{runs} | {measured} | ≤ 1.2× bare | "
                     f"{verdict(all(wall / bare <= 1.2 for wall, bare in pairs))} |")
        if d["n"] >= 50000:  # and a time limit at 50,000 files; the bare workflow's own time beside it
            lines.append(f"| 3 | the same, wall time{runs}; bare one-rule Snakemake's beside it | "
                         + "; ".join(f"{wall:.1f} s (bare {bare:.1f} s)" for wall, bare in pairs)
                         + f" | ≤ 45 s | {verdict(all(wall <= 45 for wall, _ in pairs))} |")
    for what, measured, goal, met in r.get("windows", {}).get("rows", []):
        lines.append(f"| 4 | windows: {what} | {measured} | {goal} | {met} |")
    bn = r.get("birdnet")
    if bn:
        ratio = bn["flow"][0] / bn["loop"][0]
        lines.append(f"| 6 | birdnet embedding stage, {bn['n']:,} FSDD files: workflow ÷ in-process loop | "
                     f"{ratio:.2f}× ({bn['flow'][0]:.1f} s ÷ {bn['loop'][0]:.1f} s) | ≤ 1.5× | "
                     f"{verdict(ratio <= 1.5)} |")
    ld = r.get("loading")
    if ld:
        lines.append(f"| 5 | training-data load, {ld['n']:,} spectrograms: pixel CSV ÷ NPY files | "
                     f"{ld['csv'] / ld['files']:.1f}× ({ld['csv']:.3f} s ÷ {ld['files']:.3f} s) | ≥ 20× | "
                     f"{verdict(ld['csv'] / ld['files'] >= 20)} |")
        lines.append(f"| 5 | pixel CSV ÷ NPY stack, memory-mapped (what training reads) | "
                     f"{ld['csv'] / ld['stack']:.0f}× ({ld['csv']:.3f} s ÷ {ld['stack']:.3f} s) | ≥ 20× | "
                     f"{verdict(ld['csv'] / ld['stack'] >= 20)} |")
    if len(mem) >= 2:
        small, big = mem[0], mem[-1]
        ratio = big["rss"] / small["rss"]
        lines.append(f"| 5 | peak memory of the cold stage, {big['n']:,} ÷ {small['n']:,} files | {ratio:.2f}× "
                     f"({big['rss']:.0f} MB ÷ {small['rss']:.0f} MB) | ≤ 1.5× | {verdict(ratio <= 1.5)} |")

    lines.append("")
    lines.append("Every run (peak RSS: summed over the process tree, so pages shared by forked workers count "
                 "once per process):")
    lines.append("")
    lines.append("| run | files | wall s | files/s | peak RSS MB |")
    lines.append("| --- | --- | --- | --- | --- |")

    def row(name, n, wall, rss, rate=True):
        rate = f"{n / wall:.0f}" if rate else "–"
        lines.append(f"| {name} | {n:,} | {wall:.1f} | {rate} | {rss:.0f} |")

    if s:
        row(f"in-process loop, fresh process, {args.cores} cores", s["n"], *s["loop"])
        nb = s["notebook"]
        lines.append(f"| seed-002 notebook loop, 1 core (per file, after one warm-up file) | {nb['files']:,} | "
                     f"{nb['per_file'] * nb['files']:.1f} | {1 / nb['per_file']:.1f} | {nb['rss']:.0f} |")
        row(f"workflow, cold stage, {args.cores} cores", s["n"], *s["flow"])
    for inc, _, stage in reruns:
        if not stage:
            continue
        what = "one changed file" if inc.get("kind", "changed") == "changed" else "one added file"
        row(f"workflow, rerun after {what} of {inc['n']:,}", 1, inc["wall"], inc["rss"], rate=False)
        if "bare_rerun" in inc:
            row(f"bare one-rule workflow, rerun after {what} of {inc['n']:,}", 1, *inc["bare_rerun"], rate=False)
    for m in mem:
        if s and m["n"] == s["n"]:
            continue
        row(f"workflow, cold stage, {args.cores} cores", m["n"], m["wall"], m["rss"])
        if m.get("incremental"):
            inc = m["incremental"]
            row(f"workflow, rerun after one changed file of {inc['n']:,}", 1, inc["wall"], inc["rss"], rate=False)
    for d in r.get("dry", []):
        row(f"workflow, first run to results/model_npy.keras (tiny clips), {args.cores} cores", d["n"], *d["build"])
        for k, (dry, bare) in enumerate(zip(d["dry"], d["bare"])):
            nth = f" ({k + 1} of {len(d['dry'])})" if len(d["dry"]) > 1 else ""
            row(f"workflow, up-to-date dry run{nth}", d["n"], *dry)
            row(f"bare one-rule workflow, up-to-date dry run{nth}", d["n"], *bare)
    if bn:
        row(f"birdnet embeddings: in-process loop, fresh process, {args.cores} cores", bn["n"], *bn["loop"])
        row(f"birdnet embeddings: workflow, {args.cores} cores", bn["n"], *bn["flow"])
    if ld:
        lines.append(f"| training-data load: pixel CSV ({ld['csv_mb']:.0f} MB) / NPY files / NPY stack | {ld['n']:,} | "
                     f"{ld['csv']:.3f} / {ld['files']:.3f} / {ld['stack']:.3f} | – | – |")
    if r.get("windows"):
        lines.append(f"| benchmarks/windows.py, both measurements | – | {r['windows']['wall']:.1f} | – | – |")
    lines.append("")
    lines.append("The bare workflow's outputs are created by the benchmark, each with the metadata record a real "
                 "job leaves (copied from one real job's, with its own paths and checksum); the workflow's were made "
                 "by a real run. Timings on a shared machine vary by ±20 %: compare the ratios, measured side by "
                 "side.")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the table to this Markdown file")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="cores for every run (default: all)")
    parser.add_argument("--fsdd-files", type=int, default=3000, help="files of the cold stage (default 3000)")
    parser.add_argument("--notebook-files", type=int, default=30, help="files the notebook loop is timed on")
    parser.add_argument("--dry-sizes", default="1000,10000,50000", help="file counts of the dry runs ('' skips)")
    parser.add_argument("--memory-sizes", default="3000,30000", help="file counts of the memory runs ('' skips)")
    parser.add_argument("--dry-repeats", type=int, default=3,
                        help="dry-run pairs per size (default 3)")
    parser.add_argument("--windows", default="8x60,2",
                        help="windows benchmark: RECORDINGSxSECONDS,HOURS (default 8x60,2; '' skips)")
    parser.add_argument("--load-files", type=int, default=3000, help="spectrograms of the loading benchmark")
    parser.add_argument("--birdnet-files", type=int, default=3000,
                        help="FSDD files of the birdnet embedding stage (default 3000; 0 skips)")
    parser.add_argument("--work", help="keep the work folders here instead of a temporary folder")
    parser.add_argument("--loop", help=argparse.SUPPRESS)
    parser.add_argument("--birdnet-loop", help=argparse.SUPPRESS)
    parser.add_argument("--notebook", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loop:
        return loop_main(args)
    if args.birdnet_loop:
        return birdnet_loop_main(args)
    if args.notebook:
        return notebook_main(args)
    if not FSDD.is_dir():
        raise SystemExit(f"{FSDD} not found: the benchmark needs ../shared/data/fsdd beside the repository")
    sizes = {key: [int(v) for v in getattr(args, key).split(",") if v] for key in ("dry_sizes", "memory_sizes")}
    tmp = Path(args.work or tempfile.mkdtemp(prefix="bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    results = {}
    try:
        log = lambda text: print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)  # noqa: E731
        log(f"2. cold stage on {args.fsdd_files} FSDD files (loop, notebook sample, workflow)")
        stage = results["stage"] = cold_stage(tmp, args.fsdd_files, args.cores, args.notebook_files)
        bare = make_bare(tmp / "stage" / "bare", stage["audio"])  # up to date before the changes, as the workflow
        log("1. one file's content changed")
        results["incremental"] = incremental(stage["work"], stage["audio"], args.cores, stage["flow"][0],
                                             change_content, bare)
        log("1. one file added")
        results["added"] = incremental(stage["work"], stage["audio"], args.cores, stage["flow"][0], add_recording,
                                       bare)
        shutil.rmtree(bare, ignore_errors=True)
        results["memory"] = []
        for n in sizes["memory_sizes"]:
            if n == args.fsdd_files:
                results["memory"].append({"n": n, "wall": stage["flow"][0], "rss": stage["flow"][1]})
            else:
                largest = n == max(sizes["memory_sizes"])
                log(f"5. cold stage at {n} files (memory){' and 1. one changed file' if largest else ''}")
                results["memory"].append(memory(tmp, n, args.cores, rerun=largest))
        results["dry"] = []
        for n in sizes["dry_sizes"]:
            log(f"3. dry runs at {n} files (first the full run that makes them up to date)")
            results["dry"].append(dry_runs(tmp, n, args.cores, args.dry_repeats))
        if args.windows:
            log("4. windows (benchmarks/windows.py)")
            results["windows"] = windows(tmp, args.windows, args.cores)
        log("5. training-data load")
        results["loading"] = loading(args.load_files)
        if args.birdnet_files:
            log(f"6. birdnet embedding stage on {args.birdnet_files} FSDD files (loop, workflow)")
            results["birdnet"] = birdnet_stage(tmp, args.birdnet_files, args.cores)
    finally:
        if not args.work:
            shutil.rmtree(tmp, ignore_errors=True)
    table = report(results, args)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")


if __name__ == "__main__":
    main()
