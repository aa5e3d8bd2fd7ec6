"""The reproduction report: ``report.md`` and a self-contained ``report.html``.

Both are rendered from the experiments' result records: for each experiment, its figures, a
table of findings (claim, statement, theory's prediction, measurement, tolerance, agreement) and a
table of information (quantities with no test) and a table of consistency checks (identities and bounds
that hold by construction), both outside the "X of Y agree" tally.
The HTML embeds every figure as a base64 PNG so the file stands alone.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from star_theory.io import atomic_write_text


def format_value(v) -> str:
    """A finding's value as report text: floats to 4 significant digits, lists item by item."""
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)


def _summary(records) -> tuple[int, int]:
    findings = [f for r in records for f in r["findings"]]
    return sum(bool(f["agree"]) for f in findings), len(findings)


def _n_info(records) -> int:
    return sum(len(r.get("info", [])) for r in records)


def _n_consistency(records) -> tuple[int, int]:
    checks = [c for r in records for c in r.get("consistency", [])]
    return sum(bool(c["holds"]) for c in checks), len(checks)


def _outside(records) -> str:
    held, n = _n_consistency(records)
    return (f"{_n_info(records)} more quantities are reported as information and {n} consistency checks "
            f"(which hold by construction; {held} of {n} hold) are reported apart, both outside the tally")


def finding_notes(record) -> list[str]:
    """The notes of an experiment's findings, each led by the finding it belongs to (its claim and statement),
    so that a note such as "worst excess +0.0000" is never read without its finding."""
    return [f"{f['claim']}, finding \"{f['statement']}\": {f['note']}" for f in record["findings"] if f.get("note")]


def render_markdown(records, manifest) -> str:
    ok, total = _summary(records)
    lines = [
        "# RL-STaR reproduction report",
        "",
        f"Preset `{manifest['preset']}`, master seed {manifest['master_seed']}, device `{manifest['device']}`, "
        f"{manifest['seconds']:.0f} s. Findings in agreement with the theory: **{ok} of {total}** "
        f"({_outside(records)}).",
        "",
        "Convention: `lam` is the mixture weight (P_n = lam_n P_n* + (1 - lam_n) U_M); `eps = lam (M-1)/M` "
        "is the excess probability of the correct step. Every figure's axes name the one it shows.",
        "",
    ]
    for r in records:
        lines += [f"## {r['title']} (`{r['name']}`)", "", f"Claims: {', '.join(r['claims'])}. Seed {r['seed']}.", ""]
        lines += ["| claim | statement | theory predicts | measured | tolerance | agree |", "|---|---|---|---|---|---|"]
        for f in r["findings"]:
            cells = [f["claim"], f["statement"], format_value(f["predicted"]), format_value(f["measured"]), f["tolerance"],
                     "yes" if f["agree"] else "**no**"]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        notes = finding_notes(r)
        if notes:
            lines += ["", "Notes on the findings:", ""] + [f"- {n.replace(chr(10), ' ')}" for n in notes]
        lines.append("")
        if r.get("info"):
            lines += ["Information (no test; outside the tally):", "", "| claim | quantity | value | note |", "|---|---|---|---|"]
            for x in r["info"]:
                cells = [x["claim"], x["statement"], format_value(x["value"]), x.get("note", "")]
                lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
            lines.append("")
        if r.get("consistency"):
            lines += ["Consistency checks (hold by construction; outside the tally):", "",
                      "| claim | check | expected | measured | tolerance | holds |", "|---|---|---|---|---|---|"]
            for c in r["consistency"]:
                cells = [c["claim"], c["statement"], format_value(c["predicted"]), format_value(c["measured"]), c["tolerance"],
                         "yes" if c["holds"] else "**no**"]
                lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
            lines.append("")
        for fig in r["figures"]:
            lines += [f"![{fig}]({r['name']}/{fig})", ""]
    return "\n".join(lines)


def render_html(out: Path, records: list[dict], manifest: dict) -> str:
    ok, total = _summary(records)
    e = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>RL-STaR reproduction report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:0.9em}"
        ".no{color:#b00;font-weight:bold}.yes{color:#070}img{max-width:100%}</style></head><body>",
        "<h1>RL-STaR reproduction report</h1>",
        f"<p>Preset <code>{e(manifest['preset'])}</code>, master seed {manifest['master_seed']}, device "
        f"<code>{e(manifest['device'])}</code>, {manifest['seconds']:.0f} s. Findings in agreement with the theory: "
        f"<b>{ok} of {total}</b> ({e(_outside(records))}).</p>",
        "<p>Convention: <code>lam</code> is the mixture weight; <code>eps = lam (M-1)/M</code> the excess probability "
        "of the correct step. Every figure's axes name the one it shows.</p>",
    ]
    for r in records:
        parts.append(f"<h2>{e(r['title'])} (<code>{e(r['name'])}</code>)</h2>")
        parts.append(f"<p>Claims: {e(', '.join(r['claims']))}. Seed {r['seed']}.</p>")
        parts.append("<table><tr><th>claim</th><th>statement</th><th>theory predicts</th><th>measured</th>"
                     "<th>tolerance</th><th>agree</th></tr>")
        for f in r["findings"]:
            cls = "yes" if f["agree"] else "no"
            parts.append(
                "<tr>" + "".join(f"<td>{e(format_value(x))}</td>" for x in (f["claim"], f["statement"], f["predicted"],
                                                                    f["measured"], f["tolerance"]))
                + f"<td class='{cls}'>{cls}</td></tr>"
            )
        parts.append("</table>")
        notes = finding_notes(r)
        if notes:
            parts.append("<p>Notes on the findings:</p><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
        if r.get("info"):
            parts.append("<p>Information (no test; outside the tally):</p><table><tr><th>claim</th><th>quantity</th>"
                         "<th>value</th><th>note</th></tr>")
            for x in r["info"]:
                parts.append("<tr>" + "".join(f"<td>{e(format_value(v))}</td>" for v in (x["claim"], x["statement"], x["value"],
                                                                                x.get("note", ""))) + "</tr>")
            parts.append("</table>")
        if r.get("consistency"):
            parts.append("<p>Consistency checks (hold by construction; outside the tally):</p><table><tr><th>claim</th>"
                         "<th>check</th><th>expected</th><th>measured</th><th>tolerance</th><th>holds</th></tr>")
            for c in r["consistency"]:
                cls = "yes" if c["holds"] else "no"
                parts.append("<tr>" + "".join(f"<td>{e(format_value(v))}</td>" for v in (c["claim"], c["statement"], c["predicted"],
                                                                                c["measured"], c["tolerance"]))
                             + f"<td class='{cls}'>{cls}</td></tr>")
            parts.append("</table>")
        for fig in r["figures"]:
            data = base64.b64encode((out / r["name"] / fig).read_bytes()).decode()
            parts.append(f"<figure><img alt='{e(fig)}' src='data:image/png;base64,{data}'><figcaption>{e(fig)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out: Path, records: list[dict], manifest: dict) -> None:
    atomic_write_text(out / "report.md", render_markdown(records, manifest))
    atomic_write_text(out / "report.html", render_html(out, records, manifest))
