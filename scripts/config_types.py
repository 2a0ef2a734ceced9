"""Command-line overrides of nested keys, given the types the schema asks for.

Snakemake reads ``--config section={key: value}`` with YAML's BaseLoader, which
leaves every nested scalar a string (``training={learning_rate: 0.002}`` gives
``'0.002'``), so validation would reject every nested number, boolean and null.
:func:`coerce` turns such strings back into what the schema asks for, reading
them as ``yaml.safe_load`` would (YAML 1.1 spellings: ``true``, ``yes``, ``~``,
``null``, ``0.5``; also ``1e-3``), only where the schema does not take the
string itself. Anything else is left as it is, for validation to judge.

Standard library and PyYAML only: it runs at every parse.
"""

import re

import yaml

# A float as YAML 1.2 and Python write it without a dot (1e-3, 5E+2), which YAML 1.1 reads as text.
_EXPONENT_FLOAT = re.compile(r"[-+]?[0-9]+[eE][-+]?[0-9]+")
_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")


def allowed_types(schema):
    """The JSON types a schema takes, from ``type``, its ``oneOf``/``anyOf`` branches or its ``enum``.

    Parameters
    ----------
    schema : dict
        A (sub)schema of ``schemas/config.schema.yaml``.

    Returns
    -------
    set of str
        JSON type names; all of them when the schema says nothing about the type.
    """
    if not isinstance(schema, dict):
        return set(_TYPES)
    declared = schema.get("type")
    if declared is not None:
        return {declared} if isinstance(declared, str) else set(declared)
    branches = schema.get("oneOf", []) + schema.get("anyOf", [])
    if branches:
        return set().union(*(allowed_types(branch) for branch in branches))
    if "enum" in schema:
        return {json_type(value) for value in schema["enum"]}
    return set(_TYPES)


def json_type(value):
    """The JSON type name of a Python value (``'integer'`` for a bool is ``'boolean'``; text for others).

    Parameters
    ----------
    value : object
        A value as YAML reads it.

    Returns
    -------
    str
        ``'null'``, ``'boolean'``, ``'integer'``, ``'number'``, ``'string'``, ``'array'`` or ``'object'``;
        ``'other'`` for anything else (a date, for example).
    """
    if value is None:
        return "null"
    kinds = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "array"), (dict, "object"))
    return next((name for kind, name in kinds if isinstance(value, kind)), "other")


def takes_string(text, schema):
    """Whether ``schema`` takes the string ``text`` as it is (its type allows a string, its enum this one).

    Parameters
    ----------
    text : str
        The value found in the configuration.
    schema : dict
        The schema of its key.

    Returns
    -------
    bool
    """
    if "string" not in allowed_types(schema):
        return False
    enum = schema.get("enum") if isinstance(schema, dict) else None
    if enum is None:
        return True
    return text in enum


def scalar(text):
    """What ``yaml.safe_load`` reads from ``text`` (also ``1e-3`` as a float); ``text`` itself if not a scalar.

    Parameters
    ----------
    text : str
        One scalar as Snakemake's BaseLoader left it.

    Returns
    -------
    object
        None, a bool, an int, a float, or ``text`` unchanged.
    """
    if _EXPONENT_FLOAT.fullmatch(text.strip()):
        return float(text)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if json_type(value) in ("null", "boolean", "integer", "number") else text


def coerce_scalar(text, schema):
    """The string ``text`` as the type ``schema`` asks for, or ``text`` when the schema takes it or it does not fit.

    Parameters
    ----------
    text : str
        A string found where ``schema`` applies.
    schema : dict
        The schema of its key.

    Returns
    -------
    object
        ``text`` read as YAML (a whole float such as ``128.0`` as an int where only an integer fits), or
        ``text`` unchanged.
    """
    if takes_string(text, schema):
        return text
    value = scalar(text)
    types = allowed_types(schema)
    kind = json_type(value)
    if kind == "number" and "number" not in types and "integer" in types and value.is_integer():
        return int(value)
    if kind in types or (kind == "integer" and "number" in types):
        return value
    return text


def _branches(schema, kind):
    """The schema itself and its ``oneOf``/``anyOf`` branches that take values of JSON type ``kind``."""
    if not isinstance(schema, dict):
        return []
    found = [schema] if kind in allowed_types(schema) and not ("oneOf" in schema or "anyOf" in schema) else []
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        found += _branches(branch, kind)
    return found


def _resolve(schema, root):
    """``schema`` with a local ``$ref`` (``#/definitions/...``, ``#/$defs/...``) followed; ``{}`` if it leads nowhere."""
    while isinstance(schema, dict) and str(schema.get("$ref", "")).startswith("#/"):
        target = root
        for part in schema["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        schema = target
    return schema


def coerce(config, schema, root=None):
    """A copy of ``config`` with every string the schema does not take read as the number, bool or null it asks for.

    Parameters
    ----------
    config : object
        The configuration (or a part of it), as Snakemake merged ``config.yaml``, ``--configfile`` and ``--config``.
    schema : dict
        Its JSON schema (``schemas/config.schema.yaml``, or the part for ``config``).
    root : dict or None
        The whole schema, for ``$ref``; None means ``schema`` is the whole schema.

    Returns
    -------
    object
        A new structure of the same shape: mappings and lists are copied, strings converted where the schema
        asks for a number, integer, boolean or null and they read as one; everything else is unchanged (a value
        that does not convert is left for validation to reject, naming the key).

    Examples
    --------
    >>> schema = {"type": "object", "properties": {"lr": {"type": "number"}, "name": {"type": "string"}}}
    >>> coerce({"lr": "0.002", "name": "007"}, schema)
    {'lr': 0.002, 'name': '007'}
    """
    root = schema if root is None else root
    schema = _resolve(schema, root)
    if isinstance(config, str):
        return coerce_scalar(config, schema)
    if isinstance(config, dict):
        return {key: coerce(value, _child_schema(schema, key, root), root) for key, value in config.items()}
    if isinstance(config, list):
        items = [branch.get("items", {}) for branch in _branches(schema, "array")]
        return [coerce(value, items[0] if items else {}, root) for value in config]
    return config


def _child_schema(schema, key, root):
    """The schema of ``key`` inside a mapping described by ``schema`` (``properties``, else ``additionalProperties``)."""
    for branch in _branches(_resolve(schema, root), "object"):
        properties = branch.get("properties", {})
        if key in properties:
            return properties[key]
        extra = branch.get("additionalProperties")
        if isinstance(extra, dict):
            return extra
    return {}


def read_schema(path):
    """The parsed JSON schema at ``path`` (``schemas/config.schema.yaml``).

    Parameters
    ----------
    path : str or os.PathLike
        The schema file.

    Returns
    -------
    dict
    """
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)
