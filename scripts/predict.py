"""Classify new recordings with a trained model, using exactly the spectrogram settings
stored in its provenance (not today's config.yaml).

As a command::

    python scripts/predict.py --model results/model_npy.keras /data/new_recordings [--out predictions.csv]

In the workflow: ``predict: {name: folder}`` in the configuration, then
``snakemake --cores 2 results/predictions/{name}.csv``.
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
from atomic import atomic_path  # noqa: E402
from discovery import discover_audio  # noqa: E402
from spectrogram_math import spectrogram  # noqa: E402


def provenance_path(model_path):
    """``results/model_npy.keras`` → ``results/model_npy.provenance.json``."""
    return str(model_path).removesuffix(".keras") + ".provenance.json"


def model_input(path, record):
    """The array a model saw in training for one audio file (PNG models see 8-bit values)."""
    x = spectrogram(path, record["spectrogram"])
    if record["branch"] == "png":
        x = np.rint(x * 255.0) / 255.0
    x = loaders.with_channel_axis(x).astype(np.float32)
    if list(x.shape) != list(record["input_shape"]):
        raise ValueError(f"{path}: spectrogram shape {x.shape} differs from the model's {tuple(record['input_shape'])}")
    return x


def predict_files(model_path, paths, batch_size=64):
    """Predicted class and the probability of every class for each audio file.

    Returns
    -------
    pandas.DataFrame
        ``file``, ``predicted``, ``probability`` (of the prediction) and one
        ``p_{class}`` column per class.
    """
    with open(provenance_path(model_path), encoding="utf-8") as f:
        record = json.load(f)
    from model import setup_keras

    keras = setup_keras()
    model = keras.models.load_model(model_path)
    features = np.stack([model_input(p, record) for p in paths]) if paths else np.zeros((0, *record["input_shape"]))
    probabilities = model.predict(features, batch_size=batch_size, verbose=0) if len(paths) else np.zeros((0, 0))
    classes = record["classes"]
    table = pd.DataFrame({"file": [str(p) for p in paths]})
    best = probabilities.argmax(axis=1) if len(paths) else np.zeros(0, dtype=int)
    table["predicted"] = [classes[i] for i in best]
    table["probability"] = probabilities[np.arange(len(best)), best].round(6) if len(paths) else []
    for i, name in enumerate(classes):
        table[f"p_{name}"] = probabilities[:, i].round(6) if len(paths) else []
    return table


def write_csv(table, out_csv):
    """Write atomically."""
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)


def cli(argv=None):
    parser = argparse.ArgumentParser(description="Classify a folder of recordings with a trained model.")
    parser.add_argument("folder", help="folder searched recursively for wav/flac/aif/aiff/ogg/mp3 files")
    parser.add_argument("--model", default="results/model_npy.keras", help="model (.keras) with its provenance JSON")
    parser.add_argument("--out", default="-", help="CSV to write (default: standard output)")
    args = parser.parse_args(argv)
    paths = [os.path.join(args.folder, rel) for rel in discover_audio(args.folder)]
    if not paths:
        parser.error(f"no audio files under {args.folder}")
    table = predict_files(args.model, paths)
    if args.out == "-":
        table.to_csv(sys.stdout, index=False)
    else:
        write_csv(table, args.out)


if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    write_csv(predict_files(snakemake.input.model, list(snakemake.input.audio)), snakemake.output[0])
elif __name__ == "__main__":
    cli()
