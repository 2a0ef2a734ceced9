"""The catalog of a run: every clip with its labels, class id, split and audio facts.

Writes ``results/catalog.csv`` (the table both manifests are built from),
``results/classes.csv`` (class → class_id, sorted names) and
``results/split_summary.csv`` (files and authors per split and class).
"""

import sys

import pandas as pd

import audio_files as labelling
import splits


def audio_facts(path):
    """Duration in seconds, original sample rate and channel count of an audio file."""
    import soundfile

    try:
        info = soundfile.info(path)
        return info.frames / info.samplerate, int(info.samplerate), int(info.channels)
    except Exception:  # formats libsndfile cannot read (e.g. some mp3): ask librosa
        import librosa

        sr = librosa.get_samplerate(path)
        return librosa.get_duration(path=path), int(sr), 0


def build_catalog(audio_dir, relpaths, labels, split):
    """Label, number and split the clips.

    Parameters
    ----------
    audio_dir : str
        Folder of the audio files.
    relpaths : list of str
        Audio paths relative to ``audio_dir``.
    labels : dict
        The ``labels`` section of the configuration.
    split : dict
        The ``split`` section of the configuration.

    Returns
    -------
    catalog : pandas.DataFrame
        One row per clip: id, audio_path, class, class_id, author, split,
        duration, sample_rate, channels; sorted by id.
    classes : pandas.DataFrame
        class, class_id.
    summary : pandas.DataFrame
        Realised files and authors per split and class.
    """
    pairs = labelling.label_files(relpaths, labels["from"], labels["pattern"], labels["csv"])
    table = pd.DataFrame(
        {
            "id": [labelling.file_id(rel) for rel in relpaths],
            "audio_path": [f"{audio_dir}/{rel}" for rel in relpaths],
            "class": [c for c, _ in pairs],
            "author": [a for _, a in pairs],
        }
    )
    ids = labelling.class_ids(table["class"])
    table.insert(3, "class_id", table["class"].map(ids).astype(int))
    table["split"] = splits.assign_splits(
        table,
        by=split["by"],
        fractions=split["fractions"],
        seed=split["seed"],
        holdout_authors=split["holdout_authors"],
        holdout_fraction=split["holdout_fraction"],
        assign=split["assign"],
    )
    facts = [audio_facts(path) for path in table["audio_path"]]
    table["duration"] = [round(d, 6) for d, _, _ in facts]
    table["sample_rate"] = [sr for _, sr, _ in facts]
    table["channels"] = [ch for _, _, ch in facts]
    table = table.sort_values("id", kind="stable").reset_index(drop=True)
    classes = pd.DataFrame({"class": list(ids), "class_id": list(ids.values())})
    return table, classes, splits.split_summary(table)


def main(audio, audio_dir, labels, split, out_catalog, out_classes, out_summary):
    """Build and write the three tables."""
    prefix = audio_dir.rstrip("/") + "/"
    relpaths = [path[len(prefix) :] for path in audio]
    table, classes, summary = build_catalog(audio_dir, relpaths, labels, split)
    for message in splits.class_warnings(table):
        print(f"warning: {message}", file=sys.stderr)
    table.to_csv(out_catalog, index=False)
    classes.to_csv(out_classes, index=False)
    summary.to_csv(out_summary, index=False)


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    main(
        snakemake.input.audio,
        snakemake.params.audio_dir,
        snakemake.params.labels,
        snakemake.params.split,
        snakemake.output.catalog,
        snakemake.output.classes,
        snakemake.output.summary,
    )
