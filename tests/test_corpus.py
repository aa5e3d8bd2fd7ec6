"""Corpus files: round trip, statistics of the sampled chains, malformed and truncated files."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from star_theory import CORPUS_FORMAT, InputError, make_corpus, read_corpus, write_corpus
from star_theory.tasks import digit_task


@settings(max_examples=12)
@given(
    task=st.sampled_from(["zip", "add"]),
    digits=st.integers(1, 2),
    K=st.integers(1, 5),
    lam=st.floats(-0.05, 1.0),
    use_eps=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_round_trip(tmp_path_factory, task, digits, K, lam, use_eps, seed):
    path = tmp_path_factory.mktemp("c") / "corpus.csv"
    kw = {"eps": lam * 0.5} if use_eps else {"lam": lam}
    meta, chains = make_corpus(task, digits, 2, chains_per_question=K, seed=seed, **kw)
    write_corpus(path, chains, meta)
    meta2, chains2 = read_corpus(path)
    assert meta2 == meta and meta["format"] == CORPUS_FORMAT
    assert chains2.dtype == np.int64 and np.array_equal(chains2, chains)
    dt = digit_task(task, digits, 2)
    assert meta["level_sizes"] == list(dt.task.sizes) and meta["n_chains"] == K * dt.task.sizes[0]
    assert meta["convention"] == ("eps" if use_eps else "lam")
    for n, (l, e) in enumerate(zip(meta["lam"], meta["eps"])):
        M = dt.task.sizes[n + 1]
        assert e == pytest.approx(l * (M - 1) / M)
    assert not [f for f in os.listdir(path.parent) if f.endswith(".tmp")]


def test_paper_corpus_step_frequencies_match_lam():
    """zip D=3 b=2, lam=0.1: P(correct step) = lam + (1-lam)/64 at every step (Hoeffding, delta=1e-6)."""
    meta, chains = make_corpus("zip", 3, 2, lam=0.1, chains_per_question=1024, seed=0)
    task = digit_task("zip", 3, 2).task
    p = 0.1 + 0.9 / 64
    n = chains.shape[0]
    t = math.sqrt(math.log(2 * 3 / 1e-6) / (2 * n))
    for k in range(3):
        correct = chains[:, k + 1] == task.maps[k][chains[:, k]]
        assert abs(correct.mean() - p) <= t
    assert meta["n_chains"] == 64 * 1024 and meta["seed"] == 0


@pytest.fixture
def good(tmp_path):
    meta, chains = make_corpus("zip", 1, 2, lam=0.3, chains_per_question=3, seed=1)
    path = tmp_path / "c.csv"
    write_corpus(path, chains, meta)
    return path, meta, chains


def test_every_truncation_is_rejected(good):
    path, _, _ = good
    data = path.read_bytes()
    for cut in range(len(data)):  # every proper prefix of the file
        path.write_bytes(data[:cut])
        with pytest.raises(InputError):
            read_corpus(path)


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda lines: ["{}"] + lines[1:], "first line"),
        (lambda lines: ["# {not json"] + lines[1:], "malformed metadata"),
        (lambda lines: [lines[0].replace(CORPUS_FORMAT, "other/9")] + lines[1:], "format"),
        (lambda lines: [lines[0], "a,b,c"] + lines[2:], "header"),
        (lambda lines: lines[:2] + ["1,x"] + lines[3:], "not an integer"),
        (lambda lines: lines[:2] + ["1,2,3"] + lines[3:], "fields"),
        (lambda lines: lines[:2] + ["1,99"] + lines[3:], "outside level 1"),
        (lambda lines: lines[:2] + ["-1,0"] + lines[3:], "outside level 0"),
        (lambda lines: lines + ["0,1"], "n_chains"),
        (lambda lines: [lines[0].replace('"seed":1', '"seed":-1')] + lines[1:], "seed"),
        (lambda lines: [lines[0].replace('"n_steps":1,', "")] + lines[1:], "n_steps"),
    ],
)
def test_malformed_corpora_are_rejected(good, mutate, match):
    path, _, _ = good
    lines = path.read_text().split("\n")[:-1]
    path.write_text("\n".join(mutate(lines)) + "\n")
    with pytest.raises(InputError, match=match):
        read_corpus(path)


def test_missing_file_and_bad_writes(tmp_path, good):
    _, meta, chains = good
    with pytest.raises(InputError, match="not found"):
        read_corpus(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="shape"):
        write_corpus(tmp_path / "x.csv", chains[:-1], meta)
    with pytest.raises(InputError, match="outside"):
        write_corpus(tmp_path / "x.csv", chains + 100, meta)
    with pytest.raises(InputError, match="lacks key 'seed'"):
        write_corpus(tmp_path / "x.csv", chains, {k: v for k, v in meta.items() if k != "seed"})
    assert not (tmp_path / "x.csv").exists()
    first = (tmp_path / "x.csv")
    write_corpus(first, chains, meta)
    assert json.loads(first.read_text().split("\n")[0][2:]) == meta


def test_results_are_written_with_the_usual_permissions(tmp_path):
    # atomic writes go through a private temporary file; the result gets what open() would give
    import os

    from star_theory.io import atomic_write_text

    mask = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "r.json", "{}")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
