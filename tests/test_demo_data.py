"""Tests for scripts/demo_data.py (the built-in synthetic demo dataset)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import runpy
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "demo_data.py"


def _load():
    spec = importlib.util.spec_from_file_location("demo_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dd = _load()

N_CLASSES = len(dd.CLASSES)
N_RECORDERS = len(dd.RECORDERS)


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan():
    return dd.demo_plan()


@pytest.fixture(scope="module")
def written(tmp_path_factory, plan):
    """The full demo written once; shared by the I/O and separability tests."""
    out_dir = tmp_path_factory.mktemp("demo_a")
    paths = dd.write_demo(out_dir, plan)
    return out_dir, paths


@pytest.fixture(scope="module")
def clips(written, plan):
    """(audio float64, label index, author) for every written clip."""
    _out_dir, paths = written
    audio = [sf.read(p, dtype="float64")[0] for p in paths]
    labels = np.array([dd.CLASSES.index(e["class"]) for e in plan])
    authors = np.array([e["author"] for e in plan])
    return audio, labels, authors


# ---------------------------------------------------------------------------
# Constants and plan
# ---------------------------------------------------------------------------


def test_constants():
    assert dd.CLASSES == ("upsweep", "downsweep", "clicks", "harmonic", "noise_burst")
    assert N_RECORDERS == 8
    names = [r[0] for r in dd.RECORDERS]
    assert len(set(names)) == N_RECORDERS
    for name, sr, floor_db in dd.RECORDERS:
        assert re.fullmatch(r"[a-z0-9]+", name), name
        assert isinstance(sr, int) and 8000 <= sr <= 48000
        assert -100.0 < floor_db < -20.0


@pytest.mark.parametrize("n", [1, 3, 8])
def test_plan_counts(n):
    p = dd.demo_plan(n)
    assert len(p) == N_CLASSES * N_RECORDERS * n
    per_cell = Counter((e["class"], e["author"]) for e in p)
    # every recorder records every class, n times
    assert set(per_cell) == {(c, r[0]) for c in dd.CLASSES for r in dd.RECORDERS}
    assert set(per_cell.values()) == {n}


def test_plan_default_is_eight_per_cell(plan):
    assert len(plan) == N_CLASSES * N_RECORDERS * 8 == 320


def test_plan_entries(plan):
    srs = {name: sr for name, sr, _ in dd.RECORDERS}
    for e in plan:
        assert set(e) == {"relpath", "class", "author", "sr", "duration"}
        m = re.fullmatch(r"([a-z_]+)/([a-z0-9]+)_(\d\d)\.wav", e["relpath"])
        assert m, e["relpath"]
        assert m.group(1) == e["class"] and m.group(2) == e["author"]
        assert e["sr"] == srs[e["author"]]
        assert isinstance(e["duration"], float)
        assert 0.5 <= e["duration"] <= 1.0
    relpaths = [e["relpath"] for e in plan]
    assert relpaths == sorted(relpaths)
    assert len(set(relpaths)) == len(relpaths)
    # durations actually vary
    assert len({e["duration"] for e in plan}) > len(plan) // 2


def test_plan_sample_rates(plan):
    rates = {e["sr"] for e in plan}
    assert len(rates) >= 4
    assert {16000, 44100, 48000} <= rates


def test_plan_is_deterministic_and_fresh():
    a = dd.demo_plan()
    b = dd.demo_plan()
    assert a == b
    a[0]["class"] = "mutated"
    assert dd.demo_plan()[0]["class"] != "mutated"


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "8"])
def test_plan_rejects_bad_n(bad):
    with pytest.raises(ValueError):
        dd.demo_plan(bad)


def stdlib_only(call, hash_seed):
    """What ``m.{call}`` gives as JSON in a fresh Python without numpy and soundfile, with another hash seed."""
    code = (
        "import sys, json, importlib.util\n"
        "sys.modules['numpy'] = None\n"
        "sys.modules['soundfile'] = None\n"
        f"spec = importlib.util.spec_from_file_location('demo_data', {str(SCRIPT)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"print(json.dumps(m.{call}))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED=str(hash_seed))
    return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                     check=True).stdout)


def test_plan_needs_stdlib_only_and_no_hash_seed(plan):
    """demo_plan runs without numpy/soundfile and is independent of PYTHONHASHSEED."""
    assert stdlib_only("demo_plan()", 12345) == plan


# ---------------------------------------------------------------------------
# Synthesis
# ---------------------------------------------------------------------------


def _one_per_cell(plan):
    seen, out = set(), []
    for e in plan:
        if (e["class"], e["author"]) not in seen:
            seen.add((e["class"], e["author"]))
            out.append(e)
    return out


def test_synthesize_shape_range_finite(plan):
    for e in _one_per_cell(plan):
        y = dd.synthesize_clip(e)
        assert isinstance(y, np.ndarray)
        assert y.dtype == np.float32 and y.ndim == 1
        assert len(y) == round(e["duration"] * e["sr"])
        assert np.all(np.isfinite(y))
        assert np.max(np.abs(y)) <= 1.0
        assert np.sqrt(np.mean(y.astype(np.float64) ** 2)) > 1e-4  # not silent


def test_synthesize_is_deterministic(plan):
    for e in plan[::37]:
        np.testing.assert_array_equal(dd.synthesize_clip(e), dd.synthesize_clip(dict(e)))


def test_synthesize_ignores_and_keeps_global_rng(plan):
    e = plan[5]
    np.random.seed(0)
    a = dd.synthesize_clip(e)
    state = np.random.get_state()
    np.random.seed(1)
    b = dd.synthesize_clip(e)
    np.testing.assert_array_equal(a, b)
    np.random.set_state(state)
    dd.synthesize_clip(e)
    after = np.random.get_state()
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2:] == state[2:]


def test_synthesize_differs_between_clips(plan):
    a = dd.synthesize_clip(plan[0])
    b = dd.synthesize_clip(plan[1])
    assert plan[0]["sr"] == plan[1]["sr"]
    n = min(len(a), len(b))
    assert not np.array_equal(a[:n], b[:n])


def test_synthesize_same_in_fresh_process_with_other_hash_seed(plan):
    entries = plan[::80]
    code = (
        "import sys, json, hashlib, importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('demo_data', {str(SCRIPT)!r})\n"
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        "entries = json.loads(sys.stdin.read())\n"
        "digests = [hashlib.sha256(m.synthesize_clip(e).tobytes()).hexdigest() for e in entries]\n"
        "print(json.dumps(digests))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="987")
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(entries),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    here = [hashlib.sha256(dd.synthesize_clip(e).tobytes()).hexdigest() for e in entries]
    assert json.loads(out) == here


def test_synthesize_rejects_unknown_class_or_author(plan):
    with pytest.raises(ValueError):
        dd.synthesize_clip(dict(plan[0], **{"class": "bark"}))
    with pytest.raises(ValueError):
        dd.synthesize_clip(dict(plan[0], author="nobody"))


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def test_write_demo_paths_and_no_leftovers(written, plan):
    out_dir, paths = written
    assert paths == [os.path.join(str(out_dir), *e["relpath"].split("/")) for e in plan]
    files = [p for p in Path(out_dir).rglob("*") if p.is_file()]
    on_disk = sorted(p.relative_to(out_dir).as_posix() for p in files)
    assert on_disk == sorted(e["relpath"] for e in plan)  # no temporary files left


def test_write_demo_is_byte_identical(written, plan, tmp_path):
    out_a, paths_a = written
    paths_b = dd.write_demo(tmp_path / "demo_b", plan)
    assert len(paths_a) == len(paths_b) == len(plan)
    for a, b in zip(paths_a, paths_b):
        assert Path(a).read_bytes() == Path(b).read_bytes(), a


def test_written_files_read_back(written, plan):
    _out_dir, paths = written
    for path, e in zip(paths, plan):
        info = sf.info(path)
        assert info.samplerate == e["sr"]
        assert info.frames == round(e["duration"] * e["sr"])
        assert info.channels == 1
        assert info.format == "WAV" and info.subtype == "PCM_16"
    # the content is the synthesized clip, up to 16-bit quantisation
    e = plan[123]
    y, sr = sf.read(paths[123], dtype="float32")
    assert sr == e["sr"]
    np.testing.assert_allclose(y, dd.synthesize_clip(e), atol=1.5 / 32768)


def test_write_demo_overwrites_in_place(tmp_path, plan):
    sub = plan[:3]
    first = dd.write_demo(tmp_path, sub)
    before = [Path(p).read_bytes() for p in first]
    second = dd.write_demo(str(tmp_path), sub)
    assert first == second
    assert [Path(p).read_bytes() for p in second] == before
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        e["relpath"].split("/")[1] for e in sub
    )


# ---------------------------------------------------------------------------
# Difficulty: learnable, but not by a trivial feature
# ---------------------------------------------------------------------------

_GRID = np.linspace(100.0, 7800.0, 64)  # Hz; below Nyquist of every recorder


def _mean_log_spectrum(y, sr):
    """Mean over ~32 ms frames of the log power spectrum, on a common Hz grid."""
    n_fft = 1 << int(np.ceil(np.log2(0.032 * sr)))
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[:: n_fft // 2]
    power = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) ** 2
    log_mean = np.log(power + 1e-10).mean(axis=0)
    v = np.interp(_GRID, np.fft.rfftfreq(n_fft, 1.0 / sr), log_mean)
    return v - v.mean()  # remove overall gain


def test_nearest_centroid_on_log_spectrum_beats_chance(clips, plan):
    audio, labels, authors = clips
    X = np.array([_mean_log_spectrum(y, e["sr"]) for y, e in zip(audio, plan)])
    accuracies = []
    for name, _sr, _floor in dd.RECORDERS:  # leave one recorder out
        train, test = authors != name, authors == name
        centroids = np.array([X[train & (labels == k)].mean(axis=0) for k in range(N_CLASSES)])
        dist = ((X[test, None, :] - centroids[None]) ** 2).sum(axis=-1)
        accuracies.append(np.mean(dist.argmin(axis=1) == labels[test]))
    assert np.mean(accuracies) > 0.3, accuracies  # chance is 0.2; the mean spectrum cannot tell sweep direction
    assert min(accuracies) > 0.2, accuracies  # above chance on every held-out recorder


def _best_interval_accuracy(x, y, n_intervals, n_classes):
    """Best accuracy of any classifier labelling <= n_intervals intervals of x.

    Exact optimum (dynamic programming) fitted and scored on the same data,
    i.e. an optimistic upper bound for a threshold classifier on x.
    """
    order = np.argsort(x, kind="stable")
    ys = y[order]
    n = len(ys)
    counts = np.zeros((n + 1, n_classes), dtype=int)
    counts[1:] = np.cumsum(np.eye(n_classes, dtype=int)[ys], axis=0)
    seg = (counts[None, :, :] - counts[:, None, :]).max(axis=-1)  # seg[i, j]: (i, j]
    seg = np.where(np.triu(np.ones((n + 1, n + 1), dtype=bool), 1), seg, -(10**9))
    best = seg[0].copy()
    for _ in range(n_intervals - 1):
        best = np.maximum(best, (best[:, None] + seg).max(axis=0))
    return best[n] / n


def test_rms_alone_does_not_separate_classes(clips):
    audio, labels, _authors = clips
    rms = np.array([np.sqrt(np.mean(y**2)) for y in audio])
    # multi-class: one threshold per class boundary (5 intervals), optimal fit
    acc = _best_interval_accuracy(rms, labels, N_CLASSES, N_CLASSES)
    assert acc < 0.9, acc
    # one class against the rest: best single threshold, balanced accuracy
    order = np.argsort(rms)
    for k, name in enumerate(dd.CLASSES):
        s = (labels[order] == k).astype(int)
        pos, neg = s.sum(), len(s) - s.sum()
        tp = np.r_[0, np.cumsum(s)]
        fp = np.r_[0, np.cumsum(1 - s)]
        below = 0.5 * (tp / pos + (neg - fp) / neg)
        balanced = np.maximum(below, 1.0 - below).max()
        assert balanced < 0.9, (name, balanced)


# ---------------------------------------------------------------------------
# Snakemake entry point
# ---------------------------------------------------------------------------


def _fake_snakemake(out_dir, log, n=1, output=None):
    p = dd.demo_plan(n)
    if output is None:
        output = [os.path.join(str(out_dir), *e["relpath"].split("/")) for e in p]
    return SimpleNamespace(
        params=SimpleNamespace(out_dir=str(out_dir), n_per_class_per_recorder=n),
        output=output,
        log=[str(log)],
        input=[],
    )


def test_import_has_no_side_effects():
    assert not hasattr(dd, "snakemake")
    assert callable(dd.main)


def test_script_entry_point(tmp_path):
    out_dir, log = tmp_path / "demo", tmp_path / "demo.log"
    smk = _fake_snakemake(out_dir, log, n=1)
    runpy.run_path(str(SCRIPT), init_globals={"snakemake": smk}, run_name="__main__")
    for path in smk.output:
        assert sf.info(path).frames > 0
    assert sum(1 for p in out_dir.rglob("*") if p.is_file()) == len(smk.output) == 40
    assert "wrote 40 files" in log.read_text()


def test_entry_point_checks_declared_outputs(tmp_path):
    smk = _fake_snakemake(tmp_path / "demo", tmp_path / "demo.log", n=1)
    smk.output = smk.output[:-1]
    with pytest.raises(RuntimeError, match="declared outputs differ"):
        dd.main(smk.params.out_dir, smk.output, smk.log[0], n_per_class_per_recorder=1)
    assert "declared outputs differ" in (tmp_path / "demo.log").read_text()  # traceback logged


# ---------------------------------------------------------------------------
# Soundscapes: the one-after-another plan (unchanged) and the chorus (overlapping calls)
# ---------------------------------------------------------------------------

# Recorded from the code before the chorus was added: the existing soundscapes must not change at all.
SOUNDSCAPE_PLAN_SHA256 = "d29a14c8f184882c037ffa94d1b1daa7379ad7cb183fc69d8acfd25341d09adb"
HELDOUT_PLAN_SHA256 = "f0a90c97c4a09f352f907f6f32117d8a9085f536f723d7dc0e1ffd2b7ff8aed6"
# The WAV's bytes on this machine were 7b400ca9331a5be5f0c238dd2c211625cdb3cefafe4cfd10eb4f94b310b7aac8; not
# asserted: another CPU's maths routines may round one 16-bit sample the other way.
REEF_SOUNDSCAPE_SHA256 = {
    "reef_soundscape.Table.1.selections.txt": "63aed8cd05010050ff01e6d561ade103a49dccdf2ba301d86afa00d11cae51dd",
}

OVERLAP_DIR = "results/demo_soundscapes_overlap"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _chorus_plans():
    return dd.soundscape_plan(overlap=True) + dd.soundscape_plan(heldout=True, overlap=True)


def _overlapping(a, b) -> float:
    """Seconds two (start, end, class) events share (<= 0 for none)."""
    return min(a[1], b[1]) - max(a[0], b[0])


def _window_classes(events, start, length=2.0, min_fraction=0.5):
    """The classes a window holds: events covering at least min_fraction of the shorter of event and window."""
    window = (start, start + length, None)
    return {e[2] for e in events if _overlapping(e, window) >= min_fraction * min(length, e[1] - e[0]) - 1e-9}


def test_soundscape_plan_is_unchanged():
    assert _sha256(repr(dd.soundscape_plan())) == SOUNDSCAPE_PLAN_SHA256
    assert _sha256(repr(dd.soundscape_plan(heldout=True))) == HELDOUT_PLAN_SHA256
    assert dd.soundscape_plan(overlap=False) == dd.soundscape_plan()
    for entry in dd.soundscape_plan() + dd.soundscape_plan(heldout=True):
        assert dd.overlap_share(entry["events"]) == 0.0  # calls one after another


def test_soundscape_output_is_unchanged(tmp_path):
    """The written table of one recorder is byte for byte that of the code before the chorus (its plan, above)."""
    reef = [e for e in dd.soundscape_plan() if e["author"] == "reef"]
    paths = dd.write_soundscapes(tmp_path, reef)
    assert {os.path.basename(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths
            if p.endswith(".txt")} == REEF_SOUNDSCAPE_SHA256


def test_overlap_plan_names_and_determinism():
    train, heldout = dd.soundscape_plan(overlap=True), dd.soundscape_plan(heldout=True, overlap=True)
    srs = {name: sr for name, sr, _ in dd.RECORDERS}
    assert [e["author"] for e in train] == [name for name, _sr, _ in dd.RECORDERS]
    assert [e["author"] for e in heldout] == list(dd.HELDOUT_SITES)
    for entries, suffix in ((train, "_chorus"), (heldout, "_chorus_heldout")):
        for e in entries:
            stem = e["author"] + suffix
            assert e["relpath"] == stem + ".wav" and e["table"] == stem + ".Table.1.selections.txt"
            assert e["sr"] == srs[e["author"]] and e["duration"] == dd.SOUNDSCAPE_SECONDS
    assert train == dd.soundscape_plan(overlap=True) and heldout == dd.soundscape_plan(heldout=True, overlap=True)
    train[0]["events"].append((0.0, 0.1, "mutated"))
    assert dd.soundscape_plan(overlap=True)[0]["events"][-1][2] != "mutated"  # a fresh plan every call
    # each soundscape is drawn from its own seed: no two share their calls
    assert len({repr(e["events"]) for e in train + heldout}) == len(train + heldout)


def test_overlap_plan_needs_stdlib_only_and_no_hash_seed():
    call = "soundscape_plan(overlap=True) + m.soundscape_plan(heldout=True, overlap=True)"
    assert stdlib_only(call, 4242) == json.loads(json.dumps(_chorus_plans()))


@pytest.mark.parametrize("entry", _chorus_plans(), ids=lambda e: e["relpath"])
def test_overlap_plan_events(entry):
    events = entry["events"]
    assert [e[0] for e in events] == sorted(e[0] for e in events)
    for start, end, label in events:
        assert label in dd.CLASSES
        assert round(start, 3) == start and round(end, 3) == end  # milliseconds
        assert 0.0 <= start and end <= dd.SOUNDSCAPE_SECONDS - 0.3 + 1e-9
        assert dd.MIN_DURATION - 1e-9 <= end - start <= dd.MAX_DURATION + 1e-9
    assert {e[2] for e in events} == set(dd.CLASSES)  # every class calls
    for i, a in enumerate(events):  # never two overlapping calls of one class
        for b in events[i + 1 :]:
            assert not (a[2] == b[2] and _overlapping(a, b) > 0), (a, b)
    assert 0.4 <= dd.overlap_share(events) <= 0.6, dd.overlap_share(events)
    # the overlaps are spread over the class pairs, not a few favourites
    pairs = Counter(
        frozenset((a[2], b[2])) for i, a in enumerate(events) for b in events[i + 1 :] if _overlapping(a, b) > 0
    )
    assert len(pairs) >= 5 and max(pairs.values()) <= 2, pairs
    # not wall-to-wall: 2-s windows every second hold no call, one call or two
    held = Counter(len(_window_classes(events, k)) for k in range(int(dd.SOUNDSCAPE_SECONDS) - 1))
    assert held[0] >= 8 and held[1] >= 15 and held[2] >= 8, held


def test_overlap_plans_cover_every_class_pair():
    pairs = {
        frozenset((a[2], b[2]))
        for entry in dd.soundscape_plan(overlap=True)
        for i, a in enumerate(entry["events"])
        for b in entry["events"][i + 1 :]
        if _overlapping(a, b) >= 0.5 * min(a[1] - a[0], b[1] - b[0])
    }
    assert len(pairs) == N_CLASSES * (N_CLASSES - 1) // 2


def test_overlap_share():
    a, b = (0.0, 1.0, "upsweep"), (0.5, 1.0, "clicks")
    assert dd.overlap_share([]) == 0.0
    assert dd.overlap_share([a, b, (3.0, 4.0, "upsweep")]) == pytest.approx(2 / 3)
    assert dd.overlap_share([b, a]) == 1.0  # any order
    assert dd.overlap_share([a, (0.5, 1.0, "upsweep")]) == 0.0  # the same class does not count
    half = [(0.0, 1.0, "upsweep"), (0.75, 1.25, "clicks")]  # 0.25 s: half of the shorter (0.5 s)
    assert dd.overlap_share(half) == 1.0
    assert dd.overlap_share(half, min_fraction=0.6) == 0.0
    assert dd.overlap_share([(0.0, 1.0, "upsweep"), (0.9, 1.9, "clicks")]) == 0.0  # 10 %


def test_demo_tables_of_every_demo_folder():
    def tables(plan):
        return [e["table"] for e in plan]

    assert dd.demo_tables("results/demo_audio") == []
    assert dd.demo_tables("results/demo_soundscapes") == tables(dd.soundscape_plan())
    assert dd.demo_tables("results/demo_soundscapes_heldout/") == tables(dd.soundscape_plan(heldout=True))
    assert dd.demo_tables(OVERLAP_DIR) == tables(dd.soundscape_plan(overlap=True))
    assert dd.demo_tables(OVERLAP_DIR + "/") == tables(dd.soundscape_plan(overlap=True))
    assert dd.demo_tables(OVERLAP_DIR + "_heldout") == tables(dd.soundscape_plan(heldout=True, overlap=True))
    assert dd.demo_tables(OVERLAP_DIR + "_heldout")[0] == "reef_chorus_heldout.Table.1.selections.txt"


def _power(y, sr):
    """Power spectrogram (frames x bins) with ~32 ms Hann frames, half overlapping."""
    n_fft = 1 << int(np.ceil(np.log2(0.032 * sr)))
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[:: n_fft // 2]
    return np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1)) ** 2


def test_overlap_soundscape_written_with_both_calls_audible(tmp_path):
    """In the written chorus every duet's window holds both calls: each stands out in a band of its own.

    reef_chorus has a click train peaking near 2, so the whole soundscape is scaled down by about
    half: the check also shows that this one peak normalisation leaves no overlapped call inaudible.
    """
    entry = next(e for e in dd.soundscape_plan(overlap=True) if e["author"] == "reef")
    sr, events = entry["sr"], entry["events"]
    wav, table = dd.write_soundscapes(tmp_path, [entry])
    assert Path(table).read_text() == dd.raven_table(events)
    y, file_sr = sf.read(wav, dtype="float64")
    assert file_sr == sr and len(y) == round(dd.SOUNDSCAPE_SECONDS * sr)
    assert np.max(np.abs(y)) <= 0.99 + 1.0 / 32768  # nothing clips

    noise, calls = dd._soundscape_parts(entry)
    mix = noise.copy()
    for first, call in calls:
        mix[first : first + len(call)] += call
    scale = 0.99 / np.max(np.abs(mix))
    assert scale < 0.6  # the case in point: one peak lowers the whole soundscape
    np.testing.assert_allclose(y, mix * scale, atol=1.5 / 32768)  # the calls are added, then scaled as one

    placed = []
    for first, call in calls:
        full = np.zeros(len(y))
        full[first : first + len(call)] = call * scale
        placed.append(full)
    # the noise in the file, per bin: the file where no call sounds (2 s before the first call would do too)
    busy = np.zeros(len(y), dtype=bool)
    for first, call in calls:
        busy[max(0, first - sr // 10) : first + len(call) + sr // 10] = True
    quiet_bins = _power(np.where(busy, 0.0, y), sr)
    quiet_frames = _power(busy.astype(float), sr).sum(axis=1) == 0
    quiet = quiet_bins[quiet_frames].mean(axis=0)

    duets = 0
    for i, a in enumerate(events):
        for j in range(i + 1, len(events)):
            b = events[j]
            if _overlapping(a, b) < 0.5 * min(a[1] - a[0], b[1] - b[0]):
                continue
            duets += 1
            k = int(min(a[0], b[0]))  # a 2-s window (every 1 s) that holds both calls
            if not {a[2], b[2]} <= _window_classes(events, k):
                k += 1
            assert {a[2], b[2]} <= _window_classes(events, k), (a, b)
            lo, hi = int(round(max(a[0], b[0]) * sr)), int(round(min(a[1], b[1]) * sr))
            heard = _power(y[lo:hi], sr)
            for own, other in ((i, j), (j, i)):
                mine = _power(placed[own][lo:hi], sr)
                rest = _power(placed[other][lo:hi] + noise[lo:hi] * scale, sr)
                band = mine > 4.0 * rest  # where this call is 6 dB above the other call and the noise
                assert mine[band].sum() >= 0.5 * mine.sum(), (events[own], events[other])
                # ... and there the written file is well above its own noise floor
                assert heard[band].sum() >= 4.0 * (quiet[None, :] * band).sum(), (events[own], events[other])
    assert duets >= 7


def test_entry_point_writes_the_chorus(tmp_path, monkeypatch):
    """kind='soundscapes_overlap' writes the chorus and its tables to out_dir and out_dir + '_heldout'."""
    monkeypatch.setattr(dd, "synthesize_soundscape", lambda e: np.zeros(int(e["duration"] * e["sr"]), np.float32))
    out_dir = tmp_path / "demo_soundscapes_overlap"
    declared = [
        os.path.join(f"{out_dir}{suffix}", entry[key])
        for suffix, heldout in (("", False), ("_heldout", True))
        for entry in dd.soundscape_plan(heldout=heldout, overlap=True)
        for key in ("relpath", "table")
    ]
    log = tmp_path / "demo.log"
    dd.main(str(out_dir), declared, str(log), kind="soundscapes_overlap")
    on_disk = sorted(str(p) for p in tmp_path.rglob("*") if p.is_file() and p != log)
    assert on_disk == sorted(declared) and len(declared) == 2 * (N_RECORDERS + len(dd.HELDOUT_SITES))
    assert "wrote 20 files" in log.read_text()
    for entry in dd.soundscape_plan(heldout=True, overlap=True):
        table = out_dir.parent / f"{out_dir.name}_heldout" / entry["table"]
        assert table.read_text() == dd.raven_table(entry["events"])
    with pytest.raises(ValueError, match="unknown kind"):
        dd.main(str(out_dir), [], str(log), kind="chorus")
