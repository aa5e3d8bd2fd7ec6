"""Findings of experiment 9, per regime, each a statistic over the regime's S LLM seeds.

The tabular prediction for a statistic of the S seeds is the same statistic of S tabular runs:
run ``r`` of the simulator beside seed ``i`` (same K, same trained questions, started from seed
``i``'s own kernel) is a draw of what seed ``i`` would do if the model were the table, so the mean
over ``i`` of run ``r`` is one draw of the seeds' mean; over the simulator's R runs these give a
95% simultaneous prediction band (t quantile, Bonferroni over the comparisons) for the seeds' mean,
widened by the resolution of one sampled iteration, one chain among the ``K n`` chains of the ``n``
questions compared (``1 / (K n)``: the LLM's softmax never puts an exact 0 where the table does, and
no sampled iteration can tell apart differences below one chain).

* (i) policy improvement, as the analysis states it (J never falls): the share of STaR steps where J did not
  fall by more than the resolution ``1 / (K n)``, against the tabular band of that share (a step on a plateau
  at the optimum counts as no fall; the share of steps where J rose is in the note);
* (ii) the miss of each prediction: the seeds' mean J in the tabular band at the run's K (finite-K band),
  against the exact-operator line (no farther than the tabular mean's finite-K lag plus the band), and
  the one-step residual ``J(t) - J(exact step from the LLM's t-1 kernel)`` in the band of one tabular
  step's residual; the sizes of the misses are information;
* (iii) unvisited rows: the table's rule (``keep``) against each other rule of
  :data:`star_theory.empty_rows.EMPTY_ROWS`, a paired t test over the seeds of the mean TV between
  the LLM's rows and each rule's prediction (99%, Bonferroni over the rules);
* (iv) held-out questions: the seeds' mean J on the held-out questions in the tabular band (which keeps
  their first-step rows), and the change of held-out J from t = 0 as information.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from star_theory.empty_rows import EMPTY_ROWS

from ..framework import Finding, Info
from ..stats import band_test, band_words, mean_test, mean_words

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings


def _arr(seeds, key) -> np.ndarray:
    return np.array([sd[key] for sd in seeds], dtype=float)


def pseudo_means(seeds: list[dict], key: str) -> np.ndarray:
    """``(R, ...)``: run ``r`` of the simulator averaged over the seeds (draws of the seeds' mean under the table)."""
    return np.mean([np.asarray(sd[key], dtype=float) for sd in seeds], axis=0)


def rise_share(J: np.ndarray) -> np.ndarray:
    """Share of the STaR steps ``t -> t+1`` where J rose, per row of ``J`` ``(..., T+1)``."""
    return (np.diff(J, axis=-1) > 0).mean(axis=-1)


def no_fall_share(J: np.ndarray, resolution: float) -> np.ndarray:
    """Share of the STaR steps ``t -> t+1`` where J did not fall by more than ``resolution``
    (policy improvement, :math:`J_{t+1} \\ge J_t`), per row of ``J`` ``(..., T+1)``."""
    return (np.diff(J, axis=-1) >= -resolution).mean(axis=-1)


def analyze(data: dict, s: Settings) -> list:
    out = []
    for name, r in data["regimes"].items():
        out += analyze_regime(name, r)
    return out


def analyze_regime(name: str, r: dict) -> list:
    seeds = r["seeds"]
    S = len(seeds)
    tag = f"{name} (M={r['M']}, N={r['N']}, K={r['K']}, {r['tokenization']} tokens, {S} seeds)"
    J = _arr(seeds, "J")  # (S, T+1)
    tab = np.array([sd["tabular_runs"] for sd in seeds], dtype=float)  # (S, R, T+1)
    pseudo = tab.mean(axis=0)  # (R, T+1)
    mean = J.mean(axis=0)
    res = 1.0 / (r["K"] * r["M"])  # one chain among the K M chains of an iteration
    out: list[Finding | Info] = []
    # (i) policy improvement
    share, tab_share = no_fall_share(J, res), no_fall_share(tab, res).mean(axis=0)  # (S,), (R,)
    t = band_test([share.mean()], tab_share[:, None], floor=1e-9)
    out.append(Finding("improvement", f"{tag}: share of STaR steps where the LLM's J did not fall (by more than one "
                       "chain, 1/(K M)), mean over seeds, in the tabular band (the exact operator: every step)",
                       round(float(tab_share.mean()), 4), round(float(share.mean()), 4), band_words(t, len(tab_share)),
                       t["all"], note=f"{tag}: steps where J did not fall per seed {share.round(3).tolist()}; where it "
                                      f"rose {rise_share(J).round(3).tolist()} (the rest: a plateau)"))
    # (ii) finite-K band, exact line, one-step predictions
    t = band_test(mean, pseudo, floor=res)
    out.append(Finding("convergence", f"{tag}: mean over seeds of the LLM's exact J in the band of tabular STaR at "
                       "the run's K and trained questions, from each seed's measured initial kernel, every iteration",
                       np.round(pseudo.mean(axis=0), 4).tolist(), np.round(mean, 4).tolist(), band_words(t, len(pseudo)),
                       t["all"], note=f"{tag}: worst excess over the finite-K band {float(t['excess'].max()):+.4f} "
                                     f"(resolution 1/(K M) = {res:.2g} included)"))
    half = (t["hi"] - t["lo"]) / 2
    exact = _arr(seeds, "exact").mean(axis=0)
    lag, dev = np.abs(pseudo.mean(axis=0) - exact), np.abs(mean - exact)
    out.append(Finding("convergence", f"{tag}: exact-operator line from the measured initial kernel against the mean "
                       "over seeds of the LLM's J", np.round(exact, 4).tolist(), np.round(mean, 4).tolist(),
                       "finite-K lag of the tabular mean + the band's half-width, per iteration",
                       bool(np.all(dev <= lag + half)),
                       note=f"{tag}: largest |mean J - exact line| {dev.max():.4f} at t={int(dev.argmax())}"))
    one = np.array([sd["one_step"][1:] for sd in seeds], dtype=float)  # (S, T)
    one_runs = np.array([np.asarray(sd["one_step_runs"][1:], dtype=float) for sd in seeds])  # (S, T, R)
    resid = (J[:, 1:] - one).mean(axis=0)
    resid_runs = (one_runs - one[:, :, None]).mean(axis=0).T  # (R, T)
    t = band_test(resid, resid_runs, floor=res)
    out.append(Finding("improvement", f"{tag}: one-step prediction: mean over seeds of J(t) - J(exact STaR step from "
                       "the LLM's own kernel at t-1), every t >= 1, in the band of one tabular step at K",
                       np.round(resid_runs.mean(axis=0), 4).tolist(), np.round(resid, 4).tolist(),
                       band_words(t, len(resid_runs)), t["all"],
                       note=f"{tag}: worst excess over the one-step band {float(t['excess'].max()):+.4f}"))
    prev = J[:, :-1]
    gain = one - prev
    with np.errstate(divide="ignore", invalid="ignore"):
        realised = np.where(np.abs(gain) > 1e-9, (J[:, 1:] - prev) / gain, np.nan)
    out.append(Info("convergence", f"{tag}: miss of each prediction, mean over seeds of the largest |J(LLM) - "
                    "prediction| over the iterations", {
                        "exact line": round(float(np.abs(J - _arr(seeds, "exact")).max(axis=1).mean()), 4),
                        "finite-K mean": round(float(np.abs(J - tab.mean(axis=1)).max(axis=1).mean()), 4),
                        "one-step": round(float(np.abs(J[:, 1:] - one).max(axis=1).mean()), 4)},
                    note=f"{tag}: share of the exact one-step gain realised per step (mean over seeds) "
                         f"{np.round(np.nanmean(realised, axis=0), 3).tolist()}"))
    # (iii) unvisited rows
    out += rule_findings(tag, seeds)
    # (iv) held-out questions
    if r.get("heldout"):
        out += heldout_findings(tag, seeds, r["K"])
    return out


def rule_findings(tag: str, seeds: list[dict]) -> list:
    rows = [sd["rules"]["unvisited_rows"] for sd in seeds]
    if not all(rows):
        return [Info("unvisited rows", f"{tag}: rows with no kept transition, summed over the iterations and steps, "
                     "per seed (a rule is compared only where every seed has some)", rows)]
    tv = {rule: np.array([sd["rules"]["tv"][rule] for sd in seeds]) for rule in EMPTY_ROWS}
    means = {rule: round(float(v.mean()), 4) for rule, v in tv.items()}
    best = min(means, key=means.__getitem__)
    others = [rule for rule in EMPTY_ROWS if rule != "keep"]
    d = np.stack([tv["keep"] - tv[o] for o in others], axis=1)  # (S, rules): > 0 where the rule beats keep
    test = mean_test(d, np.zeros(len(others)))
    beaten = [o for o, g, z in zip(others, test["gap"], test["z"]) if g > 0 and z > test["q"]]
    return [
        Finding("unvisited rows", f"{tag}: the table's rule for unvisited rows (keep the previous row) explains the "
                "LLM's unvisited rows at least as well as every other rule (paired over seeds: mean TV of keep - "
                f"mean TV of {', '.join(others)})", "no rule better than keep",
                "better than keep: " + (", ".join(beaten) if beaten else "none"), mean_words(test), not beaten,
                note=f"{tag}: mean TV per rule {means}; paired differences {np.round(test['gap'], 4).tolist()}"),
        Info("unvisited rows", f"{tag}: rule whose prediction is closest to the LLM's unvisited rows (mean TV over "
             "rows and seeds), and the unvisited rows per seed", {"best": best, "mean TV": means, "rows": rows}),
    ]


def heldout_findings(tag: str, seeds: list[dict], K: int) -> list:
    held = _arr(seeds, "J_heldout")  # (S, T+1)
    train = _arr(seeds, "J_train")
    pseudo = pseudo_means(seeds, "tabular_heldout_runs")
    res = 1.0 / (K * min(len(sd["heldout_questions"]) for sd in seeds))  # one chain of the held-out questions
    t = band_test(held.mean(axis=0), pseudo, floor=res)
    change = held[:, -1] - held[:, 0]
    return [
        Finding("held-out questions", f"{tag}: mean over seeds of J on the held-out questions in the band of tabular "
                "STaR trained on the same questions (a table keeps the held-out questions' rows), every iteration",
                np.round(pseudo.mean(axis=0), 4).tolist(), np.round(held.mean(axis=0), 4).tolist(),
                band_words(t, len(pseudo)), t["all"],
                note=f"{tag}: worst excess over the held-out band {float(t['excess'].max()):+.4f}"),
        Info("held-out questions", f"{tag}: change of J from t=0 to the last iteration on the held-out and on the "
             "trained questions, per seed (positive: training on the other half helped)",
             {"held-out": np.round(change, 4).tolist(), "trained": np.round(train[:, -1] - train[:, 0], 4).tolist()}),
    ]
