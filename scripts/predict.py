"""Classify new recordings with a trained model, using exactly the spectrogram settings
stored in its provenance (not today's config.yaml).

A model trained on fixed windows of long recordings scores every window of each
recording (one row per window: file, start, end, predicted, score, p_{class}),
and writes a Raven selection table per recording in which consecutive windows of
the same class scoring at least ``windows.threshold`` become one selection.

A multi-label model (``labels.multi_label``) predicts every class whose score
reaches that class's threshold (chosen on val, stored in the provenance):
``predicted`` joins them with ``;``, and each class's consecutive windows above
its threshold make its own selections, which may overlap another class's.

As a command::

    python scripts/predict.py --model results/model_npy.keras /data/new_recordings [--out predictions.csv]
        [--selections folder_for_raven_tables]

In the workflow: ``predict: {name: folder}`` in the configuration, then
``snakemake --cores 2 results/predictions/{name}.csv``: one job per batch of
recordings (``predict_seconds_per_job``), each writing its own tables
(:func:`main`), merged by ``scripts/merge_predictions.py``. With
``recordings.pattern`` (``--pattern``) the rows get ``site`` and
``begin_datetime`` and the Raven tables ``Begin Date Time``.
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loaders  # noqa: E402
import tables  # noqa: E402
from atomic import write_text  # noqa: E402
from audio_io import audio_duration  # noqa: E402
from audio_processing import resize  # noqa: E402
from detections import merge_detections, multilabel_detections  # noqa: E402
from labelling import join_classes  # noqa: E402
from recording_times import at, raven_time, recording_places  # noqa: E402
from discovery import discover_audio, file_id  # noqa: E402
from settings import complete  # noqa: E402
from spectrogram_math import recording_windows, spectrogram, spectrogram_windows  # noqa: E402

#: Windows scored per call of the model (memory stays bounded whatever the recording's length).
CHUNK = 256


def provenance_path(model_path):
    """``results/model_npy.keras`` → ``results/model_npy.provenance.json``."""
    return str(model_path).removesuffix(".keras") + ".provenance.json"


def read_provenance(model_path):
    """The provenance record stored beside a model, with its complete ``image:`` settings under ``image``."""
    with open(provenance_path(model_path), encoding="utf-8") as f:
        record = json.load(f)
    record["image"] = complete("image", record.get("config", {}).get("image"))
    return record


def model_input(path, record, x=None):
    """The array a model saw in training for one audio file, or for ``x`` computed from it (PNG models see 8-bit values).

    A model of the birdnet branch sees the file's BirdNET embedding (``birdnet.embed_file``).
    """
    if record["branch"] == "birdnet":
        import birdnet

        return birdnet.embed_file(path) if x is None else x
    x = spectrogram(path, record["spectrogram"]) if x is None else x
    if record["branch"] == "png":  # as its PNG: drawn at the image size, then 8-bit
        x = np.rint(resize(x, record["image"]) * 255.0) / 255.0
    x = loaders.with_channel_axis(x).astype(np.float32)
    if list(x.shape) != list(record["input_shape"]):
        raise ValueError(f"{path}: spectrogram shape {x.shape} differs from the model's {tuple(record['input_shape'])}")
    return x


def class_thresholds(record, override=None):
    """Each class's threshold of a multi-label model (its provenance's, or ``override`` for every class); None else."""
    thresholds = record.get("thresholds")
    if thresholds is None:
        return None
    values = [thresholds[name] for name in record["classes"]]
    return np.full(len(values), float(override)) if override is not None else np.asarray(values, dtype=np.float64)


def predicted_columns(probabilities, classes, thresholds=None):
    """``predicted`` and its score for every row of scores.

    One class per row (``thresholds`` None): the most probable class and its
    probability. Several: the classes at or above their thresholds joined by
    ``;`` (``''`` for none), and the highest score among them (the highest
    score of all when none reaches its threshold).

    Examples
    --------
    >>> p = np.array([[0.9, 0.6], [0.2, 0.1]])
    >>> predicted_columns(p, ["jay", "owl"]), predicted_columns(p, ["jay", "owl"], np.array([0.5, 0.5]))
    ((['jay', 'jay'], [0.9, 0.2]), (['jay;owl', ''], [0.9, 0.2]))
    """
    if len(probabilities) == 0:
        return [], []
    if thresholds is None:
        best = probabilities.argmax(axis=1)
        return [classes[i] for i in best], probabilities[np.arange(len(best)), best].round(6).tolist()
    hits = probabilities >= thresholds
    names = [join_classes([c for c, hit in zip(classes, row) if hit]) for row in hits]
    top = np.where(hits.any(axis=1), np.where(hits, probabilities, -np.inf).max(axis=1), probabilities.max(axis=1))
    return names, top.round(6).tolist()


def predict_files(model_path, paths, batch_size=64, threshold=None, places=None):
    """Predicted class (classes, for a multi-label model) and the probability of every class for each audio file.

    ``places``: each file's ``{"site", "start"}`` by path (:func:`place_of`), or None.

    Returns
    -------
    pandas.DataFrame
        ``file``, (with ``places``: ``site`` and ``begin_datetime``, the
        recording's start), ``predicted``, ``probability`` (of the prediction; the
        highest of the predicted classes for a multi-label model) and one
        ``p_{class}`` column per class.
    """
    record = read_provenance(model_path)
    from model import setup_keras

    keras = setup_keras()
    model = keras.models.load_model(model_path)
    parts = []
    for start in range(0, len(paths), CHUNK):  # a chunk of files at a time: memory stays bounded
        features = np.stack([model_input(p, record) for p in paths[start : start + CHUNK]])
        parts.append(model.predict(features, batch_size=batch_size, verbose=0))
    classes = record["classes"]
    probabilities = np.concatenate(parts) if parts else np.zeros((0, len(classes)))
    table = pd.DataFrame({"file": [str(p) for p in paths]})
    if places is not None:
        table["site"] = [places[str(p)]["site"] for p in paths]
        table["begin_datetime"] = [places[str(p)]["start"] for p in paths]
    table["predicted"], table["probability"] = predicted_columns(probabilities, classes,
                                                                 class_thresholds(record, threshold))
    for i, name in enumerate(classes):
        table[f"p_{name}"] = probabilities[:, i].round(6)
    return table


def windows_of(record):
    """The model's ``windows:`` settings, or None for a model of clips."""
    windows = record.get("config", {}).get("windows")
    return windows if windows and windows.get("length") is not None else None


def predict_windows(model, path, record, windows):
    """Scores of every window of one recording, computed a chunk of windows at a time.

    Returns
    -------
    bounds : np.ndarray
        ``(n_windows, 2)`` start and end in seconds.
    probabilities : np.ndarray
        ``(n_windows, n_classes)``.
    """
    bounds = recording_windows(path, windows)
    parts, chunk = [], []
    if record["branch"] == "birdnet":
        import birdnet

        arrays = birdnet.embed_windows(path, windows, bounds)
    else:
        arrays = spectrogram_windows(path, record["spectrogram"], windows, bounds=bounds)
    for x in arrays:
        chunk.append(model_input(path, record, x))
        if len(chunk) == CHUNK:
            parts.append(model.predict(np.stack(chunk), verbose=0))
            chunk = []
    if chunk:
        parts.append(model.predict(np.stack(chunk), verbose=0))
    n_classes = len(record["classes"])
    return bounds, np.concatenate(parts) if parts else np.zeros((0, n_classes))


def window_table(path, bounds, probabilities, classes, thresholds=None, place=None):
    """One row per window: file, start, end, predicted, score and p_{class} (:func:`predicted_columns`).

    With ``place`` (``{"site", "start"}``), ``site`` and ``begin_datetime`` (the window's start as ISO 8601,
    ``''`` when the recording's start is unknown) follow ``end``.
    """
    predicted, score = predicted_columns(probabilities, classes, thresholds)
    columns = {
        "file": [str(path)] * len(bounds),
        "start": np.round(bounds[:, 0], 6),
        "end": np.round(bounds[:, 1], 6),
    }
    if place is not None:
        columns["site"] = [place["site"]] * len(bounds)
        columns["begin_datetime"] = [at(place["start"], start) for start in bounds[:, 0]]
    table = pd.DataFrame({**columns, "predicted": predicted, "score": np.asarray(score, dtype=np.float64)})
    for i, name in enumerate(classes):
        table[f"p_{name}"] = probabilities[:, i].round(6)
    return table


def raven_selections(selections, low_hz=0.0, high_hz=0.0, begin_file=None, start=""):
    """A Raven selection table (tab-separated text) of ``(start, end, class, score)`` selections.

    With ``begin_file`` (the recording's file name), Raven Pro's ``Begin File`` and ``File Offset (s)`` columns;
    with ``start`` too (the recording's start, ISO 8601), ``Begin Date Time`` (``2024/05/01 05:30:01.500``).
    """
    header = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)", "High Freq (Hz)",
              "Annotation", "Score"]
    header += ["Begin File", "File Offset (s)"] if begin_file is not None else []
    header += ["Begin Date Time"] if begin_file is not None and start else []
    lines = ["\t".join(header)]
    for i, (begin, end, label, score) in enumerate(selections, start=1):
        cells = [str(i), "Spectrogram 1", "1", f"{begin:.3f}", f"{end:.3f}", f"{low_hz:.1f}", f"{high_hz:.1f}", label,
                 f"{score:.4f}"]
        cells += [begin_file, f"{begin:.3f}"] if begin_file is not None else []
        cells += [raven_time(start, begin)] if begin_file is not None and start else []
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def detection_rows(path, selections, place=None):
    """One row per selection of a recording: file, start, end, (site, begin_datetime,) class, score."""
    rows = []
    for begin, end, label, score in selections:
        row = {"file": str(path), "start": round(begin, 6), "end": round(end, 6)}
        if place is not None:
            row.update(site=place["site"], begin_datetime=at(place["start"], begin))
        rows.append({**row, "class": label, "score": round(score, 6)})
    return rows


def detection_table(rows, places=None):
    """The detections of many recordings as a table (its columns even when there is none)."""
    columns = ["file", "start", "end"] + (["site", "begin_datetime"] if places is not None else []) + ["class", "score"]
    return pd.DataFrame(rows, columns=columns)


def predict_recordings(model_path, paths, folder, selections_dir=None, threshold=None, places=None):
    """Window scores of every recording (:func:`predict_windowed`'s first table)."""
    return predict_windowed(model_path, paths, folder, selections_dir, threshold, places)[0]


def predict_windowed(model_path, paths, folder, selections_dir=None, threshold=None, places=None,
                     default_threshold=None):
    """Window scores of every recording, its detections, and a Raven selection table per recording.

    Parameters
    ----------
    model_path : str
        A model trained on windows (its provenance names them).
    paths : list of str
        Recordings.
    folder : str
        Their folder: a table is named after the path relative to it,
        ``{folder}/a/rec1.wav`` → ``{selections_dir}/a/rec1.selections.txt``.
    selections_dir : str or None
        Where the Raven tables go (none are written when None).
    threshold : float or None
        Least score of a detection, for every class; None: a multi-label
        model's own threshold per class, else ``default_threshold``.
    places : dict or None
        Each recording's ``{"site", "start"}`` by path (:func:`place_of`), or None when unknown.
    default_threshold : float or None
        ``windows.threshold`` of the configuration (the rule passes it): the
        least score of a single-label model's detections; None: 0.5, or what an
        older model's provenance holds.

    Returns
    -------
    windows : pandas.DataFrame
        One row per window (:func:`window_table`).
    detections : pandas.DataFrame
        One row per selection of the Raven tables (:func:`detection_table`).
    """
    record = read_provenance(model_path)
    windows = windows_of(record)
    if windows is None:
        raise ValueError(f"{model_path} was trained on clips, not windows: use predict_files")
    thresholds = class_thresholds(record, threshold)
    if threshold is None:  # windows.threshold is a prediction setting: the workflow's, else an older model's own
        threshold = default_threshold if default_threshold is not None else windows.get("threshold", 0.5)
    background = record.get("config", {}).get("labels", {}).get("background")
    settings = record["spectrogram"]
    from model import setup_keras

    model = setup_keras().models.load_model(model_path)
    parts, found = [], []
    for path in paths:
        place = None if places is None else places[str(path)]
        bounds, probabilities = predict_windows(model, path, record, windows)
        rows = window_table(path, bounds, probabilities, record["classes"], thresholds, place)
        parts.append(rows)
        duration = audio_duration(path)
        if thresholds is None:
            selections = merge_detections(rows, threshold, background, duration)
        else:
            selections = multilabel_detections(bounds[:, 0], bounds[:, 1], probabilities, record["classes"],
                                               thresholds, duration)
        found += detection_rows(path, selections, place)
        if selections_dir is not None:
            high = settings["fmax"] or (settings["sr"] or 0) / 2.0
            text = raven_selections(selections, settings["fmin"], high, os.path.basename(str(path)),
                                    place["start"] if place else "")
            rel = file_id(os.path.relpath(path, folder).replace(os.sep, "/"))
            write_text(os.path.join(selections_dir, f"{rel}.selections.txt"), text)
    if not parts:
        empty = np.zeros((0, len(record["classes"])))
        place = {"site": "", "start": ""} if places is not None else None
        parts = [window_table("", np.zeros((0, 2)), empty, record["classes"], place=place)]
    return pd.concat(parts, ignore_index=True), detection_table(found, places)


def write_csv(table, out_csv):
    """Write atomically."""
    tables.write_csv(table, out_csv)


def cli(argv=None):
    parser = argparse.ArgumentParser(description="Classify a folder of recordings with a trained model.")
    parser.add_argument("folder", help="folder searched recursively for wav/flac/aif/aiff/ogg/mp3 files")
    parser.add_argument("--model", default="results/model_npy.keras", help="model (.keras) with its provenance JSON")
    parser.add_argument("--out", default="-", help="CSV to write (default: standard output)")
    parser.add_argument("--selections", help="folder for a Raven selection table per recording (windowed models)")
    parser.add_argument("--threshold", type=float,
                        help="least score of a detection (default: the model's; a multi-label model's per class)")
    parser.add_argument("--pattern", help="site and start from the file names: a regex with groups site and start "
                        "(recordings.pattern, docs/windows.md)")
    parser.add_argument("--time-format", default="%Y%m%d_%H%M%S", help="strptime format of the start group")
    args = parser.parse_args(argv)
    relpaths = discover_audio(args.folder)
    paths = [os.path.join(args.folder, rel) for rel in relpaths]
    if not paths:
        parser.error(f"no audio files under {args.folder}")
    settings = {"pattern": args.pattern, "time_format": args.time_format, "csv": None, "unmatched": "empty"}
    places = place_of(recording_places(relpaths, settings, file_id), args.folder)
    if windows_of(read_provenance(args.model)) is not None:
        table = predict_recordings(args.model, paths, args.folder, args.selections, args.threshold, places)
    else:
        table = predict_files(args.model, paths, threshold=args.threshold, places=places)
    if args.out == "-":
        tables.safe_frame(table).to_csv(sys.stdout, index=False)
    else:
        write_csv(table, args.out)


def place_of(places, folder):
    """``recording_times.recording_places`` (by path relative to ``folder``) keyed by the audio paths, or None."""
    if places is None:
        return None
    return {os.path.join(folder, rel): place for rel, place in places.items()}


def main(model_path, audio, folder, out_csv, selections_dir=None, detections_csv=None, places=None, threshold=None):
    """A prediction job's work: window scores, detections and Raven tables for a windowed model, else one row
    per file, for the recordings ``audio`` of ``folder`` (``places``: their sites and starts by relative path)."""
    places = place_of(places, folder)
    if windows_of(read_provenance(model_path)) is not None:
        os.makedirs(selections_dir, exist_ok=True)
        table, found = predict_windowed(model_path, audio, folder, selections_dir, places=places,
                                        default_threshold=threshold)
        write_csv(found, detections_csv)
    else:
        table = predict_files(model_path, audio, places=places)
    write_csv(table, out_csv)


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    main(
        snakemake.input.model,
        list(snakemake.input.audio),
        snakemake.params.folder,
        snakemake.output.csv,
        snakemake.output.get("selections"),
        snakemake.output.get("detections"),
        snakemake.params.places,
        snakemake.params.threshold,
    )
elif __name__ == "__main__":
    cli()
