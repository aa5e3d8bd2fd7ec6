"""Numbers in ``docs/*.md`` (and the README) generated from a results folder: ``python -m experiments.docs RESULTS``.

A generated block in a doc is ``<!-- generated:NAME -->...<!-- /generated -->`` (inline or over
lines); this command rewrites what is between the markers from ``RESULTS/<experiment>/result.json``
and ``RESULTS/manifest.json`` (and, for ``theory:`` blocks, from the deterministic commands of the
theory core). ``NAME`` is one of

* ``tally`` — "N findings: X agree ..., Y do not; Z quantities are reported as information";
* ``run`` — preset, master seed, device and the experiments' computing time (summed from their records);
* ``count:EXP`` — "X of Y agree" for experiment ``EXP``;
* ``findings:EXP`` / ``info:EXP`` / ``consistency:EXP`` — the experiment's table of findings / of
  information / of consistency checks (the last two outside the tally);
* ``EXP/path/in/result.json|FORMAT`` — one value: path segments are keys or list indices, ``@first``
  / ``@last`` pick the first / last key (numeric keys in numeric order) or element, ``@len`` the length,
  ``@min`` / ``@max`` reduce a list, ``~TEXT`` picks the one finding (or information) whose statement
  contains ``TEXT`` (an error if not exactly one does); ``FORMAT`` is a Python format spec (default ``.4g``), applied to
  every number (lists are joined with ", "), or for a true/false value ``WORD_IF_TRUE/WORD_IF_FALSE`` (e.g. a
  finding's ``agree`` as ``agrees/disagrees``);
* ``theory:NAME`` — a number from the theory core (``experiments/docs_theory.py``);
* ``regimes:table`` / ``regimes:headline`` — experiment ``llm_regimes``'s answers per regime, as a table /
  as one sentence (``experiments/llm_regimes/summary.py``).

``[PRESET] NAME`` fills ``NAME`` only from a run of that preset and leaves the block as it is
otherwise: for sections a smaller preset does not compute (the default run's paper-cpu LLM runs
are absent from a smoke run). From a run of ``PRESET`` it is filled, and fails, like any block.

Every figure under ``docs/figures/`` whose name one experiment of the results wrote is replaced by
that figure. A block that cannot be filled is an error naming the block and the file; nothing is
written then.
``--check`` only reports which files would change (exit 1 if any).
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from star_theory.errors import InputError
from star_theory.io import atomic_write_bytes, atomic_write_text, read_json

from .docs_theory import theory_value
from .llm_regimes.summary import headline as regimes_headline
from .llm_regimes.summary import table as regimes_table

BLOCK = re.compile(r"<!-- generated:(?P<name>[^\n]+?) -->(?P<body>.*?)<!-- /generated -->", re.S)
DOCS = Path(__file__).resolve().parent.parent / "docs"
README = DOCS.parent / "README.md"  # refilled with the repository's docs/ (its first paragraph holds a block)


def load_results(folder: str | Path) -> dict:
    """``{"manifest": ..., "<experiment>": record}`` of a results folder, every file validated
    (:func:`check_manifest`, :func:`check_record`) before a number of it reaches the docs."""
    folder = Path(folder)
    if not (folder / "manifest.json").is_file():
        raise InputError(f"{folder} is not a results folder of `rlstar reproduce` (no manifest.json)")
    out = {"manifest": check_manifest(read_json(folder / "manifest.json", "manifest.json"), folder / "manifest.json")}
    for name in out["manifest"]["experiments"]:
        path = folder / name / "result.json"
        if path.is_file():
            out[name] = check_record(read_json(path, "result.json"), path)
    return out


def _check_numbers(v, where: str, path: str = "") -> None:
    """Every number in ``v`` (nested lists and objects) finite: a NaN or an infinity never reaches the docs."""
    if isinstance(v, float) and not math.isfinite(v):
        raise InputError(f"{where}: {path or 'value'} is {v}, not a finite number")
    if isinstance(v, dict):
        for k, x in v.items():
            _check_numbers(x, where, f"{path}/{k}" if path else str(k))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _check_numbers(x, where, f"{path}/{i}")


def _count(m: dict, key: str, where) -> int:
    v = m.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise InputError(f"{where}: corrupted manifest.json ({key}={v!r} must be a count)")
    return v


def check_manifest(m: dict, where) -> dict:
    """``manifest.json``: ``experiments`` the experiment names (a list, or an object keyed by them),
    the tallies counts with ``findings_agree <= findings``."""
    exps = m.get("experiments")
    if not isinstance(exps, (list, dict)) or not all(isinstance(e, str) and re.fullmatch(r"\w+", e) for e in exps):
        raise InputError(f"{where}: corrupted manifest.json (experiments must be the experiment names)")
    if "findings" in m or "findings_agree" in m:
        if _count(m, "findings_agree", where) > _count(m, "findings", where):
            raise InputError(f"{where}: corrupted manifest.json (findings_agree exceeds findings)")
    _check_numbers(m, where)
    return m


def check_record(rec: dict, where) -> dict:
    """``result.json``: finite numbers only, and each finding a statement with a boolean ``agree``."""
    _check_numbers(rec, where)
    for key in ("findings", "info"):
        items = rec.get(key, [])
        if not isinstance(items, list) or not all(isinstance(f, dict) and isinstance(f.get("statement"), str)
                                                  for f in items):
            raise InputError(f"{where}: corrupted result.json ({key} must be a list of statements)")
    for i, f in enumerate(rec.get("findings", [])):
        if not isinstance(f.get("agree"), bool):
            raise InputError(f"{where}: corrupted result.json (findings/{i}/agree={f.get('agree')!r} must be true or false)")
    return rec


def _fmt(v, spec: str = ".4g") -> str:
    if isinstance(v, bool) and "/" in spec:  # WORD_IF_TRUE/WORD_IF_FALSE, e.g. a finding's agree as prose
        return spec.split("/", 1)[0 if v else 1]
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return str(v)
    if isinstance(v, (int, float)):
        return format(v, spec if not (isinstance(v, int) and spec == ".4g") else "d")
    if isinstance(v, (list, tuple)):
        return ", ".join(f"[{_fmt(x, spec)}]" if isinstance(x, (list, tuple)) else _fmt(x, spec) for x in v)
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_fmt(x, spec)}" for k, x in v.items())
    return str(v)


def _keys(d: dict) -> list:
    try:
        return sorted(d, key=float)
    except ValueError:
        return list(d)


def _step(v, seg: str):
    if seg == "@len":
        return len(v)
    if seg in ("@min", "@max"):
        return (min if seg == "@min" else max)(v)
    if isinstance(v, dict):
        if seg in ("@first", "@last"):
            keys = _keys(v)
            return v[keys[0] if seg == "@first" else keys[-1]]
        return v[seg]
    if isinstance(v, list):
        if seg.startswith("~"):
            hits = [x for x in v if isinstance(x, dict) and seg[1:] in x.get("statement", "")]
            if len(hits) != 1:
                raise KeyError(f"{len(hits)} statements contain {seg[1:]!r}")
            return hits[0]
        if seg in ("@first", "@last"):
            return v[0 if seg == "@first" else -1]
        return v[int(seg)]
    raise KeyError(seg)


def value(results: dict, path: str):
    """The value at ``EXP/seg/seg...`` of the results."""
    exp, *segs = path.split("/")
    v = results[exp]
    for seg in segs:
        v = _step(v, seg)
    return v


def _table(rows: list[list[str]], header: list[str]) -> str:
    esc = lambda c: str(c).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _findings(rec: dict) -> str:
    rows = [[f["statement"], _fmt(f["predicted"]), _fmt(f["measured"]), f["tolerance"],
             "yes" if f["agree"] else "**no**"] for f in rec["findings"]]
    return _table(rows, ["statement", "theory predicts", "measured", "tolerance", "agree"])


def _info(rec: dict) -> str:
    rows = [[x["statement"], _fmt(x["value"]), x.get("note", "")] for x in rec.get("info", [])]
    return _table(rows, ["quantity (no test, outside the tally)", "value", "note"]) if rows else "(none)"


def _consistency(rec: dict) -> str:
    rows = [[c["statement"], _fmt(c["predicted"]), _fmt(c["measured"]), c["tolerance"], "yes" if c["holds"] else "**no**"]
            for c in rec.get("consistency", [])]
    return _table(rows, ["check (holds by construction, outside the tally)", "expected", "measured", "tolerance",
                         "holds"]) if rows else "(none)"


def fill(name: str, results: dict) -> str:
    """The text of block ``name``; KeyError/IndexError/ValueError when the results cannot fill it."""
    m = results["manifest"]
    if name == "tally":
        no = m["findings"] - m["findings_agree"]
        return (f"{m['findings']} findings: **{m['findings_agree']} agree with the theory within the stated "
                f"tolerance and {no} do not**; {m.get('info', 0)} more quantities are reported as information and "
                f"{m.get('consistency', 0)} consistency checks ({m.get('consistency_hold', 0)} hold) apart, both outside "
                f"the tally")
    if name == "run":
        seconds = sum(r.get("seconds") or 0 for k, r in results.items() if k != "manifest")
        return (f"preset `{m['preset']}`, master seed {m['master_seed']}, device `{m['device']}`, {seconds:.0f} s of "
                f"computation over the experiments")
    kind, _, rest = name.partition(":")
    if kind == "count" and rest:
        rec = results[rest]
        return f"{sum(bool(f['agree']) for f in rec['findings'])} of {len(rec['findings'])} agree"
    if kind == "findings" and rest:
        return "\n" + _findings(results[rest]) + "\n"
    if kind == "info" and rest:
        return "\n" + _info(results[rest]) + "\n"
    if kind == "consistency" and rest:
        return "\n" + _consistency(results[rest]) + "\n"
    if kind == "regimes" and rest in ("table", "headline"):
        rec = results["llm_regimes"]
        return "\n" + regimes_table(rec) + "\n" if rest == "table" else regimes_headline(rec)
    if kind == "theory" and rest:

        return theory_value(rest)
    path, _, spec = name.partition("|")
    return _fmt(value(results, path), spec or ".4g")


def render(text: str, results: dict, where: str = "", scoped_only: bool = False) -> str:
    """``text`` with every generated block refilled (``scoped_only``: only the ``[PRESET]`` blocks of
    the run's preset, every other block left as it is)."""
    def one(m: re.Match) -> str:
        name = m.group("name")
        scope = re.match(r"\[(\w+)\] (.+)", name)
        if scope and scope.group(1) != results["manifest"].get("preset"):
            return m.group(0)
        if scoped_only and not scope:
            return m.group(0)
        try:
            body = fill(scope.group(2) if scope else name, results)
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise InputError(f"{where}: block {name!r} cannot be filled from the results ({type(e).__name__}: {e})") from None
        return f"<!-- generated:{name} -->{body}<!-- /generated -->"

    return BLOCK.sub(one, text)


def block_names(text: str) -> list[str]:
    return [m.group("name") for m in BLOCK.finditer(text)]


def _figures(results_dir: Path, docs_dir: Path, suffix: str = "") -> dict[Path, bytes]:
    """``docs/figures/NAME{suffix}.png`` -> the bytes of the one ``RESULTS/<experiment>/NAME.png``, where they differ."""
    out = {}
    for fig in sorted((docs_dir / "figures").glob(f"*{suffix}.png")):
        name = fig.name[: len(fig.name) - len(suffix) - 4] + ".png" if suffix else fig.name
        found = sorted(results_dir.glob(f"*/{name}"))
        if len(found) == 1 and found[0].read_bytes() != fig.read_bytes():
            out[fig] = found[0].read_bytes()
    return out


def update_docs(results_dir: str | Path, docs_dir: str | Path = DOCS, write: bool = True,
                scoped_only: bool = False) -> list[Path]:
    """Refill every generated block of ``docs_dir/*.md`` from ``results_dir`` and replace the figures; return the
    files that change. All files are rendered before any is written, so a block that cannot be filled writes nothing.

    ``scoped_only``: refill only the ``[PRESET]`` blocks of the run's preset (a run of part of the experiments
    at another preset, e.g. ``--preset full --only llm_regimes``), and replace only the figures named
    ``NAME_PRESET.png`` (from that run's ``NAME.png``)."""
    results_dir, docs_dir = Path(results_dir), Path(docs_dir)
    results = load_results(results_dir)
    new: dict[Path, str | bytes] = {}
    extra = [README] if docs_dir.resolve() == DOCS and README.is_file() else []
    for path in [*sorted(docs_dir.glob("*.md")), *extra]:
        text = path.read_text()
        out = render(text, results, path.name, scoped_only)
        if out != text:
            new[path] = out
    preset = results["manifest"].get("preset")
    new.update(_figures(results_dir, docs_dir, f"_{preset}" if scoped_only else ""))
    if write:
        for path, out in new.items():
            (atomic_write_text if isinstance(out, str) else atomic_write_bytes)(path, out)
    return list(new)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.docs", description=__doc__.split("\n")[0])
    ap.add_argument("results", help="results folder of `rlstar reproduce` (holds manifest.json)")
    ap.add_argument("--docs", default=str(DOCS), help="folder of the markdown files (default: the repository's docs/)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file would change")
    ap.add_argument("--scoped-only", action="store_true",
                    help="refill only the blocks scoped to the run's preset ([PRESET] NAME) and the figures "
                    "NAME_PRESET.png: for a run of some experiments at another preset (e.g. --preset full)")
    a = ap.parse_args(argv)
    try:
        changed = update_docs(a.results, a.docs, write=not a.check, scoped_only=a.scoped_only)
    except InputError as e:
        print(f"rlstar: error: {e}", file=sys.stderr)
        return 2
    for p in changed:
        print(("would change " if a.check else "updated ") + str(p))
    return 1 if (a.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
