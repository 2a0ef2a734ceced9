"""Manifest of one branch: ``results/final_specs.csv`` (npy) or ``results/final_spects.csv`` (png).

One row per clip: filename (the spectrogram's path, relative to the
manifest's folder), audio_path, id, author, class, class_id, split, duration,
sample_rate (of the original file), spectrogram_sample_rate (the rate its
spectrogram was computed at: ``spectrogram.sr``, or the file's own rate when
that is null) and shape (of the array, e.g. ``64x63``).
With ``windows:``, one row per window: its recording's file, and the columns
window (its index in that file), start and end (seconds of the recording).
With ``labels.multi_label``, ``class`` holds the example's classes joined by
``;`` and a 0/1 column ``label_{class}`` per class replaces ``class_id``.

The shapes come from the spectrogram jobs' file facts (``file_facts``), which
each job wrote when it made the files: the manifest reads a small table per
job, not every spectrogram of the run.

Beside each manifest, its axes file (``results/final_specs.axes.json``,
``results/final_spects.axes.json``; :func:`axes_file`) gives the frequency of
every row and the time of every column of the branch's arrays or images, from
the spectrogram settings (``spectrogram_math.axes``). It sits beside the
manifest, not in the spectrogram folders, whose unknown files are removed as orphans.
"""

import json
import os

from atomic import write_bytes
from labelling import label_columns
from loaders import shape_channels
from spectrogram_math import axes, spectrogram_rate
from tables import read_csv, write_csv

#: The spectrogram's sample rate, beside ``sample_rate`` (the original file's).
RATE_COLUMN = "spectrogram_sample_rate"
COLUMNS = [
    "filename", "audio_path", "id", "author", "class", "class_id", "split", "duration", "sample_rate", RATE_COLUMN,
    "shape",
]
WINDOW_COLUMNS = ["window", "start", "end"]
#: What an axes file's frequencies and times are (its ``frequency`` and ``time`` entries).
FREQUENCY_TEXT = (
    "frequency_hz: Hz of every row of a channel, low to high; mel: the centre of each mel filter "
    "(librosa.mel_frequencies between fmin_hz and fmax_hz), linear: the STFT bins kept; with freq_pool, the "
    "mean of each pooled block; a PNG drawn at another size (image:): the centre of each pixel row"
)
TIME_TEXT = (
    "time_s: seconds of the centre of every column from the example's start (STFT frame t at "
    "t * hop_length / sample_rate; with time_pool, the mean of each block; a resized PNG: each pixel "
    "column's centre); column t is at first_column_s + t * seconds_per_column; time_s is null at natural "
    "lengths (spectrogram.duration null)"
)


def build_manifest(catalog, folder, suffix, shapes, settings):
    """Rows of a branch's manifest.

    Parameters
    ----------
    catalog : pandas.DataFrame
        The table of ``results/catalog.csv``.
    folder : str
        Folder of the branch's spectrograms, relative to the manifest's folder (``specs``).
    suffix : str
        Their suffix (``.npy`` or ``.png``).
    shapes : dict
        Audio path → shape of the array in the branch's file (a strip of
        windows: ``(n_windows, ...)``), as in the file facts.
    settings : dict
        The spectrogram settings (``sr`` gives :data:`RATE_COLUMN`).

    Returns
    -------
    pandas.DataFrame
        With :data:`COLUMNS` (and :data:`WINDOW_COLUMNS` for a catalog of windows, then the
        ``label_{class}`` columns of a multi-label catalog in place of ``class_id``).
    """
    table = catalog.copy()
    table["filename"] = [f"{folder}/{clip}{suffix}" for clip in table["id"]]
    windowed = "window" in table.columns
    text = {path: "x".join(str(n) for n in (shape[1:] if windowed else shape)) for path, shape in shapes.items()}
    table[RATE_COLUMN] = [spectrogram_rate(rate, settings) for rate in table["sample_rate"]]
    table["shape"] = table["audio_path"].map(text)
    missing = table.loc[table["shape"].isna(), "audio_path"]
    if len(missing):
        raise ValueError(f"{missing.iloc[0]}: no shape in the spectrogram jobs' file facts "
                         "(results/file_facts/); run its spectrogram job again (--forcerun with its spectrogram's path)")
    hot = label_columns(table.columns)
    columns = [name for name in COLUMNS if not (hot and name == "class_id")]
    return table[columns + (WINDOW_COLUMNS if windowed else []) + hot]


def time_origin(settings, windowed):
    """What the times of an axes file count from, in words (``spectrogram.pad_mode`` and ``cut_mode`` move a clip's start).

    Examples
    --------
    >>> time_origin({"duration": 1.0, "pad_mode": "right", "cut_mode": None}, windowed=False)
    "the file's start (clips are padded and cut at their end)"
    """
    if windowed:
        return "the window's start: add the manifest's start column for seconds of the recording"
    if settings["duration"] is None:
        return "the file's start"
    pad, cut = settings["pad_mode"], settings["cut_mode"] or settings["pad_mode"]
    if pad == cut == "right":
        return "the file's start (clips are padded and cut at their end)"
    return (
        f"the start of the clip padded or cut to {settings['duration']:g} s: pad_mode {pad} and cut_mode {cut} "
        "(left: all, center: half of the difference from the manifest's duration) put zeros before a shorter "
        "file's start or cut the start of a longer one; right: none"
    )


def layout_text(branch, windowed):
    """How a branch's files hold the arrays whose axes an axes file gives, in words."""
    if branch == "npy":
        text = (
            "float32 in [0, 1], (n_freq, n_frames) for one channel, (n_freq, n_frames, channels) for more; "
            "row 0 is frequency_hz[0], the lowest"
        )
        return text + ("; a recording's file holds (n_windows, ...), its rows in the manifest's window column"
                       if windowed else "")
    text = (
        "8-bit grayscale PNG, pixel = round(255 x), image_size (height, width) per channel"
        f"{' and window' if windowed else ''}; as stored, rows run from high to low frequency (image_row_hz, "
        "top to bottom) and channels are stacked vertically, channel 0 on top; read back (audio_processing.load_png, "
        "loaders.ManifestDataset) row 0 is frequency_hz[0], the lowest, as in the NPY branch"
    )
    return text + ("; a recording's strip holds its windows side by side, window k in columns k * width to "
                   "(k + 1) * width - 1" if windowed else "")


def axes_file(manifest, branch, settings, image=None, windows=None):
    """The content of a branch's axes file: the frequency of every row and the time of every column.

    Parameters
    ----------
    manifest : pandas.DataFrame
        The branch's manifest (:func:`build_manifest`): its spectrogram rates and shapes.
    branch : str
        ``'npy'`` or ``'png'``.
    settings : dict
        Complete spectrogram settings.
    image : dict or None
        The PNG branch's ``image:`` settings (its size); ``None`` for the NPY branch.
    windows : dict or None
        The ``windows:`` settings when recordings are cut into windows.

    Returns
    -------
    dict
        Descriptions, then the axes (``spectrogram_math.axes``) of the
        manifest's one spectrogram rate at the top level, and per rate under
        ``by_sample_rate`` (several only with ``sr: null`` and files of several
        rates; the top-level axes are then null). The PNG branch adds
        ``image_size`` and ``image_row_hz`` (every pixel row as stored, top to bottom).
    """
    from functools import partial

    from audio_processing import image_size
    from settings import complete

    windowed = "window" in manifest.columns
    seconds = windows["length"] if windowed else settings["duration"]
    size = partial(image_size, image=complete("image", image)) if branch == "png" else None
    channels = shape_channels(manifest["shape"].iloc[0]) if len(manifest) else 1
    by_rate = {}
    for rate in sorted({int(rate) for rate in manifest[RATE_COLUMN]}):
        entry = axes(rate, settings, seconds, size)
        if branch == "png":
            entry["image_size"] = [len(entry["frequency_hz"]), None if entry["time_s"] is None else len(entry["time_s"])]
            entry["image_row_hz"] = entry["frequency_hz"][::-1] * channels
        by_rate[str(rate)] = entry
    found = list(by_rate.values())
    one = found[0] if len(found) == 1 else dict.fromkeys(found[0] if found else ())
    resolutions = settings["resolutions"]
    order = (f"channel c * {len(resolutions)} + r is audio channel c at FFT size resolutions[r] ({resolutions})"
             if resolutions else "the audio channels in the order spectrogram.channels keeps them")
    return {
        "branch": branch,
        "layout": layout_text(branch, windowed),
        "channels": channels,
        "channel_order": order,
        "type": settings["type"],
        "frequency": FREQUENCY_TEXT,
        "time": TIME_TEXT,
        "time_origin": time_origin(settings, windowed),
        "hop_length": settings["hop_length"],
        "n_fft": settings["n_fft"],
        **one,
        "by_sample_rate": by_rate,
    }


def main(catalog_csv, out_csv, folder, suffix, branch, facts, log=None, axes_json=None, settings=None, image=None,
         windows=None):
    """Build and write one manifest next to the spectrogram folders, and its axes file.

    ``folder`` is the branch's spectrogram folder as the workflow names it
    (``results/specs``); the manifest lists paths relative to its own folder.
    ``facts`` are the spectrogram jobs' file-facts files, ``branch`` the form
    whose shapes they give (``npy`` or ``png``). ``axes_json`` is where the
    axes go (:func:`axes_file`; ``None`` writes none), ``settings`` the
    spectrogram settings (missing keys: the defaults), ``image`` and
    ``windows`` those sections (``None`` when not used). Called by the manifest rules
    in the Snakemake process: an error's traceback goes to ``log`` (a path), if given.
    """
    if log is not None:
        from joblog import logged

        with logged(log):
            return main(catalog_csv, out_csv, folder, suffix, branch, facts, None, axes_json, settings, image, windows)
    from file_facts import read_facts
    from settings import spectrogram_settings

    settings = spectrogram_settings(settings)
    catalog = read_csv(catalog_csv, dtype={"id": str, "author": str, "class": str}, keep_default_na=False)
    entries = read_facts(facts)
    shapes = {path: entry["shapes"][branch] for path, entry in entries.items() if entry["rejected"] is None}
    root = os.path.dirname(out_csv) or "."
    manifest = build_manifest(catalog, os.path.relpath(folder, root), suffix, shapes, settings)
    if axes_json is not None:
        content = axes_file(manifest, branch, settings, image, windows)
        write_bytes(axes_json, (json.dumps(content, indent=1) + "\n").encode("utf-8"), durable=True)
    write_csv(manifest, out_csv, durable=True)


def run_rule(input, output, params, log):
    """The body of the manifest rules (``rules/manifest.smk``): their named fields, handed to :func:`main`."""
    main(
        input.catalog,
        output.manifest,
        params.folder,
        params.suffix,
        params.branch,
        list(input.facts),
        log=log[0],
        axes_json=output.axes,
        settings=params.spectrogram,
        image=params.image,
        windows=params.windows,
    )


def embedding_manifest(catalog_csv, out_csv, folder):
    """Write the birdnet branch's manifest (``results/final_embeddings.csv``): the catalog's rows, as the NPY one's.

    ``filename`` is each clip's embedding (``embeddings/{id}.npy``, a ``(1024,)`` array, or
    ``(n_windows, 1024)`` for a recording cut into windows; ``shape`` is ``1024``) and
    ``spectrogram_sample_rate`` the rate BirdNET reads it at (48 kHz). Every embedding's header is
    read: a file whose embedding job rejected it (``on_bad_audio: skip``), or an embedding of
    another shape, stops the job naming it.
    """
    import birdnet
    from audio_processing import read_spectrogram_file

    catalog = read_csv(catalog_csv, dtype={"id": str, "author": str, "class": str}, keep_default_na=False)
    root = os.path.dirname(out_csv) or "."
    shapes = {}
    for clip, audio in zip(catalog["id"], catalog["audio_path"]):
        if audio in shapes:  # the next window of a recording
            continue
        path = f"{folder}/{clip}.npy"
        shape, rejected = read_spectrogram_file(path)
        if rejected is not None or shape[-1] != birdnet.SIZE:
            raise ValueError(f"{audio}: its embedding {path} is not one ({rejected or shape}); "
                             "its spectrogram was made, so run its embedding job again (--forcerun with the path)")
        shapes[audio] = shape
    manifest = build_manifest(catalog, os.path.relpath(folder, root), ".npy", shapes, {"sr": birdnet.SAMPLE_RATE})
    write_csv(manifest, out_csv, durable=True)


def run_embedding_rule(input, output, params, log):
    """The body of rule ``manifest_birdnet`` (``rules/embedding.smk``): an error's traceback goes to its log."""
    from joblog import logged

    with logged(log[0]):
        embedding_manifest(input.catalog, output.manifest, params.folder)
