"""AIM 2020 / NTIRE 2020 training tricks: CutBlur + MoA, parameter fusion, pair filtering, AdamW, NR validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from realsr_cli.errors import InputError, OutputExistsError, PresetError
from realsr_cli.io.images import write_image
from realsr_cli.train import load_train_config, train_sr
from realsr_cli.train.augments import MOA, BatchAugment, parse_augment
from realsr_cli.train.data import PairedPatches
from realsr_cli.train.fuse import fuse_checkpoints
from realsr_cli.train.validation import lower_is_better
from tests.conftest import synthetic_image
from tests.test_train_run import make_pairs, tiny_cfg


def _batch(seed: int = 0, b: int = 4, s: int = 2, n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    hr = torch.rand(b, 3, n * s, n * s, generator=torch.Generator().manual_seed(seed))
    return F.avg_pool2d(hr, s), hr


# ---------------------------------------------------------------- augmentations
@pytest.mark.parametrize("name", MOA)
def test_each_augmentation_is_deterministic_and_keeps_pairs_aligned(name):
    lr, hr = _batch()
    aug = BatchAugment(name, seed=11)
    first, again = aug(lr, hr, 5), aug(lr, hr, 5)
    assert first.name == name and torch.equal(first.lr, again.lr) and torch.equal(first.hr, again.hr)
    assert torch.equal(lr, _batch()[0])  # the input batch is not modified in place
    if name in ("cutblur", "cutout"):
        return
    # the other augmentations are linear, or cut on the LR grid: box-downscaling the HR still gives the LR
    assert torch.allclose(F.avg_pool2d(first.hr, 2), first.lr, atol=1e-6)
    changed = [not torch.equal(aug(lr, hr, k).lr, lr) for k in range(6)]
    assert any(changed)


def test_moa_draws_depend_only_on_seed_and_batch_index():
    lr, hr = _batch()
    a, b, c = BatchAugment("moa", 3), BatchAugment("moa", 3), BatchAugment("moa", 4)
    names = [a(lr, hr, k).name for k in range(40)]
    assert names == [b(lr, hr, k).name for k in range(40)] and set(names) == set(MOA)
    assert names != [c(lr, hr, k).name for k in range(40)]
    realsr = [BatchAugment("moa-realsr", 0)(lr, hr, k).name for k in range(400)]
    assert 0.3 < realsr.count("cutblur") / 400 < 0.5  # option.py's RealSR mixture: 0.4 for CutBlur


def test_cutblur_pastes_a_box_of_the_downscaled_hr_into_the_lr():
    lr = torch.zeros(2, 3, 16, 16)
    hr = torch.ones(2, 3, 32, 32)
    aug = BatchAugment({"cutblur": {"alpha": 0.5}}, seed=0)
    inside = set()
    for k in range(8):
        out = aug(lr, hr, k)
        assert torch.equal(out.hr, hr) and out.mask is None
        ones = out.lr[0, 0] > 0.5
        box = ones if ones.float().mean() < 0.5 else ~ones  # the box is 1/4 of the image: the smaller part
        rows, cols = box.any(1).nonzero().flatten(), box.any(0).nonzero().flatten()
        side = len(rows)  # int(16 * ratio), ratio ~ N(0.5, 0.01^2): 7 or 8
        assert side in (7, 8) and len(cols) == side and box.sum() == side * side  # one square box
        assert set(torch.unique(out.lr).tolist()) == {0.0, 1.0}
        inside.add(bool(ones.float().mean() < 0.5))
    assert inside == {True, False}  # both directions: HR into LR and LR into HR


def test_cutout_masks_the_loss_where_lr_pixels_are_dropped():
    lr, hr = _batch()
    out = BatchAugment({"cutout": {"alpha": 0.5}}, seed=1)(lr, hr, 0)
    assert out.mask.shape == (4, 1, 16, 16) and 0.3 < float(out.mask.mean()) < 0.7
    dropped = F.avg_pool2d(out.mask, 2) == 0
    assert torch.all(out.lr[dropped.expand_as(lr)] == 0) and torch.equal(out.hr, hr)


def test_augment_configuration_errors():
    assert parse_augment(None) == [] and [e.name for e in parse_augment("moa")] == list(MOA)
    assert parse_augment({"cutblur": 0.4, "none": 0.6})[0].p == 0.4
    with pytest.raises(PresetError, match="unknown augmentation 'cutblurr'"):
        load_train_config("msrresnet", sets=["data.augment=cutblurr"])
    with pytest.raises(PresetError, match="data.augment.mixup.alpha"):
        parse_augment({"mixup": {"alpha": -1}})


def test_training_with_augmentations_is_reproducible_and_resumes_exactly(tmp_path):
    data = make_pairs(tmp_path / "pairs", 2, 2)
    cfg = tiny_cfg("msrresnet", "data.augment={cutout: {alpha: 0.3}, cutblur: 1, mixup: 1}", iters=4)
    train_sr(data, tmp_path / "a", cfg, device="cpu", seed=2, quiet=True)
    train_sr(data, tmp_path / "b", cfg, device="cpu", seed=2, quiet=True, stop_after=2)
    train_sr(data, tmp_path / "b", cfg, device="cpu", quiet=True, resume=True)
    losses = []
    for name in ("a", "b"):
        rows = [json.loads(line) for line in (tmp_path / name / "log.jsonl").read_text().splitlines()]
        losses.append([r["l_total"] for r in rows])
    assert losses[0] == losses[1] and len(losses[0]) == 4 and all(np.isfinite(losses[0]))


# --------------------------------------------------------------- parameter fusion
def _model_file(path: Path, seed: int, num_feat: int = 4, ema: bool = True) -> Path:
    from realsr_cli.archs import arch_args, build_arch
    from realsr_cli.models.checkpoint import save_model

    torch.manual_seed(seed)
    net = build_arch("msrresnet", scale=2, num_feat=num_feat, num_block=1)
    ema_state = {k: v + 1 for k, v in net.state_dict().items()} if ema else None
    args = arch_args("msrresnet", 2, num_feat=num_feat, num_block=1)
    return save_model(path, net, arch="msrresnet", arch_args=args, scale=2, meta={"seed": seed}, ema_state=ema_state)


def test_fuse_averages_params_and_ema_exactly(tmp_path):
    from realsr_cli.models.loading import load_model

    paths = [_model_file(tmp_path / f"m{i}.pt", seed=i) for i in range(3)]
    result = fuse_checkpoints(paths, tmp_path / "fused.pt")
    assert result.groups == ["params", "params_ema"] and result.layout == "realsr"
    fused = torch.load(tmp_path / "fused.pt", weights_only=True)
    inputs = [torch.load(p, weights_only=True) for p in paths]
    for group in ("params", "params_ema"):
        for key, value in fused[group].items():
            total = inputs[0][group][key].double() + inputs[1][group][key].double() + inputs[2][group][key].double()
            assert torch.equal(value, (total / 3).float()), key
    assert fused["meta"]["fused_from"] == [str(p) for p in paths] and fused["arch"] == "msrresnet"
    model, info = load_model(tmp_path / "fused.pt")
    assert info.scale == 2 and torch.equal(
        model.state_dict()["conv_first.weight"], fused["params_ema"]["conv_first.weight"]
    )
    # BasicSR files stay BasicSR files
    basicsr = [tmp_path / "b0.pth", tmp_path / "b1.pth"]
    for i, path in enumerate(basicsr):
        torch.save({"params": inputs[i]["params"], "params_ema": inputs[i]["params_ema"]}, path)
    fuse_checkpoints(basicsr, tmp_path / "fused.pth")
    out = torch.load(tmp_path / "fused.pth", weights_only=True)
    assert set(out) == {"params", "params_ema"}
    a, b = (inputs[i]["params"]["conv_first.weight"].double() for i in (0, 1))
    assert torch.equal(out["params"]["conv_first.weight"], ((a + b) / 2).float())


def test_fuse_refuses_incompatible_files_and_existing_outputs(tmp_path, cli):
    a, b = _model_file(tmp_path / "a.pt", 0), _model_file(tmp_path / "b.pt", 1)
    wide, plain = _model_file(tmp_path / "wide.pt", 2, num_feat=8), _model_file(tmp_path / "plain.pt", 3, ema=False)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match=r"wide\.pt: cannot be fused with .*a\.pt: msrresnet x2"):
        fuse_checkpoints([a, wide], tmp_path / "x.pt")
    with pytest.raises(InputError, match=r"plain\.pt: .* it holds params, the first holds params, params_ema"):
        fuse_checkpoints([a, plain], tmp_path / "x.pt")
    with pytest.raises(InputError, match=r"junk\.pt: not a readable checkpoint"):
        fuse_checkpoints([a, tmp_path / "junk.pt"], tmp_path / "x.pt")
    with pytest.raises(InputError, match="given twice"):
        fuse_checkpoints([a, a], tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()
    ok = cli("fuse", a, b, "-o", tmp_path / "f.pt", "-q")
    assert ok.exit_code == 0, ok.output
    again = cli("fuse", a, b, "-o", tmp_path / "f.pt")
    assert again.exit_code == 1 and "output exists" in again.output and "--overwrite" in again.output
    assert cli("fuse", a, b, "-o", tmp_path / "f.pt", "--overwrite", "-q").exit_code == 0
    onto_input = cli("fuse", a, b, "-o", b, "--overwrite")
    assert onto_input.exit_code == 1 and "Traceback" not in onto_input.output
    bad = cli("fuse", a, wide, "-o", tmp_path / "g.pt")
    assert bad.exit_code == 1 and "wide.pt" in bad.output and len(bad.output.strip().splitlines()) == 1
    with pytest.raises(OutputExistsError):
        fuse_checkpoints([a, b], tmp_path / "f.pt")


def test_snapshots_of_a_run_fuse_into_a_model(tmp_path):
    from realsr_cli.models.loading import load_model

    data = make_pairs(tmp_path / "pairs", 2, 2)
    cfg = tiny_cfg("msrresnet", "train.keep_snapshots=2", "train.save_every=1", "train.ema_decay=0.9", iters=4)
    train_sr(data, tmp_path / "run", cfg, device="cpu", quiet=True)
    snaps = sorted((tmp_path / "run" / "snapshots").glob("*.pt"))
    assert [p.name for p in snaps] == ["iter_0000003.pt", "iter_0000004.pt"]
    result = fuse_checkpoints([*snaps, tmp_path / "run" / "checkpoints" / "latest.pt"], tmp_path / "fused.pt")
    assert result.groups == ["params", "params_ema"]
    model, info = load_model(tmp_path / "fused.pt")
    assert info.arch == "msrresnet" and model(torch.rand(1, 3, 8, 8)).shape == (1, 3, 16, 16)


# ------------------------------------------------------------- pair filtering, AdamW
def test_min_pair_psnr_drops_a_misaligned_pair(tmp_path, capsys):
    from realsr_cli.degradations.resize import imresize

    folder = tmp_path / "pairs"
    (folder / "hr").mkdir(parents=True)
    (folder / "lr").mkdir()
    for i in range(3):
        hr = synthetic_image(32, 32, seed=i)
        t = imresize(torch.from_numpy(hr).permute(2, 0, 1)[None].double() / 255, size=(16, 16)).clamp(0, 1)
        lr = np.rint(t[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        if i == 1:
            lr = np.roll(lr, (3, 5), axis=(0, 1))  # a pair registered 3 / 5 LR pixels off
        write_image(folder / "hr" / f"p{i}.png", hr)
        write_image(folder / "lr" / f"p{i}.png", lr)
    assert len(PairedPatches(folder, 2, 16, seed=0).pairs) == 3
    ds = PairedPatches(folder, 2, 16, seed=0, min_psnr=30)
    assert [hr.stem for hr, _ in ds.pairs] == ["p0", "p2"] and [s for s, _ in ds.dropped] == ["p1"]
    assert "dropped 1 of 3 pair(s)" in capsys.readouterr().err
    cfg = tiny_cfg("msrresnet", "data.min_pair_psnr=30", iters=1)
    result = train_sr(folder, tmp_path / "run", cfg, device="cpu", quiet=True)
    assert result.dropped_pairs == ["p1"]
    with pytest.raises(InputError, match="every pair is below"):
        PairedPatches(folder, 2, 16, seed=0, min_psnr=200)
    with pytest.raises(PresetError, match="min_pair_psnr"):
        load_train_config("realesrgan", sets=["data.min_pair_psnr=20"])


def test_adamw_is_the_optimiser_when_chosen(tmp_path):
    from realsr_cli.train.trainer import Trainer

    data = make_pairs(tmp_path / "pairs", 2, 2)
    gan = ("losses.gan={type: lsgan, weight: 0.1}", "discriminator={arch: patchgan, args: {ndf: 4, n_layers: 2}}")
    cfg = tiny_cfg("msrresnet", "train.optimizer=adamw", "train.weight_decay=0.05", *gan, iters=2)
    trainer = Trainer(data, tmp_path / "run", cfg, device="cpu", quiet=True)
    for opt in (trainer.opt_g, trainer.opt_d):
        assert type(opt) is torch.optim.AdamW and opt.param_groups[0]["weight_decay"] == 0.05
    assert trainer.run().iters == 2
    default = Trainer(data, tmp_path / "run2", tiny_cfg(iters=1), device="cpu", quiet=True)
    assert type(default.opt_g) is torch.optim.Adam
    with pytest.raises(PresetError, match="train.optimizer 'sgd'"):
        load_train_config("msrresnet", sets=["train.optimizer=sgd"])


# ----------------------------------------------------------- no-reference validation
def test_lr_only_validation_keeps_the_best_checkpoint_by_niqe(tmp_path):
    data = make_pairs(tmp_path / "pairs", 2, 2)
    val = tmp_path / "camera"
    val.mkdir()
    write_image(val / "photo.png", synthetic_image(56, 56, seed=9))  # SR 112x112, 108 after the border crop
    sets = ("train.best_metric=niqe", "train.val_every=1", "train.lr=5e-3", "train.scheduler={type: constant}")
    cfg = tiny_cfg("msrresnet", *sets, iters=4)
    result = train_sr(data, tmp_path / "run", cfg, val_dir=val, device="cpu", seed=1, quiet=True)
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    scores = [(r["iter"], r["val_niqe"]) for r in rows if "val_niqe" in r]
    assert len(scores) == 4 and all("val_psnr" not in r for r in rows)
    assert [lower_is_better(m) for m in ("psnr", "ssim", "l1", "niqe", "brisque", "piqe")] == [0, 0, 1, 1, 1, 1]
    best_iter, best_value = min(scores, key=lambda t: t[1])  # lower NIQE is better
    assert best_iter not in (1, max(scores, key=lambda t: t[1])[0])  # seed 1: neither the first nor the highest
    assert result.best["metric"] == "niqe" and result.best["iter"] == best_iter
    assert result.best["value"] == pytest.approx(best_value)
    best = torch.load(tmp_path / "run" / "model_best.pt", weights_only=True)
    assert best["meta"]["iters"] == best_iter and best["meta"]["val"]["niqe"] == pytest.approx(best_value)
    with pytest.raises(InputError, match=r"camera: LR images only \(no hr/\), but train.best_metric psnr needs"):
        train_sr(data, tmp_path / "r2", tiny_cfg(iters=1), val_dir=val, device="cpu", quiet=True)
