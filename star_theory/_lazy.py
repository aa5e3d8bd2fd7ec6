"""Lazy re-exports for a package's public API (PEP 562).

A package lists its public names once, in a table ``{".module": ("name", ...)}``; the names load
from their module on first use, so ``import star_theory`` costs next to nothing and ``rlstar X``
imports only what ``X`` needs.
"""

from __future__ import annotations

import importlib


def lazy_exports(package: str, table: dict[str, tuple[str, ...]]):
    """``(__getattr__, __dir__, __all__)`` for ``package`` exporting ``table``'s names lazily."""
    where = {name: module for module, names in table.items() for name in names}
    if len(where) != sum(len(names) for names in table.values()):
        raise ValueError(f"{package}: a public name is listed twice")
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(where[name], package), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__():
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__, list(where)
