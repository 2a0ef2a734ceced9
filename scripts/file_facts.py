"""What each spectrogram job made of its files: the table the catalog and the manifests are built from.

Every spectrogram job writes one small JSON file (``results/file_facts/{forms}/{job}.json``)
beside its spectrograms, one entry per audio file of the job:

- a file the job rejected (``audio_processing.save_rejected``):
  ``{"rejected": reason}``;
- any other: ``{"rejected": null, "duration": seconds, "sample_rate": Hz,
  "channels": n, "shapes": {form: [...]}}``, the audio facts of the original
  file (``audio_io.audio_facts``: the duration exactly ``frames / samplerate``)
  and the shape of the array in each branch's file
  (``audio_processing.read_spectrogram_file``).

The catalog and the manifests read these few files instead of every audio
header and every spectrogram of the run, so that after one file changed they
read one job's worth of new facts and a table per job, not 3,000 or 30,000
files. The JSON is written in a fixed order (sorted keys), so the same outputs
give the same bytes, and an incremental run the same tables as a clean one.
"""

import json

#: Forms whose array shape is recorded (the colour PNGs of ``image.cmap`` are for people, not manifests).
SHAPE_FORMS = ("npy", "png")


def file_facts(audio, outputs, channels=1):
    """The entry of one audio file, read from the outputs its job wrote.

    Parameters
    ----------
    audio : str
        The audio file.
    outputs : dict
        Form (``'npy'``, ``'png'``, ``'color'``) → the file's output in that form.
    channels : int
        Channels per spectrogram array (a PNG stacks them vertically).

    Returns
    -------
    dict
        ``{"rejected": reason}`` for a rejected file, else its audio facts and
        shapes (see the module's docstring).
    """
    from audio_io import audio_facts
    from audio_processing import read_spectrogram_file

    shapes = {}
    for form, path in outputs.items():
        if form not in SHAPE_FORMS:
            continue
        shape, reason = read_spectrogram_file(path, channels)
        if reason is not None:
            return {"rejected": reason}
        shapes[form] = list(shape)
    duration, sample_rate, n_channels = audio_facts(audio)
    return {
        "rejected": None,
        "duration": duration,
        "sample_rate": sample_rate,
        "channels": n_channels,
        "shapes": shapes,
    }


def job_facts(files, outputs, channels=1):
    """The entries of one job's files, in the job's order: audio path → :func:`file_facts`.

    Parameters
    ----------
    files : list of str
        The job's audio files.
    outputs : dict
        Form → list of output paths, in the order of ``files``.
    channels : int
        See :func:`file_facts`.
    """
    return {
        audio: file_facts(audio, {form: paths[i] for form, paths in outputs.items()}, channels)
        for i, audio in enumerate(files)
    }


def write_facts(path, entries):
    """Write a job's entries (:func:`job_facts`) to its facts file, atomically, in a fixed order of keys."""
    from atomic import write_bytes

    write_bytes(path, (json.dumps({"files": entries}, sort_keys=True) + "\n").encode("utf-8"))


def read_facts(paths):
    """The entries of several jobs' facts files, merged: audio path → entry."""
    merged = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            merged.update(json.load(f)["files"])
    return merged
