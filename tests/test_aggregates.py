"""The catalog and manifest jobs run in the Snakemake process (`run:` rules): what reaches their log."""

import types

import pytest

import joblog
import make_manifest


def test_an_error_in_a_job_of_the_snakemake_process_goes_to_its_log_and_on(tmp_path):
    log = tmp_path / "job.log"
    with pytest.raises(ZeroDivisionError):
        with joblog.logged(str(log)) as stream:
            print("warning: before the error", file=stream)
            1 / 0
    text = log.read_text()
    assert text.startswith("warning: before the error\n")
    assert "Traceback" in text and "ZeroDivisionError" in text


def test_manifest_rule_body_reads_the_named_fields_and_logs_a_missing_catalog(tmp_path):
    log = tmp_path / "manifest.log"
    job = types.SimpleNamespace(catalog=str(tmp_path / "absent.csv"), facts=[])
    params = types.SimpleNamespace(folder=str(tmp_path / "specs"), suffix=".npy", branch="npy")
    with pytest.raises(FileNotFoundError):
        make_manifest.run_rule(job, [str(tmp_path / "final_specs.csv")], params, [str(log)])
    assert "absent.csv" in log.read_text()
    assert not (tmp_path / "final_specs.csv").exists()

