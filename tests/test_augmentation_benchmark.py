"""The augmentation benchmark's synthetic data: deterministic, as stated, pitch-defined and timbre-defined.

No training: the generators, the splits, the spectrograms and the table (benchmarks/augmentation.py).
"""

import re
import sys

import numpy as np
import pytest

from workflow import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import augmentation as bench  # noqa: E402


def chroma(y, sr=bench.SR, low=70.0, high=1000.0):
    """Energy of each pitch class (0 = C) in the clip's spectrum between ``low`` and ``high`` Hz."""
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    frequency = np.fft.rfftfreq(len(y), 1 / sr)
    keep = (frequency >= low) & (frequency <= high)
    classes = np.round(12 * np.log2(frequency[keep] / 440.0) + 69).astype(int) % 12
    return np.bincount(classes, weights=spectrum[keep], minlength=12)


def strongest(y, k=3):
    """The ``k`` pitch classes of most energy."""
    return set(np.argsort(chroma(y))[-k:].tolist())


def test_the_generators_are_deterministic_for_a_seed():
    a, table_a, _ = bench.pitch_set(1, seed=3, chords=["C", "Am"])
    b, table_b, _ = bench.pitch_set(1, seed=3, chords=["C", "Am"])
    c, _, _ = bench.pitch_set(1, seed=4, chords=["C", "Am"])
    assert table_a.equals(table_b)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.allclose(a[0], c[0])
    drums_a, _, _ = bench.timbre_set(1, 1, seed=3)
    drums_b, _, _ = bench.timbre_set(1, 1, seed=3)
    drums_c, _, _ = bench.timbre_set(1, 1, seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(drums_a, drums_b))
    assert drums_a[0].shape != drums_c[0].shape or not np.allclose(drums_a[0], drums_c[0])


def test_the_sets_have_the_stated_classes_counts_and_splits():
    pitch = bench.set_table("pitch")
    assert len(bench.chord_classes()) == 24 and len(set(bench.chord_classes())) == 24
    assert pitch.groupby("class").size().eq(4).all() and set(pitch["class"]) == set(bench.chord_classes())
    assert len(bench.set_table("pitch-large")) == 24 * 14
    counts = pitch["split"].value_counts()
    assert set(counts.index) == {"train", "val", "test"} and counts.sum() == 96
    assert 0.45 < counts["train"] / 96 < 0.75 and counts["val"] >= 10 and counts["test"] >= 10
    assert pitch["split"].equals(bench.set_table("pitch")["split"])  # stable for the data seed
    drums = bench.set_table("timbre")
    assert set(drums["class"]) == set(bench.DRUMS) and len(bench.DRUMS) == 7
    assert drums.groupby(["author", "class"]).size().eq(5).all() and drums["author"].nunique() == 8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_val_and_test_are_kits_never_heard_in_training(seed):
    drums = bench.set_table("timbre", seed)
    kits = {split: set(drums.loc[drums["split"] == split, "author"]) for split in ("train", "val", "test")}
    assert len(kits["val"]) == 1 and len(kits["test"]) == 1 and len(kits["train"]) == 6
    assert not kits["train"] & kits["test"] and not kits["train"] & kits["val"] and kits["val"] != kits["test"]
    # every kit plays every drum, so val and test hold every class
    assert drums.groupby("split")["class"].nunique().eq(7).all()


def test_chords_differ_by_pitch_and_takes_share_it_whatever_their_timbre():
    clips, table, _ = bench.pitch_set(3, seed=7, chords=["C", "Cm", "F#m"])
    for y, chord in zip(clips, table["class"]):
        assert strongest(y) == set(bench.pitch_classes(chord)), chord
    # C and Cm differ by one note only (E against E flat), and their clips show it
    assert bench.pitch_classes("C") != bench.pitch_classes("Cm")
    assert len(set(bench.pitch_classes("C")) & set(bench.pitch_classes("Cm"))) == 2
    # the takes of one chord differ in timbre: their spectra are not alike
    takes = [np.abs(np.fft.rfft(y))[:20000] for y in clips[:3]]
    assert min(abs(np.corrcoef(a, b)[0, 1]) for a, b in [(takes[0], takes[1]), (takes[0], takes[2])]) < 0.9


def test_voicings_keep_the_chords_pitch_classes_within_a_guitars_range():
    rng = np.random.default_rng(0)
    for chord in bench.chord_classes():
        classes = bench.pitch_classes(chord)
        notes = bench.voicing(rng, classes)
        assert 4 <= len(notes) <= 6 and notes == sorted(notes) and len(set(notes)) == len(notes)
        assert {n % 12 for n in notes} == set(classes)
        assert bench.LOWEST <= notes[0] and notes[-1] <= bench.HIGHEST


def test_a_drum_varies_in_pitch_from_kit_to_kit():
    rng = np.random.default_rng(1)
    tunings = [bench.drum_kit(rng)["tuning"] for _ in range(8)]
    assert max(tunings) / min(tunings) > 2 ** (3 / 12)  # more than the default warp's 1.3 semitones
    kit = bench.drum_kit(rng)
    toms = [bench.drum_hit(rng, kit, "tom") for _ in range(6)]
    size = 1 << 16
    peaks = [np.argmax(np.abs(np.fft.rfft(y, size))[: size // 40]) * bench.SR / size for y in toms]
    assert 12 * np.log2(max(peaks) / min(peaks)) > 2  # low, mid and high toms: 4 and 7 semitones apart


def test_clips_are_finite_and_not_silent_and_make_the_workflows_spectrograms():
    chords, _, _ = bench.pitch_set(1, seed=0, chords=["G", "Em"])
    drums, table, classes = bench.timbre_set(1, 1, seed=0)
    assert list(table["class"]) == classes == list(bench.DRUMS)
    for y in chords + drums:
        assert np.all(np.isfinite(y)) and 0.2 < np.max(np.abs(y)) <= 1.0
    x = bench.spectrograms([chords[0], drums[0], drums[2]])
    assert x.shape == (3, 128, 87, 1) and x.dtype == np.float32
    assert np.all(np.isfinite(x)) and x.min() >= 0 and x.max() <= 1
    assert all(example.std() > 0.05 for example in x)


def test_the_plan_and_the_table():
    runs = bench.PLAN
    assert len(runs) == len(set(runs)) and all(name in bench.CANDIDATES for _, name, _ in runs)
    assert {name for name, _, _ in runs} == set(bench.SETS)
    assert set(bench.CANDIDATES["all off"]) == set(bench.AUGMENTATIONS)
    # the frequency warp on every set comes first, so that a run stopped by --cpu-minutes still compares it
    first = runs[:8]
    assert {name for name, _, _ in first} == set(bench.SETS) and {seed for *_, seed in first} == {42}
    assert {c for name, c, _ in first if name == "timbre"} == {"defaults", "freq_warp: 0", "freq_warp: 0.04"}
    # every candidate on the pitch set, the main ones over three seeds
    pitch = [(c, seed) for name, c, seed in runs if name == "pitch"]
    assert {c for c, _ in pitch} == set(bench.CANDIDATES)
    assert all(sorted(seed for c, seed in pitch if c == main) == sorted(bench.SEEDS) for main in bench.MAIN)
    records = [{"set": "pitch", "candidate": c, "seed": s, "test": t, "val": 0.5, "held_out": h, "train": 1.0,
                "steps": 480, "cpu_seconds": 60.0, "baseline": 0.3, "baseline_held_out": 0.4, "load": 1.0}
               for c, s, t, h in [("defaults", 42, 0.25, 0.5), ("defaults", 1, 0.5, 0.25),
                                  ("freq_warp: 0", 42, 0.75, 0.75)]]
    table = bench.report(records, {"pitch": "`pitch`: chords"})
    assert "| **defaults** | 0.375 | 0.250, 0.500, – | 0.375 | 0.500, 0.250, – |  | 1.000 | 60 |" in table
    assert "| freq_warp: 0 | 0.750 | 0.750, –, – | 0.750 | 0.750, –, – | +0.250 | 1.000 | 60 |" in table  # seed 42 only
    assert "| baseline (logistic regression) | 0.300 | | 0.400 | | | | |" in table
    assert re.search(r"3 runs, 3 CPU min; load average 1.0 to 1.0", table)
