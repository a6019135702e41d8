"""DDP under torchrun: two CPU processes (gloo) train one model; ranks stay in sync, rank 0 writes the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from tests.test_train_run import make_pairs

REPO = Path(__file__).resolve().parents[1]

SCRIPT = """
import os, sys, torch
sys.path.insert(0, {repo!r})
from realsr_cli.train import load_train_config
from realsr_cli.train.trainer import Trainer, _unwrap
from realsr_cli.train import distributed as distx
sets = ["arch_args={{num_feat: 8, num_block: 1}}", "data.workers=0", "data.batch_size=2", "train.log_every=1"]
cfg = load_train_config("msrresnet", {{"scale": 2, "train.iters": 4, "data.patch_size": 16}}, sets)
trainer = Trainer({data!r}, {run!r}, cfg, device="cpu", seed=1, quiet=True)
assert trainer.dist.world == 2, trainer.dist
trainer.run()
torch.save(_unwrap(trainer.net_g).state_dict(), os.path.join({out!r}, f"rank{{trainer.dist.rank}}.pt"))
distx.shutdown(trainer.dist)
"""


@pytest.mark.slow
def test_ddp_two_cpu_processes(tmp_path):
    data = make_pairs(tmp_path / "pairs", 3, 2)
    run, out = tmp_path / "run", tmp_path / "out"
    out.mkdir()
    script = tmp_path / "ddp_train.py"
    script.write_text(textwrap.dedent(SCRIPT.format(repo=str(REPO), data=str(data), run=str(run), out=str(out))))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(script)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = torch.load(out / "rank0.pt", weights_only=True), torch.load(out / "rank1.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)  # DDP averaged the gradients: identical weights on both ranks
    fresh = torch.load(run / "model.pt", weights_only=True)["params"]
    assert all(torch.equal(fresh[k], a[k]) for k in a)
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in rows] == [1, 2, 3, 4]  # only rank 0 logs
