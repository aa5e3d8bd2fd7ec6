"""Datasets on disk: corpora as csv, jsonl and parquet, and every STaR iteration's chains.parquet,
loaded with the tools a researcher uses (``datasets.load_dataset`` where installed, else pyarrow
and json) and compared with what was written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cli_helpers import one_line_error
from star_theory import InputError, make_corpus, read_corpus
from star_theory.cli import main

pytest.importorskip("pyarrow")


def load_rows(kind: str, path: Path) -> list[dict]:
    """The rows of a ``parquet`` or ``json`` (lines) file as dicts, by ``datasets.load_dataset``
    when it is installed, else by pyarrow or the json module."""
    try:
        import datasets
    except ImportError:
        datasets = None
    if datasets is not None:
        return list(datasets.load_dataset(kind, data_files=str(path), split="train"))
    if kind == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    return [json.loads(line) for line in path.read_text().splitlines()]


def _columns(rows: list[dict], names: list[str]) -> np.ndarray:
    return np.array([[r[c] for c in names] for r in rows], dtype=np.int64).reshape(len(rows), len(names))


# ----------------------------------------------------------------------------- corpora


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_corpus_formats_load_as_the_chains_written(tmp_path, capsys, fmt):
    args = ["corpus", "--task", "add", "--digits", "2", "--lam", "0.4", "--chains-per-question", "3", "--seed", "5"]
    assert main([*args, "--out", str(tmp_path / "c.csv")]) == 0
    assert main([*args, "--format", fmt, "--out", str(tmp_path / f"c.{fmt}")]) == 0
    capsys.readouterr()
    meta, chains = read_corpus(tmp_path / "c.csv")
    assert np.array_equal(chains, make_corpus("add", 2, 2, lam=0.4, chains_per_question=3, seed=5)[1])
    rows = load_rows("parquet" if fmt == "parquet" else "json", tmp_path / f"c.{fmt}")
    names = [f"s{n}" for n in range(meta["n_steps"] + 1)]
    assert len(rows) == meta["n_chains"] and all(list(r) == names for r in rows)
    assert np.array_equal(_columns(rows, names), chains)
    if fmt == "parquet":  # the metadata travels with the chains: pretraining reads it back
        meta2, chains2 = read_corpus(tmp_path / "c.parquet")
        assert meta2 == meta and np.array_equal(chains2, chains)
    else:
        with pytest.raises(InputError, match="JSON-lines corpus holds the chains only"):
            read_corpus(tmp_path / "c.jsonl")


def test_a_bad_parquet_corpus_is_one_line(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    assert main(["corpus", "--digits", "1", "--lam", "0.5", "--chains-per-question", "2", "--format", "parquet",
                 "--out", str(tmp_path / "c.parquet")]) == 0
    capsys.readouterr()
    table = pq.read_table(tmp_path / "c.parquet")
    bad = table.set_column(1, "s1", pa.array(np.full(table.num_rows, 99, dtype=np.int64)))  # outside level 1
    pq.write_table(bad, tmp_path / "bad.parquet")
    pq.write_table(table.replace_schema_metadata({}), tmp_path / "bare.parquet")
    (tmp_path / "cut.parquet").write_bytes((tmp_path / "c.parquet").read_bytes()[:-20])
    for name, needle in (("bad", "outside level 1"), ("bare", "no rlstar metadata"), ("cut", "not a readable Parquet")):
        one_line_error(capsys, ["llm", "pretrain", "--digits", "1", "--corpus", tmp_path / f"{name}.parquet",
                                "--out", tmp_path / f"out-{name}"], needle)
        assert not (tmp_path / f"out-{name}").exists()


# ----------------------------------------------------------------------------- chain rows


@settings(max_examples=40)
@given(data=st.data(), C=st.integers(0, 60), width=st.integers(2, 4), levels=st.sampled_from([1, 3, 2**40]))
def test_chain_rows_give_back_the_sampled_and_the_kept_multisets(data, C, width, levels):
    """Distinct (chain, kept) rows with counts: expanded, the rows are the sampled chains, and the
    kept rows are the kept ones (any sub-multiset: a chain may be kept in some copies and not others).
    States up to 2^40 make the rows' mixed-radix keys overflow int64 (the other way of sorting them)."""
    from llm.chain_table import chain_rows

    states = np.array(data.draw(st.lists(st.lists(st.integers(-1, levels), min_size=width, max_size=width),
                                         min_size=C, max_size=C)), dtype=np.int64).reshape(C, width)
    logprob = -(states % 7).sum(axis=1) * 0.25  # a function of the chain: its copies agree
    chosen = np.array(data.draw(st.lists(st.booleans(), min_size=C, max_size=C)), dtype=bool)
    kept = states[chosen]
    rows = chain_rows(states, logprob, kept)
    expand = lambda mask: np.repeat(rows["states"][mask], rows["count"][mask], axis=0)  # noqa: E731
    key = lambda a: sorted(map(tuple, a))  # noqa: E731
    assert key(expand(np.ones(len(rows["count"]), bool))) == key(states)
    assert key(expand(rows["kept"])) == key(kept)
    assert np.all(rows["count"] >= 1)
    pairs = list(zip(map(tuple, rows["states"]), rows["kept"]))
    assert len(set(pairs)) == len(pairs)  # each (chain, kept) pair once
    assert np.array_equal(rows["logprob"], -(rows["states"] % 7).sum(axis=1) * 0.25)
    order = [tuple(r) + (k,) for r, k in zip(rows["states"].tolist(), rows["kept"])]
    assert order == sorted(order)  # sorted by chain, then kept


# ----------------------------------------------------------------------------- a STaR run's chains.parquet


@pytest.fixture(scope="module")
def star_run(tmp_path_factory):
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("star")
    assert main(["llm", "pretrain", "--preset", "tiny", "--pretrain-steps", "40", "--device", "cpu", "--no-progress",
                 "--out", str(root / "pre")]) == 0
    star = ["llm", "star", "--preset", "tiny", "--checkpoint", str(root / "pre"), "--samples-per-question", "8",
            "--finetune-steps", "4", "--device", "cpu", "--no-progress", "--out", str(root / "star")]
    assert main([*star, "--iterations", "1"]) == 0
    before = {t: (root / "star" / f"iter_{t:03d}" / "chains.parquet").read_bytes() for t in (0, 1)}
    assert main([*star, "--iterations", "2", "--resume"]) == 0  # the finished iterations are kept as they are
    return root, before


def test_chains_parquet_loads_as_the_iterations_chains(star_run, capsys):
    from llm.tasks import get_task

    root, _ = star_run
    star = root / "star"
    records = [json.loads(line) for line in (star / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 1, 2]
    text_task = get_task("zip", 2, 2)
    N = text_task.n_steps
    for record in records:
        folder = star / f"iter_{record['iteration']:03d}"
        rows = load_rows("parquet", folder / "chains.parquet")
        assert list(rows[0]) == [f"s{n}" for n in range(N + 1)] + ["question"] + [f"step_{n}" for n in range(1, N)] + [
            "answer", "correct", "kept", "count", "logprob"]
        count = np.array([r["count"] for r in rows])
        kept = np.array([r["kept"] for r in rows])
        correct = np.array([r["correct"] for r in rows])
        assert count.sum() == record["chains"] and count[correct].sum() == round(record["sampled_accuracy"] * record["chains"])
        states = [tuple(r[f"s{n}"] for n in range(N + 1)) for r in rows]
        kept_rows = sorted(s for s, k, c in zip(states, kept, count) for _ in range(c) if k)
        assert kept_rows == sorted(map(tuple, np.load(folder / "kept.npy").tolist()))
        assert count[kept].sum() == record["kept"]
        for r, s in zip(rows, states):  # the strings are the task's, and the answer decides `correct`
            assert text_task.parse_state(0, r["question"]) == s[0]
            if r["answer"] is not None:
                assert text_task.parse_state(N, r["answer"]) == s[N]
                assert r["correct"] == (s[N] == text_task.task.answers[s[0]])
            else:
                assert not r["correct"] and None in s
        logprob = np.array([r["logprob"] for r in rows])
        if correct.any():  # the count-weighted mean over correct chains is the record's mean over its chains
            assert np.average(logprob[correct], weights=count[correct]) == pytest.approx(record["logprob_kept"], rel=1e-9)


def test_resume_keeps_and_overwrite_replaces_the_chain_files(star_run, tmp_path, capsys):
    import shutil

    root, before = star_run
    for t, data in before.items():
        assert (root / "star" / f"iter_{t:03d}" / "chains.parquet").read_bytes() == data
    copy = tmp_path / "star"
    shutil.copytree(root / "star", copy)
    assert main(["llm", "star", "--preset", "tiny", "--checkpoint", str(root / "pre"), "--samples-per-question", "4",
                 "--finetune-steps", "2", "--iterations", "0", "--device", "cpu", "--no-progress", "--overwrite",
                 "--out", str(copy)]) == 0  # chains.parquet is the run's own file: removed, not refused
    capsys.readouterr()
    assert sorted(p.name for p in copy.glob("iter_*")) == ["iter_000"]
    assert sum(r["count"] for r in load_rows("parquet", copy / "iter_000" / "chains.parquet")) == 4 * 16
