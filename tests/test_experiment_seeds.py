"""An experiment's LLM runs take their pretraining and STaR randomness from separate seed paths.

Under one seed, pretraining's paths ``(PRETRAIN, purpose)`` and STaR's iteration-0 paths ``(0, purpose)``
coincide (:mod:`llm.pretrain`), so what keeps them apart is that :func:`experiments.llm_common.run_seeds`
derives the two seeds on different paths; every experiment's LLM part goes through it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.llm_common import PRETRAIN_SEED, STAR_SEED, llm_config, run_seeds
from experiments.llm_settings import llm_settings
from llm.pretrain import CORPUS, INIT, PRETRAIN, WARMUP_CORPUS, WARMUP_POLICY
from llm.star import FINETUNE, HELDOUT, SAMPLE
from star_theory.seeds import derive_seed

ROOT = Path(__file__).resolve().parents[1] / "experiments"


def pretraining_seeds(seed: int) -> set[int]:
    """Every seed pretraining draws from under ``seed`` (rank 0)."""
    purposes = (INIT, CORPUS, WARMUP_POLICY, WARMUP_CORPUS)
    return {derive_seed(seed, PRETRAIN, p) for p in purposes} | {derive_seed(seed, PRETRAIN, p, 0) for p in purposes}


def star_seeds(seed: int, iterations: int) -> set[int]:
    """Every seed STaR draws from under ``seed``: sampling and fine-tuning of each iteration, the held-out split."""
    return {derive_seed(seed, t, p) for t in range(iterations + 1) for p in (SAMPLE, FINETUNE)} | \
        {derive_seed(seed, HELDOUT)}


def test_only_llm_common_runs_star_in_experiments():
    """So every experiment's LLM part takes its seeds from :func:`run_seeds` (a module that only pretrains, as
    ``theory_vs_llm/factorised.py`` does, has no STaR to share a seed with)."""
    runs = {"pretrain": set(), "run_star": set()}
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module in ("llm.pretrain", "llm.star", "llm"):
                for a in node.names:
                    if a.name in runs:
                        runs[a.name].add(path.relative_to(ROOT).as_posix())
    assert runs["run_star"] == {"llm_common.py"}
    assert runs["pretrain"] & runs["run_star"] == {"llm_common.py"}


def test_under_one_seed_pretraining_and_star_would_share_seeds():
    """Why the two seeds must differ (this is what the test below guards against)."""
    assert PRETRAIN_SEED != STAR_SEED
    assert pretraining_seeds(7) & star_seeds(7, iterations=1)


@settings(max_examples=25, deadline=None)
@given(master=st.integers(0, 2**31 - 1),
       llm_preset=st.sampled_from(["tiny", "paper-cpu", "paper-cpu-heldout", "symbol-cpu"]), lam=st.sampled_from([0.0, 0.1, 0.3]), iterations=st.integers(1, 4))
def test_an_experiment_run_never_draws_a_pretraining_seed_in_star(master, llm_preset, lam, iterations):
    cfg = llm_config(llm_settings(lam, iterations, llm_preset), 0, "cpu", False)
    pre = {run_seeds(master, cfg, i)[0] for i in range(4)}
    assert len(pre) == 1  # one pretrained model for every STaR seed of the run
    drawn_in_pretraining = pretraining_seeds(pre.pop())
    for i in range(4):
        star = run_seeds(master, cfg, i)[1]
        assert not drawn_in_pretraining & star_seeds(star, iterations)


def test_a_digit_task_run_keeps_its_identity_whether_its_parameters_come_as_aliases_or_as_task_params(monkeypatch):
    """A digit task's task_params repeat digits and base: a run's seeds and cache key are the same
    whether the config names them through the aliases or through --task-param, and equal those of
    the record without task_params (the runs recorded before task parameters existed); another
    parameter value gives other seeds."""
    import experiments.llm_common as llm_common
    from experiments.llm_common import _identity, _key, run_seeds
    from llm.config import make_config, to_record

    by_alias = make_config(preset_name="tiny", digits=2, base=2)
    by_params = make_config(preset_name="tiny", task_params={"digits": 2, "base": 2})
    assert run_seeds(0, by_alias) == run_seeds(0, by_params)
    record = to_record(by_alias)
    assert "task_params" in record and "task_params" not in _identity(record)
    assert _key(record) == _key({k: v for k, v in record.items() if k != "task_params"})
    assert run_seeds(0, make_config(preset_name="tiny", digits=3, base=2)) != run_seeds(0, by_alias)
    now = run_seeds(0, by_alias)
    monkeypatch.setattr(llm_common, "to_record", lambda c: {k: v for k, v in to_record(c).items() if k != "task_params"})
    assert run_seeds(0, by_alias) == now  # the seeds of a record written before task parameters existed
