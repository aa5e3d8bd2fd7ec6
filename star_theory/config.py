"""Config dataclasses: one help string per field, validated on construction, filled from the
CLI or a TOML file through the same code.

A config is a frozen dataclass whose fields are declared with :func:`option` and whose
``__post_init__`` validates (raising :class:`~star_theory.errors.InputError`). Then:

* :func:`add_arguments` adds one ``--flag`` per field to an argparse parser (help from the field);
* :func:`from_mapping` builds the config from a dict (a TOML table), rejecting unknown keys and
  wrong types with a one-line error naming the key;
* :func:`load_toml` reads a TOML file with a one-line error for missing or malformed files;
* :func:`from_args` builds the config from parsed CLI arguments, on top of an optional TOML
  config file (CLI values given explicitly win);
* :func:`command_config` is a command's whole preamble: ``--config`` table, flags, ``--plot`` check.

Example::

    @dataclass(frozen=True)
    class RunConfig:
        steps: int = option(3, "number of reasoning steps N (>= 1)")
        def __post_init__(self):
            check(self.steps >= 1, f"steps must be >= 1, got {self.steps}")
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import operator
import os
import sys
import types
import typing
from typing import Any, Mapping

from .errors import InputError
from .outputs import check_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def option(default: Any, help: str, *, choices: tuple | None = None, flag: str | None = None,
           aliases: tuple[str, ...] = (), merge: bool = False):
    """A config field with its default and help string (and optional choices, flag name, flag
    aliases; ``merge``: a mapping whose repeated ``--flag KEY=VALUE`` add keys to the TOML table's)."""
    meta = {"help": help, "choices": choices, "flag": flag, "aliases": tuple(aliases), "merge": merge}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def task_params_option(table: str | None = "[task]") -> Any:
    """The ``task_params`` field of every config that takes ``--task``: ``--task-param KEY=VALUE``
    (repeatable), or the TOML table ``table`` (``name = ...`` and the parameters; None: no TOML file)."""
    toml = f"; a {table} TOML table with name = ..." if table else ""
    return option({}, f"a parameter of the task, KEY=VALUE (repeatable{toml}); the task's defaults fill the rest",
                  flag="--task-param", merge=True)


def check(condition: bool, message: str) -> None:
    """Raise :class:`InputError` with ``message`` unless ``condition``."""
    if not condition:
        raise InputError(message)


def _base_type(tp):
    """(base type, is_optional, is_sequence, element type) of a field annotation."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    optional = False
    if origin in (typing.Union, types.UnionType):
        non_none = [a for a in args if a is not type(None)]
        optional = len(non_none) < len(args)
        if len(non_none) == 1:
            tp = non_none[0]
            origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, tuple):
        elem = args[0] if args else float
        return tp, optional, True, elem
    return tp, optional, False, None


def _field_types(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _coerce(value: Any, tp: Any, name: str) -> Any:
    base, optional, is_seq, elem = _base_type(tp)
    if value is None:
        if optional:
            return None
        raise InputError(f"{name} must not be empty")
    if is_seq:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            value = [value]
        return tuple(_coerce(v, elem, f"{name}[{i}]") for i, v in enumerate(value))
    if base is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        raise InputError(f"{name} must be true or false, got {value!r}")
    if base is int:
        if isinstance(value, bool):
            raise InputError(f"{name} must be an integer, got {value!r}")
        if not isinstance(value, (int, float, str)) and hasattr(type(value), "__index__"):
            return operator.index(value)  # numpy integers
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                raise InputError(f"{name} must be an integer, got {value!r}") from None
        if isinstance(value, int):
            return value
        raise InputError(f"{name} must be an integer, got {value!r}")
    if base is float:
        if isinstance(value, bool):
            raise InputError(f"{name} must be a number, got {value!r}")
        if isinstance(value, complex):
            raise InputError(f"{name} must be a real number, got {value!r}")
        try:
            out = float(value)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"{name} must be a number, got {value!r}") from None
        if not math.isfinite(out):
            raise InputError(f"{name} must be finite, got {value!r}")
        return out
    if base is str:
        if not isinstance(value, str):
            raise InputError(f"{name} must be a string, got {value!r}")
        return value
    if base is dict or typing.get_origin(base) is dict:
        return key_values(value, name)
    return value


def key_values(value, name: str) -> dict:
    """A mapping field: a table (string keys) or ``["KEY=VALUE", ...]`` (repeated flags) as a dict;
    the values of ``KEY=VALUE`` stay strings (the consumer coerces them)."""
    if isinstance(value, Mapping):
        items = dict(value)
    else:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            value = [value]
        items = {}
        for item in value:
            key, eq, text = item.partition("=") if isinstance(item, str) else ("", "", "")
            if not eq:
                raise InputError(f"{name} takes KEY=VALUE, got {item!r}")
            items[key.strip()] = text.strip()
    for key in items:
        if not isinstance(key, str) or not key:
            raise InputError(f"{name}: keys must be non-empty strings, got {key!r}")
    return items


def split_tables(cls, mapping: Mapping[str, Any]) -> dict:
    """A table given for a field ``X`` of a config that has a field ``X_params`` (``[task]`` with
    ``name = "zip"``, ``digits = 3``): ``name`` goes to ``X``, the other keys into ``X_params``
    (over any ``X_params`` given beside it)."""
    if not isinstance(mapping, Mapping):
        return mapping
    names = {f.name for f in dataclasses.fields(cls)}
    out = dict(mapping)
    for key, value in mapping.items():
        if isinstance(value, Mapping) and f"{key}_params" in names:
            table = dict(value)
            if "name" not in table:
                raise InputError(f"the [{key}] table needs name = \"...\" (the {key}'s name)")
            out[key] = table.pop("name")
            out[f"{key}_params"] = {**key_values(out.get(f"{key}_params") or {}, f"{key}_params"), **table}
    return out


def coerce_fields(config) -> None:
    """Check every field of a (frozen) config dataclass against its annotation, storing the
    coerced value (``8.0`` for an ``int`` becomes ``8``, a list for a tuple becomes a tuple);
    called first in ``__post_init__``, so the API's constructors give the same one-line errors
    as the CLI and TOML for a string or a float where an integer belongs."""
    types_ = _field_types(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        coerced = _coerce(value, types_[f.name], f.name)
        choices = f.metadata.get("choices")
        if choices and coerced is not None and coerced not in choices:
            raise InputError(f"{f.name}={coerced!r} is not one of {', '.join(map(str, choices))}")
        if coerced is not value:
            object.__setattr__(config, f.name, coerced)


def from_mapping(cls: type, mapping: Mapping[str, Any], source: str = "config") -> Any:
    """Build ``cls`` from a mapping; unknown keys and wrong types raise a one-line InputError."""
    if not isinstance(mapping, Mapping):
        raise InputError(f"{source} must be a table of key = value pairs")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    types_ = _field_types(cls)
    kwargs = {}
    for key, value in split_tables(cls, mapping).items():
        name = key.replace("-", "_")
        if name not in fields:
            known = ", ".join(sorted(fields))
            raise InputError(f"{source}: unknown key {key!r} (known: {known})")
        kwargs[name] = _coerce(value, types_[name], f"{source}: {key}")
        choices = fields[name].metadata.get("choices")
        if choices and kwargs[name] not in choices:
            raise InputError(f"{source}: {key}={kwargs[name]!r} is not one of {', '.join(map(str, choices))}")
    return cls(**kwargs)


#: the largest config file read (a config is a few hundred bytes; /dev/zero is not one)
MAX_CONFIG_BYTES = 1 << 20


def load_toml(path: str | os.PathLike) -> dict:
    """Read a TOML file; a missing, unreadable, oversized, malformed or too deeply nested file
    raises a one-line InputError."""
    path = check_path(path, "config path")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"config path is a folder, not a file: {path}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(f"config file {path} is larger than {MAX_CONFIG_BYTES} bytes; not a config")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed TOML in {path}: {exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"config file is not UTF-8 text: {path}") from None
    except RecursionError:
        raise InputError(f"malformed TOML in {path}: nested too deeply") from None


def load_toml_table(path: str | os.PathLike, section: str) -> dict:
    """The ``[section]`` table of a TOML file, or the whole file when it has no such table.

    Beside a ``[section]`` table, other tables (other commands' sections) may stand, but no
    top-level ``key = value``: it would be silently ignored, so it is refused.
    """
    table = load_toml(path)
    if section not in table:
        return table
    if not isinstance(table[section], dict):
        raise InputError(f"{path}: {section!r} must be a table")
    loose = [k for k, v in table.items() if k != section and not isinstance(v, dict)]
    if loose:
        raise InputError(f"{path}: top-level key {loose[0]!r} stands beside the [{section}] table and would be "
                         f"ignored; move it into [{section}]")
    return table[section]


def add_arguments(parser: argparse.ArgumentParser, cls: type, exclude: tuple[str, ...] = ()) -> None:
    """Add one ``--flag`` per field of ``cls`` (default ``None`` = not given on the CLI)."""
    types_ = _field_types(cls)
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        flag = f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        base, _, is_seq, elem = _base_type(types_[f.name])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[operator]
        help_ = f"{f.metadata.get('help', '')} (default: {default})".replace("%", "%%")
        kw: dict[str, Any] = {"dest": f.name, "default": None, "help": help_}
        if f.metadata.get("choices"):
            kw["choices"] = f.metadata["choices"]
        if base is dict or typing.get_origin(base) is dict:
            kw.update(action="append", metavar="KEY=VALUE")
        elif is_seq:
            kw["nargs"] = "+"
            kw["type"] = elem if elem in (int, float, str) else str
        elif base is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif base in (int, float, str):
            kw["type"] = base
        parser.add_argument(flag, *f.metadata.get("aliases", ()), **kw)


def from_args(cls: type, args: argparse.Namespace, base: Mapping[str, Any] | None = None,
              source: str = "config") -> Any:
    """Build ``cls`` from a base mapping (e.g. a TOML table) overridden by CLI flags that were given."""
    values = split_tables(cls, base or {})
    flags = {}
    for f in dataclasses.fields(cls):
        v = getattr(args, f.name, None)
        if v is not None:
            flags[f.name] = key_values(v, f.name) if f.metadata.get("merge") else list(v) if isinstance(v, (list, tuple)) else v
    if "task_params" in {f.name for f in dataclasses.fields(cls)} and isinstance(values, Mapping):
        from .task_registry import merge_task_levels  # --task-param K=V and --digits add to the file's [task] table

        return from_mapping(cls, merge_task_levels(values, flags), source)
    if isinstance(values, Mapping):
        values = {**values, **flags}
    return from_mapping(cls, values, source)


def command_config(cls: type, args: argparse.Namespace, section: str) -> Any:
    """A command's config: the ``[section]`` table of ``--config FILE.toml`` (when given) overridden
    by the flags given. A ``--plot`` path is checked first: it must end in ``.png``."""
    plot = getattr(args, "plot", None)
    if plot and not plot.lower().endswith(".png"):
        raise InputError(f"--plot path must end in .png, got {plot!r}")
    config_file = getattr(args, "config", None)
    base = load_toml_table(config_file, section) if config_file else {}
    return from_args(cls, args, base=base, source=config_file or section)


def to_mapping(config: Any) -> dict:
    """The config as a plain dict (tuples become lists), for recording beside results."""
    out = {}
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out
