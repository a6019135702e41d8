"""``--shard I/N``: two processes on one folder write what one process writes (upscale and make-pairs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from realsr_cli.archs import build_arch
from realsr_cli.cli.main import app
from realsr_cli.errors import InputError
from realsr_cli.io.images import write_image
from realsr_cli.models.checkpoint import save_model
from realsr_cli.sharding import Shard, parse_shard, select, shard_from_env
from tests.conftest import REPO


def test_parse_and_select() -> None:
    assert parse_shard("1/4") == Shard(1, 4) and parse_shard(None) is None and parse_shard("0/1") is None
    assert select(list(range(10)), Shard(1, 4)) == [1, 5, 9]
    assert parse_shard("auto", {"RANK": "2", "WORLD_SIZE": "3"}) == Shard(2, 3)
    env = {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "1"}
    assert shard_from_env(env) == Shard(3, 4) and parse_shard("auto", {}) is None
    for bad in ("4/4", "x/2", "1/0"):
        with pytest.raises(InputError, match="--shard"):
            parse_shard(bad)
    with pytest.raises(InputError, match="RANK"):
        parse_shard("auto", {"RANK": "5", "WORLD_SIZE": "2"})


@pytest.fixture
def photos(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    for i in range(5):
        write_image(tmp_path / "in" / f"img{i}.png", rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    return tmp_path / "in"


def _two_processes(args: list[str], out_flag_value: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", "from realsr_cli.cli.main import run; run()", *args, "--shard", f"{i}/2", "-q"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        for i in range(2)
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, out.decode()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_upscale_two_shards_equal_one_process(photos, tmp_path) -> None:
    torch.manual_seed(0)
    args = {"num_feat": 8, "num_conv": 2}
    model = save_model(tmp_path / "m.pt", build_arch("srvggnet-compact", scale=2, **args), arch="srvggnet-compact",
                       arch_args=args, scale=2)  # fmt: skip
    common = ["upscale", str(photos), "--model", str(model), "--device", "cpu"]
    result = CliRunner().invoke(app, [*common[:2], str(tmp_path / "one"), *common[2:], "-q"])
    assert result.exit_code == 0, result.output
    _two_processes([*common[:2], str(tmp_path / "two"), *common[2:]], tmp_path / "two")
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert len(one) == 5 and one == two


@pytest.mark.slow
def test_make_pairs_two_shards_equal_one_process(photos, tmp_path) -> None:
    common = ["make-pairs", str(photos), "-s", "2", "--preset", "generic", "--patch-size", "8", "--seed", "3"]
    common += ["--device", "cpu"]
    result = CliRunner().invoke(app, [*common, "-o", str(tmp_path / "one"), "-q"])
    assert result.exit_code == 0, result.output
    _two_processes([*common, "-o", str(tmp_path / "two")], tmp_path / "two")
    one = _files(tmp_path / "one")
    two = {k: v for k, v in _files(tmp_path / "two").items() if not k.startswith("shards/")}
    assert one["pairs.jsonl"].count(b"\n") >= 10 and one == two
    again = CliRunner().invoke(app, [*common, "-o", str(tmp_path / "two"), "--shard", "1/2", "-q"])
    assert again.exit_code == 1 and "shard 1/2" in again.output


def test_rerun_with_other_options_never_merges_the_earlier_runs_shards(photos, tmp_path) -> None:
    common = ["make-pairs", str(photos), "-s", "2", "--preset", "generic", "--patch-size", "8", "--device", "cpu"]

    def run(seed: int, out: Path, *extra: str) -> None:
        result = CliRunner().invoke(app, [*common, "--seed", str(seed), "-o", str(out), *extra, "-q"])
        assert result.exit_code == 0, result.output

    run(4, tmp_path / "one")
    two = tmp_path / "two"
    for i in range(2):
        run(3, two, "--shard", f"{i}/2")
    earlier = (two / "pairs.jsonl").read_bytes()
    run(4, two, "--shard", "0/2", "--overwrite")  # shard 1/2 of seed 3 is still in shards/: not this run's
    assert (two / "pairs.jsonl").read_bytes() == earlier
    run(4, two, "--shard", "1/2", "--overwrite")
    assert (two / "pairs.jsonl").read_bytes() == (tmp_path / "one" / "pairs.jsonl").read_bytes() != earlier
