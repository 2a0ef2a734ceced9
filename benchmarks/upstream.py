"""What Snakemake's own fix for snakemake#4240 would give the cold stage: measured, side by side.

After every job Snakemake writes one metadata record per output, and for each
record it computes the checksum of every input again: a batch of 30 audio
files with 61 outputs costs 1,830 checksums, each with five ``stat`` calls and
a read, where 30 would do (https://github.com/snakemake/snakemake/issues/4240,
open; its first proposed fix is to compute them once per job). This script
measures what that fix would change, without shipping it: it copies the
installed Snakemake into a temporary folder, moves the checksums out of the
per-output loop of ``PersistenceBase.finished`` there (the records it writes
are the same), and runs the cold spectrogram stage of the speed benchmark
(``benchmarks/run.py``, measurement 2) with the stock and the patched copy in
turn, ``--repeats`` times, beside the in-process loop on the same files. It
also checks that both write the same manifests and the same input checksums.

Nothing of this reaches the workflow: it runs with the Snakemake that
``requirements.txt`` pins.

Usage::

    .venv/bin/python benchmarks/upstream.py --out benchmarks/upstream.md     # 3,000 files, 3 repeats: ~5 min
"""

import argparse
import base64
import datetime
import json
import os
import shutil
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (the speed benchmark: its cold stage, loop and helpers)

# PersistenceBase.finished of Snakemake 9.27 computes the checksums of all inputs inside its loop over the
# outputs (PER_OUTPUT); the fix moves the same lines before the loop (PER_JOB): once per job.
LOOP = """\
            for f in job.output:
                key = self._get_key(f)
                endtime = (
                    (await f.mtime()).local_or_storage()
                    if await f.exists()
                    else fallback_time
                )
"""
CHECKSUMS = """\
            checksums = {
                str(infile): await infile.checksum(self.max_checksum_file_size)
                for infile in job.input
            }
            checksums = {k: v for k, v in checksums.items() if v is not None}
"""
PER_OUTPUT = LOOP + "\n" + textwrap.indent(CHECKSUMS, "    ")
PER_JOB = CHECKSUMS + LOOP


def patched_snakemake(folder):
    """A copy of the installed Snakemake in ``folder`` with the checksums computed once per job.

    Returns the environment that makes Python import it (``PYTHONPATH``). Stops with a clear error
    when the installed Snakemake's code is not the one the patch was written for
    (for instance because the fix has landed upstream).
    """
    import snakemake

    source = Path(snakemake.__file__).parent
    target = Path(folder) / "snakemake"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    persistence = target / "persistence" / "__init__.py"
    code = persistence.read_text()
    if code.count(PER_OUTPUT) != 1:
        raise SystemExit(f"Snakemake {snakemake.__version__}: PersistenceBase.finished is not the code this "
                         f"benchmark patches ({source / 'persistence' / '__init__.py'}); has snakemake#4240 "
                         "been fixed upstream?")
    persistence.write_text(code.replace(PER_OUTPUT, PER_JOB))
    env = dict(run.ENV, PYTHONPATH=str(folder))
    imported = run.timed_run([sys.executable, "-c", "import snakemake; print(snakemake.__file__)"], ".", env=env)[2]
    if Path(imported.strip()).parent != target:
        raise SystemExit(f"PYTHONPATH={folder} does not make Python import the patched copy: {imported.strip()}")
    return env


def cold_run(work, cores, env=None):
    """One cold spectrogram stage in ``work`` (results and records removed first): (wall s, peak RSS MB)."""
    for name in ("results", "logs", ".snakemake"):
        shutil.rmtree(work / name, ignore_errors=True)
    return run.snakemake(work, *run.STAGE, "--cores", str(cores), "--configfile", "bench.yaml", env=env)[:2]


def outcome(work):
    """What a run leaves that must not depend on the patch: both manifests, and every recorded input checksum."""
    manifests = {name: (work / name).read_bytes() for name in run.STAGE}
    checksums = {}
    for record in (work / ".snakemake" / "metadata").iterdir():
        output = base64.urlsafe_b64decode(record.name).decode()
        checksums[output] = json.loads(record.read_text()).get("input_checksums")
    return manifests, checksums


def measure(tmp, n, cores, repeats):
    """The in-process loop, then the stock and the patched cold stage ``repeats`` times in turn."""
    work = run.copy_workflow(tmp / "wf")
    audio = tmp / "audio"
    files = run.link_fsdd(audio, n)
    run.write_config(work, audio, run.FSDD_CONFIG)
    loop = run.in_process_loop(tmp, files, cores)
    patched = patched_snakemake(tmp / "patched")
    runs = {"stock": [], "patched": []}
    outcomes = {}
    for _ in range(repeats):
        for variant, env in (("stock", None), ("patched", patched)):
            runs[variant].append(cold_run(work, cores, env))
            outcomes[variant] = outcome(work)
    return {"n": n, "loop": loop, "runs": runs, "same": outcomes["stock"] == outcomes["patched"],
            "records": len(outcomes["stock"][1])}


def report(r, cores):
    """The Markdown table: every run, the medians, and each against the loop (goal 2 of issue 15: ≤ 2×)."""
    import snakemake

    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    loop = r["loop"][0]
    median = {variant: statistics.median(wall for wall, _ in runs) for variant, runs in r["runs"].items()}
    lines = [
        f"Benchmark of {when}: machine with {os.cpu_count()} cores ({cores} used), Snakemake "
        f"{snakemake.__version__}; load average at the end {os.getloadavg()[0]:.1f}. Cold spectrogram stage of "
        f"{r['n']:,} FSDD files (both branches and their manifests), stock Snakemake and Snakemake with each "
        f"job's input checksums computed once per job instead of once per output (snakemake#4240), run in turn.",
        "",
        "| measurement | stock | checksums once per job | goal |",
        "| --- | --- | --- | --- |",
        "| cold stage, every run (s) | " + ", ".join(f"{w:.1f}" for w, _ in r["runs"]["stock"]) + " | "
        + ", ".join(f"{w:.1f}" for w, _ in r["runs"]["patched"]) + " | – |",
        f"| cold stage, median (s) | {median['stock']:.1f} | {median['patched']:.1f} "
        f"({100 * (median['patched'] / median['stock'] - 1):+.0f}%) | – |",
        f"| median ÷ in-process loop ({loop:.1f} s) | {median['stock'] / loop:.1f}× | "
        f"{median['patched'] / loop:.1f}× | ≤ 2× |",
        "| peak RSS, largest (MB) | " + f"{max(m for _, m in r['runs']['stock']):.0f} | "
        f"{max(m for _, m in r['runs']['patched']):.0f} | – |",
        f"| same manifests and recorded input checksums ({r['records']:,} records) | – | "
        f"{'yes' if r['same'] else '**no**'} | yes |",
        "",
        "Timings on a shared machine vary by ±20 %: compare runs made in turn, in one run of this script.",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fsdd-files", type=int, default=3000, help="files of the cold stage (default 3000)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each variant, in turn (default 3)")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="cores for every run (default: all)")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args()
    if not run.FSDD.is_dir():
        raise SystemExit(f"{run.FSDD} not found: the benchmark needs ../shared/data/fsdd beside the repository")
    with tempfile.TemporaryDirectory(prefix="upstream-") as tmp:
        result = measure(Path(tmp), args.fsdd_files, args.cores, args.repeats)
    table = report(result, args.cores)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")
    if not result["same"]:
        raise SystemExit("the patched Snakemake wrote other manifests or input checksums than the stock one")


if __name__ == "__main__":
    main()
