"""Command-line pieces shared by several commands."""

from __future__ import annotations

import sys
from typing import Callable

from ..config import add_arguments
from ..io import dumps_json, write_json


def add_config_arguments(parser, cls, section: str) -> None:
    """``--config FILE.toml`` and one flag per field of ``cls`` (read back by ``command_config``)."""
    parser.add_argument("--config", metavar="FILE.toml",
                        help=f"TOML file with the same keys as the flags (a [{section}] table or top level); flags win")
    add_arguments(parser, cls)


def task_choices(parser, extra: tuple[str, ...] = ()) -> None:
    """Let ``--task`` take ``extra`` and every registered task's name (:mod:`star_theory.task_registry`)."""
    from ..task_registry import task_names

    parser._option_string_actions["--task"].choices = tuple(extra) + task_names()


def write_outputs(args, result: dict, draw: Callable[[str], None], json_file: str | None) -> bool:
    """Write ``result`` to ``json_file`` (if any), the figure to ``--plot`` (if any) with ``draw(path)``,
    and the JSON to stdout for ``--format json``; True when stdout got the JSON (no table to print)."""
    if json_file:
        write_json(json_file, result)
    if args.plot:
        draw(args.plot)
    if args.format == "json":
        sys.stdout.write(dumps_json(result) + "\n")
        return True
    return False
