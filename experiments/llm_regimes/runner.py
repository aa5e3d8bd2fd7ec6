"""Run every LLM regime at ``llm_seeds`` STaR seeds (one shared pretrained model per regime) and lay beside
each seed the tabular theory started from its own kernels (:mod:`.departures`): the exact-operator line,
tabular STaR at the run's K and question subset, the one-step predictions and the empty-row rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from llm.config import preset
from star_theory.config import check

from ..llm_common import chains_per_question, llm_run, text_task_of
from ..shared_settings import setting
from .departures import seed_departures

#: regime -> (preset of `rlstar llm run`, overrides): the regimes of issue 19 and the table regime
REGIMES = {
    "paper-cpu": ("paper-cpu", {}),
    "paper-cpu-steps": ("paper-cpu-steps", {}),
    "paper-cpu-sparse": ("paper-cpu-sparse", {}),
    "paper-cpu-heldout": ("paper-cpu-heldout", {}),
    "symbol-cpu": ("symbol-cpu", {}),
    "symbol-cpu-heldout": ("symbol-cpu", {"heldout_fraction": 0.5}),  # half the questions held out, as paper-cpu-heldout
}


@dataclass(frozen=True)
class Settings:
    regimes: tuple[str, ...] = setting(f"regimes to run ({', '.join(REGIMES)})")
    digits: int = setting("digits D of every regime's zip task (0: each preset's own)")
    iterations: int = setting("STaR iterations of every run (0: each preset's own)")
    pretrain_steps: int = setting("cap on every regime's pretraining steps (0: each preset's own)")
    finetune_steps: int = setting("cap on every regime's fine-tuning steps per iteration (0: each preset's own)")
    llm_seeds: int = setting("STaR seeds per regime (>= 2: the findings are statistics over seeds)")
    sim_seeds: int = setting("tabular STaR runs beside each LLM seed (and each of its one-step predictions)")

    def __post_init__(self):
        check(len(self.regimes) >= 1 and all(r in REGIMES for r in self.regimes),
              f"regimes must be among {', '.join(REGIMES)}, got {list(self.regimes)}")
        check(min(self.digits, self.iterations, self.pretrain_steps, self.finetune_steps) >= 0,
              "digits, iterations, pretrain_steps and finetune_steps must be >= 0")
        check(self.llm_seeds >= 2, f"llm_seeds must be >= 2, got {self.llm_seeds}")
        check(self.sim_seeds >= 4, f"sim_seeds must be >= 4, got {self.sim_seeds}")


def regime_settings(name: str, s: Settings) -> dict:
    """The overrides of one regime's LLM runs: its preset, its own overrides, then the experiment's scale (digits,
    iterations, and caps on the pretraining and fine-tuning steps; 0 leaves the preset's value)."""
    base_preset, extra = REGIMES[name]
    base = {**preset(base_preset), **extra}
    for key, value in (("digits", s.digits), ("iterations", s.iterations)):
        if value:
            base[key] = value
    for key, cap in (("pretrain_steps", s.pretrain_steps), ("finetune_steps", s.finetune_steps)):
        if cap:
            base[key] = min(base.get(key, cap), cap)
    return base


def run(s: Settings, ctx) -> dict:
    out = {}
    for name in s.regimes:
        base = regime_settings(name, s)
        seeds = []
        for i in range(s.llm_seeds):
            r = llm_run(ctx, base, llm_seed=i)
            tt = text_task_of(r["config"])
            K = chains_per_question(r["records"][0], tt.task)
            sim = [ctx.child_seed(name, i, j) for j in range(s.sim_seeds)]
            seeds.append({"records": r["records"], "llm_folder": r["folder"], "star_seed": r["star_seed"], "sim_seeds": sim,
                          **seed_departures(r, tt, K, sim)})
        cfg = r["config"]
        out[name] = {"preset": REGIMES[name][0], "settings": base, "seeds": seeds, "K": K, "M": tt.task.sizes[0],
                     "N": tt.task.n_steps, "tokenization": cfg["tokenization"], "pretrained": r["pretrained"],
                     "pretrain_seed": r["pretrain_seed"],
                     "heldout": bool(seeds[0]["heldout_questions"])}
    return {"regimes": out}
