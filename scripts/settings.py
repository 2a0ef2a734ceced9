"""Defaults of the configuration, read from ``schemas/config.schema.yaml``.

The schema is the one source of defaults: the workflow fills them in when it
validates ``config.yaml`` (Snakemake's ``validate``), and code called outside
the workflow (a notebook calling ``get_spec_npy()``, the tests) completes its
settings here, once, at its entry point.
"""

import copy
import functools
from pathlib import Path

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


@functools.cache
def _schema():
    """The parsed schema (read once per process)."""
    import yaml

    return yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))


def defaults(section):
    """The default value of every key of one section of the configuration.

    Parameters
    ----------
    section : str
        A section of ``config.yaml`` with keys of its own: ``'spectrogram'``,
        ``'labels'``, ``'split'`` or ``'training'``.

    Returns
    -------
    dict
        Key → default, a fresh copy (safe to modify).
    """
    properties = _schema()["properties"][section]["properties"]
    return {key: copy.deepcopy(spec.get("default")) for key, spec in properties.items()}


def complete(section, values=None):
    """``values`` with the defaults of ``section`` filled in.

    Parameters
    ----------
    section : str
        Section of the configuration (see :func:`defaults`).
    values : dict or None
        Any subset of the section's keys.

    Returns
    -------
    dict
        Every key of the section.

    Raises
    ------
    KeyError
        If ``values`` holds a key the section does not have.
    """
    values = dict(values or {})
    merged = defaults(section)
    unknown = sorted(set(values) - set(merged))
    if unknown:
        raise KeyError(f"unknown {section} setting(s): {', '.join(unknown)}")
    merged.update(values)
    return merged


def spectrogram_settings(settings=None):
    """Complete spectrogram settings: ``settings`` over the schema's defaults.

    Parameters
    ----------
    settings : dict or None
        Any subset of the keys of the ``spectrogram:`` section.

    Returns
    -------
    dict
        Every spectrogram setting.

    Raises
    ------
    KeyError
        If ``settings`` holds a key that is not a spectrogram setting.
    """
    return complete("spectrogram", settings)
