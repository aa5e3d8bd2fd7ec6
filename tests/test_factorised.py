"""The per-character factorisation measure (experiments/theory_vs_llm/factorised.py).

* a kernel whose every row is a product of per-character distributions is at distance 0;
* a row split evenly between two states that differ in every varying character has uniform
  per-character marginals, so its product is uniform over the M states: the distance is
  TV = 1 - 2/M, derived by hand;
* the symmetric family's kernel is at family distance 0 and (lam strictly inside (0, 1)) at a
  positive factorised distance.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.theory_vs_llm.factorised import characters, factorised_distance, kernel_distances
from llm.tasks import get_task
from star_theory import symmetric_policy

TT = get_task("zip", 2, 2)
CHARS = characters(TT.state_strings(1))  # (16, 4): the four characters that vary over level 1


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_a_product_kernel_is_at_distance_zero(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(CHARS.shape[0]):
        row = np.ones(CHARS.shape[0])
        for j in range(CHARS.shape[1]):
            q = dict(zip(sorted(set(CHARS[:, j])), rng.dirichlet(np.ones(2))))
            row *= np.array([q[c] for c in CHARS[:, j]])
        rows.append(row)
    assert factorised_distance(np.array(rows), CHARS) == pytest.approx(0.0, abs=1e-12)


def test_a_joint_row_is_far_from_its_product():
    M = CHARS.shape[0]
    a = 0
    b = next(i for i in range(M) if np.all(CHARS[i] != CHARS[a]))  # differs in every varying character
    row = np.zeros(M)
    row[[a, b]] = 0.5
    assert factorised_distance(np.tile(row, (M, 1)), CHARS) == pytest.approx(1 - 2 / M)


def test_the_symmetric_family_is_not_a_product():
    d = kernel_distances(symmetric_policy(TT.task, lam=0.4), TT)
    assert np.allclose(d["family_distance"], 0, atol=1e-9)
    assert min(d["factorised_distance"]) > 0.01
    assert np.allclose(d["lam"], 0.4, atol=1e-9)

