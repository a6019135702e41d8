"""Shared conventions: presets, --set overrides, weights lookup, device parsing, batch failure isolation, seeding."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from realsr_cli.batch import run_batch
from realsr_cli.device import resolve_device
from realsr_cli.errors import InputError, PresetError, WeightsNotFoundError
from realsr_cli.io.atomic import atomic_write_text
from realsr_cli.presets import load_preset, set_by_dotted_key
from realsr_cli.seeding import item_rng
from realsr_cli.weights import find_weights


def test_user_yaml_works_where_a_preset_name_does(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("kind: degradation\nsteps: []\n")
    assert load_preset(path, "degradation") == {"kind": "degradation", "steps": [], "name": "mine"}
    with pytest.raises(PresetError, match="expected a 'train' preset"):
        load_preset(path, "train")


def test_preset_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(PresetError, match="unknown degradation preset 'nope'"):
        load_preset("nope", "degradation")
    with pytest.raises(PresetError, match="preset file not found"):
        load_preset(tmp_path / "missing.yaml", "degradation")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    with pytest.raises(PresetError, match="invalid YAML"):
        load_preset(bad, "degradation")


def test_set_by_dotted_key_parses_yaml_values() -> None:
    config: dict = {"train": {"lr": 2e-4}}
    set_by_dotted_key(config, "train.lr=1e-4")
    set_by_dotted_key(config, "train.milestones=[10, 20]")
    set_by_dotted_key(config, "network.arch=rrdbnet")
    assert config == {"train": {"lr": 1e-4, "milestones": [10, 20]}, "network": {"arch": "rrdbnet"}}
    with pytest.raises(PresetError, match="KEY=VALUE"):
        set_by_dotted_key(config, "train.lr")


def test_find_weights_order_and_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REALSR_WEIGHTS_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsNotFoundError) as info:
        find_weights("net.pth", purpose="LPIPS", env_var="MY_NET")
    message = str(info.value)
    assert "net.pth" in message and str(tmp_path / "cache") in message and "MY_NET" in message
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "net.pth").write_bytes(b"w")
    assert find_weights("net.pth", purpose="LPIPS") == tmp_path / "cache" / "net.pth"
    explicit = tmp_path / "other.pth"
    explicit.write_bytes(b"w")
    monkeypatch.setenv("MY_NET", str(explicit))
    assert find_weights("net.pth", purpose="LPIPS", env_var="MY_NET") == explicit
    with pytest.raises(WeightsNotFoundError, match="not found"):
        find_weights("net.pth", purpose="LPIPS", explicit=tmp_path / "absent.pth")


def test_resolve_device() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    with pytest.raises(InputError, match="expected auto, cpu"):
        resolve_device("tpu")


def test_run_batch_isolates_failures(tmp_path: Path) -> None:
    def process(n: int) -> int:
        if n == 2:
            raise InputError(f"{tmp_path / 'f2.png'}: cannot decode image")
        if n == 3:
            raise ValueError("bad value")
        return n * 10

    result = run_batch([1, 2, 3, 4], process, path_of=lambda n: tmp_path / f"f{n}.png", quiet=True)
    assert result.results == [10, 40]
    assert [f.error for f in result.failures] == [
        f"{tmp_path / 'f2.png'}: cannot decode image",
        f"{tmp_path / 'f3.png'}: ValueError: bad value",
    ]


def test_item_rng_depends_only_on_seed_and_key() -> None:
    a = item_rng(7, "img1").random(4)
    assert np.array_equal(a, item_rng(7, "img1").random(4))
    assert not np.array_equal(a, item_rng(7, "img2").random(4))
    assert not np.array_equal(a, item_rng(8, "img1").random(4))


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    atomic_write_text(path, "first")
    atomic_write_text(path, "second")
    assert path.read_text() == "second" and len(list(tmp_path.iterdir())) == 1


def test_atomic_write_gives_the_permissions_of_a_plain_write(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # what open(path, "w") gives under this process's umask
    atomic = atomic_write_text(tmp_path / "atomic.txt", "x")
    assert atomic.stat().st_mode & 0o7777 == plain.stat().st_mode & 0o7777
    os.chmod(atomic, 0o640)
    atomic_write_text(atomic, "y")  # a replaced file keeps its own mode
    assert atomic.stat().st_mode & 0o7777 == 0o640


def test_cli_version_and_help(cli) -> None:
    result = cli("--version")
    assert result.exit_code == 0 and result.output.startswith("realsr ")
