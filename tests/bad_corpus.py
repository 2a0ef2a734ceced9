"""A corpus of broken, unusual and hostile audio files, made by the tests (never committed).

Layout follows tests/workflow.py's SMALL_CONFIG pattern ``{class}/{author}_{n}``, so that a file is
rejected only for the reason it was made for.
"""

from pathlib import Path

import numpy as np
import soundfile as sf

from workflow import make_audio_folder, tone_clip

# A name that runs a command if any layer ever hands it to a shell: refused before any job.
HOSTILE = "hum/$(touch PWNED); rm -rf x `touch PWNED2` 'q' \"dq\"_7.wav"
# More names a shell or Slurm reads (each refused): relative path → a character named in the reason.
SHELL_NAMES = {
    "hum/$(touch PWNED3)_8.wav": "$",
    "chirp/tick`touch PWNED4`_8.wav": "`",
    "bark/it's_8.wav": "'",
    "bark/back\\slash_8.wav": "\\",
    "chirp/job%j_8.wav": "%",
}
# Names Snakemake itself reads in a path (each refused): relative path → words of the reason. Braces are
# wildcards; a lower-case <name> is a path variable ("pathvar"): an undefined one stops every run at parse
# time, a defined one (<results>) is replaced by its value, so the file would be looked for under another name.
SNAKEMAKE_NAMES = {
    "bark/brace{id}_4.wav": "{ or }, which Snakemake reads as a wildcard",
    "hum/eve<script>_9.wav": "<script>, which Snakemake reads as a path variable",
    "chirp/at<results>_9.wav": "<results>, which Snakemake reads as a path variable",
}

# Broken files: relative path → words the reason in rejected.csv must contain.
BROKEN = {
    "bark/empty_1.wav": "empty",
    "bark/header_1.wav": "cannot decode",
    "bark/random_1.wav": "cannot decode",
    "chirp/text_1.wav": "cannot decode",
    "chirp/naninf_1.wav": "NaN",
    "hum/stray-take.wav": "does not match",
    **SNAKEMAKE_NAMES,
    HOSTILE: "a shell or Slurm reads",
    **{rel: "a shell or Slurm reads" for rel in SHELL_NAMES},
}

# Files whose header is fine but whose spectrogram job finds them unusable (rejected then, under skip):
# relative path → words of the reason.
LATE = {
    "bark/silence_1.wav": "silent or constant",  # on_silent: skip (the default)
    "hum/constant_1.wav": "silent or constant",  # a DC offset, no sound
    "chirp/damaged_1.flac": "damaged",  # FLAC frames overwritten: only decoding finds it
}

# Good but unusual files: relative path → note.
UNUSUAL = {
    "bark/single_1.wav": "one sample",
    "chirp/short_1.wav": "shorter than one FFT window",
    "chirp/hirate_1.flac": "96 kHz 24-bit stereo FLAC",
    "hum/unsigned_1.wav": "8-bit unsigned WAV",
    "hum/aiff_1.aiff": "AIFF",
    "hum/vorbis_1.ogg": "Ogg Vorbis",
    "bark/Zoë Ångström_3.wav": "spaces and non-ASCII letters",
    "chirp/robin (2) & co!_3.wav": "parentheses, ampersand, exclamation mark: literal inside a shell's quotes",
    "hum/<Tag> a<b c>d_3.wav": "angle brackets around no lower-case name: not a pathvar, Snakemake leaves them",
    "bark/s3:x storage:y_3.wav": "s3: and storage: in a name: Snakemake never takes storage from a path's text",
}


def make_bad_corpus(folder):
    """Write a labelled folder of good clips plus every file of :data:`BROKEN`, :data:`LATE` and :data:`UNUSUAL`.

    Returns
    -------
    good : list of str
        Relative paths of every file that must be processed (the plain clips and :data:`UNUSUAL`);
        :data:`LATE` are written too, and are in neither list.
    """
    folder = Path(folder)
    good = make_audio_folder(folder, per=1)
    rng = np.random.default_rng(5)
    valid = folder / "bark" / "ann_0.WAV"

    (folder / "bark" / "empty_1.wav").write_bytes(b"")
    (folder / "bark" / "header_1.wav").write_bytes(valid.read_bytes()[:22])
    (folder / "bark" / "random_1.wav").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (folder / "chirp" / "text_1.wav").write_text("This is a field note, not a recording.\n")
    bad = tone_clip(700, seconds=0.3)
    bad[100] = np.nan
    bad[200] = np.inf
    sf.write(folder / "chirp" / "naninf_1.wav", bad, 16000, subtype="FLOAT")
    sf.write(folder / "hum" / "stray-take.wav", tone_clip(900, seconds=0.3), 16000)

    sf.write(folder / "bark" / "silence_1.wav", np.zeros(8000, dtype=np.float32), 16000)
    sf.write(folder / "hum" / "constant_1.wav", np.full(8000, 0.25, dtype=np.float32), 16000)
    sf.write(folder / "chirp" / "damaged_1.flac", tone_clip(640, seconds=1.0), 16000)
    data = bytearray((folder / "chirp" / "damaged_1.flac").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 400] = bytes(b ^ 0xFF for b in data[middle : middle + 400])
    (folder / "chirp" / "damaged_1.flac").write_bytes(bytes(data))
    sf.write(folder / "bark" / "single_1.wav", np.array([0.25], dtype=np.float32), 16000)
    sf.write(folder / "chirp" / "short_1.wav", tone_clip(600, seconds=0.005), 16000)
    hi = np.stack([tone_clip(650, sr=96000, seconds=0.4, seed=1), tone_clip(660, sr=96000, seconds=0.4, seed=2)], 1)
    sf.write(folder / "chirp" / "hirate_1.flac", hi, 96000, subtype="PCM_24")
    sf.write(folder / "hum" / "unsigned_1.wav", tone_clip(950, sr=8000, seconds=0.4), 8000, subtype="PCM_U8")
    sf.write(folder / "hum" / "aiff_1.aiff", tone_clip(960, sr=22050, seconds=0.4), 22050, subtype="PCM_16")
    sf.write(folder / "hum" / "vorbis_1.ogg", tone_clip(970, sr=22050, seconds=0.4), 22050, format="OGG", subtype="VORBIS")
    sf.write(folder / "bark" / "Zoë Ångström_3.wav", tone_clip(320, seconds=0.4), 16000)
    sf.write(folder / "chirp" / "robin (2) & co!_3.wav", tone_clip(330, seconds=0.4), 16000)
    sf.write(folder / "hum" / "<Tag> a<b c>d_3.wav", tone_clip(340, seconds=0.4), 16000)
    sf.write(folder / "bark" / "s3:x storage:y_3.wav", tone_clip(350, seconds=0.4), 16000)
    sf.write(folder / HOSTILE, tone_clip(930, seconds=0.4), 16000)
    for i, rel in enumerate(SHELL_NAMES):
        sf.write(folder / rel, tone_clip(940 + 10 * i, seconds=0.4), 16000)
    for i, rel in enumerate(SNAKEMAKE_NAMES):
        sf.write(folder / rel, tone_clip(910 + 5 * i, seconds=0.3), 16000)
    return sorted(good + list(UNUSUAL))
