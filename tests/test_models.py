"""The baseline, augmentation and the model options on tiny synthetic data (no workflow run)."""

import sys

import numpy as np
import pytest

import augment
import baseline
import compare_branches
import loaders
import settings
import train
from workflow import ROOT

CLASSES = ["low", "mid", "high"]


def tiny_dataset(per_split=(24, 9, 9, 0), n_freq=16, n_frames=20, seed=0):
    """Spectrograms whose class is a bright band at a class-specific frequency, at a random time.

    ``per_split`` gives the rows of train, val, test and holdout.
    """
    rng = np.random.default_rng(seed)
    n = sum(per_split)
    labels = np.arange(n) % len(CLASSES)
    features = 0.2 * rng.random((n, n_freq, n_frames, 1)).astype(np.float32)
    for i, c in enumerate(labels):
        start = rng.integers(0, n_frames // 2)
        features[i, 2 + 5 * c : 4 + 5 * c, start : start + n_frames // 2, 0] += 0.7
    split = np.repeat(["train", "val", "test", "holdout"], per_split)
    return loaders.Dataset(features=features, labels=labels, authors=split.copy(), split=split,
                           ids=np.array([f"c{i}" for i in range(n)]), classes=list(CLASSES))


def tiny_training(**changes):
    values = {"epochs": 12, "min_steps": 0, "batch_size": 16, "conv_blocks": 2, "filters": 8, "dense_units": 16,
              "early_stopping_patience": 0, "learning_rate": 0.01}
    values.update(changes)
    return settings.complete("training", values)


NO_AUGMENTATION = {"freq_warp": 0, "time_shift": 0, "time_masks": 0, "freq_masks": 0, "mixup_alpha": 0}


# --- baseline -------------------------------------------------------------------------------------------------


def test_band_statistics_are_mean_std_max_over_time_per_row():
    x = np.arange(2 * 3 * 4 * 2, dtype=np.float32).reshape(2, 3, 4, 2)
    stats = baseline.band_statistics(x)
    assert stats.shape == (2, 3 * 3 * 2)
    np.testing.assert_allclose(stats[1, :6], x[1].mean(axis=1).ravel())
    np.testing.assert_allclose(stats[1, 6:12], x[1].std(axis=1).ravel())
    np.testing.assert_allclose(stats[1, 12:], x[1].max(axis=1).ravel())
    np.testing.assert_allclose(baseline.summary_features(x, batch=1), stats)


def test_baseline_is_fitted_on_the_train_split_only():
    data = tiny_dataset()
    fitted, metrics = baseline.run_baseline(data, ("val", "test", "holdout"))
    assert metrics["holdout"] is None and metrics["test"]["n"] == 9
    assert metrics["test"]["accuracy"] == 1.0  # the bands are trivially separable
    changed = tiny_dataset()
    others = changed.split != "train"
    changed.features[others] = np.random.default_rng(5).random(changed.features[others].shape)
    changed.labels[others] = 0
    refitted, _ = baseline.run_baseline(changed, ("val", "test", "holdout"))
    np.testing.assert_array_equal(fitted[0].mean_, refitted[0].mean_)
    np.testing.assert_array_equal(fitted[-1].coef_, refitted[-1].coef_)


def test_verdict_warns_with_the_figures_when_the_cnn_does_not_beat_the_baseline():
    cnn = {"val": {"n": 10, "accuracy": 0.6, "macro_f1": 0.55}}
    base = {"val": {"n": 10, "accuracy": 0.7, "macro_f1": 0.65}}
    beats, message = baseline.verdict(cnn, base)
    assert beats is False and message.startswith("WARNING") and "0.600" in message and "0.700" in message
    assert baseline.verdict(base, cnn)[0] is True
    assert baseline.verdict({"val": None}, base)[0] is None
    record = compare_branches.comparison(
        {"npy": {"val": cnn["val"], "test": cnn["val"], "holdout": None, "baseline": {**base, "test": base["val"],
                                                                                       "holdout": None},
                 "training": {"epochs_run": 9, "steps_per_epoch": 4, "passes_per_epoch": 2, "steps": 36,
                              "kept_epoch": 4, "seconds_per_epoch": 1.5, "seconds": 13.5},
                 "advice": ["Train longer: 36 optimiser steps in all."]}},
        0.001,
    )
    text = compare_branches.markdown(record)
    assert "| npy | test | 10 | 0.600 | 0.550 | – | – | 0.700 | 0.650 | – |" in text  # no mAP in these metrics
    assert "| npy | 9 | 36 (4; 2) | 4 | 1.5 | 13.5 |" in text
    assert "npy: WARNING: the CNN does not beat the baseline" in text
    assert "npy: what to try first:\n\n- Train longer: 36 optimiser steps in all.\n" in text  # metrics.json's advice


def test_a_multi_label_verdict_compares_macro_map():
    cnn = {"multi_label": True, "val": {"n": 10, "accuracy": 0.2, "macro_f1": 0.5, "macro_map": 0.8}}
    base = {"val": {"n": 10, "accuracy": 0.4, "macro_f1": 0.6, "macro_map": 0.7}}
    beats, message = baseline.verdict(cnn, base)  # worse exact-match accuracy, better mAP: mAP decides
    assert beats is True and "val macro mAP 0.800 (macro-F1 0.500) against the baseline's 0.700 (0.600)" in message
    beats, message = baseline.verdict({**cnn, "val": {**cnn["val"], "macro_map": 0.6}}, base)
    assert beats is False and message.startswith("WARNING")
    assert baseline.verdict({**cnn, "val": {**cnn["val"], "macro_map": None}}, base)[0] is None


# --- augmentation ---------------------------------------------------------------------------------------------


def test_augmentations_keep_shapes_and_mask_with_the_minimum():
    rng = np.random.default_rng(0)
    x = rng.random((4, 8, 10, 1)).astype(np.float32) + 1.0
    shifted = augment.time_shift(x, 0.3, np.random.default_rng(1))
    assert shifted.shape == x.shape and not np.array_equal(shifted, x)
    np.testing.assert_array_equal(np.sort(shifted, axis=2), np.sort(x, axis=2))  # rolled: nothing lost
    masked = augment.mask_bands(x, 1, 2, 0.5, np.random.default_rng(2))
    changed = masked != x
    assert changed.any() and np.all(masked[changed] == x.min())
    assert augment.time_shift(x, 0.0, rng) is x and augment.mask_bands(x, 2, 0, 0.5, rng) is x
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0]]
    mixed_x, mixed_y, mixed_w = augment.mixup(x, y, np.ones(4, np.float32), 0.4, np.random.default_rng(3))
    np.testing.assert_allclose(mixed_y.sum(axis=1), 1.0, rtol=1e-6)
    assert mixed_y.max(axis=1).min() >= 0.5 and mixed_x.shape == x.shape and np.allclose(mixed_w, 1.0)


def test_frequency_warp_moves_a_band_by_the_factor_and_keeps_the_lowest_row():
    n_freq, warp = 64, 0.1
    x = np.zeros((200, n_freq, 5, 1), np.float32)
    x[:, 0] = 0.5  # the lowest row stays where it is
    x[:, 40] = 1.0  # one bright band
    warped = augment.frequency_warp(x, warp, np.random.default_rng(0))
    assert warped.shape == x.shape and augment.frequency_warp(x, 0.0, np.random.default_rng(0)) is x
    assert warped.min() >= 0.0 and warped.max() <= 1.0  # interpolated between neighbouring rows only
    np.testing.assert_array_equal(warped[:, 0], x[:, 0])
    centre = (warped[:, 1:, 0, 0] * np.arange(1, n_freq)).sum(axis=1) / warped[:, 1:, 0, 0].sum(axis=1)
    assert np.all(centre >= 40 / (1 + warp) - 0.01) and np.all(centre <= 40 * (1 + warp) + 0.01)
    assert (centre < 39).any() and (centre > 41).any()  # moved both ways
    np.testing.assert_array_equal(warped, augment.frequency_warp(x, warp, np.random.default_rng(0)))  # seeded
    ramp = np.broadcast_to(np.linspace(0, 1, n_freq, dtype=np.float32)[None, :, None, None], (3, n_freq, 5, 1))
    assert np.all(np.diff(augment.frequency_warp(ramp, warp, np.random.default_rng(1)), axis=1) >= 0)  # slope kept


def test_augmentation_is_seeded_and_only_for_the_batches_given_it():
    from model import make_batches

    data = tiny_dataset()
    rows = data.indices("train")
    setting = tiny_training()

    def first_epoch(augmentation, seed=7):
        feeder = make_batches(data.features, data.labels, rows, 8, seed, 3, None, augmentation)
        return [feeder[i] for i in range(len(feeder))]

    plain, once, again = first_epoch(None), first_epoch(setting), first_epoch(setting)
    other_seed = first_epoch(setting, seed=8)
    for (x0, y0), (x1, y1), (x2, y2) in zip(plain, once, again):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)
        assert not np.array_equal(x0, x1)
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(once, other_seed))
    # without augmentation a batch is the rows as stored, with one-hot labels
    x0, y0 = plain[0]
    order = np.sort(np.random.default_rng(7).permutation(rows)[:8])
    np.testing.assert_array_equal(x0, data.features[order])
    np.testing.assert_array_equal(y0.argmax(axis=1), data.labels[order])


def test_train_augments_the_train_split_only(monkeypatch):
    import model

    calls = []
    real = model.make_batches

    def spy(features, labels, indices, *args, **kwargs):
        augmentation = args[4] if len(args) > 4 else kwargs.get("augmentation")
        calls.append((tuple(indices), augmentation is not None))
        return real(features, labels, indices, *args, **kwargs)

    monkeypatch.setattr(model, "make_batches", spy)
    data = tiny_dataset()
    _, _, summary = train.train(data, tiny_training(epochs=1), threads=None)
    augmented = {rows for rows, on in calls if on}
    assert augmented == {tuple(data.indices("train"))}
    assert (tuple(data.indices("val")), False) in calls
    assert summary["epochs_run"] == 1 and summary["kept_epoch"] == 1 and summary["seconds_per_epoch"] > 0


def test_a_small_split_is_passed_over_several_times_per_epoch_each_pass_whole_and_in_its_own_order():
    from model import make_batches, passes_per_epoch

    data = tiny_dataset()
    rows = data.indices("train")  # 24 rows: 3 batches of 8 per pass
    one = make_batches(data.features, data.labels, rows, 8, 7, 3)
    three = make_batches(data.features, data.labels, rows, 8, 7, 3, passes=3)
    assert len(one) == 3 and len(three) == 9
    seen = [np.concatenate([three[i][0] for i in range(p * 3, p * 3 + 3)]) for p in range(3)]
    for features in seen:  # every pass feeds every training row exactly once
        assert sorted(map(bytes, features)) == sorted(map(bytes, data.features[rows]))
    for i in range(3):  # the first pass is the one-pass epoch
        np.testing.assert_array_equal(three[i][0], one[i][0])
    assert not all(np.array_equal(three[i][0], three[i + 3][0]) for i in range(3))  # another order
    np.testing.assert_array_equal(three[5][0], make_batches(data.features, data.labels, rows, 8, 7, 3, passes=3)[5][0])
    # passes reach min_steps over the run, and stay 1 when one pass per epoch already does
    assert passes_per_epoch(24, 8, 10, 0) == 1 and passes_per_epoch(24, 8, 10, 30) == 1
    assert passes_per_epoch(24, 8, 10, 31) == 2 and passes_per_epoch(24, 8, 10, 400) == 14
    assert passes_per_epoch(1, 32, 1, 5) == 5


def test_min_steps_sets_the_steps_of_a_run_and_the_summary_reports_them():
    data = tiny_dataset()
    model, history, summary = train.train(data, tiny_training(epochs=3, min_steps=20, batch_size=8), threads=None)
    # 24 rows in batches of 8: 3 steps per pass; 3 epochs of 3 steps fall short of 20, so 3 passes per epoch
    assert summary["passes_per_epoch"] == 3 and summary["steps_per_epoch"] == 9 and summary["steps"] == 27
    assert len(history) == summary["epochs_run"] == 3
    assert int(model.optimizer.iterations.numpy()) == 27


def few_per_class(classes=25, per_class=(2, 1, 2), n_freq=48, n_frames=24, seed=0):
    """The issue's chord set in small: 25 classes, each three tones at pitches of its own, over strong noise.

    Two training examples per class (50 clips: 2 steps of 32 per pass), one for
    val, two for test; each example's tones start at a random time.
    """
    rng = np.random.default_rng(seed)
    tones = [rng.choice(np.arange(2, n_freq - 2), 3, replace=False) for _ in range(classes)]
    labels = np.concatenate([np.repeat(np.arange(classes), n) for n in per_class])
    split = np.repeat(["train", "val", "test"], [classes * n for n in per_class])
    features = 0.5 * rng.random((len(labels), n_freq, n_frames, 1)).astype(np.float32)
    for i, c in enumerate(labels):
        start = rng.integers(0, n_frames // 2)
        features[i, tones[c], start : start + n_frames // 3, 0] += 0.3
    return loaders.Dataset(features=features, labels=labels, authors=split.copy(), split=split,
                           ids=np.array([f"c{i}" for i in range(len(labels))]),
                           classes=[f"k{c}" for c in range(classes)])


def test_a_handful_of_examples_per_class_is_learned_with_the_default_min_steps():
    """One pass per epoch makes 120 steps in 60 epochs: the network has not left its random start (issue 25)."""
    data = few_per_class()
    rows = data.indices("train")
    results = {}
    for min_steps in (0, settings.defaults("training")["min_steps"]):
        model, _, summary = train.train(data, settings.complete("training", {"min_steps": min_steps}),
                                        threads=None)
        metrics = train.evaluate(model, data, 32)[0]
        fitted = model.predict(data.features[rows], verbose=0).argmax(axis=1) == data.labels[rows]
        results[min_steps] = summary, float(fitted.mean()), metrics["test"]["accuracy"]
    (few, few_fit, few_test), (enough, fit, test) = results.values()
    assert few["steps"] == 120 and few["passes_per_epoch"] == 1
    assert enough["steps"] == 480 and enough["passes_per_epoch"] == 4 and enough["epochs_run"] == 60
    assert few_fit < 0.8, "one pass per epoch learned its training data: the test no longer shows the need"
    assert fit >= 0.95 and test >= 0.7 and test >= few_test + 0.3, results


def test_same_seed_same_weights_with_augmentation():
    data = tiny_dataset()
    setting = tiny_training(epochs=2)
    first, _, _ = train.train(data, setting, threads=None)
    second, _, _ = train.train(data, setting, threads=None)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


# --- model options --------------------------------------------------------------------------------------------


def test_batch_norm_momentum_follows_the_steps_per_epoch():
    from model import batch_norm_momentum

    assert batch_norm_momentum(1) == pytest.approx(0.5)
    assert batch_norm_momentum(10) == pytest.approx(0.8)
    assert batch_norm_momentum(10_000) == pytest.approx(0.99)


def test_global_pooling_head_takes_any_input_length():
    from model import build_cnn, setup_keras

    setup_keras(seed=0)
    model = build_cnn((16, None, 1), 3, tiny_training(head="global_pool", lr_schedule="constant"))
    for frames in (20, 37):
        out = model.predict(np.zeros((2, 16, frames, 1), np.float32), verbose=0)
        assert out.shape == (2, 3)
    flat = build_cnn((16, 20, 1), 3, tiny_training(head="flatten"))
    assert flat.count_params() > model.count_params()


@pytest.mark.parametrize("options", [
    {"batch_norm": True, "head": "global_pool", "weight_decay": 1e-3, "lr_schedule": "cosine"},
    {"batch_norm": True, "head": "flatten", "weight_decay": 0.0, "lr_schedule": "constant"},
])
def test_batch_norm_models_learn_with_few_steps_per_epoch(options):
    """Two steps per epoch: with Keras' default momentum the moving statistics would still be near 0 and 1."""
    data = tiny_dataset(per_split=(30, 15, 15, 0))
    model, _, _ = train.train(data, tiny_training(**options, **NO_AUGMENTATION), threads=None)
    metrics = train.evaluate(model, data, 16)[0]
    predicted = [name for name, m in metrics["test"]["per_class"].items() if m["recall"] > 0]
    assert len(predicted) == 3, "evaluation collapsed to fewer classes"
    assert metrics["test"]["accuracy"] >= 0.8


def test_per_example_normaliser_removes_a_constant_offset_per_frequency_row_and_keeps_the_spread():
    from model import build_cnn, frequency_statistics, setup_keras

    setup_keras(seed=0)
    data = tiny_dataset()
    x = data.features[:6]
    tilt = np.linspace(-0.3, 0.3, 16, dtype=np.float32).reshape(1, 16, 1, 1)
    shifted = x + tilt  # another recorder: each band louder or softer by as many dB throughout
    model = build_cnn((16, 20, 1), 3, tiny_training(normalizer="per_example"))
    np.testing.assert_allclose(model.predict(shifted, verbose=0), model.predict(x, verbose=0), atol=1e-4)
    stats = frequency_statistics(data.features, data.indices("train"))
    both = build_cnn((16, 20, 1), 3, tiny_training(normalizer="both"), stats)
    views = type(both)(both.inputs, both.get_layer("both_views").output)
    seen, seen_shifted, seen_louder = (views.predict(v, verbose=0) for v in (x, shifted, 2 * x))
    assert seen.shape == (6, 16, 20, 2)  # channel 0: per_frequency (train statistics), 1: per_example
    assert not np.allclose(seen_shifted[..., 0], seen[..., 0], atol=1e-2)  # keeps the levels of every band
    np.testing.assert_allclose(seen_shifted[..., 1], seen[..., 1], atol=1e-4)
    np.testing.assert_allclose(seen[..., 1].mean(axis=2), 0.0, atol=1e-5)  # every row centred on its mean
    # a band that varies twice as much stays more varied (not blown up or squeezed to unit variance)
    spread, spread_louder = seen[..., 1].std(axis=2), seen_louder[..., 1].std(axis=2)
    assert np.all(spread_louder > 1.2 * spread) and np.all(spread < 1.0)


def test_per_example_normaliser_leaves_padding_and_silence_out_of_the_statistics():
    """A clip padded with silent frames (pad_mode) is normalised as the clip alone; the padding stays 0."""
    from model import per_example_normalization, setup_keras

    keras = setup_keras(seed=0)
    x = tiny_dataset().features[:4]
    padded = np.concatenate([np.zeros((4, 16, 5, 1), np.float32), x, np.zeros((4, 16, 25, 1), np.float32)], axis=2)
    layer = per_example_normalization()()
    alone, in_padding = (keras.ops.convert_to_numpy(layer(v)) for v in (x, padded))
    np.testing.assert_allclose(in_padding[:, :, 5:25], alone, atol=1e-5)
    assert np.all(in_padding[:, :, :5] == 0) and np.all(in_padding[:, :, 25:] == 0)
    np.testing.assert_allclose(alone.mean(axis=2), 0.0, atol=1e-5)
    silent = keras.ops.convert_to_numpy(layer(np.zeros((1, 16, 20, 1), np.float32)))
    assert np.all(silent == 0)  # no sounding frame: zeros, never NaN


def test_weight_averaging_keeps_the_mean_of_the_last_epochs():
    from model import build_cnn, setup_keras

    setup_keras(seed=0)
    model = build_cnn((16, 20, 1), 3, tiny_training())
    averager = train.weight_averager(2)
    averager.set_model(model)
    start = model.get_weights()
    for step in (1.0, 2.0, 4.0):  # three "epochs"; only the last two are averaged
        model.set_weights([w + step for w in start])
        averager.on_epoch_end(0)
    averager.on_train_end()
    for kept, first in zip(model.get_weights(), start):
        np.testing.assert_allclose(kept, first + 3.0, rtol=1e-6, atol=1e-6)


def test_averaged_model_learns_and_reports_the_epochs_it_averaged():
    data = tiny_dataset(per_split=(30, 15, 15, 0))
    model, history, summary = train.train(data, tiny_training(average_epochs=4, **NO_AUGMENTATION), threads=None)
    metrics = train.evaluate(model, data, 16)[0]
    assert summary["averaged_epochs"] == 4 and summary["kept_epoch"] == summary["epochs_run"] == len(history) == 12
    assert metrics["test"]["accuracy"] >= 0.8
    assert summary["kept_val_loss"] != pytest.approx(history["val_loss"].iloc[-1])  # the averaged model's own


def test_accuracy_benchmark_table_says_which_goals_are_met():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import accuracy

    def row(dataset, branch, cnn, base, seconds):
        return {"dataset": dataset, "branch": branch, "cnn": {"n": 500, "accuracy": cnn, "macro_f1": cnn},
                "baseline": {"accuracy": base, "macro_f1": base}, "training": {"kept_epoch": 3, "epochs_run": 9},
                "seconds": seconds, "cpu_seconds": seconds}

    table = accuracy.report([row("fsdd", "npy", 0.96, 0.7, 200), row("fsdd", "png", 0.6, 0.7, 200)], 2)
    assert "| fsdd | npy | 500 | 0.700 | 0.700 | 0.960 | 0.960 | 3 / 9 | 200 | 200 | CNN ≥ 0.95, CNN > baseline | yes |" in table
    assert "| fsdd | png |" in table and table.count("**no**") == 2  # png below its baseline; 400 s > 340 s
    timed = [dict(row("fsdd", branch, 0.96, 0.7, 200), stage_seconds=215.0) for branch in ("npy", "png")]
    table = accuracy.report(timed, 2)
    assert "Both FSDD models trained in 215 s" in table and table.count("**no**") == 0  # side by side: 215 s
    averaged = row("demo", "npy", 0.9, 0.5, 30)
    averaged["training"] = {"kept_epoch": 40, "epochs_run": 40, "averaged_epochs": 10}
    assert "| 0.900 | 0.900 | 31–40 / 40 |" in accuracy.report([averaged], 2)


def test_the_comparison_says_which_weights_were_kept():
    import compare_branches

    assert compare_branches.kept_epochs({"epochs_run": 40, "kept_epoch": 40, "averaged_epochs": 10}) == "31–40 (mean)"
    assert compare_branches.kept_epochs({"epochs_run": 29, "kept_epoch": 21}) == "21"
    assert compare_branches.kept_epochs(None) == "–"
