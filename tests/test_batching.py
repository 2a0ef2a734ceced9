"""Spectrogram jobs that handle several files: stable batches, per-file outputs, small reruns."""

import shutil

import pandas as pd
import pytest
import soundfile as sf

from batches import batch_count, plan_batches
from workflow import SMALL_CONFIG, copy_workflow, STAGE, make_audio_folder, planned, run, tone_clip

BATCHED = SMALL_CONFIG.replace("files_per_job: 1", "files_per_job: 4")


def ids(n, prefix="clip"):
    return [f"{prefix}/{i:05d}" for i in range(n)]


@pytest.mark.parametrize("n, per_job, expected", [(1, 32, 1), (32, 32, 1), (33, 32, 2), (3000, 32, 128), (50000, 1, 65536)])
def test_batch_count_is_a_power_of_two_at_least_files_over_size(n, per_job, expected):
    assert batch_count(n, per_job) == expected


def test_every_clip_is_in_exactly_one_batch():
    clips = ids(3000)
    batches = plan_batches(clips, 32)
    members = [c for batch in batches.values() for c in batch]
    assert sorted(members) == sorted(clips)
    sizes = [len(b) for b in batches.values()]
    assert max(sizes) <= 3 * 32 and sum(sizes) / len(sizes) <= 32


def test_adding_files_leaves_other_batches_alone():
    clips = ids(2500)
    before = plan_batches(clips, 32)  # 128 batches, as for 2501..4096 files
    after = plan_batches(clips + ids(300, prefix="new"), 32)
    changed = [name for name in after if after[name] != before.get(name)]
    for name in changed:
        assert set(before.get(name, [])) < set(after[name])  # only grew by new files
        assert all(c.startswith("new/") for c in set(after[name]) - set(before.get(name, [])))
    assert len(changed) < len(after)


def test_growing_past_a_doubling_splits_each_batch_in_two():
    small = plan_batches(ids(64), 8)  # 8 batches
    big = plan_batches(ids(65), 8)  # 16 batches
    for name, members in small.items():
        halves = [set(m) for m in big.values() if set(m) & set(members)]
        assert set(members) <= set().union(*halves) and len(halves) <= 2


@pytest.fixture(scope="module")
def batched(tmp_path_factory):
    base = tmp_path_factory.mktemp("batched")
    work = copy_workflow(base / "wf")
    audio = base / "audio"
    rels = make_audio_folder(audio)
    (work / "test.yaml").write_text(BATCHED.format(audio_dir=audio))
    run(work, *STAGE, "--cores", "2", "--configfile", "test.yaml")
    return work, audio, rels


def batch_of(rel, rels):
    clip = rel.rsplit(".", 1)[0]
    plan = plan_batches([r.rsplit(".", 1)[0] for r in rels], 4)
    return next(set(members) for members in plan.values() if clip in members)


def test_batched_run_makes_every_spectrogram(batched):
    work, _, rels = batched
    manifest = pd.read_csv(work / "results" / "final_specs.csv")
    assert len(manifest) == len(rels) == 30
    assert all((work / "results" / name).exists() for name in manifest["filename"])
    rules, _ = planned(work, *STAGE, "--configfile", "test.yaml")
    assert sum(rules.values()) == 0


def test_changed_file_reruns_only_its_batch(batched, tmp_path):
    work, audio, rels = batched
    clone = tmp_path / "wf"
    shutil.copytree(work, clone, symlinks=True)
    new_audio = tmp_path / "audio"
    shutil.copytree(audio, new_audio)
    (clone / "test.yaml").write_text(BATCHED.format(audio_dir=new_audio))
    run(clone, *STAGE, "--cores", "2", "--configfile", "test.yaml")  # settle the new audio path
    target = new_audio / rels[4]
    sf.write(target, tone_clip(1111.0, sr=sf.info(target).samplerate, seed=7), sf.info(target).samplerate)
    rules, planned_ids = planned(clone, *STAGE, "--configfile", "test.yaml")
    assert rules["spectrogram"] == 1
    assert planned_ids == batch_of(rels[4], rels) and len(planned_ids) < len(rels)
    assert set(rules) == {"spectrogram", "catalog", "manifest_npy", "manifest_png", "train_data"}


def test_a_spectrogram_can_be_asked_for_by_its_own_path(batched, tmp_path):
    work, _, rels = batched
    clip = rels[7].rsplit(".", 1)[0]
    (work / "results" / "specs" / f"{clip}.npy").unlink()
    rules, planned_ids = planned(work, f"results/specs/{clip}.npy", "--configfile", "test.yaml")
    assert set(rules) == {"spectrogram"} and rules["spectrogram"] == 1
    assert clip in planned_ids
    run(work, f"results/specs/{clip}.npy", "--cores", "1", "--configfile", "test.yaml")
    assert (work / "results" / "specs" / f"{clip}.npy").exists()
