"""star_theory: the RL-STaR model of self-taught reasoning, computed exactly.

Public API (everything else is private):
"""

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

# --- closed forms, derivations, theorem checks (theory core) ---

# --- simulator: sampling, variants, phase diagrams, corpora ---

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
    # --- closed forms, derivations, theorem checks (theory core) ---
    # --- simulator: sampling, variants, phase diagrams, corpora ---
]
