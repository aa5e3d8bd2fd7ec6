r"""The analysis's claims as computations: one function per claim, returning frozen dataclasses.

Every check runs an update rule ``step(policy, task) -> policy`` (default: the exact operator
:func:`~star_theory.exact.exact_star_step`; also a :class:`~star_theory.variants.StarVariant`, a
:class:`~star_theory.rule_protocol.Rule` or a built-in rule's name: the checks take the rule object and look
no name up in the registry, :func:`star_theory.rule_protocol.as_rule_object`) on any
:class:`~star_theory.model.ReasoningTask` / :class:`~star_theory.model.TabularPolicy`, and
reports what holds, what fails, and the first counterexample. Nothing here prints.

Claims (``docs/theory.md`` has the derivations):

* improvement: :math:`J(P^{t+1}) \ge J(P^t)` and, on bijective tasks, every fitted
  :math:`\lambda_n` non-decreasing. For the exact operator the first part is a theorem for *every*
  tabular task (the operator is an EM step for the likelihood of ``r = 1``); the second holds in
  the symmetric family iff :math:`\Lambda_{-n} \ge 0` (it fails with negative entries).
* convergence: limit, observed contraction of :math:`1 - J`, iterations to a target accuracy.
* robustness: the flawed-chain share per iteration while ``J`` still improves.
* pretrained quality: which initial ``lam`` vectors reach the optimum, get stuck, or neither.
* the improvement/convergence checks over seeded random general tabular tasks.

One module per job: :mod:`.common` (the rule type, tolerances, :class:`Counterexample`),
:mod:`.improvement` (improvement and convergence), :mod:`.robustness`, :mod:`.pretrained`
(pretrained quality, the ``N = 2`` boundary, fixed points), :mod:`.general` (random general
tasks) and :mod:`.report` (the default report of ``rlstar check``). The names below load from
their module on first use.
"""

from .._lazy import lazy_exports

API = {
    ".common": ("IMPROVEMENT_TOL", "OPTIMUM_TOL", "Counterexample", "Step"),
    ".improvement": ("CONVERGENCE_OUTCOMES", "ConvergenceResult", "ImprovementResult", "check_convergence",
                     "check_improvement"),
    ".robustness": ("RobustnessResult", "check_robustness"),
    ".pretrained": (
        "BOUNDARY_TOL", "PRETRAINED_LABELS", "PretrainedGrid", "PretrainedQuality", "boundary_agreement",
        "classify_pretrained", "classify_symmetric", "fixed_point_condition", "pretrained_boundary", "two_step_boundary",
        "two_step_boundary_curve",
    ),
    ".general": ("GeneralCheckResult", "check_general", "random_tabular_case"),
    ".report": ("DEFAULT_GRID_LAM", "DEFAULT_GRID_M", "DEFAULT_GRID_N", "CheckReport", "CheckRow", "run_default_checks"),
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, API)
