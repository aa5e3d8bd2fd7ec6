r"""Pretrained quality: which initial ``lam`` vectors let STaR start improving, and which leave it stuck.

Convention ``lam`` throughout: :math:`P_n = \lambda_n P_n^* + (1 - \lambda_n) U_M`.

* ``N = 2`` phase diagrams (:mod:`.phase`) over :math:`(\lambda_1, \lambda_2) \in [-1/(M-1), 1]^2`: the exact
  operator by the closed form (:func:`star_theory.phase_diagram`), the same on explicit matrices
  on a coarse grid, and finite-sample STaR (``K`` chains per question, several seeds). The
  derived boundary is :math:`s = \lambda_1 + \lambda_2 + (M-2)\lambda_1\lambda_2`: optimum iff
  :math:`s > 0`, stuck otherwise (``docs/theory.md``, fact 5).
* ``N = 3`` cases (:mod:`.cases`): every step at ``base_lam`` except the steps of a *zero set*, which start at
  :math:`\lambda = 0` (uniform). Theory (fact 3): one zero step ``n`` is lifted to
  :math:`\lambda_n' = \Lambda_{-n} = \prod_{k \ne n} \lambda_k` in one iteration, the others stay;
  two zero steps are a fixed point with :math:`J = 1/M`. Each case is run three ways: the closed
  form, the exact operator on explicit ``M x M`` matrices (fitted back to ``lam``), and sampled
  STaR with ``K`` chains per question over ``seeds`` runs (fitted ``lam`` and the distance of the
  refit kernels from the family recorded per iteration).

LLM hook: :func:`case_vectors` gives every case's initial ``lam`` vector, and ``run`` returns them
under ``data["cases"][name]["initial_lam"]`` (with ``data["llm_hook"]``), so an LLM runner can
pretrain on the same policies and add its measured curves beside these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from star_theory import symmetric_task
from star_theory.config import check

from ..shared_settings import setting
from .cases import zero_step_case
from .llm_part import run_llm_cases
from .phase import phase

REFERENCE = "reference"


@dataclass(frozen=True)
class Settings:
    phase_M: tuple[int, ...] = setting("M of the exact N=2 phase diagrams (closed form)")
    phase_points: int = setting("grid points per axis of the exact N=2 diagrams")
    phase_iterations: int = setting("STaR iterations of the exact N=2 diagrams")
    explicit_M: int = setting("M of the N=2 diagram iterated on explicit matrices (checks the closed form)")
    explicit_points: int = setting("grid points per axis of the explicit-matrix diagram")
    explicit_iterations: int = setting("iterations of the explicit-matrix diagram (and of its closed-form twin)")
    sampled_M: int = setting("M of the sampled N=2 diagram")
    sampled_points: int = setting("grid points per axis of the sampled diagram")
    sampled_K: int = setting("chains per question of the sampled diagram")
    sampled_seeds: int = setting("runs per grid point of the sampled diagram")
    sampled_iterations: int = setting("iterations of the sampled diagram")
    M: int = setting("states per level of the N=3 cases (the analysis: 64)")
    N: int = setting("reasoning steps of the cases (the analysis: 3)")
    base_lam: float = setting("lam of every step that is not set to zero")
    zero_sets: tuple[tuple[int, ...], ...] = setting("cases: the steps (1-based) that start at lam = 0")
    reference: bool = setting("also run the reference case with no step at zero")
    K: int = setting("chains per question of the sampled runs of the cases")
    seeds: int = setting("sampled runs per case (seeds derive from the experiment seed)")
    iterations: int = setting("STaR iterations of the cases")
    target: float = setting("target accuracy for 'iterations to target'")
    level: float = setting("central share of the runs inside the band (percentiles over seeds)")
    llm_zero_sets: tuple[tuple[int, ...], ...] = setting("LLM cases (tiny GPT-2, zip N=2): steps at lam = 0; [] for none")
    llm_base_lam: float = setting("corpus lam of the LLM cases' other steps")
    llm_iterations: int = setting("STaR iterations of the LLM cases")

    def __post_init__(self):
        check(all(m >= 2 for m in self.phase_M) and len(self.phase_M) >= 1, "phase_M must list values >= 2")
        check(min(self.phase_points, self.explicit_points, self.sampled_points) >= 3, "grid points must be >= 3")
        check(min(self.phase_iterations, self.explicit_iterations, self.sampled_iterations, self.iterations) >= 1,
              "iterations must be >= 1")
        check(self.explicit_M >= 2 and self.sampled_M >= 2 and self.M >= 2, "M values must be >= 2")
        check(self.N >= 2, f"N must be >= 2 (cases set steps to zero), got {self.N}")
        check(0 < self.base_lam <= 1, f"base_lam must lie in (0, 1], got {self.base_lam}")
        check(len(self.zero_sets) >= 1, "zero_sets must list at least one case")
        for z in self.zero_sets:
            check(len(z) >= 1 and len(set(z)) == len(z) and all(1 <= k <= self.N for k in z),
                  f"each zero set must list distinct steps in 1..{self.N}, got {list(z)}")
        check(self.K >= 1 and self.sampled_K >= 1, "K and sampled_K must be >= 1")
        check(self.seeds >= 2 and self.sampled_seeds >= 1, "seeds must be >= 2 and sampled_seeds >= 1")
        check(0 < self.target <= 1, f"target must lie in (0, 1], got {self.target}")
        check(0 < self.level < 1, f"level must lie in (0, 1), got {self.level}")
        for z in self.llm_zero_sets:
            check(len(z) >= 1 and all(k in (1, 2) for k in z), f"LLM zero sets list steps 1 or 2 (N=2), got {list(z)}")
        check(self.llm_iterations >= 1 and 0 < self.llm_base_lam <= 1, "llm_iterations >= 1 and llm_base_lam in (0, 1]")


def case_name(zero_steps) -> str:
    """``zero_1``, ``zero_1_2``, ... (``reference`` for no zero step)."""
    return "zero_" + "_".join(str(k) for k in zero_steps) if len(zero_steps) else REFERENCE


def case_label(zero_steps) -> str:
    if not len(zero_steps):
        return "no step at 0"
    return ("step " if len(zero_steps) == 1 else "steps ") + ",".join(str(k) for k in zero_steps) + " at lam=0"


def case_vectors(s: Settings) -> dict[str, dict]:
    """Every case: ``{name: {"zero_steps": [...], "initial_lam": [lam_1..lam_N]}}`` (convention lam).

    The hook for the LLM runner: pretrain on ``symmetric_policy(task, lam=initial_lam)``.
    """
    sets = [tuple(z) for z in s.zero_sets] + ([()] if s.reference else [])
    out = {}
    for z in sets:
        lam = np.full(s.N, float(s.base_lam))
        lam[[k - 1 for k in z]] = 0.0
        out[case_name(z)] = {"zero_steps": list(z), "initial_lam": lam.tolist()}
    return out


def run(s: Settings, ctx) -> dict:
    diagrams = phase(s, ctx)
    task = symmetric_task(s.M, s.N, seed=ctx.child_seed("task"))
    cases = {}
    for name, c in case_vectors(s).items():
        cases[name] = dict(c, **zero_step_case(s, task, name, np.asarray(c["initial_lam"]), ctx))
    return {
        "phase": diagrams, "cases": cases, "llm_cases": run_llm_cases(s, ctx), "convention": "lam", "M": s.M, "N": s.N, "base_lam": s.base_lam,
        "band": f"central {s.level:.0%} of the {s.seeds} sampled runs (percentiles over seeds)",
        "llm_hook": "cases[name]['initial_lam'] is the pretrained lam vector of each case (symmetric family, "
                    "M and N above); an LLM runner pretrains on it and adds its accuracy curve beside "
                    "closed_form / exact_matrices / sampled",
    }
