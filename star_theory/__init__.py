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

from typing import TYPE_CHECKING  # noqa: E402

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
    **{(module[1:] if module.startswith("..") else ".sim" + module): names for module, names in _SIM_API.items()},
}

# The same names, imported for type checkers only (PEP 484): `from star_theory import X` is then
# typed for users and mypy, while at run time each name still loads on first use.
# tests/test_types.py checks that every name in API resolves here to a type that is not Any.
if TYPE_CHECKING:
    from .errors import InputError
    from .model import (
        ReasoningTask, SymmetricFit, TabularPolicy, eps_bounds, eps_to_lam, fit_symmetric, lam_bounds,
        lam_to_eps, mixture_policy, resolve_lam, symmetric_policy, symmetric_task, validate_eps,
        validate_lam,
    )
    from .exact import (
        Diagnostics, accuracy, accuracy_on, backward_success, diagnostics, exact_star_step,
        flawed_chain_distribution, flawed_chain_share, forward_marginals, kept_transition_mass,
        question_mask, refit_rows, step_correctness,
    )
    from .empty_rows import EMPTY_ROWS, fill_empty_rows, marginal_product
    from .task_protocol import Task, TaskFactory
    from .task_registry import (
        as_task_factory, get_task_factory, make_task, register_task, resolve_task_params,
        task_level_sizes, task_names, unregister_task,
    )
    from .tasks import DigitLevels, DigitTask, add_task, digit_task, zip_task
    from .task_walk import walk_task
    from .closed_form import (
        SymmetricTrajectory, iterations_to_accuracy, other_steps_product, symmetric_accuracy,
        symmetric_error_rate, symmetric_flawed_distribution, symmetric_flawed_share,
        symmetric_star_update, symmetric_step_correctness, symmetric_trajectory,
    )
    from .derive import (
        DerivedFormulas, ProductForms, derive_accuracy, derive_all, derive_flawed_distribution,
        derive_flawed_share, derive_product_forms, derive_star_update, derive_step_correct,
        format_formulas,
    )
    from .checks.common import Counterexample
    from .checks.improvement import ConvergenceResult, ImprovementResult, check_convergence, check_improvement
    from .checks.robustness import RobustnessResult, check_robustness
    from .checks.pretrained import (
        PretrainedGrid, PretrainedQuality, boundary_agreement, classify_pretrained, classify_symmetric,
        fixed_point_condition, pretrained_boundary, two_step_boundary,
    )
    from .checks.general import GeneralCheckResult, check_general, random_tabular_case
    from .checks.report import CheckReport, CheckRow, run_default_checks
    from .rules import (
        ENTRY_POINT_GROUP, Rule, as_rule, chain_filter_rule, chain_log_prob, get_rule, make_rule,
        register_rule, rule_names, star_trajectory, unregister_rule,
    )
    from .sampling import (
        EMPTY_ROW_RULES, SampledStep, expected_kept_count, keep_mask, kept_count_variance,
        prob_no_kept_chain, question_keep_probability, refit_from_counts, sample_chains,
        sample_conditioned_chains, transition_counts,
    )
    from .draw import alias_table
    from .variants import (
        VARIANT_NAMES, StarVariant, make_variant, mix_policies, noisy_verifier_accept, sampled_star_step,
        tempered_policy,
    )
    from .sim.runner import SimulateConfig, simulate
    from .sim.from_kernel import tabular_star_runs, tabular_star_step
    from .sim.summary import first_reach, seed_band
    from .sim.phase import PhaseDiagram, phase_diagram
    from .sim.corpus import CORPUS_FORMAT, make_corpus, read_corpus, write_corpus

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_exports(__name__, API)
