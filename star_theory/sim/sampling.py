"""Moved to :mod:`star_theory.sampling` (below both :mod:`star_theory.rules` and :mod:`star_theory.sim`, so
neither imports the other); ``star_theory.sim.sampling`` names that same module for existing imports."""

import sys

from .. import sampling as _moved

sys.modules[__name__] = _moved
