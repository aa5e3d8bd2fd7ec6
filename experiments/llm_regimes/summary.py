"""The answers of experiment 9 per regime, for the docs (``python -m experiments.docs``: the blocks
``regimes:table`` and ``regimes:headline``), computed from its ``result.json`` record.

Per regime, over its LLM seeds: (i) the share of STaR steps where J did not fall by more than one chain
(``1/(K M)``), and where it rose; (ii) the mean over seeds of
the largest miss of the exact-operator line, of the finite-K tabular mean and of the one-step
prediction; (iii) the empty-row rule closest to the unvisited rows (mean TV), beside keep's; (iv) the
change of J on the held-out questions from t = 0 to the last iteration; and how many of the
regime's findings agree.
"""

from __future__ import annotations

import numpy as np


def regime_answers(record: dict) -> list[dict]:
    out = []
    for name, r in record["data"]["regimes"].items():
        seeds = r["seeds"]
        J = np.array([sd["J"] for sd in seeds], dtype=float)
        one = np.array([sd["one_step"][1:] for sd in seeds], dtype=float)
        tab = np.array([np.asarray(sd["tabular_runs"], dtype=float).mean(axis=0) for sd in seeds])
        exact = np.array([sd["exact"] for sd in seeds], dtype=float)
        rows = [sd["rules"]["unvisited_rows"] for sd in seeds]
        rules = None
        if all(rows):
            tv = {k: float(np.mean([sd["rules"]["tv"][k] for sd in seeds])) for k in seeds[0]["rules"]["tv"]}
            best = min(tv, key=tv.__getitem__)
            rules = {"best": best, "best_tv": tv[best], "keep_tv": tv["keep"]}
        held = None
        if r.get("heldout"):
            held = float(np.mean([sd["J_heldout"][-1] - sd["J_heldout"][0] for sd in seeds]))
        mine = [f for f in record["findings"] if f["statement"].startswith(name + " (")]
        out.append({
            "regime": name, "tokens": r["tokenization"], "M": r["M"], "N": r["N"], "K": r["K"], "seeds": len(seeds),
            "rose": float((np.diff(J, axis=1) > 0).mean()),
            "no_fall": float((np.diff(J, axis=1) >= -1.0 / (r["K"] * r["M"])).mean()),
            "miss_exact": float(np.abs(J - exact).max(axis=1).mean()),
            "miss_band": float(np.abs(J - tab).max(axis=1).mean()),
            "miss_one_step": float(np.abs(J[:, 1:] - one).max(axis=1).mean()),
            "rules": rules, "heldout_change": held,
            "agree": sum(bool(f["agree"]) for f in mine), "findings": len(mine),
        })
    return out


def table(record: dict) -> str:
    head = ["regime", "steps where J did not fall (rose)", "miss: exact line", "miss: finite-K mean", "miss: one-step",
            "unvisited rows: closest rule (mean TV; keep's)", "held-out J change", "findings agree"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for a in regime_answers(record):
        rule = "none unvisited" if a["rules"] is None else \
            f"{a['rules']['best']} ({a['rules']['best_tv']:.3f}; keep {a['rules']['keep_tv']:.3f})"
        held = "-" if a["heldout_change"] is None else f"{a['heldout_change']:+.3f}"
        cells = [f"`{a['regime']}` ({a['tokens']} tokens, M={a['M']}, N={a['N']}, K={a['K']}, {a['seeds']} seeds)",
                 f"{a['no_fall']:.0%} ({a['rose']:.0%})", f"{a['miss_exact']:.3f}", f"{a['miss_band']:.3f}", f"{a['miss_one_step']:.3f}",
                 rule, held, f"{a['agree']} of {a['findings']}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline(record: dict) -> str:
    a = regime_answers(record)
    rose = np.mean([x["rose"] for x in a])
    no_fall = np.mean([x["no_fall"] for x in a])
    worst = max(a, key=lambda x: x["miss_one_step"])
    held = {x["tokens"]: x["heldout_change"] for x in a if x["heldout_change"] is not None}
    held_txt = " and ".join(f"{v:+.3f} with {k} tokens" for k, v in held.items()) or "not measured"
    rules = [x for x in a if x["rules"] is not None]
    rule_txt = ("; no rule for unvisited rows predicts them well, the closest leaving a mean TV of "
                + ", ".join(f"{x['rules']['best_tv']:.2f} (`{x['regime']}`: `{x['rules']['best']}`)" for x in rules)
                if rules else "")
    return (f"on a GPT-2 that is not a table ({len(a)} regimes, {a[0]['seeds']} seeds each) J fell in "
            f"{1 - no_fall:.0%} of the STaR steps (by more than one chain; it rose in {rose:.0%}, the rest on its "
            f"plateau), and STaR missed the exact operator's one-step prediction by at most "
            f"{worst['miss_one_step']:.3f} (`{worst['regime']}`){rule_txt}; training on half of the questions changed "
            f"J on the other half by {held_txt}")
