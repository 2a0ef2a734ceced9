"""Load the spectrograms of a run for the CNN: the NPY branch and the legacy pixel table.

``load_npy_data()`` reads ``results/final_specs.csv`` and the float32 arrays
under ``results/specs/`` (no /255 step). ``load_csv_data()`` reads the legacy
``results/train_data.csv`` of 8-bit pixels, divides by 255 and reshapes, as the
user's notebook did. Both return the same :class:`Dataset`, features shaped
``(N, n_freq, n_frames, channels)`` with row 0 the lowest frequency.

For data larger than memory, :func:`stack_npy` writes every array of a
manifest into one ``.npy`` file that ``load_npy_data(..., stack=...)`` opens
memory-mapped, and :class:`Batches` feeds Keras from it batch by batch.

:class:`ManifestDataset` reads a manifest of either branch one example at a
time, as a map-style dataset (``len``, ``ds[i]``) that PyTorch's
``DataLoader`` takes as it is (docs/outputs.md, "Using the outputs in your own code").
"""

import operator
import os
from dataclasses import dataclass

import numpy as np

from atomic import atomic_path
from labelling import LABEL_PREFIX, label_columns
from tables import read_csv

LABEL_COLUMNS = {"author": str, "class": str, "id": str, "split": str}


@dataclass
class Dataset:
    """Features and metadata of a run, aligned row by row.

    Attributes
    ----------
    features : np.ndarray
        float32 ``(N, n_freq, n_frames, channels)``; may be a read-only memory map.
    labels : np.ndarray
        int class ids, ``(N,)``.
    authors : np.ndarray
        Author of each row.
    split : np.ndarray
        ``train``, ``val``, ``test`` or ``holdout`` per row.
    ids : np.ndarray
        Clip id (or spectrogram filename) per row.
    classes : list of str
        Class names indexed by class id.
    recordings : np.ndarray or None
        For windows of long recordings: the recording id of each row.
    times : np.ndarray or None
        For windows: ``(N, 2)`` start and end in seconds of the recording.
    targets : np.ndarray or None
        For ``labels.multi_label``: float32 ``(N, n_classes)``, 1 for every
        class the row holds (``labels`` is then -1: no single class).
    """

    features: np.ndarray
    labels: np.ndarray
    authors: np.ndarray
    split: np.ndarray
    ids: np.ndarray
    classes: list
    recordings: np.ndarray = None
    times: np.ndarray = None
    targets: np.ndarray = None

    @property
    def multi_label(self):
        """Whether each row holds a set of classes (:attr:`targets`) rather than one."""
        return self.targets is not None

    def indices(self, split):
        """Row numbers of one split."""
        return np.flatnonzero(self.split == split)


def label_arrays(table):
    """The ``labels``, ``classes`` and ``targets`` of a :class:`Dataset` from a manifest or pixel table.

    A single-label table gives its class ids and names; a multi-label one
    (``label_{class}`` columns) gives the 0/1 targets, the class names of its
    columns, and labels of -1.
    """
    hot = label_columns(table.columns)
    if not hot:
        return {"labels": table["class_id"].to_numpy(dtype=np.int64), "classes": class_names(table)}
    return {
        "labels": np.full(len(table), -1, dtype=np.int64),
        "classes": [name[len(LABEL_PREFIX) :] for name in hot],
        "targets": table[hot].to_numpy(dtype=np.float32),
    }


def examples(table, root):
    """The array of every row of an NPY manifest, in order: a file's array, or one window of it.

    A file of windows is opened once, memory-mapped, for all its rows.
    """
    windowed = "window" in table.columns
    opened = {}
    for i, name in enumerate(table["filename"]):
        if not windowed:
            yield np.load(os.path.join(root, name))
            continue
        if name not in opened:
            opened.clear()
            opened[name] = np.load(os.path.join(root, name), mmap_mode="r")
        yield np.asarray(opened[name][int(table["window"].iloc[i])])


def example_ids(table, ids):
    """One id per example: the clip id, or ``{id}#{window}`` for a window of a recording."""
    if "window" not in table.columns:
        return np.asarray(ids)
    return np.asarray([f"{clip}#{int(w)}" for clip, w in zip(ids, table["window"])])


def window_columns(table, recordings):
    """``recordings`` and ``times`` of a :class:`Dataset` of windows (empty for clips)."""
    if "window" not in table.columns:
        return {}
    return {"recordings": np.asarray(recordings), "times": table[["start", "end"]].to_numpy(dtype=np.float64)}


def read_manifest(path):
    """A manifest CSV with its label columns read as strings."""
    return read_csv(path, dtype=LABEL_COLUMNS, keep_default_na=False)


def class_names(table):
    """Class names indexed by class id."""
    pairs = table[["class_id", "class"]].drop_duplicates().sort_values("class_id")
    names = [""] * (int(pairs["class_id"].max()) + 1)
    for class_id, name in pairs.itertuples(index=False):
        names[int(class_id)] = name
    return names


def with_channel_axis(x):
    """``(n_freq, n_frames)`` → ``(n_freq, n_frames, 1)``; stereo arrays already have the axis."""
    return x[..., np.newaxis] if x.ndim == 2 else x


def _shape_of(table):
    shapes = set(table["shape"])
    if len(shapes) != 1:
        raise ValueError(
            f"the spectrograms have {len(shapes)} shapes ({', '.join(sorted(shapes)[:3])}…); "
            "a CNN needs one: set spectrogram.duration"
        )
    dims = tuple(int(n) for n in str(shapes.pop()).split("x"))
    return dims if len(dims) == 3 else dims + (1,)


def stack_npy(manifest_csv, out_path, root=None):
    """Write every array of a manifest, in manifest order, into one ``.npy`` file.

    Written through a memory map and renamed into place, so memory stays at one
    array whatever the dataset's size.

    Parameters
    ----------
    manifest_csv : str
        ``results/final_specs.csv``.
    out_path : str
        The stacked ``(N, n_freq, n_frames, channels)`` float32 file.
    root : str or None
        Folder the manifest's filenames are relative to (default: the manifest's).
    """
    table = read_manifest(manifest_csv)
    root = root if root is not None else os.path.dirname(manifest_csv) or "."
    shape = (len(table),) + _shape_of(table)
    with atomic_path(out_path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
        for i, x in enumerate(examples(table, root)):
            out[i] = with_channel_axis(x)
        out.flush()
        del out


def load_npy_data(manifest_csv="results/final_specs.csv", stack=None, root=None):
    """Load the NPY branch: features, labels, authors and split from the manifest.

    The new equivalent of :func:`load_csv_data`: the float32 arrays are
    used as saved, with no /255 step.

    Parameters
    ----------
    manifest_csv : str
        ``results/final_specs.csv``.
    stack : str or None
        A file written by :func:`stack_npy` for this manifest: opened as a
        read-only memory map instead of reading every array into memory.
    root : str or None
        Folder the manifest's filenames are relative to (default: the manifest's).

    Returns
    -------
    Dataset
    """
    table = read_manifest(manifest_csv)
    root = root if root is not None else os.path.dirname(manifest_csv) or "."
    if stack is not None:
        features = np.load(stack, mmap_mode="r")
        if features.shape[0] != len(table):
            raise ValueError(f"{stack} holds {features.shape[0]} arrays but {manifest_csv} lists {len(table)}")
    else:
        _shape_of(table)
        features = np.stack([with_channel_axis(x) for x in examples(table, root)])
    return Dataset(
        features=features,
        authors=table["author"].to_numpy(),
        split=table["split"].to_numpy(),
        ids=example_ids(table, table["id"]),
        **label_arrays(table),
        **window_columns(table, table["id"]),
    )


def load_csv_data(csv_path="results/train_data.csv", channels=1):
    """Load the legacy pixel table: divide by 255, reshape, flip back.

    Parameters
    ----------
    csv_path : str
        ``results/train_data.csv`` (metadata columns, then ``pixel_*``).
    channels : int
        Channels stacked in each PNG (2 for stereo).

    Returns
    -------
    Dataset
        Features ``(N, n_freq, n_frames, channels)`` in [0, 1], row 0 the
        lowest frequency, as the NPY branch lays them out.
    """
    table = read_csv(csv_path, dtype=LABEL_COLUMNS, keep_default_na=False)
    pixel_columns = [c for c in table.columns if c.startswith("pixel_")]
    height, width = int(table["height"].iloc[0]), int(table["width"].iloc[0])
    pixels = table[pixel_columns].to_numpy(dtype=np.float32) / 255.0
    images = pixels.reshape(len(table), channels, height // channels, width)[:, :, ::-1, :]
    features = np.ascontiguousarray(np.moveaxis(images, 1, -1))
    ids = example_ids(table, table["filename"].map(spectrogram_id))
    return Dataset(
        features=features,
        authors=table["author"].to_numpy(),
        split=table["split"].to_numpy(),
        ids=ids,
        **label_arrays(table),
        **window_columns(table, table["filename"].map(spectrogram_id)),
    )


def spectrogram_id(filename):
    """The clip id of a manifest's ``filename``: ``{folder}/{id}{suffix}`` without folder and suffix."""
    return os.path.splitext(filename.split("/", 1)[-1])[0]


def load_branch(branch, data, stack=None, channels=1):
    """Load a run's data for ``'npy'`` (manifest [+ stack]), ``'png'`` (pixel table) or ``'birdnet'`` (embeddings).

    ``channels`` is the number of channels per spectrogram (2 for stereo): the
    pixel table stacks them vertically and needs it to unstack them.
    """
    if branch in ("npy", "birdnet"):  # birdnet: the manifest of embeddings, (n, 1024) features
        return load_npy_data(data, stack=stack)
    return load_csv_data(data, channels=channels)


def shape_channels(shape):
    """Channels of an example from a manifest's ``shape`` (``64x63`` → 1, ``64x63x2`` → 2)."""
    dims = str(shape).split("x")
    return int(dims[2]) if len(dims) == 3 else 1


class ManifestDataset:
    """A map-style dataset over a manifest of either branch: ``len(ds)`` and ``ds[i]`` → ``(features, label)``.

    What PyTorch's ``DataLoader`` asks of a dataset, without PyTorch: a
    length, integer indexing (numpy integers too), ``IndexError`` past the
    end, and pickling (its worker processes get a copy). Each item is read
    from its file when asked for, so memory holds one example at a time.

    Parameters
    ----------
    manifest_csv : str
        ``results/final_specs.csv`` (NPY) or ``results/final_spects.csv`` (PNG).
    split : str, list of str or None
        Keep the rows of this split (or these splits); ``None`` keeps all.
    root : str or None
        Folder the manifest's filenames are relative to (default: the manifest's).

    Attributes
    ----------
    table : pandas.DataFrame
        The manifest's rows kept, in order: row ``i`` is item ``i``.
    classes : list of str
        Class names: indexed by the class id (single-label), or the order of
        the 0/1 vector (multi-label).
    multi_label : bool
        Whether a label is a 0/1 vector (the manifest's ``label_{class}`` columns).

    Notes
    -----
    ``features`` is float32 ``(n_freq, n_frames, channels)`` in [0, 1], row 0
    the lowest frequency: the layout the workflow's CNN takes (channels last;
    a PyTorch convolution wants ``(channels, n_freq, n_frames)``: move the
    axis of the batch). A PNG is read back with the /255 step
    (``audio_processing.load_png``). ``label`` is the class id (an int), or
    for a multi-label manifest a float32 0/1 vector over :attr:`classes`.
    """

    def __init__(self, manifest_csv, split=None, root=None):
        table = read_manifest(manifest_csv)
        if split is not None:
            table = table[table["split"].isin([split] if isinstance(split, str) else list(split))]
        self.table = table.reset_index(drop=True)
        self.root = root if root is not None else os.path.dirname(manifest_csv) or "."
        arrays = label_arrays(self.table) if len(self.table) else {"labels": np.zeros(0, dtype=np.int64), "classes": []}
        self.classes = arrays["classes"]
        self.multi_label = "targets" in arrays
        self._labels = arrays["targets"] if self.multi_label else arrays["labels"]

    def __len__(self):
        return len(self.table)

    def __getitem__(self, index):
        i = operator.index(index)
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range for a dataset of {n} examples")
        i %= n
        row = self.table.iloc[i]
        x = with_channel_axis(self.example(row)).astype(np.float32, copy=False)
        label = self._labels[i].copy() if self.multi_label else int(self._labels[i])
        return x, label

    def example(self, row):
        """The array of one manifest row (a clip's, or one window of its recording's file), float32 in [0, 1]."""
        path = os.path.join(self.root, row["filename"])
        window = int(row["window"]) if "window" in row.index else None
        if path.endswith(".npy"):
            x = np.load(path, mmap_mode="r" if window is not None else None)
        else:
            from audio_processing import load_png

            x = load_png(path, shape_channels(row["shape"]))
        return np.array(x if window is None else x[window], dtype=np.float32)
