"""Data-parallel pretraining with torchrun and DDP on two CPU processes (gloo)."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")


def test_two_cpu_processes_agree(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "llm", "pretrain", "--preset", "tiny", "--pretrain-steps", "40", "--device", "cpu",
           "--threads", "1", "--no-progress", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "pretrain.json").read_text())
    assert summary["world_size"] == 2
    digests = summary["parameter_digests"]
    assert len(digests) == 2 and digests[0] == digests[1]  # both ranks hold the same parameters
    assert summary["loss_last"] < summary["loss_first"]
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
