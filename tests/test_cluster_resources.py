"""Cluster resources follow the audio (issue 27): a simulated deployment of long 96 kHz recordings planned with
the Slurm profile; batches sized by seconds of audio; one override for every batch; a dry run that reads."""

import sys

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

import batches
from workflow import ROOT, copy_workflow

sys.path.insert(0, str(ROOT / "benchmarks"))
import deployment  # noqa: E402

SECONDS, RATE = 150.0, 96000  # six recordings of 2.5 minutes at 96 kHz (the checks read every sample)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    base = tmp_path_factory.mktemp("deployment")
    events = deployment.simulate(base / "audio", sites=3, per_site=2, seconds=SECONDS, sr=RATE, seed=1)
    return copy_workflow(base / "wf"), base / "audio", events


def test_the_simulated_deployment_is_named_and_annotated_as_field_recorders_do(deployed):
    _, audio, events = deployed
    assert sorted(events) == ["SITE1_20240501_063000", "SITE1_20240502_063000", "SITE2_20240501_073000",
                              "SITE2_20240502_073000", "SITE3_20240501_083000", "SITE3_20240502_083000"]
    for name, calls in events.items():
        info = sf.info(audio / f"{name}.wav")
        assert info.samplerate == RATE and info.frames == SECONDS * RATE
        assert calls and all(0 < s < e < SECONDS for s, e, _ in calls)
        table = (audio / f"{name}.Table.1.selections.txt").read_text().splitlines()
        assert len(table) == len(calls) + 1 and table[0].startswith("Selection\t")
    # every call stands well above its recording's noise floor (the first half second is before any call)
    for name, calls in events.items():
        quiet, _ = sf.read(audio / f"{name}.wav", start=0, stop=int(0.5 * RATE))
        for start, end, _ in calls:
            y, _ = sf.read(audio / f"{name}.wav", start=int(start * RATE), stop=int(end * RATE))
            assert np.std(y) > 5 * np.std(quiet)


def test_every_spectrogram_job_asks_for_the_time_its_audio_needs(deployed):
    work, audio, events = deployed
    jobs = deployment.spectrogram_jobs(deployment.plan(work, audio, 300))
    held = {job["rule"]: [sf.info(path).duration for path in job["input"]] for job in jobs}
    assert sorted(p for job in jobs for p in job["input"]) == sorted(str(audio / f"{n}.wav") for n in events)
    # 900 s of audio, 300 s per job: at least 3 batches, a power of two (4); files_per_job alone made one
    assert len(jobs) == 4 and all(len(job["input"]) <= 3 for job in jobs)
    for job in jobs:
        seconds = sum(held[job["rule"]])
        assert job["runtime"] * 60 >= seconds * batches.SECONDS_PER_AUDIO_SECOND * batches.RUNTIME_MARGIN
        assert job["runtime"] >= batches.MIN_RUNTIME and job["mem_mb"] >= batches.BASE_MEM_MB
    by_audio = sorted(jobs, key=lambda job: sum(held[job["rule"]]))
    assert [job["runtime"] for job in by_audio] == sorted(job["runtime"] for job in jobs)  # more audio, more time


def test_one_setting_overrides_the_resources_of_every_batch(deployed):
    work, audio, _ = deployed
    (work / "override.yaml").write_text("batch_resources: {runtime: 77, mem_mb: 999}\n")
    jobs = deployment.spectrogram_jobs(deployment.plan(work, audio, 300, "override.yaml"))
    assert len(jobs) == 4 and {(job["runtime"], job["mem_mb"]) for job in jobs} == {(77, 999)}


def test_the_dry_run_prints_a_few_names_per_list(deployed):
    work, audio, _ = deployed
    whole = deployment.plan(work, audio, 30)  # 30 s per job: a batch per recording, the catalog reads six tables
    short = deployment.plan(work, audio, 30, full=False)
    lines = short.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() in ("rule catalog:", "localrule catalog:"))
    block = lines[start + 1 : start + 8]
    listed = {line.split(":", 1)[0].strip(): line for line in block if line.strip().startswith(("input:", "reason:"))}
    assert set(listed) == {"input", "reason"} and all("… and" in line for line in listed.values())
    assert len(short) < len(whole) and max(map(len, short.splitlines())) < 1200
    assert deployment.spectrogram_jobs(short) and "Job stats" in short and "spectrogram_b" in short


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 5000), per=st.integers(1, 600), seconds=st.floats(0, 1e7), per_job=st.floats(1, 1e5))
def test_batch_count_holds_the_files_at_both_sizes(n, per, seconds, per_job):
    count = batches.batch_count(n, per, seconds, per_job)
    assert count & (count - 1) == 0  # a power of two: batches are prefixes of a hash
    assert count * per >= n and count * per_job >= seconds - 1e-6
    assert count == 1 or (count // 2) * per < n or (count // 2) * per_job < seconds  # the smallest such
    assert batches.batch_count(n, per) <= count


@settings(max_examples=200, deadline=None)
@given(a=st.floats(0, 1e6), b=st.floats(0, 1e6), array_bytes=st.floats(0, 1e11), channels=st.integers(1, 4))
def test_job_resources_grow_with_the_audio(a, b, array_bytes, channels):
    small = batches.job_resources(min(a, b), array_bytes, channels)
    large = batches.job_resources(max(a, b), array_bytes, channels)
    assert batches.MIN_RUNTIME <= small["runtime"] <= large["runtime"] and small["mem_mb"] == large["mem_mb"]
    assert large["runtime"] * 60 >= max(a, b) * channels * batches.SECONDS_PER_AUDIO_SECOND * batches.RUNTIME_MARGIN
    assert large["mem_mb"] * 1e6 >= batches.BASE_MEM_MB * 1e6 + 3 * array_bytes  # three copies of the largest file
