"""Moved to :mod:`star_theory.variants` (below both :mod:`star_theory.rules` and :mod:`star_theory.sim`, so
neither imports the other); ``star_theory.sim.variants`` names that same module for existing imports."""

import sys

from .. import variants as _moved

sys.modules[__name__] = _moved
