"""The ``rlstar`` entry point: parses, validates, dispatches.

Subcommands come from two places, and this module holds no logic of its own:

* every module in :mod:`star_theory.commands` that defines ``register(subparsers)``;
* the ``rlstar.commands`` entry-point group, through which packages that build on
  ``star_theory`` (the LLM backend, the experiments) add their commands without
  ``star_theory`` importing them.

Only the module of the command named on the command line is imported (``rlstar corpus`` loads
the corpus code alone; the entry points are looked up only for a name that is not built in);
``rlstar --help`` or an unknown name loads them all. ``register`` adds a parser and sets
``func`` (``func(args) -> int``). Bad input anywhere raises
:class:`~star_theory.errors.InputError`; it is printed as one line and the exit status is 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import sys
from typing import Any, NoReturn

from . import commands, process
from .errors import InputError
from .sizes import set_memory_limit


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, ``rlstar: error: ...`` (whatever the
    subcommand, as every other error), and exit with status 2.

    Values such as ``-1e-3``, ``-.5`` and ``-inf`` are read as negative numbers, not as unknown
    options (argparse's own pattern knows only ``-1`` and ``-1.5``), so ``--lam -1e-3`` works and
    ``--lam -inf`` is rejected by the value check that names it. Abbreviated flags are refused.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("allow_abbrev", False)  # ``--seed`` must not silently mean ``--seeds``
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^-(inf|infinity|nan)$", re.I)

    def error(self, message: str) -> NoReturn:  # noqa: D401 - argparse API
        self.exit(2, f"rlstar: error: {' '.join(message.split())}\n")  # one prefix for every command


def _builtin_commands() -> dict:
    """``{name: loader}`` of the built-in commands: one module of :mod:`star_theory.commands` each
    (the module's name is the command's), found without importing any of them."""
    names = sorted(info.name for info in pkgutil.iter_modules(commands.__path__) if not info.name.startswith("_"))
    return {name: (lambda name=name: importlib.import_module(f"{commands.__name__}.{name}").register) for name in names}


def _plugin_commands() -> dict:
    """``{name: loader}`` of the ``rlstar.commands`` entry points (named after the command they add)."""
    from importlib.metadata import entry_points  # 40 ms: only when the command is not a built-in

    return {ep.name: ep.load for ep in sorted(entry_points(group="rlstar.commands"), key=lambda e: e.name)}


def _command_word(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is neither an option nor its value)."""
    it = iter(argv)
    for word in it:
        if word == "--max-memory":
            next(it, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The ``rlstar`` parser. Given ``argv`` naming a known command, only that command's module is
    imported (``rlstar corpus`` loads the corpus code alone); otherwise every command registers, so
    ``--help`` and a misspelt command list them all."""
    parser = OneLineParser(
        prog="rlstar",
        description="RL-STaR toolkit: theory, simulator and LLM runs of self-taught reasoning.",
    )
    parser.add_argument("--max-memory", type=float, default=None, metavar="GIB",
                        help="memory a command may plan to use, in GiB; larger requests are refused before "
                        "anything is allocated (default: half the physical memory; env RLSTAR_MAX_MEMORY)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser, metavar="COMMAND")
    word = None if argv is None else _command_word(argv)
    commands = _builtin_commands()
    if word not in commands:
        commands.update(_plugin_commands())
    chosen = [commands[word]] if word in commands else list(commands.values())
    for load in chosen:
        load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    process.enter_main()
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        set_memory_limit(args.max_memory)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return process.interrupted()
    except BrokenPipeError:
        return process.broken_pipe()
    except InputError as exc:
        return _error(exc)
    except FileNotFoundError as exc:
        return _error(f"file not found: {exc.filename}")
    except OSError as exc:  # a path that cannot be written or read: permissions, a folder, a full disk
        where = f": {exc.filename!r}" if exc.filename else ""
        return _error(f"{exc.strerror or exc}{where}")
    except (ValueError, OverflowError) as exc:
        if "\x00" in str(exc) or "null" in str(exc).lower():  # a NUL byte in a path or name
            return _error(f"a path or name holds a NUL byte ({exc})")
        raise
    except RecursionError:
        return _error("input nested too deeply")
    except MemoryError:
        return _error(f"out of memory in '{' '.join(argv or sys.argv[1:2])}'; reduce the sizes given (states, "
                      "chains, seeds, iterations, grid points) or raise the memory limit")
    except BaseException:
        if process.was_interrupted():  # a Ctrl-C that C code turned into another error (an import's)
            return process.interrupted()
        raise


def _error(message) -> int:
    """Print ``rlstar: error: MESSAGE`` (one line) and give exit status 2."""
    try:
        text = " ".join(str(message).split())
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)  # a NUL or escape stays visible text
        print(f"rlstar: error: {text}", file=sys.stderr)
    except (OSError, ValueError):
        pass
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
