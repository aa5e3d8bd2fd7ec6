"""The quick look printed at the end of ``rlstar reproduce``: where the report is, and three headline findings.

The rule that picks the headline findings from the run's records (no number is chosen by hand):

* the analysis (RL-STaR, arXiv 2410.23912) makes four claims, in this order: :data:`CLAIMS`
  (policy improvement, convergence to the optimum, the pretrained model's quality, robustness to
  flawed intermediate steps);
* the headline finding of a claim is the first finding of that claim on a real LLM (experiment
  :data:`LLM_EXPERIMENT`, the toolkit's test of the theory against a transformer) and, where that
  experiment has none (or did not run), the first finding of the claim in the report's order;
* the three headline findings are those of the first three claims that have a finding in the run
  (in a full run: improvement, convergence, pretrained quality); every claim's tally
  ("X of Y agree") is printed beside them, so the fourth is not hidden.
"""

from __future__ import annotations

from .report import format_value

CLAIMS = ("improvement", "convergence", "pretrained quality", "robustness")
LLM_EXPERIMENT = "theory_vs_llm"
HOW_MANY = 3


def headline_findings(records: list[dict], n: int = HOW_MANY) -> list[tuple[str, dict]]:
    """``[(experiment name, finding), ...]``: the headline findings of ``records`` by the module's rule."""
    ordered = sorted(records, key=lambda r: r["name"] != LLM_EXPERIMENT)  # stable: the LLM experiment first
    out = []
    for claim in CLAIMS:
        hit = next(((r["name"], f) for r in ordered for f in r["findings"] if f["claim"] == claim), None)
        if hit is not None:
            out.append(hit)
    return out[:n]


def claim_tallies(records: list[dict]) -> dict[str, tuple[int, int]]:
    """``{claim: (agree, findings)}`` over the run, for each of :data:`CLAIMS` that has a finding."""
    out = {}
    for claim in CLAIMS:
        fs = [f for r in records for f in r["findings"] if f["claim"] == claim]
        if fs:
            out[claim] = (sum(bool(f["agree"]) for f in fs), len(fs))
    return out


def _short(v, width: int = 60) -> str:
    text = format_value(v)
    return text if len(text) <= width else text[: width - 3] + "..."


def quick_look(records: list[dict], report_html) -> str:
    """The lines printed at the end of ``rlstar reproduce``: the report's path, the headline findings, the claims' tallies."""
    lines = [f"report: {report_html}", "headline findings (the first finding of each of the analysis's claims, "
             "on the LLM where one tests it; rule in experiments/headline.py):"]
    for i, (name, f) in enumerate(headline_findings(records), 1):
        verdict = "agrees" if f["agree"] else "DISAGREES"
        lines.append(f"  {i}. [{f['claim']}] {f['statement']} ({name}): theory predicts {_short(f['predicted'])}, "
                     f"measured {_short(f['measured'])}; {verdict} within {_short(f['tolerance'], 80)}")
    tallies = claim_tallies(records)
    if tallies:
        lines.append("claims: " + "; ".join(f"{c} {ok} of {n} agree" for c, (ok, n) in tallies.items()))
    return "\n".join(lines)
