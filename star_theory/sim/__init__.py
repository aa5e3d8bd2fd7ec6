"""star_theory.sim: the finite-sample simulator of STaR and its variants.

Everything here samples, with the primitives of the layer below (chains from a tabular policy,
:mod:`star_theory.sampling`, one step of every chain in :mod:`star_theory.draw`; the built-in
rules' exact and sampled steps, :mod:`star_theory.variants`, their symmetric-family closed forms in
:mod:`star_theory.variant_theory`; ``star_theory.sim.sampling`` and the like name those same
modules): whole runs over seeds (:mod:`.runner`;
checkpoints in :mod:`.checkpoint`, the printed table in :mod:`.table`, bands over seeds in
:mod:`.summary`), tabular STaR started from any kernel (:mod:`.from_kernel`), phase diagrams
(:mod:`.phase`) and corpus files (:mod:`.corpus`). It builds on the model and the exact operator
of :mod:`star_theory`; nothing in the theory core imports it, and it imports no rule registry: it
takes a rule object (:mod:`star_theory.rule_protocol`) and knows the built-in names only.

Public API: the names in ``API`` below, loaded on first use (also re-exported by
:mod:`star_theory`).
"""

from .._lazy import lazy_exports

API = {
    ".sampling": (
        "EMPTY_ROW_RULES", "SampledStep", "expected_kept_count", "keep_mask",
        "kept_count_variance", "prob_no_kept_chain", "question_keep_probability", "refit_from_counts",
        "sample_chains", "sample_conditioned_chains", "transition_counts",
    ),
    ".draw": ("alias_table",),
    ".variants": (
        "VARIANT_NAMES", "StarVariant", "make_variant", "mix_policies", "noisy_verifier_accept",
        "sampled_star_step", "tempered_policy",
    ),
    ".runner": ("SimulateConfig", "simulate"),
    ".from_kernel": ("tabular_star_runs", "tabular_star_step"),
    ".summary": ("first_reach", "seed_band"),
    ".phase": ("PhaseDiagram", "phase_diagram"),
    ".corpus": ("CORPUS_FORMAT", "make_corpus", "read_corpus", "write_corpus"),
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, API)
