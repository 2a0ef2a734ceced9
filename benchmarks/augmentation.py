"""Benchmark of the training augmentations on classes defined by pitch and on classes defined by timbre.

Issue 25: ``training.freq_warp`` stretches the frequency axis by up to ±8 % (about 1.3 semitones), which
shifts pitch, and pitch is the class of a chord, a note or some calls; on a user's guitar chords it cost the
CNN most of its accuracy. This benchmark measures every augmentation on both kinds of data, with synthetic
sets made in memory, deterministically from ``--data-seed``, as audio, then turned into the workflow's own NPY
spectrograms (:func:`spectrogram_math.spectrogram_from_audio`) with the settings of that guitar set
(:data:`SPECTROGRAM`: sr 22050, n_fft 4096, hop 512, 128 mels, 2 s, mono):

- ``pitch``: strummed guitar-like chords, 24 classes (major and minor triads on 12 roots), 4 takes each, split
  by file 60/20/20 as the workflow's ``split.by: file`` does. Every take has its own timbre (harmonic
  roll-off, pluck position, decay, damping, inharmonicity, attack, tuning within ±15 cents, strings detuned by
  a few cents, strum speed and direction, a voicing over 4 to 6 strings that keeps the chord's pitch classes,
  a noise floor): only the pitch classes tell the chords apart.
- ``pitch-large``: the same with 14 takes per class, so the result is not only about tiny data.
- ``timbre``: drum one-shots of 7 kinds (kick, snare, closed and open hi-hat, tom, clap, rim) by 8
  synthetic kits, 5 hits each. Every kit has its own tuning (±6 semitones), decay, drive, room, low-pass
  and noise floor, and its toms are three drums (low, mid, high): pitch varies within every class. One kit is the
  test split, never heard in training, another the val split (``split.assign``), the other 6 train.

Each candidate (changes to the default ``training`` settings, :data:`CANDIDATES`) is trained in-process by
``train.train`` on one thread and measured by ``train.evaluate``; the baseline (``baseline.run_baseline``)
and the kept model's accuracy on its unaugmented training split stand beside it. The sizes are chosen so
that a run makes about ``training.min_steps`` (400) optimiser steps, the least any run makes; a run still
takes about 3 CPU minutes on the 128 × 87 spectrograms, so the runs of :data:`PLAN` come most telling first
and ``--cpu-minutes`` stops the plan when its budget is spent (``--runs`` resumes it later).

Usage::

    .venv/bin/python benchmarks/augmentation.py --out benchmarks/augmentation.md --runs runs.jsonl --cpu-minutes 40
    .venv/bin/python benchmarks/augmentation.py --quick                  # 1 seed, 3 candidates (~20 CPU min)
    .venv/bin/python benchmarks/augmentation.py --quick --training '{"epochs": 2, "min_steps": 0}'  # debug
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import settings  # noqa: E402
from demo_data import _band_filter as band_filter  # noqa: E402
from demo_data import _log_uniform as log_uniform  # noqa: E402
from demo_data import _recorder_noise as noise_floor  # noqa: E402

SR = 22050
SPECTROGRAM = {"sr": SR, "n_fft": 4096, "hop_length": 512, "n_mels": 128, "duration": 2.0, "channels": "mono"}
"""The spectrogram settings of the users' guitar-chord set (issue 25), used for both synthetic sets."""

ROOTS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
TRIADS = {"": (0, 4, 7), "m": (0, 3, 7)}
"""Semitones above the root of a major (``C``) and a minor (``Cm``) triad."""
LOWEST, HIGHEST = 40, 76
"""MIDI notes of a strum: from E2, a guitar's low string, to E5."""
CLIP_SECONDS = 2.2
"""Length of a synthetic strum; the spectrogram cuts it to ``SPECTROGRAM['duration']``, as it cuts a recording."""

DRUMS = ("kick", "snare", "closed_hat", "open_hat", "tom", "clap", "rim")
DRUM_SECONDS = {"kick": 0.8, "snare": 0.6, "closed_hat": 0.3, "open_hat": 1.2, "tom": 1.0, "clap": 0.5, "rim": 0.25}
"""Typical length of each kind of one-shot file (a hit's file is 0.6 to 1.5 times as long, at most 2 s, and fades
out over its last 10 ms); the spectrogram pads it to 2 s with silence, as the workflow does."""

SETS = {
    "pitch": {"kind": "pitch", "takes": 4},
    "pitch-large": {"kind": "pitch", "takes": 14},
    "timbre": {"kind": "timbre", "kits": 8, "hits": 5},
}
"""The data sets: 96 chords (59 train clips: 2 batches a pass, 4 passes an epoch), 336 chords (219 train
clips: 7 batches), 280 drums (210 train clips: 7 batches)."""

AUGMENTATIONS = ("freq_warp", "time_shift", "time_masks", "freq_masks", "mixup_alpha")
CANDIDATES = {
    "defaults": {},
    "freq_warp: 0": {"freq_warp": 0},
    "freq_warp: 0.02": {"freq_warp": 0.02},
    "freq_warp: 0.04": {"freq_warp": 0.04},
    "time_shift: 0": {"time_shift": 0},
    "time_masks: 0": {"time_masks": 0},
    "freq_masks: 0": {"freq_masks": 0},
    "mixup_alpha: 0": {"mixup_alpha": 0},
    "all off": {key: 0 for key in AUGMENTATIONS},
}
"""Changes to the default training settings, one candidate each."""
SEEDS = (42, 1, 2)
MAIN = ("defaults", "freq_warp: 0", "freq_warp: 0.04")
SINGLE = ("time_shift: 0", "time_masks: 0", "freq_masks: 0", "mixup_alpha: 0")
PLAN = (
    [("pitch", c, 42) for c in MAIN] + [("timbre", "defaults", 42), ("timbre", "freq_warp: 0", 42)]
    + [("pitch-large", c, 42) for c in MAIN[:2]] + [("timbre", "freq_warp: 0.04", 42)]
    + [("pitch", "all off", 42), ("timbre", "all off", 42), ("pitch", "freq_warp: 0.02", 42)]
    + [("pitch-large", "freq_warp: 0.04", 42)]
    + [(name, c, 42) for name in ("pitch", "timbre") for c in SINGLE]
    + [(name, c, seed) for seed in SEEDS[1:] for name in ("pitch", "timbre") for c in MAIN]
)
"""The runs ``(set, candidate, training seed)``, most telling first, so that a run stopped by ``--cpu-minutes``
still answers the question: the frequency warp on every set, all augmentations off, the others one by one,
then more seeds (a run takes about 3 CPU minutes on the 128 × 87 spectrograms)."""
QUICK_PLAN = [(name, c, 42) for name in ("pitch", "timbre") for c in ("defaults", "freq_warp: 0", "all off")]
EVALUATED = ("val", "test", "holdout")


# --- Synthesis: chords (class = pitch) ---


def chord_classes():
    """Names of the chord classes, major then minor on every root: ``C``, ``Cm``, ``C#``, ``C#m``, ….

    Returns
    -------
    list of str
    """
    return [root + quality for root in ROOTS for quality in TRIADS]


def pitch_classes(chord):
    """The three pitch classes (0 = C) of a chord name such as ``F#m``.

    Examples
    --------
    >>> pitch_classes("C"), pitch_classes("Am"), pitch_classes("F#")
    ((0, 4, 7), (9, 0, 4), (6, 10, 1))
    """
    quality = "m" if chord.endswith("m") else ""
    root = ROOTS.index(chord[: len(chord) - len(quality)])
    return tuple((root + step) % 12 for step in TRIADS[quality])


def voicing(rng, classes):
    """MIDI notes of one strum, low to high: 4 to 6 strings, each a chord tone, every pitch class present.

    The lowest note is the root three times in four, else the third or fifth
    (an inversion); the others are drawn from the chord tones up to 17 to 28
    semitones above it, within :data:`LOWEST` to :data:`HIGHEST`.

    Parameters
    ----------
    rng : numpy.random.Generator
    classes : tuple of int
        The chord's pitch classes, root first (:func:`pitch_classes`).

    Returns
    -------
    list of int
    """
    strings = int(rng.integers(4, 7))
    bass_class = classes[0] if rng.random() < 0.75 else classes[int(rng.integers(1, 3))]
    bass = LOWEST + (bass_class - LOWEST) % 12
    top = int(rng.integers(bass + 17, min(HIGHEST, bass + 28) + 1))
    tones = [note for note in range(bass + 1, top + 1) if note % 12 in classes]
    while True:
        notes = [bass] + sorted(int(n) for n in rng.choice(tones, size=min(strings - 1, len(tones)), replace=False))
        if {note % 12 for note in notes} == set(classes):
            return notes


def guitar_timbre(rng):
    """One take's instrument and playing: every value that is not the chord, drawn at random.

    Returns
    -------
    dict
        ``rolloff`` (harmonic amplitude ∝ k^-rolloff), ``pluck`` (pluck position,
        a fraction of the string), ``decay`` (s, of the fundamental), ``damping``
        (how much faster higher harmonics decay), ``inharmonicity``, ``brightness``
        (Hz, highest partial), ``attack`` (s), ``tuning`` (cents, the whole take),
        ``detune`` (cents, spread between strings), ``gap`` (s between strings),
        ``upstroke``, ``floor_db`` (noise floor, dB below the peak).
    """
    return {
        "rolloff": rng.uniform(0.7, 2.0),
        "pluck": rng.uniform(0.08, 0.3),
        "decay": log_uniform(rng, 0.5, 3.0),
        "damping": rng.uniform(0.05, 0.4),
        "inharmonicity": log_uniform(rng, 1e-5, 2e-4),
        "brightness": rng.uniform(3000.0, 7000.0),
        "attack": rng.uniform(0.001, 0.015),
        "tuning": rng.uniform(-15.0, 15.0),
        "detune": rng.uniform(1.0, 6.0),
        "gap": rng.uniform(0.008, 0.04),
        "upstroke": bool(rng.random() < 0.3),
        "floor_db": rng.uniform(-60.0, -40.0),
    }


def plucked_string(rng, frequency, n, sr, timbre):
    """One plucked string: harmonics with a roll-off, a pluck-position comb and decays that shorten with height.

    Parameters
    ----------
    rng : numpy.random.Generator
    frequency : float
        Fundamental in Hz.
    n : int
        Samples.
    sr : int
    timbre : dict
        :func:`guitar_timbre`.

    Returns
    -------
    np.ndarray
        ``(n,)``, peak about 1.
    """
    k = np.arange(1, 25)
    partials = k * frequency * np.sqrt(1.0 + timbre["inharmonicity"] * k**2)
    keep = partials < min(timbre["brightness"], 0.45 * sr)
    k, partials = k[keep], partials[keep]
    amplitude = (k ** -timbre["rolloff"] * (0.05 + np.abs(np.sin(np.pi * k * timbre["pluck"])))
                 * rng.lognormal(0.0, 0.2, len(k)))
    decay = timbre["decay"] / (1.0 + timbre["damping"] * (k - 1))
    phase = rng.uniform(0.0, 2 * np.pi, len(k))
    tones = damped_partials(amplitude / amplitude.sum(), partials, decay, phase, n, sr)
    return np.minimum(1.0, np.arange(n) / sr / timbre["attack"]) * tones


def damped_partials(amplitude, frequency, decay, phase, n, sr):
    """``Σ_k a_k · exp(-t / τ_k) · sin(2π f_k t + φ_k)``, fast: block-wise, as a product of two small exponentials.

    ``exp(r t)`` with ``t = j·m + i`` is ``exp(r j m) · exp(r i)``: ``n`` samples
    cost two tables of about ``√n`` complex exponentials per partial and one
    small matrix product, instead of ``n`` sines and exponentials.

    Parameters
    ----------
    amplitude, frequency, decay, phase : np.ndarray
        ``(K,)``: amplitude, Hz, time constant in s, phase in radians of each partial.
    n : int
        Samples.
    sr : int

    Returns
    -------
    np.ndarray
        float64 ``(n,)``.
    """
    m = max(1, int(np.ceil(np.sqrt(n))))
    rate = (2j * np.pi * np.asarray(frequency) - 1.0 / np.asarray(decay)) / sr
    within = np.exp(rate[:, None] * np.arange(m))
    starts = np.exp(rate[:, None] * (np.arange(-(-n // m)) * m)) * (amplitude * np.exp(1j * phase))[:, None]
    return (starts.T @ within).imag.ravel()[:n]


def strum(rng, chord, sr=SR, seconds=CLIP_SECONDS, take="take"):
    """A strummed chord of random timbre: its strings one after another, a pick noise each, a noise floor.

    Parameters
    ----------
    rng : numpy.random.Generator
    chord : str
        Class name (:func:`chord_classes`).
    sr : int
    seconds : float
    take : str
        Name of the take: it colours the noise floor (as a recorder does in ``demo_data``).

    Returns
    -------
    np.ndarray
        float64 ``(round(seconds · sr),)``, peak 0.5.
    """
    n = int(round(seconds * sr))
    timbre = guitar_timbre(rng)
    notes = voicing(rng, pitch_classes(chord))
    if timbre["upstroke"]:
        notes = notes[::-1]
    y = np.zeros(n)
    onset = rng.uniform(0.0, 0.15)
    for note in notes:
        start = int(round(onset * sr))
        cents = timbre["tuning"] + rng.normal(0.0, timbre["detune"])
        frequency = 440.0 * 2.0 ** ((note - 69 + cents / 100.0) / 12.0)
        y[start:] += rng.uniform(0.6, 1.0) * plucked_string(rng, frequency, n - start, sr, timbre)
        pick = band_filter(rng.standard_normal(int(0.005 * sr)), sr, 1000.0, 6000.0)
        y[start : start + len(pick)] += 0.05 * pick[: n - start]
        onset += timbre["gap"] * rng.uniform(0.7, 1.3)
    y *= 0.5 / np.max(np.abs(y))
    return y + noise_floor(rng, n, sr, timbre["floor_db"] - 6.0, take)


def pitch_table(takes, chords=None):
    """One row per clip of the chord set: ``id`` (``{chord}/take{k}``), ``class``, ``author`` (the take).

    Parameters
    ----------
    takes : int
        Clips per class.
    chords : list of str or None
        The classes (default: all of :func:`chord_classes`).

    Returns
    -------
    pandas.DataFrame
    """
    return pd.DataFrame([{"id": f"{chord}/take{take:02d}", "class": chord, "author": f"take{take:02d}"}
                         for chord in chords or chord_classes() for take in range(1, takes + 1)])


def pitch_set(takes, seed=0, sr=SR, chords=None):
    """Every chord class played ``takes`` times, each take with its own timbre (:func:`strum`).

    Parameters
    ----------
    takes : int
        Clips per class.
    seed : int
        The same seed gives the same clips.
    sr : int
    chords : list of str or None
        The classes (default: all of :func:`chord_classes`).

    Returns
    -------
    clips : list of np.ndarray
    table : pandas.DataFrame
        :func:`pitch_table`.
    classes : list of str
    """
    table = pitch_table(takes, chords)
    rng = np.random.default_rng([seed, 0])
    clips = [strum(rng, chord, sr, take=take) for chord, take in zip(table["class"], table["author"])]
    return clips, table, list(chords or chord_classes())


# --- Synthesis: drum one-shots (class = timbre) ---


def decaying(t, tau):
    """``exp(-t / tau)``."""
    return np.exp(-t / tau)


def sweep(f, sr):
    """A sine of instantaneous frequency ``f`` (Hz per sample)."""
    return np.sin(2 * np.pi * np.cumsum(f) / sr)


def drum_kit(rng):
    """A kit's sound: its tuning, decay, room and recording chain, and the voice of each drum, drawn at random.

    Frequencies are the kit's own: a tuning of ±6 semitones moves every drum of
    the kit, so the pitch of a class differs from kit to kit; the ranges of the
    drums overlap (a low tom and a kick, a clap and a snare, a rim and a closed
    hat), as they do between real kits, acoustic and electronic.

    Returns
    -------
    dict
        ``tuning`` and ``decay`` (factors), ``drive`` (saturation), ``cutoff`` (Hz,
        the kit's low-pass: its microphones), ``room`` (s, the
        reverberation's time constant) and ``wet`` (its share), ``floor_db``
        (dBFS), and one dict of parameters per drum of :data:`DRUMS` (``metal``:
        the hi-hats' pair, shared by the closed and the open hat).
    """
    tuning = 2.0 ** (rng.uniform(-6.0, 6.0) / 12.0)
    decay = log_uniform(rng, 0.6, 1.6)
    return {
        "tuning": tuning,
        "decay": decay,
        "drive": log_uniform(rng, 1.0, 6.0),
        "cutoff": log_uniform(rng, 3500.0, 10500.0),
        "room": log_uniform(rng, 0.03, 0.4),
        "wet": rng.uniform(0.0, 0.4),
        "floor_db": rng.uniform(-70.0, -45.0),
        "kick": {"f": tuning * log_uniform(rng, 40.0, 90.0), "sweep": log_uniform(rng, 1.3, 6.0),
                 "sweep_tau": rng.uniform(0.01, 0.06), "tau": decay * log_uniform(rng, 0.08, 0.5),
                 "click": rng.uniform(0.0, 0.5)},
        "snare": {"f": tuning * log_uniform(rng, 140.0, 300.0), "tau": decay * rng.uniform(0.04, 0.2),
                  "low": log_uniform(rng, 500.0, 2500.0), "high": rng.uniform(4000.0, 10500.0),
                  "noise_tau": decay * log_uniform(rng, 0.06, 0.3), "noise": rng.uniform(0.2, 0.9)},
        "metal": {"f": tuning * log_uniform(rng, 250.0, 500.0), "low": log_uniform(rng, 2500.0, 8000.0),
                  "noise": rng.uniform(0.1, 1.0), "closed_tau": decay * log_uniform(rng, 0.015, 0.09),
                  "open_tau": decay * log_uniform(rng, 0.15, 0.6)},
        "tom": {"f": tuning * log_uniform(rng, 70.0, 220.0), "tau": decay * log_uniform(rng, 0.1, 0.6),
                "noise": rng.uniform(0.0, 0.4)},
        "clap": {"center": log_uniform(rng, 700.0, 2500.0), "width": rng.uniform(0.4, 1.5),
                 "spacing": rng.uniform(0.006, 0.018), "tau": decay * log_uniform(rng, 0.05, 0.25)},
        "rim": {"f": tuning * log_uniform(rng, 400.0, 1200.0), "ratio": rng.uniform(1.6, 3.0),
                "tau": decay * log_uniform(rng, 0.01, 0.06), "click": rng.uniform(0.1, 1.0)},
    }


def room(rng, y, sr, tau, wet):
    """``y`` in a room: mixed with its convolution with exponentially decaying noise (time constant ``tau``)."""
    if wet <= 0:
        return y
    t = np.arange(int(5 * tau * sr)) / sr
    response = rng.standard_normal(len(t)) * decaying(t, tau)
    n = len(y) + len(response)
    size = 1 << (n - 1).bit_length()
    tail = np.fft.irfft(np.fft.rfft(y, size) * np.fft.rfft(response, size), size)[: len(y)]
    return (1 - wet) * y + wet * tail * (np.std(y) / (np.std(tail) or 1.0))


def noise_band(rng, n, sr, low, high):
    """White noise band-passed to ``[low, high]`` Hz, unit standard deviation."""
    y = band_filter(rng.standard_normal(n), sr, low, min(high, 0.49 * sr))
    return y / (np.std(y) or 1.0)


def kick(rng, voice, t, sr):
    """A kick: a sine falling from ``sweep`` times its pitch to its pitch, and a beater click."""
    f = voice["f"] * (1.0 + (voice["sweep"] - 1.0) * decaying(t, voice["sweep_tau"]))
    click = voice["click"] * noise_band(rng, len(t), sr, 1000.0, 5000.0) * decaying(t, 0.003)
    return sweep(f, sr) * decaying(t, voice["tau"]) + click


def snare(rng, voice, t, sr):
    """A snare: two drum modes and the band of the snare wires' noise."""
    head = (sweep(np.full(len(t), voice["f"]), sr) + 0.5 * sweep(np.full(len(t), 1.6 * voice["f"]), sr))
    wires = noise_band(rng, len(t), sr, voice["low"], voice["high"]) * decaying(t, voice["noise_tau"])
    return (1 - voice["noise"]) * head * decaying(t, voice["tau"]) + voice["noise"] * 0.5 * wires


def hat(rng, voice, t, sr, tau):
    """A hi-hat: six square waves at inharmonic ratios (as the TR-808's) and noise, high-passed, decaying."""
    ratios = np.array([1.0, 1.48, 1.80, 2.55, 2.63, 3.90])
    metal = np.sign(np.sin(2 * np.pi * voice["f"] * ratios[:, None] * t)).sum(axis=0) / len(ratios)
    y = band_filter(metal + voice["noise"] * rng.standard_normal(len(t)), sr, voice["low"], 0.49 * sr)
    return y * decaying(t, tau)


def tom(rng, voice, t, sr):
    """A tom: the low, mid or high drum of the kit (its pitch × 1, 1.26 or 1.5), falling a little, and a stick noise."""
    f = voice["f"] * (1.0, 1.26, 1.5)[int(rng.integers(0, 3))] * (1.0 + 0.3 * decaying(t, 0.03))
    stick = voice["noise"] * noise_band(rng, len(t), sr, 500.0, 4000.0) * decaying(t, 0.01)
    return sweep(f, sr) * decaying(t, voice["tau"]) + stick


def clap(rng, voice, t, sr):
    """A hand clap: four short bursts of band noise a few ms apart, then a tail."""
    low, high = voice["center"] / (1 + voice["width"]), voice["center"] * (1 + voice["width"])
    noise = noise_band(rng, len(t), sr, low, high)
    bursts = sum(np.where(t >= i * voice["spacing"], decaying(np.abs(t - i * voice["spacing"]), 0.004), 0.0)
                 for i in range(4))
    tail = 0.5 * np.where(t >= 3 * voice["spacing"], decaying(np.abs(t - 3 * voice["spacing"]), voice["tau"]), 0.0)
    return noise * (bursts + tail)


def rim(rng, voice, t, sr):
    """A rim shot: a short high knock of two modes and a click."""
    knock = sweep(np.full(len(t), voice["f"]), sr) + 0.6 * sweep(np.full(len(t), voice["ratio"] * voice["f"]), sr)
    click = voice["click"] * noise_band(rng, len(t), sr, 2000.0, 8000.0) * decaying(t, 0.003)
    return knock * decaying(t, voice["tau"]) + click


def drum_hit(rng, kit, drum, sr=SR, kit_name="kit"):
    """One one-shot of ``drum`` played on ``kit``: the drum, a little detuned, saturated, in the kit's room, filtered
    by its microphones, over its noise floor.

    Every hit varies the kit's voice slightly (±0.3 semitone, ±10 % decay) and
    its velocity (a softer hit is less saturated and duller),
    starts after up to 10 ms, and its file is cut after 0.6 to 1.5 times the
    drum's :data:`DRUM_SECONDS` (at most 2 s), faded out over 10 ms.

    Parameters
    ----------
    rng : numpy.random.Generator
    kit : dict
        :func:`drum_kit`.
    drum : str
        One of :data:`DRUMS`.
    sr : int
    kit_name : str
        Colours the noise floor (as a recorder does in ``demo_data``).

    Returns
    -------
    np.ndarray
        float64, peak 0.25 to 0.5.
    """
    n = int(round(min(2.0, DRUM_SECONDS[drum] * rng.uniform(0.6, 1.5)) * sr))
    lead = int(rng.integers(0, int(0.01 * sr) + 1))
    t = np.arange(n - lead) / sr
    shift, stretch = 2.0 ** (rng.uniform(-0.3, 0.3) / 12.0), rng.uniform(0.9, 1.1)
    voice = kit["metal" if drum.endswith("hat") else drum]
    voice = {key: value * shift if key in ("f", "center") else value * stretch if "tau" in key else value
             for key, value in voice.items()}
    if drum.endswith("hat"):
        y = hat(rng, voice, t, sr, voice[drum.replace("_hat", "_tau")])
    else:
        y = {"kick": kick, "snare": snare, "tom": tom, "clap": clap, "rim": rim}[drum](rng, voice, t, sr)
    velocity = rng.uniform(0.3, 1.0)
    y = np.tanh(kit["drive"] * velocity * y / np.max(np.abs(y)))
    y = room(rng, np.concatenate([np.zeros(lead), y]), sr, kit["room"], kit["wet"])
    y = band_filter(y, sr, 0.0, kit["cutoff"] * (0.5 + 0.5 * velocity))
    y *= rng.uniform(0.25, 0.5) / np.max(np.abs(y))
    fade = np.minimum(1.0, (n - np.arange(n)) / (0.01 * sr))
    return (y + noise_floor(rng, n, sr, kit["floor_db"], kit_name)) * fade


def timbre_table(kits, hits):
    """One row per clip of the drum set: ``id`` (``{kit}/{drum}{k}``), ``class`` (the drum), ``author`` (the kit).

    Parameters
    ----------
    kits : int
    hits : int
        One-shots per drum and kit.

    Returns
    -------
    pandas.DataFrame
    """
    return pd.DataFrame([{"id": f"kit{k:02d}/{drum}{hit}", "class": drum, "author": f"kit{k:02d}"}
                         for k in range(1, kits + 1) for drum in DRUMS for hit in range(1, hits + 1)])


def timbre_set(kits, hits, seed=0, sr=SR):
    """``hits`` one-shots of every drum of :data:`DRUMS` on each of ``kits`` random kits (:func:`drum_hit`).

    Parameters
    ----------
    kits : int
    hits : int
        One-shots per drum and kit.
    seed : int
        The same seed gives the same clips.
    sr : int

    Returns
    -------
    clips : list of np.ndarray
    table : pandas.DataFrame
        :func:`timbre_table`.
    classes : list of str
    """
    table = timbre_table(kits, hits)
    rng = np.random.default_rng([seed, 1])
    drawn, clips = {}, []
    for drum, kit in zip(table["class"], table["author"]):
        if kit not in drawn:
            drawn[kit] = drum_kit(rng)
        clips.append(drum_hit(rng, drawn[kit], drum, sr, kit))
    return clips, table, list(DRUMS)


# --- Splits, spectrograms, datasets ---


def split_by_file(table, seed=0):
    """60/20/20 by file, hashed as the workflow's ``split.by: file`` (``splits.assign_splits``).

    Returns
    -------
    np.ndarray
        Split name per row.
    """
    from splits import assign_splits

    fractions = {"train": 0.6, "val": 0.2, "test": 0.2}
    return assign_splits(table, by="file", fractions=fractions, seed=seed).to_numpy()


def split_by_kit(table, seed=0):
    """One kit is test, another val (``split.assign``), all others train: test is a kit never heard in training.

    Returns
    -------
    np.ndarray
        Split name per row.
    """
    from splits import assign_splits

    kits = sorted(table["author"].unique())
    test, val = np.random.default_rng([seed, 2]).choice(kits, size=2, replace=False)
    fractions = {"train": 1.0, "val": 0.0, "test": 0.0}
    return assign_splits(table, by="author", fractions=fractions, seed=seed,
                         assign={"val": [str(val)], "test": [str(test)]}).to_numpy()


def set_table(name, seed=0):
    """The table of one data set of :data:`SETS` with its ``split`` column, without the audio.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``class``, ``author``, ``split``.
    """
    spec = SETS[name]
    if spec["kind"] == "pitch":
        table = pitch_table(spec["takes"])
        return table.assign(split=split_by_file(table, seed))
    table = timbre_table(spec["kits"], spec["hits"])
    return table.assign(split=split_by_kit(table, seed))


def make_set(name, seed=0):
    """The audio of one data set of :data:`SETS`, its table (:func:`set_table`) and its classes.

    Returns
    -------
    clips : list of np.ndarray
    table : pandas.DataFrame
        ``id``, ``class``, ``author``, ``split``.
    classes : list of str
    """
    spec = SETS[name]
    if spec["kind"] == "pitch":
        clips, _, classes = pitch_set(spec["takes"], seed)
    else:
        clips, _, classes = timbre_set(spec["kits"], spec["hits"], seed)
    return clips, set_table(name, seed), classes


def spectrograms(clips, sr=SR, changes=None):
    """The workflow's NPY spectrogram of every clip, stacked for training.

    Parameters
    ----------
    clips : list of np.ndarray
    sr : int
    changes : dict or None
        Spectrogram settings over :data:`SPECTROGRAM`.

    Returns
    -------
    np.ndarray
        float32 ``(N, n_mels, n_frames, 1)`` in [0, 1].
    """
    from spectrogram_math import spectrogram_from_audio

    s = settings.complete("spectrogram", {**SPECTROGRAM, **(changes or {})})
    return np.stack([spectrogram_from_audio(np.asarray(y, dtype=np.float32), sr, s) for y in clips])[..., None]


def dataset(features, table, classes):
    """A ``loaders.Dataset`` of the spectrograms and the table's labels, authors and splits."""
    from loaders import Dataset

    index = {name: i for i, name in enumerate(classes)}
    return Dataset(
        features=features,
        labels=table["class"].map(index).to_numpy(dtype=np.int64),
        authors=table["author"].to_numpy(),
        split=np.asarray(table["split"]),
        ids=table["id"].to_numpy(),
        classes=list(classes),
    )


def build(name, seed=0):
    """The ``loaders.Dataset`` of one data set of :data:`SETS` (audio, spectrograms, splits)."""
    clips, table, classes = make_set(name, seed)
    return dataset(spectrograms(clips), table, classes)


# --- Training and the table ---


def split_accuracy(model, data, splits, batch_size):
    """Accuracy of ``model`` on the clips of ``splits`` together, unaugmented (None when there are none).

    Parameters
    ----------
    model : keras.Model
    data : loaders.Dataset
    splits : tuple of str
    batch_size : int

    Returns
    -------
    float or None
    """
    from model import make_batches

    rows = np.flatnonzero(np.isin(data.split, splits))
    if len(rows) == 0:
        return None
    predicted = model.predict(make_batches(data.features, None, rows, batch_size), verbose=0).argmax(axis=1)
    return float(np.mean(predicted == data.labels[rows]))


def train_candidate(data, changes, seed, overrides=None):
    """Train and evaluate one candidate; its accuracies, steps and CPU seconds.

    Parameters
    ----------
    data : loaders.Dataset
    changes : dict
        Training settings changed from the defaults (a :data:`CANDIDATES` value).
    seed : int
        ``training.seed``.
    overrides : dict or None
        Further changes (for a quick debugging run).

    Returns
    -------
    dict
        Accuracy on ``test``, ``val``, ``held_out`` (val and test together:
        with weight averaging and no early stopping nothing is chosen on val,
        so it is a second unseen split) and ``train`` (the kept model on its
        unaugmented training split), ``steps`` and ``cpu_seconds`` (training
        and evaluation, all threads of this process).
    """
    import keras

    import train

    training = settings.complete("training", {**changes, **(overrides or {}), "seed": seed})
    start = time.process_time()
    model, _, summary = train.train(data, training, threads=1)
    metrics = train.evaluate(model, data, training["batch_size"])[0]
    result = {
        "test": metrics["test"]["accuracy"],
        "val": metrics["val"]["accuracy"],
        "held_out": split_accuracy(model, data, ("val", "test"), training["batch_size"]),
        "train": split_accuracy(model, data, ("train",), training["batch_size"]),
        "steps": summary.get("steps"),
        "cpu_seconds": round(time.process_time() - start, 1),
    }
    keras.backend.clear_session()
    return result


def baseline_accuracy(data, seed):
    """The baseline's test accuracy and its accuracy on val and test together (``baseline.run_baseline``).

    The baseline is a logistic regression on per-band statistics, fitted on the train split.

    Returns
    -------
    test, held_out : float
    """
    import baseline

    model, metrics = baseline.run_baseline(data, EVALUATED, seed)
    rows = np.flatnonzero(np.isin(data.split, ("val", "test")))
    predicted = model.predict(baseline.summary_features(data.features[rows]))
    return metrics["test"]["accuracy"], float(np.mean(predicted == data.labels[rows]))


def describe(name, data):
    """One line on a data set: clips, classes, what its splits hold."""
    counts = {s: int(np.sum(data.split == s)) for s in ("train", "val", "test")}
    spec = SETS[name]
    if spec["kind"] == "pitch":
        what = (f"{len(data.classes)} chords (class = pitch) × {spec['takes']} takes, split by file: "
                f"{counts['train']} train, {counts['val']} val, {counts['test']} test clips")
    else:
        test_kit = sorted(set(data.authors[data.split == "test"]))
        val_kit = sorted(set(data.authors[data.split == "val"]))
        what = (f"{len(data.classes)} drums (class = timbre) × {spec['kits']} kits × {spec['hits']} hits: "
                f"{counts['train']} train clips of {len(set(data.authors[data.split == 'train']))} kits, "
                f"val {', '.join(val_kit)} ({counts['val']}), test {', '.join(test_kit)} ({counts['test']})")
    return f"`{name}`: {what}; chance {1 / len(data.classes):.3f}"


def mean(values):
    """The mean of the values that are not None (None when there are none)."""
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def fmt(value):
    """A number to three decimals, or ``–``."""
    return "–" if value is None else f"{value:.3f}"


def paired_difference(runs, reference, key="held_out"):
    """Mean of ``key`` of ``runs`` minus that of ``reference`` over the seeds both have (None without any).

    Parameters
    ----------
    runs, reference : list of dict
        Records of two candidates on one data set.
    key : str

    Returns
    -------
    float or None
    """
    theirs = {r["seed"]: r[key] for r in reference}
    differences = [r[key] - theirs[r["seed"]] for r in runs if r["seed"] in theirs]
    return mean(differences)


def candidate_row(candidate, runs, seeds, reference):
    """One row of the table: a candidate's test and val + test accuracy (mean, per seed), against the defaults."""
    by_seed = {r["seed"]: r for r in runs}

    def per_seed(key):
        return ", ".join(fmt(by_seed[s][key]) if s in by_seed else "–" for s in seeds)

    name = f"**{candidate}**" if candidate == "defaults" else candidate
    difference = paired_difference(runs, reference) if candidate != "defaults" else None
    change = "" if difference is None else f"{difference:+.3f}"
    return (f"| {name} | {fmt(mean(r['test'] for r in runs))} | {per_seed('test')} "
            f"| {fmt(mean(r['held_out'] for r in runs))} | {per_seed('held_out')} | {change} "
            f"| {fmt(mean(r['train'] for r in runs))} | {mean(r['cpu_seconds'] for r in runs):.0f} |")


def report(records, descriptions, seeds=SEEDS, commit=None, planned=None):
    """The Markdown tables: per data set, one row per candidate, and the baseline.

    Parameters
    ----------
    records : list of dict
        One per run: ``set``, ``candidate``, ``seed``, :func:`train_candidate`'s
        keys, ``baseline`` and ``baseline_held_out`` (:func:`baseline_accuracy`)
        and ``load`` (the machine's 1-minute load average at the end of the run).
    descriptions : dict
        Set → :func:`describe`.
    seeds : sequence of int
        The seeds, in the order of the per-seed columns.
    commit : str or None
        The repository's commit the runs were made with.
    planned : int or None
        Runs in the plan (more than ``records`` when ``--cpu-minutes`` stopped it).

    Returns
    -------
    str
    """
    cpu = sum(r["cpu_seconds"] for r in records)
    code = f", commit {commit}" if commit else ""
    left = planned - len(records) if planned else 0
    runs = f"{len(records)} runs" + (f" ({left} more of the plan left out by the CPU budget)" if left > 0 else "")
    loads = [r["load"] for r in records if r.get("load") is not None]
    load = f"; load average {min(loads):.1f} to {max(loads):.1f}" if loads else ""
    lines = [
        f"Augmentation benchmark (`benchmarks/augmentation.py`), {datetime.date.today().isoformat()}, "
        f"{platform.machine()} machine with {os.cpu_count()} cores, training on one thread; "
        f"{runs}, {cpu / 60:.0f} CPU min{load}{code}. Synthetic data made in memory, the workflow's "
        f"spectrograms with the users' guitar-set settings (sr {SPECTROGRAM['sr']}, n_fft {SPECTROGRAM['n_fft']}, "
        f"hop {SPECTROGRAM['hop_length']}, {SPECTROGRAM['n_mels']} mels, {SPECTROGRAM['duration']:g} s); the "
        "default training settings but the candidate's change.",
        "",
        "Accuracy of the kept model (the mean weights of the last epochs) on test, and on val and test together "
        "(val + test: nothing is chosen on val, so it is a second unseen split): the mean over the seeds "
        f"run, then per seed ({', '.join(map(str, seeds))}; – not run). Δ: val + test minus the defaults' over "
        "the same seeds. Train: the kept model on its unaugmented training split. CPU s per run, training and "
        "evaluation (more when other work shares the cores).",
    ]
    present = {r["set"] for r in records}
    for name in [n for n in SETS if n in present] + sorted(present - set(SETS)):
        runs = [r for r in records if r["set"] == name]
        reference = [r for r in runs if r["candidate"] == "defaults"]
        steps = sorted({r["steps"] for r in runs})
        lines += ["", f"{descriptions.get(name, f'`{name}`')}; {'/'.join(map(str, steps))} optimiser steps a run", "",
                  "| candidate | test | test per seed | val + test | val + test per seed | Δ | train | CPU s |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        ran = {r["candidate"] for r in runs}
        for candidate in [c for c in CANDIDATES if c in ran] + sorted(ran - set(CANDIDATES)):
            lines.append(candidate_row(candidate, [r for r in runs if r["candidate"] == candidate], seeds,
                                       reference))
        baseline = {r["seed"]: r for r in runs}.values()
        lines.append(f"| baseline (logistic regression) | {fmt(mean(r['baseline'] for r in baseline))} | "
                     f"| {fmt(mean(r['baseline_held_out'] for r in baseline))} | | | | |")
    return "\n".join(lines) + "\n"


def read_records(path):
    """The runs already recorded in a JSON-lines file (none when it does not exist)."""
    if not path or not Path(path).exists():
        return []
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="seed 42 only; defaults, freq_warp: 0 and all off")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    parser.add_argument("--runs", help="JSON-lines file of finished runs: appended to, and runs in it are skipped")
    parser.add_argument("--sets", help="comma-separated subset of " + ", ".join(SETS))
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the synthetic data and its splits")
    parser.add_argument("--training", default="{}", help="JSON of further training changes, e.g. for debugging")
    parser.add_argument("--cpu-minutes", type=float,
                        help="start no run once the runs (those of --runs included) took this many CPU minutes")
    args = parser.parse_args()
    plan = QUICK_PLAN if args.quick else PLAN
    if args.sets:
        plan = [run for run in plan if run[0] in args.sets.split(",")]
    overrides = json.loads(args.training)
    records = [r for r in read_records(args.runs) if (r["set"], r["candidate"], r["seed"]) in plan]
    done = {(r["set"], r["candidate"], r["seed"]) for r in records}
    data, descriptions, baselines = {}, {}, {}
    for name, candidate, seed in plan:
        if name not in data:
            start = time.perf_counter()
            data[name] = build(name, args.data_seed)
            descriptions[name] = describe(name, data[name])
            print(f"{descriptions[name]} ({time.perf_counter() - start:.1f} s)", file=sys.stderr)
        if (name, candidate, seed) in done:
            continue
        if args.cpu_minutes is not None and sum(r["cpu_seconds"] for r in records) >= 60 * args.cpu_minutes:
            print(f"CPU budget of {args.cpu_minutes:g} min used: the other runs are left out", file=sys.stderr)
            break
        if (name, seed) not in baselines:
            baselines[name, seed] = baseline_accuracy(data[name], seed)
        result = train_candidate(data[name], CANDIDATES[candidate], seed, overrides)
        test, held_out = baselines[name, seed]
        record = {"set": name, "candidate": candidate, "seed": seed, **result, "baseline": test,
                  "baseline_held_out": held_out, "load": round(os.getloadavg()[0], 2),
                  "data_seed": args.data_seed, "training": overrides}
        records.append(record)
        print(f"RUN {json.dumps(record)}", file=sys.stderr, flush=True)
        if args.runs:
            with open(args.runs, "a") as f:
                f.write(json.dumps(record) + "\n")
    from train import git_commit

    commit = git_commit(str(ROOT))
    short = commit and commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")
    table = report(records, descriptions, commit=short, planned=len(plan))
    print(table, end="")
    if args.out:
        Path(args.out).write_text(table)


if __name__ == "__main__":
    main()
