"""Type aliases of the public API's annotations: what a parameter accepts (``docs/architecture.md``).

Runtime checks stay in the functions (:mod:`star_theory.validation`): these only say it to a type
checker and a reader.
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["ArrayLike", "RandomSource", "StepStrings"]

#: a seed (an int, a sequence of ints or a ``SeedSequence``) or a numpy ``Generator``
#: (:func:`star_theory.sampling.as_generator`)
RandomSource = Union[int, Sequence[int], np.random.SeedSequence, np.random.Generator]
#: ``empty_rows="marginals"``: one sequence per step of the strings of the states it leads to
StepStrings = Sequence[Sequence[str]]
