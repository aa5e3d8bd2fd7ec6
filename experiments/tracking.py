"""What ``rlstar reproduce --log-dir DIR`` logs (:mod:`star_theory.tracking`), from the results folder once written.

* each experiment ``NAME``: ``NAME/seconds`` (its compute time; none for a reused result),
  ``NAME/findings`` and ``NAME/findings_agree`` at step 0, and each of its figures as the image
  ``NAME/<figure>`` (the PNG as written);
* ``reproduce/...``: the manifest's totals (findings, findings that agree, consistency checks, seconds);
* every LLM run the experiments share under ``_llm/`` (:mod:`llm.tracking`): its pretraining as
  ``llm/pre-<key>/...`` and its STaR iterations as ``llm/<key>/...`` (per iteration J, lam_n, refit
  gaps, kept counts, wall times; ``star.png``).
"""

from __future__ import annotations

from pathlib import Path

from llm.tracking import log_pretrain_folder, log_star_folder
from star_theory.io import read_json
from star_theory.tracking import Tracker

TOTALS = ("findings", "findings_agree", "consistency", "consistency_hold", "info", "seconds")


def log_reproduce(tracker: Tracker, out: str | Path, manifest: dict) -> None:
    """Log the reproduce run in ``out`` whose manifest is ``manifest`` (module docstring)."""
    if not tracker.enabled:
        return
    out = Path(out)
    for name, entry in manifest["experiments"].items():
        result = read_json(out / name / "result.json", "result")
        findings = result.get("findings") or []
        tracker.record(name, {"seconds": entry.get("seconds"), "findings": len(findings),
                              "findings_agree": sum(bool(f.get("agree")) for f in findings)}, 0)
        for figure in result.get("figures") or []:
            if (out / name / figure).is_file():
                tracker.image(f"{name}/{Path(figure).stem}", out / name / figure, 0)
    tracker.record("reproduce", {k: manifest.get(k) for k in TOTALS}, 0)
    llm = out / "_llm"
    for pretrained in sorted(llm.glob("pre-*/pretrained")):
        log_pretrain_folder(tracker, pretrained, f"llm/{pretrained.parent.name}")
    for star in sorted(llm.glob("*/star")):
        log_star_folder(tracker, star, f"llm/{star.parent.name}")
    tracker.flush()
