"""The ``--variant`` option of the commands that run an update rule."""

from __future__ import annotations

from ..rules import rule_names


def variant_choices(parser) -> None:
    """Let ``--variant`` take the built-in names and every plug-in rule's (star_theory.rules)."""
    parser._option_string_actions["--variant"].choices = rule_names()
