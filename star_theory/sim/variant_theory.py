"""Moved to :mod:`star_theory.variant_theory` (below both :mod:`star_theory.rules` and :mod:`star_theory.sim`, so
neither imports the other); ``star_theory.sim.variant_theory`` names that same module for existing imports."""

import sys

from .. import variant_theory as _moved

sys.modules[__name__] = _moved
