"""The improvement and convergence checks over seeded random general tabular tasks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..exact import exact_star_step
from ..model import ReasoningTask, TabularPolicy
from ..validation import as_float, as_int, validate_target
from .common import Counterexample, Step, check_iterations
from .improvement import ConvergenceResult, ImprovementResult, check_convergence, check_improvement


def random_tabular_case(seed: int, max_states: int = 4, max_steps: int = 3,
                        concentration: float = 0.5) -> tuple[ReasoningTask, TabularPolicy]:
    """A seeded random task (non-bijective maps, random level sizes and questions) and policy.

    Kernels have Dirichlet(``concentration``) rows, so they are strictly positive.
    """
    rng = np.random.default_rng(as_int(seed, "seed", 0))
    max_states, max_steps = _check_case_sizes(max_states, max_steps)
    concentration = as_float(concentration, "concentration")
    if concentration <= 0:
        raise InputError(f"concentration must be > 0, got {concentration!r}")
    N = int(rng.integers(1, max_steps + 1))
    sizes = rng.integers(2, max_states + 1, N + 1)
    maps = [rng.integers(0, sizes[n + 1], sizes[n]) for n in range(N)]
    task = ReasoningTask(maps, question_dist=rng.dirichlet(np.ones(sizes[0])), final_size=int(sizes[-1]))
    kernels = [rng.dirichlet(np.full(sizes[n + 1], concentration), size=sizes[n]) for n in range(N)]
    return task, TabularPolicy(kernels)


#: most states per level and most steps of a random case (its policy has at most
#: ``max_steps * max_states**2`` entries and its chains ``max_states**(max_steps + 1)``)
MAX_CASE_STATES, MAX_CASE_STEPS = 64, 8
#: most random cases one call of :func:`check_general` runs
MAX_CASES = 100_000


def _check_case_sizes(max_states, max_steps) -> tuple[int, int]:
    return (as_int(max_states, "max_states", 2, MAX_CASE_STATES), as_int(max_steps, "max_steps", 1, MAX_CASE_STEPS))


@dataclass(frozen=True)
class GeneralCheckResult:
    """A claim over ``n_cases`` seeded random tabular tasks (case ``i`` uses seed ``seed + i``).

    ``counterexample`` is the first failing case (its task, initial policy, seed and iteration).
    For convergence a failure is a local optimum (a detected fixed point below the optimum);
    ``n_undecided`` counts the cases still moving after ``check_convergence``'s ``max_iterations``
    (``holds`` needs none of either); ``slow`` lists ``(seed, iteration)`` of the cases that reach
    the optimum only after ``iterations``.
    """

    claim: str
    holds: bool
    n_cases: int
    n_failures: int
    seed: int
    iterations: int
    worst: float
    counterexample: Counterexample | None
    n_undecided: int = 0
    slow: tuple[tuple[int, int], ...] = ()


def check_general(
    claim: str = "improvement",
    n_cases: int = 200,
    seed: int = 0,
    iterations: int = 30,
    step: Step = exact_star_step,
    target: float = 0.99,
    max_states: int = 4,
    max_steps: int = 3,
) -> GeneralCheckResult:
    """Run ``check_improvement`` or ``check_convergence`` on random general tabular tasks.

    ``worst`` is the most negative accuracy change (improvement) or the lowest limit accuracy
    (convergence) over all cases.
    """
    if not isinstance(claim, str) or claim not in ("improvement", "convergence"):
        raise InputError(f"claim must be 'improvement' or 'convergence', got {claim!r}")
    n_cases = as_int(n_cases, "n_cases", 1, MAX_CASES)
    seed = as_int(seed, "seed", 0)
    _check_case_sizes(max_states, max_steps)
    check_iterations(iterations)
    validate_target(target)
    failures, undecided, first, worst, slow = 0, 0, None, np.inf, []
    for i in range(n_cases):
        task, policy = random_tabular_case(seed + i, max_states, max_steps)
        r: ImprovementResult | ConvergenceResult
        if claim == "improvement":
            r = check_improvement(policy, task, iterations, step)
            worst = min(worst, float(np.min(r.accuracy_change)))
            failed = not r.accuracy_holds
        else:
            r = check_convergence(policy, task, iterations, target, step)
            worst = min(worst, r.stop_accuracy)
            failed = r.outcome == "local optimum"
            undecided += r.outcome == "moving"
            if r.outcome == "optimum" and r.stop_iteration > iterations:
                slow.append((seed + i, r.stop_iteration))
        if failed:
            failures += 1
            if first is None:
                c = r.counterexample
                assert c is not None  # a failed claim carries its counterexample (check_improvement, check_convergence)
                first = Counterexample(c.claim, c.quantity, c.iteration, c.step, c.before, c.after, task, policy, seed + i)
    return GeneralCheckResult(claim, failures == 0 and undecided == 0, n_cases, failures, seed, int(iterations), worst,
                              first, undecided, tuple(slow))
