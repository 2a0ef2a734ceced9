"""Training-data loading: the legacy pixel CSV against the NPY paths, side by side in one run.

Makes N spectrograms (default 3,000 of 64×63, the demo's shape) in a temporary
folder with the workflow's own writers, then times

* ``load_csv_data()`` on the legacy ``train_data.csv`` (parse text, /255, reshape),
* ``load_npy_data()`` reading every ``.npy`` file,
* ``load_npy_data(stack=...)`` on the stacked file (memory-mapped, then read once),

and prints each one's wall time and its ratio to the pixel CSV. With
``--train-mb M`` it also trains one epoch of the CNN from a memory-mapped stack
of about M MB in a fresh process and reports that process's peak anonymous
memory (RssAnon: what it holds beyond the page cache) against the data size.

Usage::

    .venv/bin/python benchmarks/loading.py [--files 3000] [--train-mb 0]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import audio_processing  # noqa: E402
import legacy_pixels  # noqa: E402
import loaders  # noqa: E402

SHAPE = (64, 63)


def make_run(folder, n, shape=SHAPE, seed=0):
    """Write n spectrograms of both branches, both manifests, the pixel table and the stack."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        x = rng.random(shape, dtype=np.float32)
        clip = f"c{i:06d}"
        audio_processing.save_npy(x, folder / "specs" / f"{clip}.npy")
        audio_processing.save_png(x, folder / "spect" / f"{clip}.png")
        rows.append({"id": clip, "audio_path": f"{clip}.wav", "author": f"a{i % 7}", "class": f"k{i % 5}",
                     "class_id": i % 5, "split": "train", "duration": 1.0, "sample_rate": 16000,
                     "shape": "x".join(map(str, shape))})
    table = pd.DataFrame(rows)
    for branch, folder_name, name in (("npy", "specs", "final_specs.csv"), ("png", "spect", "final_spects.csv")):
        manifest = table.assign(filename=[f"{folder_name}/{c}.{branch}" for c in table["id"]])
        manifest.to_csv(folder / name, index=False)
    manifest = pd.read_csv(folder / "final_spects.csv", dtype={"author": str, "class": str})
    legacy_pixels.write_pixel_table(manifest, str(folder), str(folder / "train_data.csv"))
    loaders.stack_npy(str(folder / "final_specs.csv"), str(folder / "stack.npy"))


def timed(function):
    start = time.perf_counter()
    data = function()
    checksum = float(np.asarray(data.features).sum())  # make sure every value was really read
    return time.perf_counter() - start, checksum


def train_from_disk(mb):
    """Peak RSS of one training epoch from a memory-mapped stack of about ``mb`` MB (fresh process)."""
    code = f"""
import re, sys, tempfile, threading, time, numpy as np
peak = [0]
def rss_anon():  # resident memory that is not file-backed: memory-mapped data pages do not count
    return int(re.search(r"RssAnon:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
def poll():
    while True:
        peak[0] = max(peak[0], rss_anon())
        time.sleep(0.1)
threading.Thread(target=poll, daemon=True).start()
sys.path.insert(0, {str(ROOT / 'scripts')!r})
from model import setup_keras, build_cnn, make_batches
keras = setup_keras(threads=2, seed=0)
n = int({mb} * 2**20 // (64 * 63 * 4))
path = tempfile.mktemp(suffix='.npy')
x = np.lib.format.open_memmap(path, mode='w+', dtype=np.float32, shape=(n, 64, 63, 1))
for i in range(0, n, 1000):
    x[i:i + 1000] = np.random.default_rng(i).random((min(1000, n - i), 64, 63, 1), dtype=np.float32)
x.flush(); del x
features = np.load(path, mmap_mode='r')
labels = np.arange(n) % 5
settings = dict(conv_blocks=3, filters=16, kernel_size=3, dropout=0.3, dense_units=64, learning_rate=1e-3)
model = build_cnn((64, 63, 1), 5, settings)
model.fit(make_batches(features, labels, np.arange(n), 64, shuffle_seed=0), epochs=1, verbose=0)
time.sleep(0.3)
print(n, peak[0])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return int(out[-2]), float(out[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--train-mb", type=int, default=0, help="also train one epoch from a stack of this size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_run(folder, args.files)
        csv_mb = os.path.getsize(folder / "train_data.csv") / 2**20
        results = [
            ("pixel CSV: load_csv_data", timed(lambda: loaders.load_csv_data(str(folder / "train_data.csv")))),
            ("NPY files: load_npy_data", timed(lambda: loaders.load_npy_data(str(folder / "final_specs.csv")))),
            ("NPY stack, memory-mapped", timed(lambda: loaders.load_npy_data(
                str(folder / "final_specs.csv"), stack=str(folder / "stack.npy")))),
        ]
    base = results[0][1][0]
    print(f"training-data load, {args.files} spectrograms of {SHAPE[0]}x{SHAPE[1]} (pixel CSV {csv_mb:.0f} MB)")
    print(f"{'':<28}{'wall s':>9}{'CSV / this':>12}")
    for name, (wall, _) in results:
        print(f"{name:<28}{wall:>9.3f}{base / wall:>11.1f}x")
    print("goal: NPY >= 20x faster than the pixel CSV")
    if args.train_mb:
        n, peak = train_from_disk(args.train_mb)
        print(f"one training epoch from a memory-mapped stack of {args.train_mb} MB ({n} spectrograms): "
              f"peak anonymous RSS {peak:.0f} MB (memory-mapped pages are page cache the kernel can drop)")


if __name__ == "__main__":
    main()
