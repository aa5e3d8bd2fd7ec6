"""The benchmarks' non-timing logic: the corpus benchmark's reference generator samples the same
policy as ``rlstar corpus`` and writes the same format; the fast row formatter writes what
``numpy.savetxt`` writes."""

import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from star_theory.benchmarks import reference_corpus
from star_theory.model import mixture_policy
from star_theory.sim.corpus import format_rows, make_corpus, read_corpus
from star_theory.tasks import digit_task


@pytest.mark.parametrize("digits,base", [(1, 2), (2, 2), (1, 3), (3, 2)])
@pytest.mark.parametrize("lam", [0.5, 0.1, 1.0, 0.0, -0.01])
def test_reference_kernels_are_the_mixture_policy_of_the_zip_task(digits, base, lam):
    """Built from the digits alone, the reference's kernels equal mixture_policy on digit_task('zip')."""
    ours = mixture_policy(digit_task("zip", digits, base).task, lam=lam).kernels
    theirs = reference_corpus.zip_kernels(digits, base, lam)
    assert len(ours) == len(theirs) == digits
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-15)


def test_reference_file_reads_back_with_the_metadata_of_rlstar_corpus(tmp_path):
    out = tmp_path / "ref.csv"
    assert reference_corpus.main(["--digits", "2", "--base", "2", "--lam", "0.3", "--chains-per-question", "5",
                                  "--seed", "4", "--out", str(out)]) == 0
    meta, chains = read_corpus(out)  # the format's every check
    assert meta == make_corpus("zip", 2, 2, lam=0.3, chains_per_question=5, seed=4)[0]
    assert np.array_equal(chains[:, 0], np.repeat(np.arange(16), 5))  # grouped by question, in order


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 18), st.data())
def test_format_rows_writes_what_savetxt_writes(rows, cols, magnitude, data):
    hi = 10**magnitude
    values = data.draw(st.lists(st.integers(0, hi), min_size=rows * cols, max_size=rows * cols))
    chains = np.array(values, dtype=np.int64).reshape(rows, cols)
    expected = io.BytesIO()
    np.savetxt(expected, chains, fmt="%d", delimiter=",", newline="\n")
    assert format_rows(chains) == expected.getvalue()
