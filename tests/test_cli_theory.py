"""``rlstar theory`` and ``rlstar check`` through the CLI entry point."""

import json
import subprocess
import sys

import numpy as np
import pytest

from star_theory.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_theory_table_defaults(capsys):
    code, out, err = run(capsys, "theory")
    assert code == 0 and err == ""
    lines = [ln for ln in out.splitlines() if not ln.startswith("#")]
    assert lines[0].split() == ["t", "accuracy", "lam_1", "lam_2", "lam_3", "flawed_share"]
    rows = [list(map(float, ln.split())) for ln in lines[1:]]
    assert len(rows) == 11  # T = 10 iterations plus the start
    # J = lam^3 + (1 - lam^3)/M at M = 64, lam = 0.2
    assert rows[0][1] == pytest.approx(0.008 + 0.992 / 64, abs=1e-6)
    acc = [r[1] for r in rows]
    assert acc == sorted(acc) and acc[-1] == pytest.approx(1.0)


def _exact_trajectory_by_matrices(M: int, N: int, lam: float, T: int):
    """Exact STaR in the symmetric family, written out on explicit matrices here (independent of the package).

    Relabelling the states makes every g_n the identity, so the correct answer of question i is i.
    With F = P_1 ... P_{n-1} (Pr(s_{n-1} | s0)) and B = P_{n+1} ... P_N (Pr(sN | s_n)), the kept mass of
    the pair (a, b) at step n is P_n[a, b] * sum_i rho_i F[i, a] B[b, i]; the new kernel is its row
    normalisation. lam is read off the diagonal: P[a, a] = lam + (1 - lam)/M.
    """
    rho = np.full(M, 1.0 / M)
    P = [lam * np.eye(M) + (1 - lam) * np.full((M, M), 1.0 / M) for _ in range(N)]
    rows = []
    for _ in range(T + 1):
        whole = np.linalg.multi_dot(P) if N > 1 else P[0]
        J = float(rho @ np.diag(whole))
        all_right = float(rho @ np.prod([np.diag(k) for k in P], axis=0))
        lams = [(float(np.mean(np.diag(k))) - 1.0 / M) / (1 - 1.0 / M) for k in P]
        rows.append([J, *lams, 1 - all_right / J])
        new = []
        for n in range(N):
            F = np.linalg.multi_dot([np.eye(M)] + P[:n] + [np.eye(M)])
            B = np.linalg.multi_dot([np.eye(M)] + P[n + 1:] + [np.eye(M)])
            W = P[n] * (F.T @ np.diag(rho) @ B.T)
            new.append(W / W.sum(axis=1, keepdims=True))
        P = new
    return np.array(rows)


@pytest.mark.parametrize("lam", ["0.1", "0.2"])
def test_theory_trajectory_equals_explicit_matrices(capsys, lam):
    # the whole printed trajectory (J, every lam_n, flawed share; 10 iterations) at the analysis's
    # setting M = 64, N = 3, against the operator written out above
    code, out, _ = run(capsys, "theory", "--lam", lam, "--format", "json")
    assert code == 0
    data = json.loads(out)
    got = np.column_stack([data["accuracy"], np.asarray(data["lam"]), data["flawed_share"]])
    want = _exact_trajectory_by_matrices(64, 3, float(lam), 10)
    assert got.shape == want.shape == (11, 5)
    np.testing.assert_allclose(got, want, atol=1e-12, rtol=0)


def test_theory_json_and_eps_convention(capsys):
    code, out, _ = run(capsys, "theory", "--states", "10", "--steps", "2", "--eps", "0.3", "0.6", "--iterations", "4", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert {"iteration", "accuracy", "lam", "flawed_share"} <= set(data)
    assert data["convention"] == "eps" and data["iteration"] == [0, 1, 2, 3, 4]
    lam, eps = np.array(data["lam"]), np.array(data["eps"])
    assert lam.shape == (5, 2)
    np.testing.assert_allclose(eps, lam * 9 / 10)
    np.testing.assert_allclose(eps[0], [0.3, 0.6])
    # N = 2: both steps are equal after one iteration (sympy derivation)
    np.testing.assert_allclose(lam[1, 0], lam[1, 1])


def test_theory_plot(tmp_path, capsys):
    path = tmp_path / "curves.png"
    code, _, _ = run(capsys, "theory", "--lam", "0.1", "0.2", "0.3", "--plot", str(path))
    assert code == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_formulas(capsys):
    code, out, _ = run(capsys, "theory", "--steps", "2", "--show-formulas", "--formula-style", "latex")
    assert code == 0 and "\\lambda" in out and "$$" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["theory", "--lam", "nan"],
        ["theory", "--lam", "1.5"],
        ["theory", "--states", "11", "--lam", "-0.2"],  # below -1/(M-1) = -0.1
        ["theory", "--states", "1"],
        ["theory", "--steps", "0"],
        ["theory", "--lam", "0.1", "0.2"],  # 2 values for N = 3
        ["theory", "--plot", "curves.pdf"],
        ["theory", "--lam", "0.1", "--eps", "0.1"],
        ["check", "--cases", "0"],
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("rlstar: error: ") and err.count("\n") == 1


def test_argparse_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["theory", "--steps", "three"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("rlstar") and "error" in err and err.count("\n") == 1


def test_check_json(capsys):
    code, out, _ = run(capsys, "check", "--cases", "10", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["theorems_hold"] is True
    assert all({"claim", "setting", "holds", "must_hold", "detail"} <= set(r) for r in data["rows"])


def test_subprocess_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "star_theory.cli", "theory", "--iterations", "2", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["accuracy"]) == 3
    bad = subprocess.run(
        [sys.executable, "-m", "star_theory.cli", "theory", "--lam", "2"], capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2 and bad.stderr.startswith("rlstar: error:") and "Traceback" not in bad.stderr


@pytest.mark.parametrize("argv", [["simulate", "--seed", "0"], ["theory", "--iter", "3"], ["llm", "run", "--pres", "tiny", "--out", "x"]])
def test_abbreviated_flags_are_refused(argv, capsys):
    # argparse would otherwise expand --seed to --seeds, silently changing the meaning of a run
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unrecognized arguments" in err[0]
