"""Subcommands of ``rlstar`` that belong to the theory package (one module each).

Every module here defines ``register(subparsers)``; :mod:`star_theory.cli` discovers them.
Keep imports of heavy modules inside the command functions so ``rlstar --help`` stays fast.
"""
