"""Stand-ins for the per-file work of scripts/workers.py that crash or hang on one named file.

They live in a module of their own (not a test file) so that worker processes import them cheaply: a
``work`` function reaches a worker by name. Each takes the file name to fail on first (bind it with
``functools.partial``), then the arguments of ``workers.process_one``.
"""

import os
import signal
import time

import workers


def segfault_on(name, audio, outputs, settings, windows=None):
    """Die of SIGSEGV, as a crashing native decoder does, on ``name``; else the real work."""
    if os.path.basename(audio) == name:
        os.kill(os.getpid(), signal.SIGSEGV)
    workers.process_one(audio, outputs, settings, windows)


def hang_on(name, audio, outputs, settings, windows=None):
    """Hang on ``name`` (after writing this process's id to its npy path + ``'.pid'``); else the real work."""
    if os.path.basename(audio) == name:
        with open(outputs["npy"] + ".pid", "w", encoding="utf-8") as f:
            f.write(str(os.getpid()))
        time.sleep(3600)
    workers.process_one(audio, outputs, settings, windows)


def slow_on(name, seconds, audio, outputs, settings, windows=None):
    """Take ``seconds`` longer on ``name`` (a slow but working decoder); then the real work."""
    if os.path.basename(audio) == name:
        time.sleep(seconds)
    workers.process_one(audio, outputs, settings, windows)

