"""star_theory: the RL-STaR model of self-taught reasoning, computed exactly.

Public API: the names in ``API`` below (the theory core: model, exact operator, closed forms,
derivations, theorem checks, rule plug-in point) and the simulator's names from
:mod:`star_theory.sim`. Every name loads from its module on first use, so ``import star_theory``
costs next to nothing. The modules :mod:`star_theory.testing` (assertion helpers for claims),
:mod:`star_theory.strategies` (hypothesis strategies; needs the optional hypothesis) and
:mod:`star_theory.beyond` are public as modules. ``docs/tutorial.md`` walks through them and
``docs/architecture.md`` draws the packages.
"""

from .process import guard_startup as _guard_startup

_guard_startup()  # in the `rlstar` process only: a Ctrl-C during the imports gives one line, status 130

from ._lazy import lazy_exports  # noqa: E402
from .sim import API as _SIM_API  # noqa: E402  (the table only: no simulator module loads here)

API = {
    ".errors": ("InputError",),
    ".model": (
        "ReasoningTask", "SymmetricFit", "TabularPolicy", "eps_bounds", "eps_to_lam", "fit_symmetric",
        "lam_bounds", "lam_to_eps", "mixture_policy", "resolve_lam", "symmetric_policy", "symmetric_task",
        "validate_eps", "validate_lam",
    ),
    ".exact": (
        "Diagnostics", "accuracy", "accuracy_on", "backward_success", "diagnostics", "exact_star_step",
        "flawed_chain_distribution", "flawed_chain_share", "forward_marginals", "kept_transition_mass",
        "question_mask", "refit_rows", "step_correctness",
    ),
    ".empty_rows": ("EMPTY_ROWS", "fill_empty_rows", "marginal_product"),
    ".task_protocol": ("Task", "TaskFactory"),
    ".task_registry": (
        "as_task_factory", "get_task_factory", "make_task", "register_task", "resolve_task_params",
        "task_level_sizes", "task_names", "unregister_task",
    ),
    ".tasks": ("DigitLevels", "DigitTask", "add_task", "digit_task", "zip_task"),
    ".task_walk": ("walk_task",),
    ".closed_form": (
        "SymmetricTrajectory", "iterations_to_accuracy", "other_steps_product", "symmetric_accuracy", "symmetric_error_rate",
        "symmetric_flawed_distribution", "symmetric_flawed_share", "symmetric_star_update",
        "symmetric_step_correctness", "symmetric_trajectory",
    ),
    ".derive": (  # needs sympy (0.6 s to import)
        "DerivedFormulas", "ProductForms", "derive_accuracy", "derive_all", "derive_flawed_distribution",
        "derive_flawed_share", "derive_product_forms", "derive_star_update", "derive_step_correct",
        "format_formulas",
    ),
    ".checks.common": ("Counterexample",),
    ".checks.improvement": ("ConvergenceResult", "ImprovementResult", "check_convergence", "check_improvement"),
    ".checks.robustness": ("RobustnessResult", "check_robustness"),
    ".checks.pretrained": (
        "PretrainedGrid", "PretrainedQuality", "boundary_agreement", "classify_pretrained", "classify_symmetric",
        "fixed_point_condition", "pretrained_boundary", "two_step_boundary",
    ),
    ".checks.general": ("GeneralCheckResult", "check_general", "random_tabular_case"),
    ".checks.report": ("CheckReport", "CheckRow", "run_default_checks"),
    ".rules": (
        "ENTRY_POINT_GROUP", "Rule", "as_rule", "chain_filter_rule", "chain_log_prob", "get_rule", "make_rule",
        "register_rule", "rule_names", "star_trajectory", "unregister_rule",
    ),
    **{".sim" + module: names for module, names in _SIM_API.items()},
}

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_exports(__name__, API)
