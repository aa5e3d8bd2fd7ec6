"""`--log-dir`: TensorBoard event files read back, frame by frame, and compared with what the run recorded.

The event files are parsed here without TensorBoard: TFRecord framing (length, masked CRC-32C of the
length, the record, masked CRC-32C of the record), each record a tensorboardX ``Event`` proto.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorboardX")

from cli_helpers import one_line_error  # noqa: E402
from star_theory.cli import main  # noqa: E402
from star_theory.tracking import MISSING_EXTRA, png_shape  # noqa: E402


def _masked_crc(data: bytes) -> int:
    from tensorboardX.crc32c import crc32c

    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_events(folder: Path) -> tuple[dict, dict, list[Path]]:
    """``(scalars, images, files)``: ``scalars[tag][step] = value``, ``images[tag] = [(step, Image)]``
    over the event files of ``folder`` (the last file's value of a step wins), each record's CRCs
    checked, each tag written once per step in a file."""
    from tensorboardX.proto.event_pb2 import Event

    scalars, images = {}, {}
    files = sorted(folder.glob("events.out.tfevents.*"))
    for path in files:
        data, i, seen = path.read_bytes(), 0, set()
        while i < len(data):
            header = data[i:i + 8]
            (n,) = struct.unpack("<Q", header)
            assert struct.unpack("<I", data[i + 8:i + 12])[0] == _masked_crc(header)
            record = data[i + 12:i + 12 + n]
            assert struct.unpack("<I", data[i + 12 + n:i + 16 + n])[0] == _masked_crc(record)
            i += 16 + n
            event = Event.FromString(record)
            for v in event.summary.value:
                if v.HasField("image"):
                    images.setdefault(v.tag, []).append((event.step, v.image))
                else:
                    assert (v.tag, event.step) not in seen, (v.tag, event.step)
                    seen.add((v.tag, event.step))
                    scalars.setdefault(v.tag, {})[event.step] = v.simple_value
    return scalars, images, files


def _f32(x) -> float:
    return float(np.float32(x))


def _same_image(images: dict, tag: str, png: Path, step: int) -> None:
    (got_step, image), = images[tag]
    data = png.read_bytes()
    assert got_step == step and image.encoded_image_string == data
    assert (image.height, image.width, image.colorspace) == png_shape(data)


# ----------------------------------------------------------------------------- simulate


def _simulate(tmp_path, logs, name="r", *extra):
    argv = ["simulate", "--iterations", "3", "--seeds", "0", "1", "--K", "4", "--out", str(tmp_path / f"{name}.json"),
            "--plot", str(tmp_path / f"{name}.png"), "--log-dir", str(logs), *extra]
    assert main(argv) == 0
    return json.loads((tmp_path / f"{name}.json").read_text())


def test_simulate_events_are_the_result_rows(tmp_path, capsys):
    result = _simulate(tmp_path, tmp_path / "logs")
    capsys.readouterr()
    scalars, images, files = read_events(tmp_path / "logs")
    assert len(files) == 1
    rows = result["iterations"]
    T = len(rows) - 1
    for key in ("exact_accuracy", "mean_accuracy", "band_lo", "band_hi"):
        assert scalars[f"simulate/{key}"] == {r["t"]: _f32(r[key]) for r in rows}
    for key in ("kept_mean", "expected_kept_exact", "p_no_kept_exact"):
        assert scalars[f"simulate/{key}"] == {r["t"]: _f32(r[key]) for r in rows[:T]}
    for seed, acc, kept in zip(result["seeds"], result["accuracy_runs"], result["kept_runs"]):
        assert scalars[f"simulate/accuracy/seed_{seed}"] == {t: _f32(a) for t, a in enumerate(acc)}
        assert scalars[f"simulate/kept/seed_{seed}"] == {t: _f32(k) for t, k in enumerate(kept)}
    assert set(scalars["simulate/wall_s"]) == {T} and scalars["simulate/wall_s"][T] > 0
    _same_image(images, "simulate/figure", tmp_path / "r.png", T)


def test_an_existing_log_folder_gets_one_new_file_and_nothing_else_changes(tmp_path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "notes.txt").write_text("a user's file")
    _simulate(tmp_path, logs, "a")
    (first,) = read_events(logs)[2]
    before = first.read_bytes()
    _simulate(tmp_path, logs, "b", "--lam", "0.3")
    capsys.readouterr()
    files = read_events(logs)[2]
    assert len(files) == 2 and first in files and first.read_bytes() == before
    assert (logs / "notes.txt").read_text() == "a user's file"
    assert sorted(p.name for p in logs.iterdir()) == sorted(["notes.txt", *(f.name for f in files)])


def test_log_folder_inside_the_output_or_not_a_folder_is_refused_before_any_work(tmp_path, capsys):
    out = tmp_path / "run"
    one_line_error(capsys, ["simulate", "--iterations", "2", "--out", out, "--log-dir", out / "tb"], "--log-dir",
                   "inside --out")
    assert not out.exists()
    (tmp_path / "file").write_text("x")
    one_line_error(capsys, ["simulate", "--iterations", "2", "--log-dir", tmp_path / "file"], "not a folder")
    assert (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize("argv", [
    ["simulate", "--iterations", "2", "--out", "{out}"],
    ["llm", "pretrain", "--preset", "tiny", "--out", "{out}"],
    ["llm", "star", "--checkpoint", "{tmp}/ckpt", "--out", "{out}"],
    ["llm", "run", "--preset", "tiny", "--out", "{out}"],
    ["reproduce", "--only", "theory_curves", "--preset", "smoke", "--out", "{out}"],
])
def test_without_the_extra_log_dir_is_one_line_before_any_work(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # `import tensorboardX` raises ImportError
    out, logs = tmp_path / "out", tmp_path / "logs"
    argv = [a.format(out=out, tmp=tmp_path) for a in argv] + ["--log-dir", str(logs)]
    err = one_line_error(capsys, argv)
    assert err == f"rlstar: error: {MISSING_EXTRA}\n"
    assert list(tmp_path.iterdir()) == []


def test_help_imports_neither_tensorboardx_nor_pyarrow():
    code = ("import sys\nfrom star_theory.cli import main\n"
            "for argv in (['simulate'], ['corpus'], ['reproduce'], ['llm', 'run'], ['llm', 'star']):\n"
            "    try:\n        main([*argv, '--help'])\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('tensorboardX', 'pyarrow') if m in sys.modules), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.strip().splitlines()[-1] == "[]"


# ----------------------------------------------------------------------------- LLM


@pytest.fixture(scope="module")
def llm_run(tmp_path_factory):
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("llm")
    argv = ["llm", "run", "--preset", "tiny", "--pretrain-steps", "40", "--iterations", "2", "--samples-per-question", "8",
            "--finetune-steps", "4", "--device", "cpu", "--no-progress", "--out", str(root / "run"),
            "--log-dir", str(root / "logs")]
    assert main(argv) == 0
    return root


def test_llm_run_events_are_the_iteration_records(llm_run):
    scalars, images, files = read_events(llm_run / "logs")
    assert len(files) == 1
    star = llm_run / "run" / "star"
    records = [json.loads(line) for line in (star / "metrics.jsonl").read_text().splitlines()]
    steps = {r["iteration"] for r in records}
    assert steps == {0, 1, 2}
    for key in ("exact_accuracy", "sampled_accuracy", "kept", "chains", "train_wall_s", "measure_wall_s",
                "sample_wall_s", "flawed_chain_share_exact"):
        assert scalars[f"star/{key}"] == {r["iteration"]: _f32(r[key]) for r in records}, key
    N = len(records[0]["lam"])
    for n in range(1, N + 1):
        assert scalars[f"star/lam_{n}"] == {r["iteration"]: _f32(r["lam"][n - 1]) for r in records}
    refit = [r for r in records if r.get("refit_gap") is not None]
    assert refit and scalars["star/refit_gap"] == {r["iteration"]: _f32(r["refit_gap"]) for r in refit}
    assert "star/trained_questions" not in scalars and "star/iteration" not in scalars
    _same_image(images, "star/figure", star / "star.png", 2)


def test_llm_run_events_hold_the_pretraining(llm_run):
    scalars = read_events(llm_run / "logs")[0]
    summary = json.loads((llm_run / "run" / "pretrained" / "pretrain.json").read_text())
    every, curve = summary["loss_curve_every"], summary["loss_curve"]
    assert scalars["pretrain/loss"] == {i * every: _f32(v) for i, v in enumerate(curve)}
    last = (len(curve) - 1) * every
    measured = summary["measured"]
    assert scalars["pretrain/exact_accuracy"] == {last: _f32(measured["exact_accuracy"])}
    assert scalars["pretrain/lam_1"] == {last: _f32(measured["lam"][0])}
    assert scalars["pretrain/wall_s"] == {last: _f32(summary["wall_s"])}


# ----------------------------------------------------------------------------- reproduce


def test_reproduce_events_hold_each_experiment_and_its_figures(tmp_path, capsys):
    pytest.importorskip("torch")
    out, logs = tmp_path / "results", tmp_path / "logs"
    assert main(["reproduce", "--only", "theory_curves", "--preset", "smoke", "--quiet", "--out", str(out),
                 "--log-dir", str(logs)]) == 0
    capsys.readouterr()
    scalars, images, _ = read_events(logs)
    result = json.loads((out / "theory_curves" / "result.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    assert scalars["theory_curves/seconds"] == {0: _f32(result["seconds"])}
    assert scalars["theory_curves/findings"] == {0: len(result["findings"])}
    assert scalars["theory_curves/findings_agree"] == {0: sum(f["agree"] for f in result["findings"])}
    assert scalars["reproduce/findings_agree"] == {0: manifest["findings_agree"]}
    assert result["figures"]
    for figure in result["figures"]:
        _same_image(images, f"theory_curves/{Path(figure).stem}", out / "theory_curves" / figure, 0)
