"""Beyond RL-STaR: update rules and metrics from other analyses of self-improvement, on the same
tabular model. One module per idea:

* :mod:`.accumulate` — replace or accumulate the data across rounds (arXiv 2404.01413);
* :mod:`.bstar` — B-STaR's balance score and adaptive temperature (arXiv 2412.17256);
* :mod:`.passk` — exact and sampled pass@k (arXiv 2504.13837, 2312.06585);
* :mod:`.chain_level` — the chain-level update conditioned on success against the per-step
  Markov refit (arXiv 2407.09499; sampled form: arXiv 2412.01951);
* :mod:`.policy_gradient` — outcome-reward policy gradient (REINFORCE, RLOO, GRPO, Dr. GRPO) on
  softmax-logit policies: exact expected updates, zero-signal probability, trajectories, sampled forms.

The names below load from their module on first use.
"""

from .._lazy import lazy_exports

API = {
    ".accumulate": ("exact_accumulate_trajectory", "sampled_accumulate_trajectory", "unfiltered_mass"),
    ".bstar": (
        "BALANCE_SCORES", "BalanceChoice", "balance_score", "choose_temperature", "exact_balance_score", "exact_bstar_trajectory",
        "expected_unique_correct", "sampled_balance_score", "sampled_bstar_trajectory",
    ),
    ".chain_level": (
        "chain_accuracy", "chain_distribution", "chain_level_update", "chain_tv", "enumerate_chains",
        "expected_sampled_accuracy", "markov_cross_entropy", "per_step_refit", "sampled_accuracy_sd",
        "sampled_chain_level_update",
    ),
    ".policy_gradient": (
        "METHODS", "accuracy_gradient", "advantage_weights", "expected_step", "expected_trajectory", "expected_update",
        "gradient_flow", "group_advantages", "logit_step", "policy_entropy", "policy_gradient_rule", "policy_logits",
        "question_success", "question_weights_of", "sampled_trajectory", "sampled_update", "softmax_policy",
        "weighted_score_gradient", "zero_signal_probability",
    ),
    ".passk": ("pass_at_k", "pass_at_k_estimator", "pass_at_k_from_accuracy", "question_accuracy", "sampled_pass_at_k"),
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, API)
