"""star_theory: the RL-STaR model of self-taught reasoning, computed exactly.

Public API (everything else is private): the names below, plus the modules
:mod:`star_theory.testing` (assertion helpers for claims), :mod:`star_theory.strategies`
(hypothesis strategies; needs the optional hypothesis) and :mod:`star_theory.rules` (the
plug-in point for update rules, re-exported here). ``docs/tutorial.md`` walks through them.
"""

from .process import guard_startup as _guard_startup

_guard_startup()  # in the `rlstar` process only: a Ctrl-C during the imports gives one line, status 130

from .errors import InputError
from .exact import (
    Diagnostics,
    accuracy,
    backward_success,
    diagnostics,
    exact_star_step,
    flawed_chain_distribution,
    flawed_chain_share,
    forward_marginals,
    kept_transition_mass,
    refit_rows,
    star_trajectory,
    step_correctness,
)
from .model import (
    ReasoningTask,
    SymmetricFit,
    TabularPolicy,
    eps_bounds,
    eps_to_lam,
    fit_symmetric,
    lam_bounds,
    lam_to_eps,
    mixture_policy,
    resolve_lam,
    symmetric_policy,
    symmetric_task,
    validate_eps,
    validate_lam,
)

from .tasks import TASK_NAMES, DigitLevels, DigitTask, add_task, digit_task, zip_task

# --- closed forms, derivations, theorem checks (theory core) ---
from .checks import (
    CheckReport,
    CheckRow,
    ConvergenceResult,
    Counterexample,
    GeneralCheckResult,
    ImprovementResult,
    PretrainedGrid,
    PretrainedQuality,
    RobustnessResult,
    check_convergence,
    check_general,
    check_improvement,
    check_robustness,
    classify_pretrained,
    classify_symmetric,
    fixed_point_condition,
    pretrained_boundary,
    random_tabular_case,
    run_default_checks,
)
from .closed_form import (
    SymmetricTrajectory,
    iterations_to_accuracy,
    symmetric_accuracy,
    symmetric_error_rate,
    symmetric_flawed_distribution,
    symmetric_flawed_share,
    symmetric_star_update,
    symmetric_step_correctness,
    symmetric_trajectory,
)

# derive needs sympy (0.6 s to import): its names load on first use (PEP 562 __getattr__)
_LAZY_DERIVE = (
    "DerivedFormulas",
    "ProductForms",
    "derive_accuracy",
    "derive_all",
    "derive_flawed_distribution",
    "derive_flawed_share",
    "derive_product_forms",
    "derive_star_update",
    "derive_step_correct",
    "format_formulas",
)


def __getattr__(name):
    if name in _LAZY_DERIVE:
        from . import derive

        return getattr(derive, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --- simulator: sampling, variants, phase diagrams, corpora ---
from .corpus import CORPUS_FORMAT, make_corpus, read_corpus, write_corpus
from .phase import PhaseDiagram, phase_diagram
from .sampling import (
    EMPTY_ROW_RULES,
    SampledStep,
    alias_table,
    expected_kept_count,
    keep_mask,
    kept_count_variance,
    prob_no_kept_chain,
    question_keep_probability,
    refit_from_counts,
    sample_chains,
    sample_conditioned_chains,
    sampled_star_step,
    transition_counts,
)
from .rules import (
    ENTRY_POINT_GROUP,
    Rule,
    as_rule,
    chain_filter_rule,
    chain_log_prob,
    get_rule,
    make_rule,
    register_rule,
    rule_names,
    unregister_rule,
)
from .simulate import SimulateConfig, simulate
from .variants import (
    VARIANT_NAMES,
    StarVariant,
    make_variant,
    mix_policies,
    noisy_verifier_accept,
    tempered_policy,
)

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "ReasoningTask",
    "TabularPolicy",
    "SymmetricFit",
    "Diagnostics",
    "symmetric_task",
    "symmetric_policy",
    "mixture_policy",
    "fit_symmetric",
    "lam_bounds",
    "eps_bounds",
    "validate_lam",
    "validate_eps",
    "lam_to_eps",
    "eps_to_lam",
    "resolve_lam",
    "accuracy",
    "forward_marginals",
    "backward_success",
    "kept_transition_mass",
    "refit_rows",
    "exact_star_step",
    "step_correctness",
    "flawed_chain_distribution",
    "flawed_chain_share",
    "diagnostics",
    "star_trajectory",
    "TASK_NAMES",
    "DigitLevels",
    "DigitTask",
    "zip_task",
    "add_task",
    "digit_task",
    # --- closed forms, derivations, theorem checks (theory core) ---
    "CheckReport",
    "CheckRow",
    "ConvergenceResult",
    "Counterexample",
    "GeneralCheckResult",
    "ImprovementResult",
    "PretrainedGrid",
    "PretrainedQuality",
    "RobustnessResult",
    "check_convergence",
    "check_general",
    "check_improvement",
    "check_robustness",
    "classify_pretrained",
    "classify_symmetric",
    "fixed_point_condition",
    "pretrained_boundary",
    "random_tabular_case",
    "run_default_checks",
    "SymmetricTrajectory",
    "iterations_to_accuracy",
    "symmetric_accuracy",
    "symmetric_error_rate",
    "symmetric_flawed_distribution",
    "symmetric_flawed_share",
    "symmetric_star_update",
    "symmetric_step_correctness",
    "symmetric_trajectory",
    "DerivedFormulas",
    "ProductForms",
    "derive_accuracy",
    "derive_all",
    "derive_flawed_distribution",
    "derive_flawed_share",
    "derive_product_forms",
    "derive_star_update",
    "derive_step_correct",
    "format_formulas",
    # --- simulator: sampling, variants, phase diagrams, corpora ---
    "CORPUS_FORMAT",
    "make_corpus",
    "read_corpus",
    "write_corpus",
    "PhaseDiagram",
    "phase_diagram",
    "EMPTY_ROW_RULES",
    "SampledStep",
    "alias_table",
    "expected_kept_count",
    "keep_mask",
    "kept_count_variance",
    "prob_no_kept_chain",
    "question_keep_probability",
    "refit_from_counts",
    "sample_chains",
    "sample_conditioned_chains",
    "sampled_star_step",
    "transition_counts",
    "ENTRY_POINT_GROUP",
    "Rule",
    "as_rule",
    "chain_filter_rule",
    "chain_log_prob",
    "get_rule",
    "make_rule",
    "register_rule",
    "rule_names",
    "unregister_rule",
    "SimulateConfig",
    "simulate",
    "VARIANT_NAMES",
    "StarVariant",
    "make_variant",
    "mix_policies",
    "noisy_verifier_accept",
    "tempered_policy",
]
