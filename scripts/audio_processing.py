"""The two encodings of a spectrogram: the NPY branch and the legacy PNG branch.

One computation (:func:`spectrogram_math.spectrogram`), two encodings:
:func:`get_spec_npy` saves the float32 array in [0, 1] exactly as ``.npy``;
:func:`get_spec_image` saves it as an 8-bit grayscale ``.png`` whose pixel is
``round(255 * x)`` with low frequencies at the bottom (a stereo array stacks
its two channels vertically, channel 0 on top). :func:`process_file` writes
both from one computation: the per-file work of the workflow. The PNG can be
drawn at another size (``image:`` settings, :func:`resize`: the float array is
resampled, then quantised), and a third form, a colour RGB PNG of a matplotlib
colormap (:func:`color_pixels`), is made from the same array when asked for.

``get_spec_npy`` and ``get_spec_image`` are the user's names and stay here;
``spectrogram`` and ``AudioError`` are importable from here too.

A long recording cut into fixed windows (``windows:`` in the configuration,
:func:`process_windows`) is stored as one file per branch: a ``.npy`` holding
``(n_windows, n_freq, n_frames[, 2])`` and one ``.png`` strip in which the
windows stand side by side, window ``k`` in columns ``k * n_frames`` to
``(k + 1) * n_frames - 1``; the strip's text chunk ``windows`` holds the
window count, so the file alone says how to cut it (:func:`load_png`).
"""

import contextlib
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


def save_npy(x, path, dtype=np.float32):
    """Save the array exactly as ``dtype`` (float32: a spectrogram), atomically."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(x, dtype=dtype), allow_pickle=False)
    write_bytes(path, buf.getvalue())


def npy_header(f):
    """Shape and dtype from the header of an open ``.npy`` file, leaving ``f`` at the start of the data."""
    major, _ = np.lib.format.read_magic(f)
    read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    shape, _, dtype = read(f)
    return tuple(shape), dtype


def save_png(x, path):
    """Save the 8-bit grayscale PNG of ``x`` atomically, without metadata."""
    save_pixels(to_pixels(x), path)


def save_pixels(pixels, path, n_windows=None, text=None):
    """Save an 8-bit image (grayscale, or RGB ``(h, w, 3)``) atomically.

    A strip of ``n_windows`` windows says so in a text chunk; ``text`` adds
    other chunks (key → value).
    """
    from PIL import Image, PngImagePlugin

    chunks = dict(text or {})
    if n_windows is not None:
        chunks[WINDOWS_KEY] = str(int(n_windows))
    info = None
    if chunks:
        info = PngImagePlugin.PngInfo()
        for key, value in chunks.items():
            info.add_text(key, value)
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="L" if pixels.ndim == 2 else "RGB").save(buf, format="PNG", optimize=False, pnginfo=info)
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


def get_spec_image(audio_path, png_path, settings=None, image=None):
    """Compute the spectrogram of ``audio_path`` and save it as an 8-bit ``.png``.

    The legacy branch: the same array as :func:`get_spec_npy`, quantised to
    ``round(255 * x)``, low frequencies at the bottom; with ``image``
    settings (``scale``, ``height``, ``width``, ``resample``) drawn at another
    size first (:func:`resize`).

    Returns
    -------
    np.ndarray
        The float array before resizing and quantisation.
    """
    from settings import complete

    x = spectrogram(audio_path, settings)
    save_pixels(to_pixels(resize(x, complete("image", image))), png_path)
    return x


def image_size(shape, image):
    """Height (per channel) and width of the PNG of an array of ``shape`` under the ``image:`` settings.

    Parameters
    ----------
    shape : tuple of int
        ``(n_freq, n_frames, ...)`` of the array.
    image : dict
        Complete ``image:`` settings (``scale``, ``height``, ``width``).

    Returns
    -------
    tuple of int
        ``(height, width)``.

    Examples
    --------
    >>> image_size((64, 63), {"scale": 0.5, "height": None, "width": None})
    (32, 32)
    >>> image_size((64, 63), {"scale": 2, "height": 100, "width": None})
    (100, 126)
    """
    height, width = shape[:2]
    if image["scale"] is not None:
        height, width = (max(1, int(np.floor(n * image["scale"] + 0.5))) for n in (height, width))
    return (image["height"] or height, image["width"] or width)


def resize(x, image):
    """The array drawn at the PNG's size (:func:`image_size`): each channel resampled, clipped to [0, 1].

    The float array is resampled with Pillow's ``image['resample']`` filter
    before any quantisation; at the array's own size it is returned as it is.
    """
    from PIL import Image

    height, width = image_size(x.shape, image)
    if (height, width) == x.shape[:2]:
        return x
    resample = getattr(Image.Resampling, image["resample"].upper())
    planes = [x] if x.ndim == 2 else [x[..., c] for c in range(x.shape[2])]
    out = [
        np.asarray(Image.fromarray(np.ascontiguousarray(p, dtype=np.float32), mode="F").resize((width, height), resample))
        for p in planes
    ]
    out = np.clip(out[0] if x.ndim == 2 else np.stack(out, axis=-1), 0.0, 1.0)
    return out.astype(np.float32)


def color_pixels(x, cmap):
    """The colour RGB image of an array in [0, 1]: matplotlib colormap ``cmap``, laid out as :func:`to_pixels`.

    Returns
    -------
    np.ndarray
        uint8 ``(channels * n_freq, n_frames, 3)``, low frequencies at the
        bottom, channels stacked vertically (channel 0 on top).
    """
    import matplotlib

    planes = [x] if x.ndim == 2 else [x[..., c] for c in range(x.shape[2])]
    colours = matplotlib.colormaps[cmap]
    return np.concatenate(
        [np.rint(colours(np.clip(p[::-1, :], 0.0, 1.0))[..., :3] * 255.0).astype(np.uint8) for p in planes], axis=0
    )


def images(x, image, forms):
    """The images of one array for the PNG forms in ``forms`` (``'png'``: grayscale data, ``'color'``: RGB)."""
    drawn = resize(x, image) if forms else x
    out = {}
    if "png" in forms:
        out["png"] = to_pixels(drawn)
    if "color" in forms:
        out["color"] = color_pixels(drawn, image["cmap"])
    return out


def _image_forms(outputs):
    return [form for form in ("png", "color") if outputs.get(form)]


def process_file(audio_path, outputs, settings=None, refuse_silent=False, image=None):
    """Every output of one file from one computation: the per-file work of the workflow.

    Parameters
    ----------
    audio_path : str
        The audio file.
    outputs : dict
        Where each form goes: ``'npy'`` (the float32 array), ``'png'`` (the
        8-bit grayscale image of the PNG branch), ``'color'`` (the colour
        image of ``image['cmap']``); a form that is absent or ``None`` is not made.
    settings : dict or None
        Spectrogram settings.
    refuse_silent : bool
        Raise :class:`audio_io.SilentAudio` (writing nothing) for a silent or
        constant recording (all samples equal).
    image : dict or None
        ``image:`` settings (size, filter, colormap); missing keys take the defaults.

    Returns
    -------
    tuple of int
        The array's shape.
    """
    from settings import complete

    image = complete("image", image)
    x = spectrogram(audio_path, settings, refuse_silent)
    if outputs.get("npy"):
        save_npy(x, outputs["npy"])
    for form, pixels in images(x, image, _image_forms(outputs)).items():
        save_pixels(pixels, outputs[form])
    return x.shape


def process_windows(audio_path, outputs, settings=None, windows=None, refuse_silent=False, image=None):
    """Every output of every fixed window of a recording, one window in memory at a time.

    The ``.npy`` is written window by window, so a recording of hours never
    sits in memory as floats; the PNG strips hold one byte per pixel (three
    for the colour one), each window drawn as a clip's.

    Parameters
    ----------
    audio_path : str
        The recording.
    outputs : dict
        Where each form goes (see :func:`process_file`), written atomically.
    settings : dict or None
        Spectrogram settings.
    windows : dict
        ``length``, ``hop``, ``last`` (see :func:`spectrogram_math.window_bounds`).
    refuse_silent : bool
        Raise :class:`audio_io.SilentAudio` (writing nothing) when every
        window's samples are all equal.
    image : dict or None
        ``image:`` settings.

    Returns
    -------
    tuple of int
        The ``.npy`` array's shape, ``(n_windows, ...)``.
    """
    from settings import complete

    image = complete("image", image)
    forms = _image_forms(outputs)
    bounds = recording_windows(audio_path, windows)
    n = len(bounds)
    arrays = spectrogram_windows(audio_path, settings, windows, refuse_silent, bounds)
    first = next(arrays)
    strips = {}
    for form, pixels in images(first, image, forms).items():
        width = pixels.shape[1]
        strips[form] = np.empty((pixels.shape[0], n * width) + pixels.shape[2:], dtype=np.uint8)
    shape = (n,) + first.shape
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False, "shape": shape}
    with contextlib.ExitStack() as stack:
        f = None
        if outputs.get("npy"):
            f = open(stack.enter_context(atomic_path(outputs["npy"])), "wb")
            stack.enter_context(f)
            np.lib.format.write_array_header_1_0(f, header)  # the header np.save writes; then the windows, in order
        for k, x in enumerate(itertools.chain([first], arrays)):
            if f is not None:
                f.write(np.ascontiguousarray(x, dtype=np.float32).tobytes())
            for form, pixels in images(x, image, forms).items():
                width = pixels.shape[1]
                strips[form][:, k * width : (k + 1) * width] = pixels
    for form, strip in strips.items():
        save_pixels(strip, outputs[form], n_windows=n)
    return shape


def save_rejected(outputs, reason):
    """Mark a file that its spectrogram job rejected: every output says why.

    Under ``on_bad_audio: skip`` (and ``on_silent: skip``) a file found
    unusable only when decoded still gets its declared outputs, so the run goes
    on: the ``.npy`` holds the reason as UTF-8 bytes (a uint8 vector, never a
    spectrogram's float32), each PNG is one pixel with the reason in a text
    chunk. The catalog job (:func:`rejection`) leaves the file out of every
    table and lists it, with the reason, in ``results/rejected.csv``.
    """
    reason = " ".join(str(reason).split())
    for form, path in outputs.items():
        if not path:
            continue
        if form == "npy":
            save_npy(np.frombuffer(reason.encode("utf-8"), dtype=np.uint8), path, dtype=np.uint8)
        else:
            save_pixels(np.zeros((1, 1), dtype=np.uint8), path, text={REJECTED_KEY: reason})


def rejection(path):
    """Why the spectrogram job rejected a file (:func:`save_rejected`), or ``None`` for a real spectrogram.

    Parameters
    ----------
    path : str
        The file's ``.npy`` or ``.png`` (either branch tells).
    """
    return read_spectrogram_file(path)[1]


def read_spectrogram_file(path, channels=1):
    """Shape of the array in a spectrogram file of either branch, or why its job rejected the file.

    One look at the file: the header of a ``.npy`` (a spectrogram is float32,
    the mark of :func:`save_rejected` uint8), the size and text chunks of a
    ``.png``. A PNG's shape is that of the array behind it (:func:`load_png`):
    a stereo clip's stacked channels give ``(height // 2, width, 2)``, a strip
    of windows ``(n_windows, ...)``, each window shaped as a clip's.

    Parameters
    ----------
    path : str
        A ``.npy`` or ``.png`` of the workflow.
    channels : int
        Channels per array (a PNG stacks them vertically).

    Returns
    -------
    shape : tuple of int or None
        The array's shape; ``None`` for a rejected file.
    reason : str or None
        Why the file was rejected; ``None`` for a real spectrogram.
    """
    if str(path).endswith(".npy"):
        with open(path, "rb") as f:
            shape, dtype = npy_header(f)
            return (None, f.read().decode("utf-8")) if dtype == np.uint8 else (shape, None)
    from PIL import Image

    with Image.open(path) as img:
        reason = getattr(img, "text", {}).get(REJECTED_KEY)
        width, height = img.size
        n_windows = png_windows(img)
    if reason is not None:
        return None, reason
    width = width if n_windows is None else width // n_windows
    shape = (height, width) if channels == 1 else (height // channels, width, channels)
    return (shape if n_windows is None else (n_windows,) + shape), None
