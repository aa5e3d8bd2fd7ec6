"""Moved to :mod:`star_theory.draw` (below both :mod:`star_theory.rules` and :mod:`star_theory.sim`, so
neither imports the other); ``star_theory.sim.draw`` names that same module for existing imports."""

import sys

from .. import draw as _moved

sys.modules[__name__] = _moved
