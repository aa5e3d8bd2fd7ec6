r"""Beyond RL-STaR: other analyses of self-improvement on the same tabular bench.

Compute only; the rules and metrics live in :mod:`star_theory.beyond`, the findings in
:mod:`.analysis`, the figures in :mod:`.figures`. Parts (each in :mod:`.parts`):

* ``accumulate`` — replace or accumulate the data (arXiv 2404.01413), with the STaR filter
  (error ``1 - J``) and without it (the unfiltered control: error = TV of the chain distribution
  from the base policy's), at a small and a large ``K``;
* ``bstar`` — B-STaR's balance score (the official definition of ``train_code/determine_hyper.py``
  by default, the multiplicity score as the alternative) and adaptive temperature (arXiv 2412.17256)
  against fixed temperatures and plain STaR, sampled and exact;
* ``passk`` — exact pass@k over STaR iterations (arXiv 2504.13837, 2312.06585): the symmetric
  family and seeded random non-bijective tasks (:func:`star_theory.random_tabular_case`);
* ``outcome`` — outcome-reward policy gradient (REINFORCE, RLOO, GRPO, Dr. GRPO) beside STaR,
  exact expected updates and sampled runs (:mod:`.outcome`);
* ``chain`` — the chain-level update conditioned on success (arXiv 2407.09499) against the
  per-step Markov refit, per task; its sampled form against the closed form of its accuracy
  (the sample count of arXiv 2412.01951).

Symmetric family in convention ``lam``; every random choice flows from the experiment's seed.
"""

from __future__ import annotations

from dataclasses import dataclass

from star_theory.config import check

from star_theory.beyond.bstar import BALANCE_SCORES
from star_theory.beyond.policy_gradient import METHODS

from ..shared_settings import SymmetricBench, setting
from . import outcome, parts


@dataclass(frozen=True)
class Settings(SymmetricBench):
    seeds: int = setting("sampled runs per setting (seeds derive from the experiment seed)")
    level: float = setting("central share of the runs inside the percentile band")
    acc_K: tuple[int, ...] = setting("chains per question of the accumulate runs (a small and a large K)")
    corpus_per_K: int = setting("pretraining-corpus chains per question, in units of K (accumulate with corpus)")
    bstar_K: int = setting("chains per question of the B-STaR runs")
    bstar_k0: float = setting("k0 of the balance score (distinct correct chains that count fully)")
    bstar_probe: int = setting("probe chains per question per temperature to choose T in the sampled runs")
    bstar_grid: tuple[float, ...] = setting("temperature grid of the adaptive rule")
    bstar_fixed: tuple[float, ...] = setting("fixed temperatures to compare (1.0 = plain STaR)")
    pass_k: tuple[int, ...] = setting("k of the pass@k curves (small first, large last)")
    pass_n: int = setting("chains per question of the sampled pass@k estimate (>= largest k)")
    pass_temperatures: tuple[float, ...] = setting("sampling temperatures of the pass@k runs")
    general_cases: int = setting("seeded random non-bijective tasks (pass@k and chain-level)")
    general_iterations: int = setting("exact STaR iterations on the random tasks")
    chain_K: tuple[int, ...] = setting("K of the sampled chain-level step")
    chain_seeds: int = setting("runs per K of the sampled chain-level step")
    add_digits: int = setting("digits of the add task (chain-level comparison)")
    add_base: int = setting("base of the add task")
    bstar_score: str = setting("balance score: 'official' (determine_hyper.py: dedup + reference) or "
                               "'multiplicity' (no reference, kept chains counted with multiplicity)")
    bstar_seeds: int = setting("sampled runs per B-STaR rule (seeds derive from the experiment seed)")
    pg_methods: tuple[str, ...] = setting("outcome-reward methods compared")
    pg_group: int = setting("group size G of the policy-gradient methods (= STaR's K: the matched budget)")
    pg_lr: float = setting("learning rate of the policy-gradient methods (logit space)")
    pg_large_lr: float = setting("a large learning rate, to probe the improvement claim")
    pg_iterations: int = setting("iterations of the outcome-reward comparison")
    pg_seeds: int = setting("sampled runs per method")
    pg_draws: int = setting("sampled updates at the base policy (the estimator test)")
    pg_groups: int = setting("groups per question of the estimator test's sampled update")
    pg_distinct_k: int = setting("samples per question for the expected number of distinct correct chains")
    pg_poor_lam: float = setting("lam of the poor pretrained policy (convention lam)")
    pg_cases: int = setting("seeded random non-bijective tasks of the outcome-reward checks")
    pg_general_iterations: int = setting("exact iterations on the random tasks")

    def __post_init__(self):
        check(self.M >= 2 and self.N >= 2, "need M >= 2 and N >= 2")
        check(0 < self.lam < 1, "lam must lie in (0, 1)")
        check(self.iterations >= 2 and self.general_iterations >= 1, "iterations must be >= 2")
        check(self.seeds >= 2 and self.chain_seeds >= 2, "seeds and chain_seeds must be >= 2 (standard errors)")
        check(0 < self.level < 1, "level must lie in (0, 1)")
        check(len(self.acc_K) == 2 and 1 <= self.acc_K[0] < self.acc_K[1], "acc_K must be [small K, large K]")
        check(self.corpus_per_K >= 1, "corpus_per_K must be >= 1")
        check(self.bstar_K >= 1 and self.bstar_k0 > 0 and self.bstar_probe >= 1, "bstar_K, bstar_k0, bstar_probe > 0")
        check(len(self.bstar_grid) >= 2 and all(t > 0 for t in self.bstar_grid), "bstar_grid: >= 2 temperatures > 0")
        check(1.0 in self.bstar_fixed and all(t > 0 for t in self.bstar_fixed), "bstar_fixed must hold 1.0 (plain STaR)")
        check(len(self.pass_k) >= 2 and list(self.pass_k) == sorted(self.pass_k) and self.pass_k[0] == 1,
              "pass_k must start at 1 and increase")
        check(self.pass_n >= self.pass_k[-1], "pass_n must be >= the largest k")
        check(all(t > 0 for t in self.pass_temperatures) and 1.0 in self.pass_temperatures,
              "pass_temperatures must hold 1.0 and be > 0")
        check(self.general_cases >= 1, "general_cases must be >= 1")
        check(len(self.chain_K) >= 2 and all(k >= 1 for k in self.chain_K), "chain_K: >= 2 values >= 1")
        check(self.add_digits >= 1 and self.add_base >= 2, "add task: digits >= 1, base >= 2")
        check(self.bstar_score in BALANCE_SCORES, f"bstar_score must be one of {', '.join(BALANCE_SCORES)}")
        check(self.bstar_seeds >= 2 and self.pg_seeds >= 2 and self.pg_draws >= 2,
              "bstar_seeds, pg_seeds and pg_draws must be >= 2 (standard errors)")
        check(len(self.pg_methods) >= 1 and all(m in METHODS for m in self.pg_methods),
              f"pg_methods must be among {', '.join(METHODS)}")
        check(self.pg_group >= 2 and self.pg_groups >= 1 and self.pg_distinct_k >= 1, "pg_group >= 2, pg_groups >= 1")
        check(0 < self.pg_lr < self.pg_large_lr, "need 0 < pg_lr < pg_large_lr")
        check(self.pg_iterations >= 2 and self.pg_general_iterations >= 1 and self.pg_cases >= 1,
              "pg_iterations >= 2, pg_general_iterations >= 1, pg_cases >= 1")
        check(0 < self.pg_poor_lam < self.lam, "pg_poor_lam must lie in (0, lam)")


def run(s: Settings, ctx) -> dict:
    data = {"convention": "lam", "M": s.M, "N": s.N, "lam": s.lam,
            "accumulate": parts.accumulate(s, ctx), "bstar": parts.bstar(s, ctx),
            "passk": parts.passk(s, ctx), "chain": parts.chain(s, ctx)}
    general = data["passk"]["general"]["1"]  # exact STaR at T = 1 on the random tasks
    fell = [data["passk"]["general_seed"] + i for i, (d, g) in enumerate(zip(general["min_change_large_k"],
                                                                          general["final_change_pass1"]))
            if d < -1e-9 and g > 1e-9]
    data["outcome"] = outcome.outcome(s, ctx, fell)
    return data
