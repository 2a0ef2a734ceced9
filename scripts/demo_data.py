"""Built-in demo dataset: synthetic animal-call-like clips.

The workflow can make its own small labelled dataset, deterministically and
in a few seconds, so that every rule can run without downloading anything.

Five classes of call-like sounds (see `CLASSES`) are "recorded" by eight
recorders (see `RECORDERS`), each with its own sample rate and noise floor.
Every clip randomises, from a generator seeded by a stable hash of its
relative path, the frequencies or bands, the event duration and onset, the
amplitude and the signal-to-noise ratio; the classes overlap on purpose
(sweeps with small slopes, harmonic calls that glide, narrow-band noise
bursts, buzzing click trains), so that no single trivial feature separates
them.

It also makes 60-s soundscapes, one per recorder, with a Raven selection
table each (:func:`soundscape_plan`, :func:`write_soundscapes`): calls one
after another, or, with ``overlap=True``, a "chorus" in which about half of
the calls overlap a call of another class (for multi-label windows).

Only the standard library is imported at module level: `demo_plan` and
`soundscape_plan` run at every Snakemake parse and must stay cheap. NumPy
and soundfile are imported inside the functions that need them.

In the workflow, rule ``demo_audio`` (``rules/demo.smk``) declares the
clips of :func:`demo_plan` (or the soundscapes and tables of
:func:`soundscape_plan`) as its outputs and runs this file as its script
(:func:`main`).
"""


import hashlib
import math
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    import numpy as np

__all__ = [
    "CLASSES",
    "RECORDERS",
    "MIN_DURATION",
    "MAX_DURATION",
    "demo_plan",
    "synthesize_clip",
    "write_demo",
]

CLASSES: tuple[str, ...] = (
    "upsweep",
    "downsweep",
    "clicks",
    "harmonic",
    "noise_burst",
)
"""Class labels; also the top-level folder names of the dataset."""

RECORDERS: tuple[tuple[str, int, float], ...] = (
    ("reef", 16000, -62.0),
    ("kelp", 22050, -55.0),
    ("cove", 24000, -68.0),
    ("bay", 32000, -48.0),
    ("fjord", 44100, -72.0),
    ("delta", 48000, -58.0),
    ("lagoon", 22050, -44.0),
    ("strait", 32000, -65.0),
)
"""Recorders as ``(name, sample_rate, noise_floor_db)``.

The names are chosen so that the default split (seed 42, 80/10/10 hashed by
author) puts six recorders in train, ``lagoon`` in val and ``strait`` in test.

``noise_floor_db`` is the RMS level of the recorder's own (coloured) noise in
dB relative to full scale. Names are lowercase letters and digits only.
"""

MIN_DURATION = 0.5
"""Shortest clip duration in seconds."""

MAX_DURATION = 1.0
"""Longest clip duration in seconds."""

# All call energy stays below this frequency so that every class is
# representable at every recorder's sample rate (Nyquist of 16 kHz is 8 kHz).
_F_MAX = 7000.0


# ---------------------------------------------------------------------------
# Plan (stdlib only)
# ---------------------------------------------------------------------------


def _stable_u64(text: str) -> int:
    """Stable 64-bit integer hash of a string (independent of PYTHONHASHSEED).

    Parameters
    ----------
    text : str
        Text to hash.

    Returns
    -------
    value : int
        The first 8 bytes of the SHA-256 digest of ``text`` (UTF-8), as an
        unsigned big-endian integer.
    """
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def demo_plan(n_per_class_per_recorder: int = 8) -> list[dict]:
    """List the clips of the demo dataset without making any of them.

    Pure and cheap (standard library only, no file I/O): safe to call at
    every Snakemake parse to declare the outputs of the rule.

    Parameters
    ----------
    n_per_class_per_recorder : int > 0
        Number of clips each recorder makes of each class.

    Returns
    -------
    plan : list of dict
        One dict per clip, sorted by ``relpath``, with keys

        - ``relpath`` : str, posix path ``"{class}/{recorder}_{index:02d}.wav"``
        - ``class`` : str, one of `CLASSES`
        - ``author`` : str, the recorder name (one of `RECORDERS`)
        - ``sr`` : int, the recorder's sample rate in Hz
        - ``duration`` : float, seconds, in ``[MIN_DURATION, MAX_DURATION]``,
          rounded to the millisecond

        ``len(plan) == len(CLASSES) * len(RECORDERS) * n_per_class_per_recorder``.

    Raises
    ------
    ValueError
        If ``n_per_class_per_recorder`` is not a positive integer.

    See Also
    --------
    synthesize_clip : make the audio of one planned clip
    write_demo : write the planned clips as WAV files

    Examples
    --------
    >>> plan = demo_plan(2)
    >>> len(plan)
    80
    >>> plan[0]["relpath"]
    'clicks/bay_00.wav'
    """
    if (
        isinstance(n_per_class_per_recorder, bool)
        or not isinstance(n_per_class_per_recorder, int)
        or n_per_class_per_recorder < 1
    ):
        raise ValueError(
            "n_per_class_per_recorder must be a positive integer, "
            f"got {n_per_class_per_recorder!r}"
        )
    plan = []
    for label in CLASSES:
        for name, sr, _floor in RECORDERS:
            for index in range(n_per_class_per_recorder):
                relpath = f"{label}/{name}_{index:02d}.wav"
                frac = _stable_u64("duration:" + relpath) / 2.0**64
                duration = round(MIN_DURATION + (MAX_DURATION - MIN_DURATION) * frac, 3)
                plan.append(
                    {
                        "relpath": relpath,
                        "class": label,
                        "author": name,
                        "sr": sr,
                        "duration": duration,
                    }
                )
    plan.sort(key=lambda entry: entry["relpath"])
    return plan


# ---------------------------------------------------------------------------
# Synthesis (NumPy, imported lazily)
# ---------------------------------------------------------------------------


def _rng_for(relpath: str):
    """Random generator seeded from a stable hash of ``relpath``.

    Parameters
    ----------
    relpath : str
        Relative path of the clip.

    Returns
    -------
    rng : numpy.random.Generator
        A PCG64 generator; the same ``relpath`` always gives the same stream.
    """
    import numpy as np

    digest = hashlib.sha256(("clip:" + relpath).encode("utf-8")).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "big")))


def _log_uniform(rng, low: float, high: float) -> float:
    """Draw one value log-uniformly from ``[low, high]``."""
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _envelope(n: int, attack: float, release: float):
    """Raised-cosine attack/release envelope.

    Parameters
    ----------
    n : int >= 1
        Length in samples.
    attack, release : float in [0, 1]
        Fractions of ``n`` taken by the fade-in and the fade-out.

    Returns
    -------
    env : np.ndarray [shape=(n,)]
        Values in ``[0, 1]``.
    """
    import numpy as np

    env = np.ones(n)
    n_att = max(1, min(n, int(round(attack * n))))
    n_rel = max(1, min(n, int(round(release * n))))
    env[:n_att] *= 0.5 - 0.5 * np.cos(np.pi * (np.arange(n_att) + 0.5) / n_att)
    env[n - n_rel :] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(n_rel) + 0.5) / n_rel)
    return env


def _fft_len(n: int) -> int:
    """Smallest power of two ``>= n`` (fast FFT size for noise shaping)."""
    return 1 << max(0, int(n - 1).bit_length())


def _band_filter(x, sr: int, low: float, high: float, edge: float = 0.15):
    """Band-pass a signal in the frequency domain with soft edges.

    Parameters
    ----------
    x : np.ndarray [shape=(n,)]
        Input signal.
    sr : int > 0
        Sample rate in Hz.
    low, high : float
        Pass band in Hz, ``0 <= low < high``.
    edge : float > 0
        Width of the raised-cosine transitions, relative to the bandwidth.

    Returns
    -------
    y : np.ndarray [shape=(n,)]
        Filtered signal, same length as ``x``.
    """
    import numpy as np

    n = len(x)
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(n, 1.0 / sr)
    width = max(edge * (high - low), 20.0)
    gain = np.clip(
        np.minimum((freqs - (low - width)) / width, ((high + width) - freqs) / width),
        0.0,
        1.0,
    )
    gain = 0.5 - 0.5 * np.cos(np.pi * gain)
    return np.fft.irfft(spec * gain, n)


def _tone(freqs, sr: int):
    """Sine with instantaneous frequency ``freqs`` (Hz per sample), random-free."""
    import numpy as np

    return np.sin(2.0 * np.pi * np.cumsum(freqs) / sr)


def _sweep_event(rng, n: int, sr: int, rising: bool):
    """Frequency sweep (whistle); ``rising`` selects up or down."""
    import numpy as np

    # Small slopes are common: they overlap with gliding harmonic calls.
    span = _log_uniform(rng, 0.12, 1.5)  # octaves
    # Up- and downsweeps live in overlapping bands; downsweeps sit a bit higher.
    centre = _log_uniform(rng, *((900.0, 3000.0) if rising else (1400.0, 4500.0)))
    f_lo = min(centre / 2.0 ** (span / 2.0), _F_MAX / 2.0**span * 0.95)
    f_hi = f_lo * 2.0**span
    t = np.linspace(0.0, 1.0, n)
    shape = rng.uniform(0.6, 1.6)  # curvature of the sweep
    pos = t**shape
    if not rising:
        pos = 1.0 - pos
    freqs = f_lo * 2.0 ** (span * pos)
    freqs *= 1.0 + rng.uniform(0.0, 0.01) * np.sin(
        2.0 * np.pi * rng.uniform(3.0, 12.0) * np.arange(n) / sr + rng.uniform(0, 2 * np.pi)
    )
    y = _tone(freqs, sr)
    if rng.random() < 0.4:  # sometimes a weak second harmonic
        f2 = np.minimum(2.0 * freqs, _F_MAX)
        y = y + rng.uniform(0.05, 0.3) * _tone(f2, sr)
    return y


def _harmonic_event(rng, n: int, sr: int):
    """Harmonic call: fundamental plus overtones, slight vibrato and glide."""
    import numpy as np

    f0 = _log_uniform(rng, 250.0, 1200.0)
    glide = rng.uniform(-0.15, 0.15)  # octaves over the event, either direction
    t = np.linspace(0.0, 1.0, n)
    vib_depth = rng.uniform(0.005, 0.03)
    vib_rate = rng.uniform(4.0, 10.0)
    vib_phase = rng.uniform(0, 2 * np.pi)
    vibrato = 1.0 + vib_depth * np.sin(2.0 * np.pi * vib_rate * np.arange(n) / sr + vib_phase)
    freqs = f0 * 2.0 ** (glide * t) * vibrato
    n_harm = int(rng.integers(2, 7))
    rolloff = rng.uniform(0.25, 0.9)  # overtones sometimes very weak
    y = np.zeros(n)
    phase = 2.0 * np.pi * np.cumsum(freqs) / sr
    for k in range(1, n_harm + 1):
        if k * f0 * 2.0 ** max(glide, 0.0) * (1.0 + vib_depth) >= _F_MAX:
            break
        amp = rolloff ** (k - 1) * rng.uniform(0.6, 1.0)
        y += amp * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    return y


def _clicks_event(rng, n: int, sr: int):
    """Click train: damped-sinusoid clicks at a jittered, possibly buzzing rate."""
    import numpy as np

    rate = _log_uniform(rng, 6.0, 120.0)  # clicks per second; fast trains buzz
    interval = sr / rate
    positions = []
    pos = rng.uniform(0.0, interval)
    while pos < n:
        positions.append(int(pos))
        pos += interval * rng.uniform(0.8, 1.2)
    impulses = np.zeros(n)
    gains = rng.uniform(0.5, 1.0, len(positions))
    impulses[positions] = gains * rng.choice([-1.0, 1.0], len(positions))
    carrier = _log_uniform(rng, 1500.0, 6000.0)
    tau = _log_uniform(rng, 0.0003, 0.003)  # seconds
    k_len = max(2, int(min(5.0 * tau * sr, interval)))
    tk = np.arange(k_len) / sr
    kernel = np.exp(-tk / tau) * np.sin(2.0 * np.pi * carrier * tk)
    return np.convolve(impulses, kernel)[:n]


def _noise_burst_event(rng, n: int, sr: int):
    """One to four band-limited noise bursts, sometimes quite narrow-band."""
    import numpy as np

    centre = _log_uniform(rng, 700.0, 5000.0)
    bandwidth = _log_uniform(rng, 80.0, 3000.0)
    low = max(100.0, centre - bandwidth / 2.0)
    high = min(_F_MAX, centre + bandwidth / 2.0)
    noise = _band_filter(rng.standard_normal(_fft_len(n)), sr, low, high)[:n]
    gate = np.zeros(n)
    n_bursts = int(rng.integers(1, 5))
    for _ in range(n_bursts):
        length = max(8, int(rng.uniform(0.2, 0.9) * n / n_bursts))
        start = int(rng.integers(0, max(1, n - length)))
        gate[start : start + length] = np.maximum(
            gate[start : start + length],
            _envelope(length, rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.5)),
        )
    return noise * gate


_EVENTS = {
    "upsweep": lambda rng, n, sr: _sweep_event(rng, n, sr, rising=True),
    "downsweep": lambda rng, n, sr: _sweep_event(rng, n, sr, rising=False),
    "clicks": _clicks_event,
    "harmonic": _harmonic_event,
    "noise_burst": _noise_burst_event,
}


def _recorder_noise(rng, n: int, sr: int, floor_db: float, author: str):
    """Coloured noise floor of a recorder at RMS ``floor_db`` dBFS.

    The spectral tilt is a fixed property of the recorder (derived from a
    stable hash of its name); the noise itself varies per clip.
    """
    import numpy as np

    tilt = 0.3 + 0.9 * (_stable_u64("tilt:" + author) / 2.0**64)  # 1/f**tilt power
    n_fft = _fft_len(n)
    spec = np.fft.rfft(rng.standard_normal(n_fft))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    spec *= np.maximum(freqs, 40.0) ** (-tilt / 2.0)
    noise = np.fft.irfft(spec, n_fft)[:n]
    rms = float(np.sqrt(np.mean(noise**2))) or 1.0
    return noise * (10.0 ** (floor_db / 20.0) / rms)


def _call(rng, label: str, n_event: int, sr: int):
    """One call-like event of class ``label``, ``n_event`` samples, enveloped, at a random level.

    The level is the geometric mean of peak and RMS, so that sparse (click)
    and dense (tonal, noisy) events end up with overlapping loudness ranges.
    """
    import numpy as np

    event = _EVENTS[label](rng, n_event, sr)
    event = event * _envelope(n_event, rng.uniform(0.02, 0.3), rng.uniform(0.05, 0.4))
    peak = float(np.max(np.abs(event)))
    rms = float(np.sqrt(np.mean(event**2)))
    level = math.sqrt(peak * rms) or 1.0
    return event * (_log_uniform(rng, 0.015, 0.4) / level)


def synthesize_clip(entry: dict) -> "np.ndarray":
    """Make the audio of one planned clip.

    The clip holds one call-like event of the entry's class at a random onset
    over the recorder's noise floor, plus, for some clips, extra background
    noise at a low signal-to-noise ratio. All randomness comes from a
    generator seeded by a stable hash (SHA-256) of ``entry["relpath"]``, so
    the result depends on the entry only.

    Parameters
    ----------
    entry : dict
        One element of `demo_plan`; uses ``relpath``, ``class``, ``author``,
        ``sr`` and ``duration``.

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),), dtype=float32]
        Mono audio in ``[-1, 1]``.

    Raises
    ------
    ValueError
        If the class or the recorder is unknown.

    See Also
    --------
    demo_plan
    write_demo

    Examples
    --------
    >>> entry = demo_plan(1)[0]
    >>> y = synthesize_clip(entry)
    >>> y.dtype, len(y) == round(entry["duration"] * entry["sr"])
    (dtype('float32'), True)
    """
    import numpy as np

    label = entry["class"]
    if label not in _EVENTS:
        raise ValueError(f"unknown class {label!r}; expected one of {CLASSES}")
    floors = {name: floor for name, _sr, floor in RECORDERS}
    author = entry["author"]
    if author not in floors:
        raise ValueError(f"unknown recorder {author!r}")
    sr = int(entry["sr"])
    n = int(round(float(entry["duration"]) * sr))
    rng = _rng_for(entry["relpath"])

    # The event: 15 % to 85 % of the clip, at a random onset.
    n_event = max(16, int(round(rng.uniform(0.15, 0.85) * n)))
    onset = int(rng.integers(0, n - n_event + 1))
    event = _call(rng, label, n_event, sr)

    y = np.zeros(n)
    y[onset : onset + n_event] = event
    y += _recorder_noise(rng, n, sr, floors[author], author)

    # Background: most clips fairly clean, about a third noisy.
    if rng.random() < 0.35:
        snr_db = rng.uniform(-3.0, 8.0)
    else:
        snr_db = rng.uniform(8.0, 35.0)
    event_rms = float(np.sqrt(np.mean(event**2)))
    white = rng.standard_normal(_fft_len(n))
    low_cut = rng.uniform(50.0, 300.0)
    background = _band_filter(white, sr, low_cut, min(_F_MAX, sr / 2.0 - 200.0))[:n]
    bg_rms = float(np.sqrt(np.mean(background**2))) or 1.0
    y += background * (event_rms * 10.0 ** (-snr_db / 20.0) / bg_rms)

    peak = float(np.max(np.abs(y)))
    if peak > 0.99:  # never clip: scale the whole clip down instead
        y *= 0.99 / peak
    return y.astype(np.float32)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _write_wav_atomic(path: str, y, sr: int) -> None:
    """Write 16-bit PCM WAV to ``path`` via a temporary file and `os.replace`."""
    import soundfile as sf
    from atomic import atomic_path  # here, not at the top: planning needs the standard library only

    with atomic_path(path) as tmp:
        sf.write(tmp, y, sr, subtype="PCM_16", format="WAV")


def write_demo(out_dir: str | os.PathLike, plan: list[dict] | None = None) -> list[str]:
    """Write the demo clips as 16-bit PCM WAV files.

    Each clip goes to ``out_dir / relpath`` (folders are created); each file
    is written to a temporary name in its folder and then moved into place
    with `os.replace`, so a reader never sees a half-written file. Repeated
    calls produce byte-identical files.

    Parameters
    ----------
    out_dir : str or os.PathLike
        Root folder of the dataset.
    plan : list of dict or None
        Clips to write, as returned by `demo_plan`. ``None`` means
        ``demo_plan()``.

    Returns
    -------
    paths : list of str
        The written file paths (``os.path.join(out_dir, relpath)``), in plan
        order.

    See Also
    --------
    demo_plan
    synthesize_clip

    Examples
    --------
    >>> paths = write_demo("results/demo", demo_plan(1))  # doctest: +SKIP
    """
    if plan is None:
        plan = demo_plan()
    out_dir = os.fspath(out_dir)
    paths = []
    for entry in plan:
        path = os.path.join(out_dir, *entry["relpath"].split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _write_wav_atomic(path, synthesize_clip(entry), int(entry["sr"]))
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------
# Soundscapes: long recordings with calls at known times, and their Raven tables
# ---------------------------------------------------------------------------

SOUNDSCAPE_SECONDS = 60.0
"""Length of a demo soundscape in seconds."""

HELDOUT_SITES: tuple[str, ...] = ("reef", "fjord")
"""Recorders that also make a held-out soundscape (for prediction), in a folder of its own."""

RAVEN_HEADER = (
    "Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)", "Annotation",
)


CHORUS_DUET_EVERY = 3
"""In an overlap ("chorus") soundscape, one slot in every this many holds two overlapping calls."""

CHORUS_MIN_OVERLAP = 0.55
"""Least overlap of a chorus duet, as a fraction of its shorter call (drawn up to 1: one call inside the other)."""


def soundscape_plan(heldout: bool = False, overlap: bool = False) -> list[dict]:
    """List the demo soundscapes and their calls without making them (standard library only).

    One soundscape of :data:`SOUNDSCAPE_SECONDS` per recorder (or, with
    ``heldout``, one per :data:`HELDOUT_SITES`): the recorder's noise floor
    with calls of the demo classes placed at known times. Without
    ``overlap`` the calls follow one another, 1 to 3 s apart. With
    ``overlap`` (the "chorus", for multi-label windows) see
    :func:`_chorus_events`: about half of the calls overlap a call of
    another class, never one of their own class.

    Parameters
    ----------
    heldout : bool
        The held-out soundscapes (for prediction) instead of the training ones.
    overlap : bool
        The chorus soundscapes, with overlapping calls.

    Returns
    -------
    plan : list of dict
        ``relpath`` (``{recorder}_soundscape.wav``, ``{recorder}_heldout.wav``,
        ``{recorder}_chorus.wav`` or ``{recorder}_chorus_heldout.wav``),
        ``table`` (its Raven selection table, the same stem with
        ``.Table.1.selections.txt``), ``author``, ``sr``, ``duration`` and
        ``events``: a list of ``(start, end, class)`` in seconds, rounded to
        the millisecond, sorted by start, every one ending at least 0.3 s
        before the end. Each soundscape's calls are drawn from a generator
        seeded by its stem only.
    """
    import random

    plan = []
    for name, sr, _floor in RECORDERS:
        if heldout and name not in HELDOUT_SITES:
            continue
        if overlap:
            stem = f"{name}_chorus{'_heldout' if heldout else ''}"
        else:
            stem = f"{name}_{'heldout' if heldout else 'soundscape'}"
        rng = random.Random(_stable_u64("soundscape:" + stem))
        if overlap:
            events = _chorus_events(rng)
        else:
            events, t = [], rng.uniform(0.3, 1.5)
            while True:
                length = round(rng.uniform(MIN_DURATION, MAX_DURATION), 3)
                if t + length > SOUNDSCAPE_SECONDS - 0.3:
                    break
                events.append((round(t, 3), round(t + length, 3), CLASSES[rng.randrange(len(CLASSES))]))
                t += length + rng.uniform(1.0, 3.0)
        plan.append(
            {
                "relpath": f"{stem}.wav",
                "table": f"{stem}.Table.1.selections.txt",
                "author": name,
                "sr": sr,
                "duration": SOUNDSCAPE_SECONDS,
                "events": events,
            }
        )
    return plan


def _chorus_events(rng) -> list[tuple[float, float, str]]:
    """The calls of one chorus soundscape: slots 1 to 3 s apart, one in :data:`CHORUS_DUET_EVERY` a duet.

    A slot holds one call (a solo) or two calls of two different classes (a
    duet) from two callers: the second starts anywhere from the first's onset
    to the point where they still overlap by a fraction of the shorter call
    drawn from ``[CHORUS_MIN_OVERLAP, 1]``. Silent gaps of 1 to 3 s separate
    the slots, so calls of different slots never overlap and two calls of one
    class never do. The duets are spread evenly: in every block of
    :data:`CHORUS_DUET_EVERY` slots exactly one (at a random place) is a duet,
    the duets deal out the class pairs from a shuffled deck (each pair once
    before any pair again) and the solos the classes likewise, so about half of
    the calls overlap another, every class pair overlaps and every class calls.

    Parameters
    ----------
    rng : random.Random
        The soundscape's generator.

    Returns
    -------
    events : list of (start, end, class)
        Seconds rounded to the millisecond, sorted by start; every call is
        ``MIN_DURATION`` to ``MAX_DURATION`` long and ends at least 0.3 s
        before :data:`SOUNDSCAPE_SECONDS`.
    """
    pairs = [(a, b) for i, a in enumerate(CLASSES) for b in CLASSES[i + 1 :]]
    solo_deck: list[str] = []
    duet_deck: list[tuple[str, str]] = []
    block: list[bool] = []
    events, t = [], rng.uniform(0.3, 1.5)
    while True:
        if not block:
            block = [True] + [False] * (CHORUS_DUET_EVERY - 1)
            rng.shuffle(block)
        if block.pop():
            if not duet_deck:
                duet_deck = pairs[:]
                rng.shuffle(duet_deck)
            labels = list(duet_deck.pop())
            rng.shuffle(labels)
            first, second = (round(rng.uniform(MIN_DURATION, MAX_DURATION), 3) for _ in range(2))
            shared = rng.uniform(CHORUS_MIN_OVERLAP, 1.0) * min(first, second)
            onset = t + rng.uniform(0.0, 1.0) * (first - shared)
            slot = [(t, t + first, labels[0]), (onset, onset + second, labels[1])]
        else:
            if not solo_deck:
                solo_deck = list(CLASSES)
                rng.shuffle(solo_deck)
            slot = [(t, t + round(rng.uniform(MIN_DURATION, MAX_DURATION), 3), solo_deck.pop())]
        end = max(stop for _start, stop, _label in slot)
        if end > SOUNDSCAPE_SECONDS - 0.3:
            break
        events += [(round(start, 3), round(stop, 3), label) for start, stop, label in slot]
        t = end + rng.uniform(1.0, 3.0)
    events.sort(key=lambda event: (event[0], event[1]))
    return events


def overlap_share(events, min_fraction: float = 0.5) -> float:
    """Share of events that overlap an event of another class by at least ``min_fraction`` of the shorter one.

    Parameters
    ----------
    events : iterable of (start, end, class)
        Seconds; any order.
    min_fraction : float in (0, 1]
        Least overlap, as a fraction of the shorter of the two events.

    Returns
    -------
    share : float in [0, 1]
        0.0 for no events.

    Examples
    --------
    >>> overlap_share([(0.0, 1.0, "a"), (0.5, 1.0, "b"), (3.0, 4.0, "a")])
    0.6666666666666666
    >>> overlap_share([(0.0, 1.0, "a"), (0.9, 1.9, "b")])
    0.0
    """
    events = list(events)
    if not events:
        return 0.0
    hit = [False] * len(events)
    for i, (start_i, end_i, label_i) in enumerate(events):
        for j in range(i + 1, len(events)):
            start_j, end_j, label_j = events[j]
            if label_i == label_j:
                continue
            shared = min(end_i, end_j) - max(start_i, start_j)
            if shared > 0 and shared >= min_fraction * min(end_i - start_i, end_j - start_j) - 1e-9:
                hit[i] = hit[j] = True
    return sum(hit) / len(events)


def _soundscape_parts(entry: dict):
    """The parts of one planned soundscape before they are mixed: its noise floor and its calls.

    Parameters
    ----------
    entry : dict
        One element of :func:`soundscape_plan`.

    Returns
    -------
    noise : np.ndarray [shape=(round(duration * sr),)]
        The recorder's noise floor.
    calls : list of (int, np.ndarray)
        Each planned event's first sample and its call, in event order. The
        generator (seeded by ``relpath``) draws the noise, then the calls in
        event order.
    """
    floors = {name: floor for name, _sr, floor in RECORDERS}
    sr = int(entry["sr"])
    n = int(round(float(entry["duration"]) * sr))
    rng = _rng_for(entry["relpath"])
    noise = _recorder_noise(rng, n, sr, floors[entry["author"]], entry["author"])
    calls = []
    for start, end, label in entry["events"]:
        first = int(round(start * sr))
        n_event = int(round(end * sr)) - first
        calls.append((first, _call(rng, label, n_event, sr)))
    return noise, calls


def synthesize_soundscape(entry: dict) -> "np.ndarray":
    """Make the audio of one planned soundscape: the recorder's noise floor plus the planned calls.

    Overlapping calls (the chorus of ``soundscape_plan(overlap=True)``) are
    simply added, each at its own level. If the sum peaks above 0.99 the
    whole soundscape, noise included, is scaled down to that peak: nothing
    clips, and every call keeps its level relative to the noise floor and to
    the calls it overlaps (one loud peak lowers everything alike, so it masks
    nothing).

    Parameters
    ----------
    entry : dict
        One element of :func:`soundscape_plan`.

    Returns
    -------
    y : np.ndarray [shape=(round(duration * sr),), dtype=float32]
        Mono audio in ``[-0.99, 0.99]``.
    """
    import numpy as np

    y, calls = _soundscape_parts(entry)
    for first, call in calls:
        y[first : first + len(call)] += call
    peak = float(np.max(np.abs(y)))
    if peak > 0.99:
        y *= 0.99 / peak
    return y.astype(np.float32)


def raven_table(events) -> str:
    """A Raven selection table (tab-separated text) of ``(start, end, class)`` events."""
    lines = ["\t".join(RAVEN_HEADER)]
    for i, (start, end, label) in enumerate(events, start=1):
        lines.append(f"{i}\tSpectrogram 1\t1\t{start:.3f}\t{end:.3f}\t0.0\t{_F_MAX:.1f}\t{label}")
    return "\n".join(lines) + "\n"


def demo_tables(folder: str) -> list[str]:
    """The Raven tables planned in a demo folder (relative paths); none for the clip demo.

    The folder's name says which plan: one holding ``soundscapes`` is a
    soundscape folder, ``overlap`` in it the chorus (``overlap=True``), and a
    name ending in ``_heldout`` the held-out soundscapes; e.g.
    ``results/demo_soundscapes_overlap_heldout`` lists the tables of
    ``soundscape_plan(heldout=True, overlap=True)``.
    """
    name = os.path.basename(os.path.normpath(folder))
    if "soundscapes" not in name:
        return []
    plan = soundscape_plan(heldout=name.endswith("_heldout"), overlap="overlap" in name)
    return [entry["table"] for entry in plan]


def write_soundscapes(out_dir: str | os.PathLike, plan: list[dict]) -> list[str]:
    """Write each planned soundscape (16-bit WAV) and its Raven table; return every path written."""
    from atomic import write_text

    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for entry in plan:
        path = os.path.join(out_dir, entry["relpath"])
        _write_wav_atomic(path, synthesize_soundscape(entry), int(entry["sr"]))
        table = os.path.join(out_dir, entry["table"])
        write_text(table, raven_table(entry["events"]))
        paths += [path, table]
    return paths


# ---------------------------------------------------------------------------
# Snakemake entry point
# ---------------------------------------------------------------------------


DEMO_KINDS: tuple[str, ...] = ("clips", "soundscapes", "soundscapes_overlap")
"""What rule ``demo_audio`` can make (its ``kind`` param); see :func:`main`."""


def main(out_dir, outputs, log, n_per_class_per_recorder=8, kind="clips") -> None:
    """Write the demo clips or soundscapes to ``out_dir`` (the body of rule ``demo_audio``).

    Parameters
    ----------
    out_dir : str
        Folder of the dataset.
    outputs : list of str
        The clips the rule declares; checked against the written files when
        not empty.
    log : str
        Receives stderr.
    n_per_class_per_recorder : int
        Clips per class and recorder; must match the plan that declared
        ``outputs``.
    kind : {'clips', 'soundscapes', 'soundscapes_overlap'}
        The clip dataset (:func:`demo_plan`); the soundscapes
        (``soundscape_plan()``, in ``out_dir``) with their held-out ones
        (``soundscape_plan(heldout=True)``, in ``out_dir`` + ``_heldout``);
        or the chorus soundscapes with overlapping calls, for multi-label
        windows (``soundscape_plan(overlap=True)`` in ``out_dir``, e.g.
        ``results/demo_soundscapes_overlap``, and
        ``soundscape_plan(heldout=True, overlap=True)`` in ``out_dir`` +
        ``_heldout``). Each soundscape comes with its Raven table (see
        :func:`demo_tables`).
    """
    import contextlib
    import time
    import traceback

    with open(log, "w") as f, contextlib.redirect_stderr(f):
        try:
            _run(out_dir, outputs, n_per_class_per_recorder, time.perf_counter(), kind)
        except BaseException:
            traceback.print_exc()  # into the log, then let Snakemake see the failure
            raise


def _run(out_dir, outputs, n, start: float, kind="clips") -> None:
    """Body of `main`, with stderr already redirected to the log."""
    import time

    if kind not in DEMO_KINDS:
        raise ValueError(f"demo_data: unknown kind {kind!r}; expected one of {DEMO_KINDS}")
    if kind != "clips":
        overlap = kind == "soundscapes_overlap"
        print(f"demo_data: writing {kind} to {out_dir} and {out_dir}_heldout", file=sys.stderr)
        paths = write_soundscapes(out_dir, soundscape_plan(overlap=overlap)) + write_soundscapes(
            f"{out_dir}_heldout", soundscape_plan(heldout=True, overlap=overlap)
        )
    else:
        plan = demo_plan(n)
        print(f"demo_data: writing {len(plan)} clips to {out_dir}", file=sys.stderr)
        paths = write_demo(out_dir, plan)
    declared = {os.path.normpath(str(p)) for p in outputs}
    written = {os.path.normpath(p) for p in paths}
    if declared and declared != written:
        missing = sorted(declared - written)[:5]
        extra = sorted(written - declared)[:5]
        raise RuntimeError(
            "demo_data: declared outputs differ from the written clips; "
            f"declared but not written (first 5): {missing}; "
            f"written but not declared (first 5): {extra}"
        )
    print(
        f"demo_data: wrote {len(paths)} files in {time.perf_counter() - start:.2f} s",
        file=sys.stderr,
    )


if "snakemake" in globals():
    main(
        snakemake.params.out_dir,  # type: ignore[name-defined]  # noqa: F821
        list(snakemake.output),  # noqa: F821
        snakemake.log[0],  # noqa: F821
        getattr(snakemake.params, "n_per_class_per_recorder", 8),  # noqa: F821
        getattr(snakemake.params, "kind", "clips"),  # noqa: F821
    )
