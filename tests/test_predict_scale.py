"""Prediction at scale: one job per batch of recordings sized by seconds of audio, runtimes from the audio, a merged
table equal to one job's; site and start from the file names, absolute times, Raven's Begin File / File Offset /
Begin Date Time, detections per site, class and hour."""

import datetime
import re

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

import annotations
import batches
import detections
import predict
import recording_times
from test_windows_workflow import recording
from workflow import run

SM4 = r"(?P<site>[^/]+)_(?P<start>\d{8}_\d{6})$"
AUDIOMOTH = r"(?P<site>[^/]+)/(?P<start>\d{8}_\d{6})$"
FORMAT = "%Y%m%d_%H%M%S"
# Recordings to classify, SM4-named: 4 + 4 s, then 12 s (longer than the 10-s target: a batch of its own), then 3 s.
FRESH = {"SITE1_20240501_053000": 4.0, "SITE1_20240501_053004": 4.0, "SITE2_20240501_235958": 12.0,
         "SITE2_20240502_000010": 3.0}
SCALE = """\
predict_seconds_per_job: 10
recordings: {{pattern: '{pattern}'}}
"""


# --- batches and their runtime ---------------------------------------------------------------------


def test_batches_hold_about_the_target_and_a_long_recording_is_alone():
    seconds = {"a": 3000.0, "b": 3000.0, "c": 20000.0, "d": 100.0, "e": None, "f": 9000.0}
    plan = batches.plan_prediction_batches(seconds, 7200)
    assert plan == {"p0000": ["a", "b"], "p0001": ["c"], "p0002": ["d", "e"], "p0003": ["f"]}
    assert [rel for members in plan.values() for rel in members] == list(seconds)  # the folder's order
    assert batches.plan_prediction_batches(seconds, 7200) == plan  # a rerun plans the same batches


def test_runtime_follows_the_audio_with_the_measured_rate_and_margin():
    hour = batches.prediction_runtime(3600.0)
    day = batches.prediction_runtime(86400.0)
    expected = batches.PREDICT_RUNTIME_MARGIN * (batches.PREDICT_STARTUP_SECONDS
                                                 + 86400.0 * batches.PREDICT_SECONDS_PER_AUDIO_SECOND) / 60
    assert day == int(np.ceil(expected)) and day > hour >= batches.MIN_RUNTIME
    assert batches.prediction_runtime(1.0) == batches.MIN_RUNTIME


# --- site and start from the names -----------------------------------------------------------------

MOMENTS = st.datetimes(min_value=datetime.datetime(1990, 1, 1), max_value=datetime.datetime(2099, 12, 31))
SITES = st.text(alphabet=st.characters(blacklist_characters="/\n\r\x00", blacklist_categories=("Cs",)), min_size=1,
                max_size=12)


@settings(max_examples=200, deadline=None)
@given(moment=MOMENTS, site=SITES)
def test_any_start_written_into_an_sm4_or_audiomoth_name_parses_back(moment, site):
    moment = moment.replace(microsecond=0)
    stamp = moment.strftime(FORMAT)
    for pattern, name in ((SM4, f"{site}_{stamp}"), (AUDIOMOTH, f"{site}/{stamp}")):
        found = recording_times.from_name(name, recording_times.compile_pattern(pattern), FORMAT)
        assert found == (site, moment)


@settings(max_examples=60, deadline=None)
@given(names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=5, unique=True))
def test_names_with_odd_characters_never_break_anything(names):
    relpaths = [f"{name}.wav" for name in names]
    settings_ = {"pattern": SM4, "time_format": FORMAT, "csv": None, "unmatched": "empty"}
    places = recording_times.recording_places(relpaths, settings_, lambda rel: rel[:-4])
    assert set(places) == set(relpaths)
    for place in places.values():
        assert set(place) == {"site", "start"} and isinstance(place["site"], str)
    unmatched = [rel for rel in relpaths if not re.search(SM4, rel[:-4])]
    if unmatched:
        with pytest.raises(recording_times.RecordingNameError) as error:
            recording_times.recording_places(relpaths, {**settings_, "unmatched": "fail"}, lambda rel: rel[:-4])
        assert min(unmatched) in str(error.value) and "recordings.pattern" in str(error.value)


def test_soundtrap_names_and_a_csv_give_site_and_start(tmp_path):
    pattern = recording_times.compile_pattern(r"(?P<site>\d+)\.(?P<start>\d{12})$")
    assert recording_times.from_name("5783.240501053000", pattern, "%y%m%d%H%M%S") == (
        "5783", datetime.datetime(2024, 5, 1, 5, 30))
    table = tmp_path / "places.csv"
    table.write_text("path,site,start\na/x.wav,north,2024-05-01T05:30:00\nb.wav,,\n")
    places = recording_times.recording_places(["a/x.wav", "b.wav"], {"csv": str(table), "unmatched": "fail"}, None)
    assert places == {"a/x.wav": {"site": "north", "start": "2024-05-01T05:30:00.000"},
                      "b.wav": {"site": "", "start": ""}}
    with pytest.raises(recording_times.RecordingNameError, match="c.wav: not matched by recordings.csv"):
        recording_times.recording_places(["c.wav"], {"csv": str(table), "unmatched": "fail"}, None)


# --- Raven tables and the count per hour -----------------------------------------------------------


def test_raven_tables_carry_file_offset_and_date_time_and_read_back(tmp_path):
    selections = [(0.5, 2.0, "owl", 0.9), (3.25, 4.0, "jay", 0.75)]
    text = predict.raven_selections(selections, 0.0, 8000.0, "SITE2_20240501_235958.wav", "2024-05-01T23:59:58.000")
    header, *rows = [line.split("\t") for line in text.splitlines()]
    assert header[-3:] == ["Begin File", "File Offset (s)", "Begin Date Time"]
    assert [row[-3:] for row in rows] == [["SITE2_20240501_235958.wav", "0.500", "2024/05/01 23:59:58.500"],
                                          ["SITE2_20240501_235958.wav", "3.250", "2024/05/02 00:00:01.250"]]
    (tmp_path / "t.selections.txt").write_text(text)
    back = annotations.read_raven_table(str(tmp_path / "t.selections.txt"))
    assert [(e["recording"], e["start"], e["end"], e["class"]) for e in back] == [
        ("SITE2_20240501_235958.wav", s, e, c) for s, e, c, _ in selections]


def test_detections_per_site_class_and_hour_count_by_hand():
    found = pd.DataFrame({
        "site": ["A", "A", "A", "B", "A", ""],
        "class": ["owl", "owl", "jay", "owl", "owl", "owl"],
        "begin_datetime": ["2024-05-01T05:00:00.000", "2024-05-01T05:59:59.999", "2024-05-01T05:30:00.000",
                           "2024-05-01T05:10:00.000", "2024-05-01T06:00:00.000", ""],
    })
    counts = detections.per_hour(found, recording_times.hour_of)
    assert counts.values.tolist() == [
        ["", "owl", "", 1],
        ["A", "jay", "2024-05-01T05:00:00", 1],
        ["A", "owl", "2024-05-01T05:00:00", 2],
        ["A", "owl", "2024-05-01T06:00:00", 1],
        ["B", "owl", "2024-05-01T05:00:00", 1],
    ]


# --- through the workflow --------------------------------------------------------------------------


def planned_jobs(out):
    """``(rule, wildcards, resources)`` of every job a dry run prints."""
    jobs, current = [], None
    for line in out.splitlines():
        match = re.match(r"^\s*(?:local)?rule (\w+):\s*$", line)
        if match:
            current = {"rule": match.group(1)}
            jobs.append(current)
        elif current is not None and line.strip().startswith(("wildcards:", "resources:")):
            key, _, value = line.strip().partition(": ")
            current[key.rstrip(":")] = dict(item.split("=", 1) for item in value.split(", "))
    return jobs


# scaled (tests/conftest.py): the windowed run to results/predictions/fresh.csv, shared with tests/test_slurm.py


def test_one_predict_job_per_batch_and_a_merged_table_equal_to_one_job(scaled, tmp_path):
    work, fresh, out = scaled
    jobs = [job for job in planned_jobs(out) if job["rule"] == "predict"]
    assert sorted(job["wildcards"]["batch"] for job in jobs) == ["p0000", "p0001", "p0002"]
    folder = work / "results" / "predictions"
    parts = [(folder / "fresh.batches" / f"p000{i}.csv").read_text() for i in range(3)]
    merged = (folder / "fresh.csv").read_text()
    assert merged == parts[0] + "".join(part.split("\n", 1)[1] for part in parts[1:])
    predict.cli(["--model", str(work / "results" / "model_npy.keras"), str(fresh), "--out", str(tmp_path / "p.csv"),
                 "--pattern", SM4])
    assert (tmp_path / "p.csv").read_text() == merged
    table = pd.read_csv(folder / "fresh.csv", dtype={"site": str})
    assert list(table.columns[:5]) == ["file", "start", "end", "site", "begin_datetime"]
    row = table[table["file"].str.endswith("SITE2_20240501_235958.wav") & (table["start"] == 2.5)].iloc[0]
    assert (row["site"], row["begin_datetime"]) == ("SITE2", "2024-05-02T00:00:00.500")


def test_raven_tables_of_the_run_name_their_file_and_time(scaled):
    work, fresh, _ = scaled
    folder = work / "results" / "predictions" / "fresh.selections"
    tables = [p.name for p in folder.iterdir() if not p.name.startswith(".")]  # not Snakemake's .snakemake_timestamp
    assert sorted(tables) == sorted(f"{stem}.selections.txt" for stem in FRESH)
    header = (folder / "SITE1_20240501_053004.selections.txt").read_text().splitlines()[0].split("\t")
    assert header[3:5] == ["Begin Time (s)", "End Time (s)"]
    assert header[-3:] == ["Begin File", "File Offset (s)", "Begin Date Time"]
    found = pd.read_csv(work / "results" / "predictions" / "fresh_detections.csv", dtype=str, keep_default_na=False)
    per_hour = pd.read_csv(work / "results" / "predictions" / "fresh_per_hour.csv", dtype={"site": str})
    assert per_hour["detections"].sum() == len(found)
    assert (work / "results" / "figures" / "predictions_fresh_per_hour.png").stat().st_size > 1000


def test_a_run_killed_before_one_batch_ended_redoes_that_batch_alone(scaled):
    work, _, _ = scaled
    folder = work / "results" / "predictions"
    lost = [folder / "fresh.batches" / "p0001.csv", folder / "fresh.csv"]  # one batch and the merge never written
    kept = [path.read_bytes() for path in lost]
    for path in lost:
        path.unlink()
    try:
        out = run(work, "-n", "results/predictions/fresh.csv", "--configfile", "test.yaml").stdout
    finally:
        for path, data in zip(lost, kept):
            path.write_bytes(data)
    jobs = planned_jobs(out)
    assert sorted((job["rule"], job.get("wildcards", {}).get("batch")) for job in jobs) == [
        ("predict", "p0001"), ("predictions", None)]


def test_runtime_of_each_job_follows_its_hours_of_audio(scaled, tmp_path):
    work, _, _ = scaled
    long = tmp_path / "long"
    long.mkdir()
    hours = {"SITE1_20240501_000000": 1, "SITE1_20240501_010000": 3, "SITE1_20240501_040000": 6}
    for stem, n in hours.items():  # silent and at 50 Hz: hours of audio in a few MB, read from the header only
        sf.write(long / f"{stem}.wav", np.zeros(n * 3600 * 50, dtype=np.int16), 50, subtype="PCM_16")
    (work / "long.yaml").write_text(f"predict: {{long: {long}}}\npredict_seconds_per_job: 14400\n")
    out = run(work, "-n", "results/predictions/long.csv", "--configfile", "test.yaml", "long.yaml").stdout
    jobs = {job["wildcards"]["batch"]: job["resources"] for job in planned_jobs(out) if job["rule"] == "predict"}
    assert sorted(jobs) == ["p0000", "p0001"]  # 1 h + 3 h, then the 6 h alone
    assert int(jobs["p0000"]["runtime"]) == batches.prediction_runtime(4 * 3600.0)
    assert int(jobs["p0001"]["runtime"]) == batches.prediction_runtime(6 * 3600.0) > int(jobs["p0000"]["runtime"])
    assert int(jobs["p0001"]["mem_mb"]) == batches.PREDICT_MEM_MB


def test_a_name_the_pattern_does_not_match_stops_the_run_at_parse_time(scaled, tmp_path):
    work, _, _ = scaled
    odd = tmp_path / "odd"
    odd.mkdir()
    recording(odd, "SITE1_20240501_053000", 2.0, [], seed=1)
    recording(odd, "field notes (2) ü", 2.0, [], seed=2)
    (work / "odd.yaml").write_text(f"predict: {{odd: '{odd}'}}\n")
    proc = run(work, "-n", "results/predictions/odd.csv", "--configfile", "test.yaml", "odd.yaml", check=False)
    assert proc.returncode != 0
    assert "field notes (2) ü.wav: not matched by recordings.pattern" in proc.stdout
    (work / "odd.yaml").write_text(f"predict: {{odd: '{odd}'}}\nrecordings: {{pattern: '{SM4}', unmatched: empty}}\n")
    assert run(work, "-n", "results/predictions/odd.csv", "--configfile", "test.yaml", "odd.yaml").returncode == 0
