"""Prefix-tree packing of count-weighted fits (llm/packing.py) against the unpacked reference.

* on random counts over random subsets of the triples, the packed loss and its gradient equal the
  unpacked count-weighted loss (one row per distinct triple) to float tolerance;
* the tree mask: the positions a node attends to, ordered by position id, have the ids
  0..depth once each and spell the prompt plus a prefix of one continuation of that prompt: a
  node never sees a sibling branch; a padding position sees only itself;
* the soft targets of a prompt carry each of its triples' count once per predicted token.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from llm.data import TransitionCounts, prompt_ids  # noqa: E402
from llm.fit import SequenceLoss, TreeLoss, make_loss  # noqa: E402
from llm.model import build_model  # noqa: E402
from llm.packing import pack_counts  # noqa: E402
from llm.tasks import get_task  # noqa: E402
from llm.tokenizer import build_tokenizer, state_table  # noqa: E402

CPU = torch.device("cpu")


def _table(digits):
    tt = get_task("zip", digits, 2)
    tok = build_tokenizer(tt, "symbol")
    return tt, tok, state_table(tt, tok)


def _random_counts(tt, rng, keep: float) -> TransitionCounts:
    """Random positive counts on a random subset (``keep``) of all triples of the task."""
    parts = []
    for n in range(1, tt.n_steps + 1):
        s, s2 = np.meshgrid(np.arange(tt.task.sizes[n - 1]), np.arange(tt.task.sizes[n]), indexing="ij")
        parts.append(np.stack([np.full(s.size, n), s.ravel(), s2.ravel()], axis=1))
    triples = np.concatenate(parts)
    triples = triples[rng.random(len(triples)) < keep]
    if len(triples) == 0:
        triples = np.concatenate(parts)[:1]
    return TransitionCounts(triples[:, 0], triples[:, 1], triples[:, 2], rng.integers(1, 50, len(triples)) * 1.0)


TABLES = {d: _table(d) for d in (1, 2)}


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([1, 2]), st.floats(0.05, 1.0))
def test_packed_loss_and_gradient_equal_the_unpacked(seed, digits, keep):
    tt, tok, table = TABLES[digits]
    rng = np.random.default_rng(seed)
    counts = _random_counts(tt, rng, keep)
    torch.manual_seed(seed)
    model = build_model("tiny", len(tok), tok, 0.3)
    packed = make_loss(counts, table, CPU, 10**6, 0, packed=True)
    unpacked = make_loss(counts, table, CPU, 10**6, 0, packed=False)
    assert isinstance(packed, TreeLoss) and isinstance(unpacked, SequenceLoss)
    params = list(model.parameters())
    lp = packed(model)
    gp = torch.autograd.grad(lp, params)
    lu = unpacked(model)
    gu = torch.autograd.grad(lu, params)
    assert float(lp.detach()) == pytest.approx(float(lu.detach()), rel=1e-5)
    for a, b in zip(gp, gu):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5 * float(b.abs().max() + 1))
    # fewer positions whenever two continuations of a prompt share a first token
    assert packed.packed.positions <= packed.packed.unpacked_positions


@given(st.integers(0, 2**31 - 1), st.floats(0.05, 1.0))
@settings(max_examples=10, deadline=None)
def test_a_node_sees_its_ancestors_only(seed, keep):
    tt, _, table = TABLES[2]
    counts = _random_counts(tt, np.random.default_rng(seed), keep)
    pk = pack_counts(counts, table)
    for p in range(pk.rows):
        n = table.step_ids.index(int(pk.input_ids[p, 0])) + 1  # the prompt, read from its tokens
        s = int(table.lookup(n - 1, pk.input_ids[p, 1 : 1 + table.ids[n - 1].shape[1]][None])[0])
        sequences = [np.concatenate([prompt_ids(table, n, [s])[0], table.ids[n][s2]])
                     for s2 in counts.nxt[(counts.steps == n) & (counts.prev == s)]]
        L = pk.lengths[p]
        for i in range(pk.input_ids.shape[1]):
            seen = np.flatnonzero(pk.allowed[p, i])
            if i >= L:  # padding
                assert seen.tolist() == [i]
                continue
            depth = pk.position_ids[p, i]
            order = seen[np.argsort(pk.position_ids[p, seen])]
            assert pk.position_ids[p, order].tolist() == list(range(depth + 1))  # no sibling at any depth
            spelt = pk.input_ids[p, order]
            assert any(np.array_equal(spelt, seq[: depth + 1]) for seq in sequences)


@given(st.integers(0, 2**31 - 1))
@settings(max_examples=10, deadline=None)
def test_targets_carry_each_count_once_per_token(seed):
    tt, _, table = TABLES[2]
    counts = _random_counts(tt, np.random.default_rng(seed), 0.3)
    pk = pack_counts(counts, table)
    per_row = np.bincount(pk.target_row, weights=pk.target_w, minlength=pk.rows)
    tokens = table.ids[1].shape[1] + 1  # the state's characters and <eos>
    assert np.allclose(per_row, pk.row_w * tokens)
    assert pk.row_w.sum() == pytest.approx(1.0)
    eos = pk.target_tok == table.eos_id
    assert pk.target_w[eos].sum() == pytest.approx(1.0)  # one <eos> target per triple, of its weight
    assert eos.sum() == counts.counts.size


def test_symbol_cpu_preset_runs_packed(tmp_path):
    """The symbol-cpu preset, one iteration at zip D = 1: its fits run on packed prefix trees (one
    row per distinct prompt, fewer than the distinct triples) and the run measures every iteration."""
    import json

    from star_theory.cli import main

    out = tmp_path / "run"
    assert main(["llm", "run", "--preset", "symbol-cpu", "--digits", "1", "--iterations", "1",
                 "--pretrain-steps", "30", "--finetune-steps", "10", "--samples-per-question", "64",
                 "--device", "cpu", "--threads", "1", "--no-progress", "--out", str(out)]) == 0
    pre = json.loads((out / "pretrained" / "pretrain.json").read_text())
    assert pre["config"]["tokenization"] == "symbol"
    tt = get_task("zip", 1, 2)
    assert pre["fit_rows"] == tt.task.sizes[0]  # one packed row per prompt (N = 1), not per triple
    recs = [json.loads(line) for line in (out / "star" / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in recs] == [0, 1]
    assert all(0 <= r["exact_accuracy"] <= 1 for r in recs)
    assert recs[1]["train_rows"] <= tt.task.sizes[0]
