"""The two encodings of a spectrogram: the NPY branch and the legacy PNG branch.

One computation (:func:`spectrogram_math.spectrogram`), two encodings:
:func:`get_spec_npy` saves the float32 array in [0, 1] exactly as ``.npy``;
:func:`get_spec_image` saves it as an 8-bit grayscale ``.png`` whose pixel is
``round(255 * x)`` with low frequencies at the bottom (a stereo array stacks
its two channels vertically, channel 0 on top). :func:`process_file` writes
both from one computation: the per-file work of the workflow.

``get_spec_npy`` and ``get_spec_image`` are the user's names and stay here;
``spectrogram`` and ``AudioError`` are importable from here too.

A long recording cut into fixed windows (``windows:`` in the configuration,
:func:`process_windows`) is stored as one file per branch: a ``.npy`` holding
``(n_windows, n_freq, n_frames[, 2])`` and one ``.png`` strip in which the
windows stand side by side, window ``k`` in columns ``k * n_frames`` to
``(k + 1) * n_frames - 1``; the strip's text chunk ``windows`` holds the
window count, so the file alone says how to cut it (:func:`load_png`).
"""

import io
import itertools

import numpy as np

from atomic import atomic_path, write_bytes
from audio_io import AudioError  # noqa: F401 - part of this module's interface
from spectrogram_math import recording_windows, spectrogram, spectrogram_windows

#: Text chunk of a PNG strip of windows: how many windows stand side by side.
WINDOWS_KEY = "windows"
#: Text chunk of the PNG of a file rejected by its spectrogram job: why (see :func:`save_rejected`).
REJECTED_KEY = "rejected"

__all__ = [
    "AudioError",
    "spectrogram",
    "get_spec_npy",
    "get_spec_image",
    "process_file",
    "process_windows",
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
    save_pixels(to_pixels(x), path)


def save_pixels(pixels, path, n_windows=None):
    """Save an 8-bit image atomically; a strip of ``n_windows`` windows says so in a text chunk."""
    from PIL import Image, PngImagePlugin

    info = None
    if n_windows is not None:
        info = PngImagePlugin.PngInfo()
        info.add_text(WINDOWS_KEY, str(int(n_windows)))
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buf, format="PNG", optimize=False, pnginfo=info)
    write_bytes(path, buf.getvalue())


def png_windows(image):
    """The window count of a PNG strip (its ``windows`` text chunk), or ``None`` for a clip's PNG."""
    value = getattr(image, "text", {}).get(WINDOWS_KEY)
    return int(value) if value is not None else None


def load_png(path, channels=1):
    """Read a PNG of the PNG branch back as float32 in [0, 1].

    Returns
    -------
    np.ndarray
        A clip's array, or for a strip of windows ``(n_windows, ...)`` with
        each window laid out as a clip's.
    """
    from PIL import Image

    with Image.open(path) as img:
        n_windows = png_windows(img)
        pixels = np.asarray(img.convert("L"))
    if n_windows is None:
        return from_pixels(pixels, channels)
    return np.stack([from_pixels(part, channels) for part in np.split(pixels, n_windows, axis=1)])


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


def process_file(audio_path, npy_path, png_path, settings=None, refuse_silent=False):
    """Both branches from one computation: the per-file work of the workflow.

    With ``refuse_silent``, a silent or constant recording (all samples
    equal) raises :class:`audio_io.SilentAudio` and nothing is written.

    Returns
    -------
    tuple of int
        The array's shape.
    """
    x = spectrogram(audio_path, settings, refuse_silent)
    save_npy(x, npy_path)
    save_png(x, png_path)
    return x.shape


def process_windows(audio_path, npy_path, png_path, settings=None, windows=None, refuse_silent=False):
    """Both branches of every fixed window of a recording, one window in memory at a time.

    The ``.npy`` is written window by window, so a recording of hours never
    sits in memory as floats; the PNG strip holds one byte per pixel.

    Parameters
    ----------
    audio_path : str
        The recording.
    npy_path, png_path : str
        Its two outputs (written atomically).
    settings : dict or None
        Spectrogram settings.
    windows : dict
        ``length``, ``hop``, ``last`` (see :func:`spectrogram_math.window_bounds`).
    refuse_silent : bool
        Raise :class:`audio_io.SilentAudio` (writing nothing) when every
        window's samples are all equal.

    Returns
    -------
    tuple of int
        The ``.npy`` array's shape, ``(n_windows, ...)``.
    """
    bounds = recording_windows(audio_path, windows)
    n = len(bounds)
    arrays = spectrogram_windows(audio_path, settings, windows, refuse_silent, bounds)
    first = next(arrays)
    height, width = to_pixels(first).shape
    strip = np.empty((height, n * width), dtype=np.uint8)
    shape = (n,) + first.shape
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False, "shape": shape}
    with atomic_path(npy_path) as tmp, open(tmp, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)  # the header np.save writes; then the windows, in order
        for k, x in enumerate(itertools.chain([first], arrays)):
            f.write(np.ascontiguousarray(x, dtype=np.float32).tobytes())
            strip[:, k * width : (k + 1) * width] = to_pixels(x)
    save_pixels(strip, png_path, n_windows=n)
    return shape


def save_rejected(npy_path, png_path, reason):
    """Mark a file that its spectrogram job rejected: an empty ``.npy`` and a 1-pixel PNG saying why.

    Under ``on_bad_audio: skip`` (and ``on_silent: skip``) a file found
    unusable only when decoded still gets its declared outputs, so the run goes
    on; the catalog job (:func:`rejection`) leaves it out of every table and
    lists it, with the reason, in ``results/rejected.csv``.
    """
    from PIL import PngImagePlugin

    save_npy(np.zeros((0,), dtype=np.float32), npy_path)
    info = PngImagePlugin.PngInfo()
    info.add_text(REJECTED_KEY, " ".join(str(reason).split()))
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (1, 1)).save(buf, format="PNG", optimize=False, pnginfo=info)
    write_bytes(png_path, buf.getvalue())


def rejection(png_path):
    """Why the spectrogram job rejected a file (:func:`save_rejected`), or ``None`` for a real spectrogram."""
    from PIL import Image

    with Image.open(png_path) as img:
        return getattr(img, "text", {}).get(REJECTED_KEY)
