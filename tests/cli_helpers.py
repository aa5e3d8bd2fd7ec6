"""Assertion helpers shared by the CLI tests (imported by name: ``tests/`` is on the path)."""

from __future__ import annotations

from star_theory.cli import main


def one_line_error(capsys, argv, *fragments) -> str:
    """Run ``rlstar ARGV`` in-process and assert one error line, exit 2, nothing on stdout."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith("rlstar: error: "), (code, err)
    for f in fragments:
        assert f in err, (f, err)
    return err
