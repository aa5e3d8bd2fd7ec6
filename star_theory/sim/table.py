"""The plain-text table that ``rlstar simulate`` prints for a :func:`~star_theory.sim.runner.simulate` result."""

from __future__ import annotations

import numpy as np


def format_table(result: dict) -> str:
    """A plain-text table of a :func:`simulate` result."""
    head = (
        f"# {result['task']['description']}, variant {result['variant']}, K={result['chains_per_question']} "
        f"per question ({result['chains_per_iteration']} chains/iteration), seeds {result['seeds']}\n"
        f"# band: {result['band']['meaning']}; P(no kept) and E[kept] closed forms at the exact P^t and "
        f"(mean) at each run's P^t\n"
    )
    cols = f"{'t':>3} {'J exact':>9} {'J mean':>9} {'band lo':>9} {'band hi':>9} {'in':>3} {'P0 exact':>9} {'P0 runs':>9} {'P0 obs':>7} {'E[k] ex':>9} {'E[k] run':>9} {'kept':>9}"
    lines = [head + cols]
    for r in result["iterations"]:
        line = f"{r['t']:>3} {r['exact_accuracy']:>9.4f} {r['mean_accuracy']:>9.4f} {r['band_lo']:>9.4f} {r['band_hi']:>9.4f} {'y' if r['exact_in_band'] else 'n':>3}"
        if "kept_mean" in r:
            line += (
                f" {r['p_no_kept_exact']:>9.3g} {r['p_no_kept_closed_mean']:>9.3g} {r['no_kept_rate']:>7.2f}"
                f" {r['expected_kept_exact']:>9.1f} {r['expected_kept_closed_mean']:>9.1f} {r['kept_mean']:>9.1f}"
            )
        lines.append(line)
    it = result["iterations_to_target"]
    runs = [r for r in it["runs"] if r is not None]
    lines.append(
        f"# iterations to J >= {it['target']}: exact {it['exact']}, runs reached: {len(runs)}/{len(it['runs'])}"
        + (f" (median {float(np.median(runs)):g})" if runs else "")
    )
    return "\n".join(lines)
