"""train-sr end to end on tiny synthetic pairs: learning, bit-exact resume, presets, CLI, export, data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from realsr_cli.io.images import write_image
from realsr_cli.presets import list_presets
from realsr_cli.train import load_train_config, train_sr
from realsr_cli.train.data import PairedPatches, StepSampler
from tests.conftest import synthetic_image

TINY = {
    "msrresnet": "{num_feat: 8, num_block: 1}",
    "rrdbnet": "{num_feat: 8, num_block: 1, num_grow_ch: 4}",
    "rcan": "{num_feat: 8, num_group: 1, num_block: 1, squeeze_factor: 4}",
    "rfdn": "{nf: 8, num_modules: 1}",
    "srvggnet-compact": "{num_feat: 8, num_conv: 2}",
    "srvgg-bicubic": "{num_feat: 8, num_conv: 2}",
}
TINY_D = {
    "vgg128": "{num_feat: 4}",
    "unet-sn": "{num_feat: 4, skip_connection: true}",
    "patchgan": "{ndf: 4, n_layers: 2}",
}


def degrade(hr: np.ndarray, scale: int) -> np.ndarray:
    """A learnable synthetic degradation: box downscale plus darkening to half brightness."""
    t = torch.from_numpy(hr).permute(2, 0, 1)[None].float() / 255
    lr = F.avg_pool2d(t, scale) * 0.5
    return np.rint(lr[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)


def make_pairs(folder: Path, count: int, scale: int, h: int = 32, w: int = 40, offset: int = 0) -> Path:
    (folder / "hr").mkdir(parents=True)
    (folder / "lr").mkdir(parents=True)
    for i in range(count):
        hr = synthetic_image(h, w, seed=i + offset)
        write_image(folder / "hr" / f"img{i}.png", hr)
        write_image(folder / "lr" / f"img{i}.png", degrade(hr, scale))
    return folder


@pytest.fixture
def pairs(tmp_path: Path) -> tuple[Path, Path]:
    return make_pairs(tmp_path / "pairs", 3, 2), make_pairs(tmp_path / "val", 1, 2, offset=50)


def tiny_cfg(preset: str = "msrresnet", *sets: str, iters: int = 6, patch: int = 16, scale: int = 2) -> dict:
    cfg = load_train_config(preset, {"scale": scale, "train.iters": iters, "data.patch_size": patch})
    arch = cfg["arch"]
    extra = [
        f"arch_args={TINY[arch]}",
        "data.batch_size=2",
        "data.workers=0",
        "train.log_every=1",
        "train.save_every=0",
    ]
    extra += ["train.val_every=0", "train.val_lpips=false"]
    if (cfg["discriminator"] or {}).get("arch") in TINY_D:
        extra.append(f"discriminator.args={TINY_D[cfg['discriminator']['arch']]}")
    return load_train_config(
        preset, {"scale": scale, "train.iters": iters, "data.patch_size": patch}, extra + list(sets)
    )


def losses_of(run: Path) -> list[tuple[int, float]]:
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    return [(r["iter"], r["l_total"]) for r in rows if "l_total" in r]


def test_short_run_lowers_validation_l1(pairs, tmp_path):
    train_dir, val_dir = pairs
    cfg = tiny_cfg("msrresnet", "train.lr=2e-3", "train.val_every=40", "train.scheduler={type: constant}", iters=40)
    start = tiny_cfg("msrresnet", iters=1)
    before = train_sr(
        train_dir,
        tmp_path / "r0",
        {**start, "train": {**start["train"], "lr": 0.0}},
        val_dir=val_dir,
        device="cpu",
        quiet=True,
    )
    after = train_sr(train_dir, tmp_path / "run", cfg, val_dir=val_dir, device="cpu", seed=3, quiet=True)
    assert after.val["l1"] < 0.5 * before.val["l1"], (before.val, after.val)
    assert (tmp_path / "run" / "model_best.pt").is_file()
    from realsr_cli.io.images import read_image

    curves = read_image(tmp_path / "run" / "curves.png").pixels  # losses + the validation metrics' panels
    assert curves.shape[0] == 300 and curves.shape[1] >= 2 * 420 and curves.min() < 100
    from realsr_cli.models.loading import load_model

    model, info = load_model(tmp_path / "run" / "model.pt")
    assert info.arch == "msrresnet" and info.scale == 2 and info.arch_args["num_feat"] == 8
    assert info.meta["val"]["l1"] == pytest.approx(after.val["l1"])
    assert len(info.meta["data_digest"]) == 64 and info.meta["preset"] == "msrresnet"
    assert model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 16, 16)


def test_resume_continues_bit_for_bit(pairs, tmp_path):
    train_dir, _ = pairs
    sets = (
        "train.ema_decay=0.9",
        "train.grad_clip=0.5",
        "train.scheduler={type: multistep, milestones: [3], gamma: 0.5}",
    )
    cfg = tiny_cfg("msrresnet", *sets, iters=6)
    full = train_sr(train_dir, tmp_path / "full", cfg, device="cpu", seed=7, quiet=True)
    part = train_sr(train_dir, tmp_path / "part", cfg, device="cpu", seed=7, quiet=True, stop_after=3)
    assert part.iters == 3 and not (tmp_path / "part" / "model.pt").exists()
    resumed = train_sr(
        train_dir, tmp_path / "part", tiny_cfg("msrresnet", iters=6), device="cpu", resume=True, quiet=True
    )
    assert full.iters == resumed.iters == 6
    assert losses_of(tmp_path / "full") == losses_of(tmp_path / "part")
    a = torch.load(tmp_path / "full" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "part" / "model.pt", weights_only=True)
    for key in ("params", "params_ema"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])


def test_existing_run_is_refused(pairs, tmp_path):
    from realsr_cli.errors import InputError, OutputExistsError

    train_dir, _ = pairs
    cfg = tiny_cfg(iters=1)
    train_sr(train_dir, tmp_path / "run", cfg, device="cpu", quiet=True)
    with pytest.raises(OutputExistsError):
        train_sr(train_dir, tmp_path / "run", cfg, device="cpu", quiet=True)
    with pytest.raises(InputError, match="no training checkpoint"):
        train_sr(train_dir, tmp_path / "other", cfg, device="cpu", quiet=True, resume=True)


def _test_vgg(path: Path, backbone: str = "vgg19") -> Path:
    from realsr_cli.losses.perceptual import make_vgg_features

    torch.manual_seed(0)
    torch.save({f"features.{k}": v for k, v in make_vgg_features(backbone).state_dict().items()}, path)
    return path


@pytest.fixture(scope="module")
def test_vgg(tmp_path_factory) -> dict[str, Path]:
    """Random-weight VGG feature files of both backbones (no download), by backbone name."""
    folder = tmp_path_factory.mktemp("vgg")
    return {b: _test_vgg(folder / f"{b}-test.pth", b) for b in ("vgg19", "vgg16")}


@pytest.mark.parametrize("preset", sorted(list_presets("train")))
def test_every_preset_runs(preset, tmp_path, test_vgg):
    cfg = load_train_config(preset)
    if cfg.get("mode") == "cyclesr":
        pytest.skip("unpaired HR + real-LR training: tests/test_train_cyclesr.py runs cyclesr and cyclesrgan")
    assert cfg["name"] == preset and cfg["train"]["iters"] > 1000
    scale = 4 if cfg["data"].get("degrade_preset") else 2
    patch = 128 if cfg["discriminator"]["arch"] == "vgg128" and cfg["losses"].get("gan") else 32
    if cfg["data"].get("degrade_preset"):
        data = tmp_path / "hr"
        data.mkdir()
        for i in range(2):
            write_image(data / f"h{i}.png", synthetic_image(40, 44, seed=i))
        sets = ("data.batch_size=1",)
    else:
        data = make_pairs(tmp_path / "pairs", 2, scale, h=patch + 8, w=patch + 8)
        sets = ("data.batch_size=1",)
    if preset == "rfdn":
        sets += ("train.finetune={start_iter: 1, pixel: l2, lr: 1.0e-5}",)
    cfg = tiny_cfg(preset, *sets, iters=2, patch=patch, scale=scale)
    backbone = (cfg["losses"].get("perceptual") or {}).get("backbone", "vgg19")
    result = train_sr(data, tmp_path / "run", cfg, device="cpu", quiet=True, vgg_weights=test_vgg[backbone])
    assert result.iters == 2 and result.model_path.is_file()
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["l_total"]) for r in rows)
    if cfg["losses"].get("gan"):
        assert "l_d_real" in rows[-1] and "l_g_gan" in rows[-1]
    if preset == "rfdn":
        assert rows[-1]["lr"] == pytest.approx(1e-5)


def test_cli_train_and_export(pairs, tmp_path, cli):
    from realsr_cli.cli.main import SUBCOMMANDS

    if "train-sr" not in SUBCOMMANDS:
        pytest.skip("train-sr not registered yet")
    train_dir, val_dir = pairs
    run = tmp_path / "run"
    args = ["train-sr", train_dir, "-o", run, "-s", "2", "--iters", "3", "--batch-size", "2", "--patch-size", "16"]
    args += ["--set", "arch_args={num_feat: 8, num_block: 1}", "--set", "data.workers=0", "--val", val_dir]
    args += [
        "--export",
        "safetensors",
        "--export",
        "state-dict",
        "--device",
        "cpu",
        "-q",
        "--json",
        tmp_path / "r.json",
    ]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / "r.json").read_text())
    assert info["iters"] == 3 and set(info["val"]) >= {"psnr", "ssim", "l1"}
    from safetensors.torch import load_file

    from realsr_cli.archs import build_arch

    net = build_arch("msrresnet", scale=2, num_feat=8, num_block=1)
    net.load_state_dict(load_file(run / "model.safetensors"))
    net.load_state_dict(torch.load(run / "model.pth", weights_only=True))
    assert "output exists" in cli(*args).output  # the --json report is refused first, before any work
    again = cli(*args[:-1], tmp_path / "r2.json")
    assert again.exit_code == 1 and "--resume" in again.output
    bad = cli("train-sr", train_dir, "-o", tmp_path / "x", "--preset", "esrgan", "-s", "2", "--device", "cpu", "-q")
    assert bad.exit_code == 1


def test_missing_vgg_gives_one_line_error(pairs, tmp_path, monkeypatch, cli):
    from realsr_cli.cli.main import SUBCOMMANDS

    if "train-sr" not in SUBCOMMANDS:
        pytest.skip("train-sr not registered yet")
    monkeypatch.setenv("REALSR_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path))
    train_dir, _ = pairs
    result = cli("train-sr", train_dir, "-o", tmp_path / "r", "--preset", "esrgan", "-s", "2", "--device", "cpu", "-q")
    assert result.exit_code == 1 and "vgg19-dcbb9e9d.pth" in result.output and "Traceback" not in result.output


def test_paired_patches_are_aligned_and_deterministic(tmp_path):
    folder = tmp_path / "p"
    (folder / "hr").mkdir(parents=True)
    (folder / "lr").mkdir()
    for i in range(2):
        hr = synthetic_image(24, 32, seed=i)
        lr = F.avg_pool2d(torch.from_numpy(hr).permute(2, 0, 1)[None].float(), 2)[0].permute(1, 2, 0)
        write_image(folder / "hr" / f"a{i}.png", hr)
        write_image(folder / "lr" / f"a{i}.png", np.rint(lr.numpy()).astype(np.uint8))
    ds = PairedPatches(folder, scale=2, patch_size=16, seed=5)
    for k in range(12):
        s = ds[k]
        assert s["hr"].shape == (3, 16, 16) and s["lr"].shape == (3, 8, 8)
        # box-downscaling commutes with flips and transposes: the crop pair stays aligned
        assert (F.avg_pool2d(s["hr"][None], 2)[0] - s["lr"]).abs().max() <= 0.5 / 255 + 1e-6
        assert torch.equal(s["hr"], PairedPatches(folder, 2, 16, seed=5)[k]["hr"])
    assert list(StepSampler(2, 4, batch=3, rank=1, world=2)) == [15, 16, 17, 21, 22, 23]


def test_validation_with_lpips_keeps_best_by_lpips(pairs, tmp_path, monkeypatch, shared_weights):
    alex = shared_weights / "alexnet-features.pth"
    if not alex.is_file():
        pytest.skip("alexnet-features.pth not in ../shared/weights")
    monkeypatch.setenv("REALSR_LPIPS_BACKBONE", str(alex))
    train_dir, val_dir = pairs
    cfg = tiny_cfg("msrresnet", "train.val_lpips=true", "train.best_metric=lpips", "train.val_every=1", iters=2)
    result = train_sr(train_dir, tmp_path / "run", cfg, val_dir=val_dir, device="cpu", quiet=True)
    assert 0 <= result.val["lpips"] <= 1
    assert result.best["metric"] == "lpips" and result.best["value"] <= result.val["lpips"] + 1e-12


def test_worker_processes_do_not_change_the_data_stream(pairs):
    from torch.utils.data import DataLoader

    train_dir, _ = pairs
    ds = PairedPatches(train_dir, scale=2, patch_size=16, seed=9)

    def batches(workers: int) -> list[torch.Tensor]:
        loader = DataLoader(ds, batch_size=2, sampler=StepSampler(0, 3, 2), num_workers=workers)
        return [b["hr"] for b in loader]

    assert all(torch.equal(a, b) for a, b in zip(batches(0), batches(2), strict=True))


def test_pairs_of_wrong_size_fail_before_training(tmp_path):
    from realsr_cli.errors import InputError

    folder = make_pairs(tmp_path / "p", 2, 2)
    with pytest.raises(InputError, match="smaller than the LR patch"):
        PairedPatches(folder, scale=2, patch_size=64, seed=0)
    write_image(folder / "lr" / "img1.png", synthetic_image(10, 10), overwrite=True)
    with pytest.raises(InputError, match=r"img1.png: LR 10x10 is not 1/2"):
        PairedPatches(folder, scale=2, patch_size=16, seed=0)


def test_init_from_a_trained_model(pairs, tmp_path):
    train_dir, _ = pairs
    first = train_sr(train_dir, tmp_path / "a", tiny_cfg(iters=2), device="cpu", quiet=True)
    frozen = tiny_cfg("msrresnet", "train.lr=0", iters=1)
    second = train_sr(train_dir, tmp_path / "b", frozen, device="cpu", quiet=True, init=first.model_path)
    a = torch.load(first.model_path, weights_only=True)["params"]
    b = torch.load(second.model_path, weights_only=True)["params"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bf16_amp_on_the_cpu_where_it_is_native(pairs, tmp_path, monkeypatch):
    from realsr_cli.train import trainer

    cpu = torch.device("cpu")
    monkeypatch.setattr(trainer, "bf16_native", lambda device: False)
    assert trainer.training_amp("bf16", cpu) == "none" and trainer.training_amp("fp16", cpu) == "none"
    assert trainer.training_amp("none", cpu) == "none"
    monkeypatch.setattr(trainer, "bf16_native", lambda device: True)
    assert trainer.training_amp("bf16", cpu) == "bf16"
    assert trainer.training_amp("fp16", torch.device("cuda")) == "fp16"  # CUDA: as asked
    seen = []
    real = torch.autocast
    monkeypatch.setattr(trainer.torch, "autocast", lambda **kw: seen.append(kw) or real(**kw))
    train_dir, _ = pairs
    cfg = tiny_cfg("msrresnet", "train.amp=bf16", iters=3)
    train_sr(train_dir, tmp_path / "run", cfg, device="cpu", quiet=True)
    assert seen and all(kw == {"device_type": "cpu", "dtype": torch.bfloat16} for kw in seen)
    losses = [loss for _, loss in losses_of(tmp_path / "run")]
    assert len(losses) == 3 and all(np.isfinite(losses))
