"""The workflow through profiles/slurm on a real single-node Slurm, against a local run.

Starts Debian's Slurm (slurmctld, slurmd, slurmdbd + MariaDB, munge) with tests/slurm/cluster.sh,
runs the demo workflow to results/model_npy.keras with --profile profiles/slurm (CI-sized resources
on the command line), checks with sacct that the jobs ran through Slurm, a batch of files per job, and that the
outputs equal those of a local run, then stops exactly the daemons it started. A windowed set trained locally
predicts through Slurm one batch of recordings per job, is interrupted twice (Ctrl-C, then killed) and resumed.

It writes /etc/slurm and starts daemons, so it runs only when SLURM_E2E=1 (CI sets it) and as root.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workflow import ROOT, copy_workflow

CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
NEEDED = ["slurmctld", "slurmd", "slurmdbd", "munged", "mariadbd", "sbatch", "sacct"]

pytestmark = pytest.mark.skipif(
    os.environ.get("SLURM_E2E") != "1" or os.geteuid() != 0 or not all(shutil.which(b) for b in NEEDED),
    reason="Slurm end-to-end test: needs SLURM_E2E=1, root and Debian's slurmctld slurmd slurmdbd munge "
    "mariadb-server slurm-client (.ci/run installs them and sets SLURM_E2E=1)",
)

SLURM_ARGS = [
    "--profile", "profiles/slurm",
    "--cores", "2",  # caps the threads of every job at the node's 2 CPUs
    "--slurm-init-seconds-before-status-checks", "2",
    "--slurm-no-account",
    "--default-resources", "slurm_partition=main", "mem_mb=1000", "runtime=20",
    "--set-resources", "train:mem_mb=4000", "train:cpus_per_task=2", "train:runtime=30",
    "--set-threads", "train=2",
]


FILES_PER_JOB = 160


def snakemake_start(workdir, *args, timeout=900):
    """Start snakemake in ``workdir`` (killed after ``timeout`` s); :func:`snakemake_end` waits for it."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    cmd = ["timeout", "-k", "10", str(timeout), sys.executable, "-m", "snakemake", *args]
    return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def snakemake_end(child):
    """Wait for a run begun by :func:`snakemake_start`; its output, or a failed assertion with its end."""
    out, _ = child.communicate()
    assert child.returncode == 0, f"{' '.join(child.args[6:])} failed ({child.returncode}):\n{out[-5000:]}"
    return out


def snakemake(workdir, *args, timeout=900):
    return snakemake_end(snakemake_start(workdir, *args, timeout=timeout))


@pytest.fixture(scope="module")
def cluster():
    # directly under /tmp: the munge and mysql users must reach it (pytest's tmp folders are 0700)
    state = Path(tempfile.mkdtemp(prefix="slurm-ci-", dir="/tmp"))
    try:
        subprocess.run([str(CLUSTER), "start", str(state)], check=True, timeout=300)
        yield state
    finally:
        subprocess.run([str(CLUSTER), "stop", str(state)], check=False, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def train_threads():
    """The thread count the Slurm run trains with (``train=N`` of SLURM_ARGS' --set-threads)."""
    return int(SLURM_ARGS[SLURM_ARGS.index("--set-threads") + 1].removeprefix("train="))


@pytest.fixture(scope="module")
def runs(cluster, demo_trained, tmp_path_factory):
    remote = copy_workflow(tmp_path_factory.mktemp("slurm-run") / "wf")
    # The local reference: the demo run to every default target, its NPY model retrained locally with the Slurm
    # run's threads. The thread count is part of a model (docs/training.md, "Which runs give the same weights"):
    # on some CPUs the demo's one thread and the Slurm run's two give other weights. It runs beside the Slurm
    # run, which mostly waits on Slurm (deterministic ops: sharing the CPUs changes the timing, not the weights).
    local = tmp_path_factory.mktemp("local-run") / "wf"
    shutil.copytree(demo_trained, local, symlinks=True)
    beside = snakemake_start(local, "results/model_npy.keras", "--cores", "2", "--set-threads",
                             f"train={train_threads()}", "--forcerun", "train")
    try:
        # A few hundred files per batch, as docs/slurm.md advises for a cluster: the demo's 320 files in 2 batches
        # (the local run used the default 32 per batch; batching changes no output)
        log = snakemake(remote, "results/model_npy.keras", *SLURM_ARGS, "--config", f"files_per_job={FILES_PER_JOB}")
    finally:
        snakemake_end(beside)
    job_ids = sorted(set(re.findall(r"submitted with SLURM jobid (\d+)", log)), key=int)
    return local, remote, job_ids, log


def test_jobs_ran_through_slurm_and_completed(runs):
    _, _, job_ids, log = runs
    assert job_ids, log[-3000:]
    out = subprocess.run(
        ["sacct", "-n", "-X", "-P", "-j", ",".join(job_ids), "-o", "JobID,State,AllocCPUS"],
        capture_output=True, text=True, check=True,
    ).stdout
    states = {line.split("|")[0]: line.split("|")[1] for line in out.splitlines() if line.strip()}
    assert set(states) == set(job_ids)
    assert set(states.values()) == {"COMPLETED"}, states


def test_each_spectrogram_batch_is_one_slurm_job_of_one_cpu(runs):
    local, remote, job_ids, log = runs
    n_files = len(list((local / "results" / "specs").rglob("*.npy")))
    assert n_files == 320
    batches = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S+/group_spectrograms_spectrogram_b\d+/", log)
    assert len(batches) == n_files // FILES_PER_JOB  # not one job per file
    assert len(job_ids) == len(batches) + 3  # demo audio, stack, train (catalog, manifests are local)
    out = subprocess.run(["sacct", "-n", "-X", "-P", "-j", ",".join(batches), "-o", "JobID,AllocCPUS"],
                         capture_output=True, text=True, check=True).stdout
    assert {line.split("|")[1] for line in out.splitlines() if line.strip()} == {"1"}  # the rule's one thread
    facts = sorted(p.name for p in (remote / "results" / "file_facts").rglob("*.json"))
    assert [re.fullmatch(r"(b\d\d)-[0-9a-f]{12}\.json", name).group(1) for name in facts] == ["b00", "b01"]


def test_slurm_outputs_equal_the_local_run(runs):
    local, remote, _, _ = runs
    # like with like: both models trained with the same threads on the same CPU (their provenance says so)
    numerics = [json.loads((run / "results" / "model_npy.provenance.json").read_text())["numerics"]
                for run in (local, remote)]
    assert numerics[0] == numerics[1] and numerics[0]["threads"] == train_threads(), numerics
    for name in ("final_specs.csv", "catalog.csv", "classes.csv", "split_summary.csv"):
        assert (remote / "results" / name).read_bytes() == (local / "results" / name).read_bytes(), name
    for folder, pattern in (("specs", "*.npy"), ("spect", "*.png")):
        made = sorted((local / "results" / folder).rglob(pattern))
        assert len(made) == 320
        for path in made:
            other = remote / "results" / folder / path.relative_to(local / "results" / folder)
            assert other.read_bytes() == path.read_bytes(), path
    local_metrics = json.loads((local / "results" / "npy" / "metrics.json").read_text())
    remote_metrics = json.loads((remote / "results" / "npy" / "metrics.json").read_text())
    for m in (local_metrics, remote_metrics):  # wall-clock seconds differ between runs
        m["training"] = {k: v for k, v in m["training"].items() if not k.startswith("seconds")}
    assert remote_metrics == local_metrics
    history_local = np.loadtxt(local / "results" / "npy" / "history.csv", delimiter=",", skiprows=1)
    history_remote = np.loadtxt(remote / "results" / "npy" / "history.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(history_local, history_remote)


@pytest.mark.parametrize("files_per_job", [1, 4])
def test_hostile_names_never_reach_slurm(cluster, tmp_path, files_per_job):
    """Names a shell or Snakemake reads are refused before any job, per-file jobs (--target-jobs) and small
    batches (--wait-for-files on sbatch's command line) alike: nothing runs, and they are listed in rejected.csv."""
    from bad_corpus import HOSTILE, SHELL_NAMES, SNAKEMAKE_NAMES
    from workflow import SMALL_CONFIG, STAGE, make_audio_folder, tone_clip

    import soundfile as sf

    audio = tmp_path / "audio"
    good = make_audio_folder(audio, classes=("bark", "hum"), authors=("ann", "bob", "cyd"), per=1)
    hostile = [HOSTILE, *SHELL_NAMES, *SNAKEMAKE_NAMES]
    for i, rel in enumerate(hostile):
        (audio / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(audio / rel, tone_clip(500 + 10 * i, seconds=0.3), 16000)
    work = copy_workflow(tmp_path / "wf")
    config = SMALL_CONFIG.format(audio_dir=audio).replace("files_per_job: 1", f"files_per_job: {files_per_job}")
    (work / "c.yaml").write_text(config + "on_bad_audio: skip\n")
    log = snakemake(work, *STAGE, "results/rejected.csv", *SLURM_ARGS, "--configfile", "c.yaml")
    assert re.search(r"submitted with SLURM jobid \d+", log), log[-3000:]
    for place in (work, audio, audio / "hum", work / "results", Path.home(), Path("/tmp"), Path.cwd()):
        for n in ("", "2", "3", "4"):
            assert not (place / f"PWNED{n}").exists(), place
    rejected = pd.read_csv(work / "results" / "rejected.csv", dtype=str, keep_default_na=False)
    assert {f"{audio}/{rel}" for rel in hostile} <= set(rejected["file"])
    manifest = pd.read_csv(work / "results" / "final_specs.csv", dtype=str, keep_default_na=False)
    assert sorted(manifest["id"]) == sorted(rel.rsplit(".", 1)[0] for rel in good)


# --- a prediction run interrupted and resumed ------------------------------------------------------------------

# "Job 7 has been submitted with SLURM jobid 12 (log: /…/.snakemake/slurm_logs/rule_predict/fresh_p0001/12.log)."
PREDICT_SUBMITTED = re.compile(
    r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: \S+/rule_predict/\S*?(p\d{4})/\d+\.log\)")
PREDICT_FINISHED = re.compile(r"Finished jobid: (\d+) \(Rule: predict\)")
PREDICTIONS = "results/predictions"


def poll(what, check, timeout):
    """``check()``'s first true value, asked every 0.2 s; fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.2)
    return found


def slurm_state(job_id):
    """The job's state in sacct ("RUNNING", "COMPLETED", "CANCELLED by 0", …), "" before slurmdbd has it."""
    return subprocess.run(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State"], capture_output=True, text=True,
                          timeout=30).stdout.strip()


def predict_jobs(log):
    """``[(Slurm job id, batch, finished)]`` of the predict jobs a run's log says it submitted, in order;
    ``finished``: the run saw the job end (and recorded its outputs as complete)."""
    finished = set(PREDICT_FINISHED.findall(log))
    return [(slurm, batch, job in finished) for job, slurm, batch in PREDICT_SUBMITTED.findall(log)]


class Background:
    """Snakemake running in the background in its own process group, its output in a file."""

    def __init__(self, workdir, log, *args):
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "snakemake", *args], cwd=workdir, env=env,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def text(self):
        return self.log.read_text()

    def one_batch_done_and_another_running(self):
        """This run's predict jobs once one has finished and another runs in Slurm, else None."""
        assert self.proc.poll() is None, f"snakemake ended ({self.proc.returncode}):\n{self.text()[-4000:]}"
        jobs = predict_jobs(self.text())
        if any(done for _, _, done in jobs) and any(slurm_state(job) == "RUNNING" for job, _, done in jobs if not done):
            return jobs
        return None

    def interrupt(self, sig, timeout=120):
        """``sig`` to Snakemake's process group, as a terminal sends it; the log once Snakemake has ended."""
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=timeout)
        finally:
            self.stop()
        return self.text()

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def test_a_killed_prediction_run_redoes_only_its_unfinished_batches(cluster, scaled, tmp_path):
    """A windowed model trained locally (tests/conftest.py's ``scaled``) predicts four SM4-named recordings through
    Slurm, a job per batch (p0000-p0002), one job at a time (--jobs 1). The run is interrupted twice, each time
    as soon as one batch has finished and the next runs in Slurm, the two ways a user's run ends:

    - Ctrl-C (SIGINT to the terminal's process group): Snakemake cancels its running Slurm job (scancel; sacct
      says CANCELLED) and ends. The rerun submits the cancelled batch and the one never started, not the
      finished one.
    - Killed (SIGKILL): what a dropped ssh session, a login node's watchdog or the OOM killer do to a Snakemake
      left in a terminal. Snakemake does nothing more: its lock stays (the user runs --unlock) and its Slurm job
      runs on to COMPLETED, its own Snakemake (on the shared file system) recording the batch complete. The
      rerun then submits nothing and only merges. Rerun while that job still runs, it would find the batch marked
      incomplete and redo it beside it, two jobs writing one batch's files: the test waits for the job to end,
      as docs/slurm.md tells users to.

    The merged outputs (table, detections, Raven tables, count per hour) equal the local run's byte for byte.
    """
    local, _, _ = scaled
    remote = tmp_path / "wf"
    shutil.copytree(local, remote, symlinks=True)  # the model and Snakemake's records: nothing upstream is redone
    shutil.rmtree(remote / PREDICTIONS)
    (remote / "results" / "figures" / "predictions_fresh_per_hour.png").unlink()
    # The copied project is up to date: no params value names the workflow's folder, so nothing retrains
    args = ["results/predictions/fresh.csv", "--configfile", "test.yaml", *SLURM_ARGS]
    batches = remote / PREDICTIONS / "fresh.batches"
    submitted, runs = [], []
    try:
        # 1. Ctrl-C: the running batch is cancelled in Slurm
        runs.append(Background(remote, tmp_path / "ctrl-c.log", *args, "--jobs", "1"))
        poll("a predict job finished and the next running", runs[-1].one_batch_done_and_another_running, 300)
        log = runs[-1].interrupt(signal.SIGINT)
        submitted += predict_jobs(log)
        assert "Terminating processes on user request" in log and runs[-1].proc.returncode != 0, log[-4000:]
        (first, a, done), (second, _, stopped) = predict_jobs(log)
        assert done and not stopped
        assert all(Path(f"{batches / a}{end}").exists() for end in (".csv", ".detections.csv", ".selections"))
        assert slurm_state(first) == "COMPLETED"
        assert poll("sacct to say cancelled", lambda: slurm_state(second).startswith("CANCELLED"), 60)

        # 2. The rerun redoes the cancelled batch, not the finished one, and is killed while the third one runs
        runs.append(Background(remote, tmp_path / "killed.log", *args, "--jobs", "1"))
        poll("a predict job finished and the next running", runs[-1].one_batch_done_and_another_running, 300)
        log = runs[-1].interrupt(signal.SIGKILL)
        submitted += predict_jobs(log)
        (_, redone, done), (orphan, running, stopped) = predict_jobs(log)
        assert done and not stopped and {redone, running} == {"p0000", "p0001", "p0002"} - {a}, log[-4000:]
        assert list((remote / ".snakemake" / "locks").iterdir())  # a killed Snakemake leaves its lock
        assert slurm_state(orphan) == "RUNNING"  # Slurm's job outlives the Snakemake that submitted it
        ended = poll("the orphaned job to end", lambda: (s := slurm_state(orphan)) not in ("RUNNING", "PENDING") and s,
                     300)
        assert ended == "COMPLETED"

        # 3. After --unlock, the rerun finds every batch done (the orphaned job recorded its own) and merges
        snakemake(remote, "--unlock", "--configfile", "test.yaml", timeout=120)
        log = snakemake(remote, *args, timeout=300)
        assert not re.search(r"submitted with SLURM jobid", log) and "localrule predictions:" in log, log[-4000:]
    finally:
        for run in runs:
            run.stop()
        if submitted:  # nothing of this test stays in the queue, whatever failed
            subprocess.run(["scancel", *(job for job, _, _ in submitted)], check=False, timeout=60)

    for name in ("fresh.csv", "fresh_detections.csv", "fresh_per_hour.csv"):
        assert (remote / PREDICTIONS / name).read_bytes() == (local / PREDICTIONS / name).read_bytes(), name
    tables = sorted(p.name for p in (local / PREDICTIONS / "fresh.selections").glob("*.selections.txt"))
    assert len(tables) == 4
    assert sorted(p.name for p in (remote / PREDICTIONS / "fresh.selections").glob("*.selections.txt")) == tables
    for name in tables:
        assert ((remote / PREDICTIONS / "fresh.selections" / name).read_bytes()
                == (local / PREDICTIONS / "fresh.selections" / name).read_bytes()), name
