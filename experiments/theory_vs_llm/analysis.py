"""Findings of experiment 5: measured pretrained lam, improvement, and the two theory curves.

Every finding is a statistic over the LLM's ``S`` STaR seeds (one shared pretrained model, so one
measured initial kernel): the mean over the seeds against the 95% simultaneous prediction band for
the mean of ``S`` draws of tabular STaR at the same K from that kernel (t quantile, Bonferroni over
the iterations and steps compared). No tolerance holds the quantity under test: the refit error of
the fine-tuning is tested on its own (against the resolution the fit's stopping rule allows),
not added to the band. Checks that hold by construction (the trie sampler reuses the measured
scores; Pinsker's inequality) are :class:`~experiments.framework.Consistency` records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from llm.star import phase_walls

from ..framework import Consistency, Finding, Info
from ..stats import LEVEL, band_test, band_words

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings


def analyze(data: dict, s: Settings) -> list:
    out = analyze_tiny(data, s)
    return out + analyze_paper_cpu(data.get("paper_cpu") or {})


def seed_matrix(seeds: list[dict], key: str) -> np.ndarray:
    """``(S, T+1, ...)`` the per-iteration record value ``key`` of every seed."""
    return np.array([[x[key] for x in r["records"]] for r in seeds], dtype=float)


def improvement_findings(tag: str, seeds: list[dict]) -> list:
    """Every seed's J rises from the first to the last iteration (exact J and sampled accuracy), and the smallest
    change between consecutive iterations (the largest drop when negative) as information."""
    ex, acc = seed_matrix(seeds, "exact_accuracy"), seed_matrix(seeds, "sampled_accuracy")
    rose = (ex[:, -1] > ex[:, 0]) & (acc[:, -1] > acc[:, 0])
    steps = np.diff(ex, axis=1)
    return [
        Finding("improvement", f"{tag}: accuracy rises over {ex.shape[1] - 1} LLM STaR iterations, in every seed",
                f"rises in {len(seeds)} of {len(seeds)} seeds", f"rises in {int(rose.sum())} of {len(seeds)} seeds",
                "last > first, exact J and sampled accuracy, each seed", bool(rose.all()),
                note=f"{tag}: J first -> last per seed: "
                     + "; ".join(f"{a:.3f} -> {b:.3f}" for a, b in zip(ex[:, 0], ex[:, -1]))),
        Info("improvement", f"{tag}: smallest change of the LLM's exact J between consecutive iterations, over seeds "
             "(negative: the largest drop; finite-sample STaR may drop, the exact operator never does)",
             round(float(steps.min()), 4),
             note=f"share of steps where J rose: {float(np.mean(steps > 0)):.3f} of {steps.size}"),
    ]


def accuracy_findings(tag: str, seeds: list[dict], exact, sim, exact_name: str) -> tuple[list, dict]:
    """The mean of the seeds' exact J inside the band for the mean of S tabular draws, and the exact operator
    against that mean (its distance no more than the tabular mean's finite-K lag plus the band's half-width)."""
    ex = seed_matrix(seeds, "exact_accuracy")
    S, T1 = ex.shape
    runs = np.asarray(sim["accuracy_runs"])
    mean = ex.mean(axis=0)
    t = band_test(mean, runs, floor=1e-9, draws=S)  # floor: iteration 0 is the same kernel in every run (round-off)
    half = (t["hi"] - t["lo"]) / 2
    out = [Finding("convergence", f"{tag}: mean over {S} LLM seeds of the exact J inside the prediction band of the "
                   f"mean of {S} runs of tabular STaR at the same K from the measured initial kernel, every iteration",
                   np.round(runs.mean(axis=0), 4).tolist(), np.round(mean, 4).tolist(), band_words(t, runs.shape[0]),
                   t["all"], note=f"{tag}: worst excess over the band {float(t['excess'].max()):+.4f}")]
    exact = np.asarray(exact)
    lag = np.abs(runs.mean(axis=0) - exact)
    dev = np.abs(mean - exact)
    out.append(Finding("convergence", f"{tag}: {exact_name} against the mean over {S} seeds of the LLM's exact J",
                       np.round(exact, 4).tolist(), np.round(mean, 4).tolist(),
                       "finite-K lag of the tabular mean from the exact operator + the band's half-width, per iteration",
                       bool(np.all(dev <= lag + half)),
                       note=f"{tag}: largest |mean J(LLM) - exact| {dev.max():.4f} at t={int(dev.argmax())}; largest "
                            f"lag of tabular STaR at the same K {lag.max():.4f}"))
    return out, t


def analyze_tiny(data: dict, s: Settings) -> list:
    """The tiny-preset runs (fixed fine-tuning budget): tested against the tabular band and the exact operator."""
    out = []
    for lam, r in data["runs"].items():
        seeds, pred, sim = r["seeds"], r["prediction"], r["simulated"]
        lam0 = np.asarray(seeds[0]["records"][0]["lam"])
        tag = f"corpus lam={lam}"
        out.append(Info("pretrained quality", f"{tag}: measured initial lam_n (the corpus's sampling error is not "
                        "recorded, so no test)", np.round(lam0, 4).tolist(),
                        note=f"largest |lam_n - corpus| {float(np.abs(lam0 - float(lam)).max()):.3g}; distance from the "
                             f"family {np.round(seeds[0]['records'][0]['family_distance'], 4).tolist()}"))
        out += improvement_findings(tag, seeds)
        out += accuracy_findings(tag + f" (tiny, K={r['K']})", seeds, pred["symmetric"]["accuracy"], sim,
                                 "exact operator from the measured lam_n")[0]
    return out


# ----------------------------------------------------------------------------- paper-cpu runs


def analyze_paper_cpu(runs: dict) -> list:
    from scipy.stats import norm

    out = []
    for lam, r in runs.items():
        seeds, pred, sim, K = r["seeds"], r["prediction"], r["simulated"], r["K"]
        S = len(seeds)
        tag = f"paper-cpu lam={lam} (M={r['M']}, N={r['N']}, K={K}, {S} seeds)"
        out += accuracy_findings(tag, seeds, pred["kernel"]["accuracy"], sim,
                                 "exact-operator prediction (from the measured kernel)")[0]
        for key, runs_key, name in (("lam", "lam_runs", "per-step lam_n"), ("family_distance", "distance_runs",
                                                                            "per-step distance from the family")):
            meas = seed_matrix(seeds, key).mean(axis=0)  # (T+1, N)
            sim_runs = np.asarray(sim[runs_key])  # (R, T+1, N)
            t = band_test(meas.ravel(), sim_runs.reshape(len(sim_runs), -1), floor=1e-9, draws=S)
            out.append(Finding("convergence", f"{tag}: mean over seeds of the LLM's {name} inside the prediction band "
                               f"of the mean of {S} runs of tabular STaR at the same K, every iteration and step",
                               np.round(sim_runs.mean(axis=0), 4).tolist(), np.round(meas, 4).tolist(),
                               band_words(t, len(sim_runs)), t["all"],
                               note=f"{tag}: worst excess over the band ({name}) {float(t['excess'].max()):+.4f}"))
        out.append(refit_finding(tag, seeds, r["N"]))
        ex = seed_matrix(seeds, "exact_accuracy")
        sampled = seed_matrix(seeds, "sampled_accuracy")
        C = seed_matrix(seeds, "chains")
        z = norm.ppf(1 - (1 - LEVEL) / (2 * ex.size))
        bound = z * np.sqrt(ex * (1 - ex) / C) + 1 / C
        out.append(Consistency("convergence", f"{tag}: sampled accuracy against the exact J of the same model (the "
                               "trie sampler draws from the measured scores, so this checks the sampler, not the theory)",
                               np.round(ex.mean(axis=0), 4).tolist(), np.round(sampled.mean(axis=0), 4).tolist(),
                               f"binomial bound z*sqrt(J(1-J)/C) + 1/C, {LEVEL:.0%} Bonferroni over {ex.size}",
                               bool(np.all(np.abs(sampled - ex) <= bound))))
        tv = np.array([[x.get("refit_tv") for x in sd["records"][1:]] for sd in seeds], dtype=float)
        gaps = np.array([[x.get("refit_gap") for x in sd["records"][1:]] for sd in seeds], dtype=float)
        out.append(Consistency("convergence", f"{tag}: count-weighted TV between the measured kernel and the empirical "
                               "kernel of the kept chains (rows with >= 20 kept), every seed and iteration",
                               "<= sqrt(gap/2) (Pinsker, gap = the run's exact NLL - entropy)",
                               np.round(tv.max(axis=0), 4).tolist(), "Pinsker's inequality (holds for any fit)",
                               bool(np.all(tv <= np.sqrt(np.maximum(gaps, 0) / 2) + 1e-9))))
        out.append(Info("convergence", f"{tag}: exact NLL gap of each refit (nats per transition; largest over seeds) "
                        "and fit steps (seed 0)", {"gap": np.round(gaps.max(axis=0), 5).tolist(),
                                                   "steps": [x.get("train_steps") for x in seeds[0]["records"][1:]]}))
        walls = [phase_walls(sd["records"]) for sd in seeds]
        out.append(Info("convergence", f"{tag}: wall time per phase (s), summed over iterations and seeds",
                        {k: round(sum(w[k] for w in walls), 1) for k in walls[0]}))
    return out


def refit_finding(tag: str, seeds: list[dict], N: int) -> Finding:
    """The fine-tuning is a refit, in J: the mean over seeds of |J(LLM kernel) - J(exact refit of its kept chains)|
    at every iteration t >= 1, against the resolution of the fit's stopping rule. The fit stops when the
    count-weighted KL from the kept chains' empirical kernel is below ``gap_tol``; by Pinsker each step's
    count-weighted TV is then at most sqrt(gap_tol/2), and J, a product over the N steps, moves by at most N times
    that (on the rows the kept chains weight)."""
    gap_tol = float(seeds[0]["llm_config"]["gap_tol"])
    ex = seed_matrix(seeds, "exact_accuracy")[:, 1:]
    ref = np.array([r["refit"]["accuracy"][1:] for r in seeds], dtype=float)
    dev = np.abs(ex - ref).mean(axis=0)
    tol = N * np.sqrt(gap_tol / 2)
    return Finding("convergence", f"{tag}: the fine-tuning is a refit: mean over seeds of |J(LLM) - J(exact refit of "
                   "its own kept chains)|, every iteration t >= 1", 0.0, np.round(dev, 4).tolist(),
                   f"N sqrt(gap_tol/2) = {tol:.4f} (Pinsker at the fit's stopping rule, gap_tol = {gap_tol:g})",
                   bool(np.all(dev <= tol)), note=f"{tag}: largest refit error in J {dev.max():.4f}")
