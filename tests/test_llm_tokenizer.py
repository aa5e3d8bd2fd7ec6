"""The Hugging Face tokenizer of a task: round trips, save/load, the state table."""

import numpy as np
import pytest

from llm.tasks import get_task
from llm.tokenizer import TOKENIZATIONS, build_tokenizer, load_tokenizer, state_table, step_text
from star_theory import InputError

CASES = [(name, tok) for name in ("zip", "add") for tok in TOKENIZATIONS]


@pytest.mark.parametrize("name,tokenization", CASES)
def test_round_trip_and_save_load(name, tokenization, tmp_path):
    tt = get_task(name, 2, 3)
    tok = build_tokenizer(tt, tokenization)
    tok.save_pretrained(tmp_path)
    again = load_tokenizer(tmp_path)
    assert len(again) == len(tok)
    for n in range(1, tt.n_steps + 1):
        prev, nxt = tt.state_strings(n - 1), tt.state_strings(n)
        texts = [step_text(n, p, q) for p, q in zip(prev, nxt)]
        ids = tok(texts)["input_ids"]
        assert again(texts)["input_ids"] == ids
        assert tok.batch_decode(ids) == texts  # lossless
        assert all(tok.unk_token_id not in row for row in ids)
        expected_len = 3 + (1 if tokenization == "state" else len(prev[0])) + (1 if tokenization == "state" else len(nxt[0]))
        assert {len(r) for r in ids} == {expected_len}


@pytest.mark.parametrize("name,tokenization", CASES)
def test_state_table_lookup_inverts(name, tokenization):
    tt = get_task(name, 2, 2)
    tok = build_tokenizer(tt, tokenization)
    table = state_table(tt, tok)
    for n in range(tt.n_steps + 1):
        ids = table.ids[n]
        assert np.array_equal(table.lookup(n, ids), np.arange(len(ids)))
        bad = np.full_like(ids, table.eos_id)
        assert np.all(table.lookup(n, bad) == -1)
        decoded = tok.batch_decode(ids)
        assert decoded == list(tt.state_strings(n))


def test_unknown_strings_become_unk():
    tt = get_task("zip", 2, 2)
    tok = build_tokenizer(tt, "state")
    assert tok("9|9|9", add_special_tokens=False)["input_ids"] == [tok.unk_token_id]
    sym = build_tokenizer(tt, "symbol")
    assert sym("1x", add_special_tokens=False)["input_ids"][-1] == sym.unk_token_id


def test_load_errors(tmp_path):
    with pytest.raises(InputError):
        load_tokenizer(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(InputError):
        load_tokenizer(tmp_path)
    with pytest.raises(InputError):
        build_tokenizer(get_task("zip", 1, 2), "bytes")
