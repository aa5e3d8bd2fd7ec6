"""``rlstar simulate`` / ``phase`` / ``corpus`` / ``bench sampler``: happy paths and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from star_theory import read_corpus, symmetric_trajectory
from star_theory.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_simulate_json_records_config_seeds_and_matches_the_closed_form(capsys, tmp_path):
    code, out, err = run(capsys, "simulate", "--M", "4", "--N", "2", "--lam", "0.3", "--K", "64",
                         "--seeds", "3", "5", "--iterations", "4", "--format", "json", "--out", str(tmp_path / "r.json"))
    assert code == 0
    res = json.loads(out)
    assert res == json.loads((tmp_path / "r.json").read_text())
    assert res["seeds"] == [3, 5] and res["config"]["chains_per_question"] == 64 and res["config"]["lam"] == [0.3]
    assert len(res["iterations"]) == 5 and len(res["accuracy_runs"]) == 2
    # the exact column is the symmetric family's closed form (theory core)
    closed = symmetric_trajectory(4, 4, lam=[0.3, 0.3]).accuracy
    np.testing.assert_allclose([r["exact_accuracy"] for r in res["iterations"]], closed, atol=1e-12)
    for r in res["iterations"]:
        assert r["band_lo"] <= r["mean_accuracy"] <= r["band_hi"]
    assert res["iterations"][0]["expected_kept_exact"] == pytest.approx(64 * 4 * closed[0])


def test_no_kept_rate_matches_the_closed_form_where_star_cannot_start(capsys):
    """M=64, N=3, lam=0.02, K=1: K * J is about 1, so many iterations keep nothing.
    The rate over 200 seeds at t=0 lies within Hoeffding (delta=1e-6) of the closed form."""
    seeds = [str(s) for s in range(200)]
    code, out, _ = run(capsys, "simulate", "--M", "64", "--N", "3", "--lam", "0.02", "--K", "1",
                       "--iterations", "1", "--format", "json", "--seeds", *seeds)
    assert code == 0
    row = json.loads(out)["iterations"][0]
    assert 0.2 < row["p_no_kept_exact"] < 0.6
    assert abs(row["no_kept_rate"] - row["p_no_kept_exact"]) <= math.sqrt(math.log(2 / 1e-6) / (2 * 200))
    assert row["p_no_kept_closed_mean"] == pytest.approx(row["p_no_kept_exact"])


def test_large_k_band_contains_the_exact_curve(capsys):
    code, out, _ = run(capsys, "simulate", "--M", "4", "--N", "2", "--lam", "0.2", "--K", "4000",
                       "--iterations", "3", "--format", "json", "--band", "percentile", "--level", "0.9")
    assert code == 0
    rows = json.loads(out)["iterations"]
    assert all(r["exact_in_band"] for r in rows)


def test_toml_config_flags_override_and_table_output(capsys, tmp_path):
    cfg = tmp_path / "sim.toml"
    cfg.write_text('[simulate]\ntask = "zip"\ndigits = 1\nbase = 2\neps = [0.2]\nvariant = "partial-fit"\n'
                   'eta = 0.5\nchains_per_question = 8\nseeds = [0, 1]\niterations = 2\n')
    code, out, _ = run(capsys, "simulate", "--config", str(cfg), "--iterations", "3", "--plot", str(tmp_path / "s.png"))
    assert code == 0
    assert "partial-fit(eta=0.5)" in out and "zip D=1 b=2" in out
    assert len([ln for ln in out.splitlines() if ln[:3].strip().isdigit()]) == 4  # t = 0..3
    assert (tmp_path / "s.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "argv, key",
    [
        (["--K", "0"], "chains_per_question"),
        (["--variant", "star", "--fp", "0.2"], "fp"),
        (["--lam", "0.1", "--eps", "0.1"], "lam or eps"),
        (["--lam", "1.5"], "lam"),
        (["--level", "1.0"], "level"),
        (["--seeds", "1", "1"], "seeds"),
        (["--plot", "x.jpg"], "--plot"),
        (["--eta", "0", "--variant", "partial-fit"], "eta"),
    ],
)
def test_bad_simulate_input_is_one_line_exit_2(capsys, argv, key):
    code, out, err = run(capsys, "simulate", "--iterations", "1", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("rlstar: error:") and key in err


def test_bad_toml_key_names_the_key(capsys, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("chains = 4\n")
    code, _, err = run(capsys, "simulate", "--config", str(cfg))
    assert code == 2 and "'chains'" in err and err.count("\n") == 1
    cfg.write_text("iterations = 'many'\n")
    code, _, err = run(capsys, "simulate", "--config", str(cfg))
    assert code == 2 and "iterations" in err and err.count("\n") == 1


def test_argparse_errors_are_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["simulate", "--variant", "nope"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_corpus_command(capsys, tmp_path):
    out_file = tmp_path / "c.csv"
    code, out, _ = run(capsys, "corpus", "--task", "zip", "--digits", "2", "--lam", "0.1",
                       "--chains-per-question", "16", "--seed", "4", "--out", str(out_file))
    assert code == 0 and "256 chains" in out
    meta, chains = read_corpus(out_file)
    assert meta["seed"] == 4 and chains.shape == (256, 3) and meta["lam"] == [0.1, 0.1]
    code, _, err = run(capsys, "corpus", "--task", "zip", "--lam", "0.1")
    assert code == 2 and "out" in err


def test_phase_command(capsys, tmp_path):
    code, out, _ = run(capsys, "phase", "--M", "4", "--points", "5", "--iterations", "30",
                       "--out", str(tmp_path / "p.json"), "--plot", str(tmp_path / "p.png"))
    assert code == 0 and "optimum" in out
    js = json.loads((tmp_path / "p.json").read_text())
    assert js["convention"] == "lam" and len(js["values"]) == 5
    code, _, err = run(capsys, "phase", "--mode", "sampled")
    assert code == 2 and "chains_per_question" in err


def test_bench_sampler_reports_both_timings_and_the_ratio(capsys):
    code, out, _ = run(capsys, "bench", "sampler", "--format", "json", "--naive-chains", "64",
                       "--repeats", "1", "--min-ratio", "0")
    assert code == 0
    res = json.loads(out)
    for key in ("corpus", "star_iteration"):
        r = res[key]
        assert r["chains"] == 64 * 4096 and r["naive_extrapolated"] and r["naive_chains_timed"] == 64
        assert r["ratio"] == pytest.approx(r["naive_s"] / r["vectorised_s"])
