"""The two encodings of a spectrogram: the NPY branch and the legacy PNG branch.

One computation (:func:`spectrogram_math.spectrogram`), two encodings:
:func:`get_spec_npy` saves the float32 array in [0, 1] exactly as ``.npy``;
:func:`get_spec_image` saves it as an 8-bit grayscale ``.png`` whose pixel is
``round(255 * x)`` with low frequencies at the bottom (a stereo array stacks
its two channels vertically, channel 0 on top). :func:`process_file` writes
both from one computation: the per-file work of the workflow.

``get_spec_npy`` and ``get_spec_image`` are the user's names and stay here;
``spectrogram`` and ``AudioError`` are importable from here too.
"""

import io

import numpy as np

from atomic import write_bytes
from audio_io import AudioError  # noqa: F401 - part of this module's interface
from spectrogram_math import spectrogram

__all__ = [
    "AudioError",
    "spectrogram",
    "get_spec_npy",
    "get_spec_image",
    "process_file",
    "to_pixels",
    "from_pixels",
    "save_npy",
    "save_png",
    "load_png",
]


def to_pixels(x):
    """Array in [0, 1] to the 8-bit image of the PNG branch.

    Pixel = ``round(255 * x)``; rows are flipped so that low frequencies are
    at the bottom; stereo channels are stacked vertically (channel 0 on top).
    """
    q = np.rint(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)
    if q.ndim == 3:
        return np.concatenate([q[::-1, :, c] for c in range(q.shape[2])], axis=0)
    return np.ascontiguousarray(q[::-1, :])


def from_pixels(pixels, channels=1):
    """Undo :func:`to_pixels`: 8-bit image to float32 in [0, 1] (the /255 step).

    Parameters
    ----------
    pixels : np.ndarray
        uint8 image, shape ``(channels * n_freq, n_frames)``.
    channels : int
        Number of stacked channels.

    Returns
    -------
    np.ndarray
        ``(n_freq, n_frames)`` for one channel, else ``(n_freq, n_frames, channels)``.
    """
    x = pixels.astype(np.float32) / 255.0
    if channels == 1:
        return x[::-1, :]
    parts = np.split(x, channels, axis=0)
    return np.stack([p[::-1, :] for p in parts], axis=-1)


def save_npy(x, path):
    """Save the float32 array exactly, atomically."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(x, dtype=np.float32), allow_pickle=False)
    write_bytes(path, buf.getvalue())


def save_png(x, path):
    """Save the 8-bit grayscale PNG of ``x`` atomically, without metadata."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(to_pixels(x), mode="L").save(buf, format="PNG", optimize=False)
    write_bytes(path, buf.getvalue())


def load_png(path, channels=1):
    """Read a PNG of the PNG branch back as float32 in [0, 1]."""
    from PIL import Image

    with Image.open(path) as img:
        return from_pixels(np.asarray(img.convert("L")), channels)


def get_spec_npy(audio_path, npy_path, settings=None):
    """Compute the spectrogram of ``audio_path`` and save it as float32 ``.npy``.

    Parameters
    ----------
    audio_path : str
        Audio file.
    npy_path : str
        Where the array goes (written atomically).
    settings : dict or None
        Spectrogram settings.

    Returns
    -------
    np.ndarray
        The saved array.
    """
    x = spectrogram(audio_path, settings)
    save_npy(x, npy_path)
    return x


def get_spec_image(audio_path, png_path, settings=None):
    """Compute the spectrogram of ``audio_path`` and save it as an 8-bit ``.png``.

    The legacy branch: the same array as :func:`get_spec_npy`, quantised to
    ``round(255 * x)``, low frequencies at the bottom.

    Returns
    -------
    np.ndarray
        The float array before quantisation.
    """
    x = spectrogram(audio_path, settings)
    save_png(x, png_path)
    return x


def process_file(audio_path, npy_path, png_path, settings=None):
    """Both branches from one computation: the per-file work of the workflow.

    Returns
    -------
    tuple of int
        The array's shape.
    """
    x = spectrogram(audio_path, settings)
    save_npy(x, npy_path)
    save_png(x, png_path)
    return x.shape
