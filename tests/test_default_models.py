"""The shipped default models (issue 14): for every scale a PSNR-oriented model (``default-psnr``) and the strong end
of the denoise knob, at x4 also a GAN fine-tune (``default-gan``, what ``default`` means there); small, loadable
offline; the PSNR model beating MATLAB bicubic on held-out photos (hr-train 0037-0040, never seen in training) at
three degradation levels (clean bicubic, mild, realesrgan), the GAN model the lowest LPIPS of all on mild and
realesrgan photos and a better NIQE than bicubic at every level; no block (staircase) structure; a ``--denoise``
knob whose output noise decreases with its strength."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from realsr_cli.degradations.noise import add_gaussian
from realsr_cli.degradations.pipeline import Degradation
from realsr_cli.degradations.resize import imresize, resize
from realsr_cli.io.tensors import read_tensor
from realsr_cli.metrics import rgb_to_y
from realsr_cli.metrics.blockiness import block_boundary_ratio
from realsr_cli.models.interpolation import STRONG_END, default_denoise_model
from realsr_cli.models.loading import (
    DEFAULT_DIR,
    DEFAULT_ENV,
    DEFAULT_SCALES,
    GAN_VARIANT,
    builtin_variant,
    default_model_path,
    load_sr_model,
)
from realsr_cli.seeding import item_rng

HELD_OUT = ("0037", "0038", "0039", "0040")
CROP = 384
LEVELS = {"bicubic": 0.3, "mild": 0.0, "realesrgan": 0.0}  # level -> required mean PSNR-Y gain over bicubic (dB)
VARIANTS = {2: ("", STRONG_END), 4: ("", STRONG_END, GAN_VARIANT)}  # the files shipped per scale
SHIPPED = [(s, v) for s in DEFAULT_SCALES for v in VARIANTS[s]]
NEAREST_SKIP_MODEL = "tests/data/nearest_skip_srvgg48x4_x4.pt"  # the x4 default shipped before issue 14


@pytest.fixture(autouse=True)
def _shipped_defaults(monkeypatch):
    monkeypatch.delenv(DEFAULT_ENV, raising=False)


def _held_out_crops(shared_dir) -> list[torch.Tensor]:
    """Central CROP x CROP crops, read as make-pairs reads its HR images."""
    crops = []
    for stem in HELD_OUT:
        image = read_tensor(shared_dir / "data" / "hr-train" / f"{stem}.png")
        top, left = (image.shape[-2] - CROP) // 2, (image.shape[-1] - CROP) // 2
        crops.append(image[..., top : top + CROP, left : left + CROP])
    return crops


def test_every_scale_ships_its_models_and_default_means_the_gan_model_where_there_is_one():
    names = sorted(p.name for p in DEFAULT_DIR.glob("default_x*.pt"))
    assert names == sorted(f"default_x{s}{'_' + v if v else ''}.pt" for s, v in SHIPPED)
    assert [builtin_variant("default", s) for s in DEFAULT_SCALES] == ["", GAN_VARIANT]
    assert load_sr_model("default", scale=4).name == "default"
    assert load_sr_model("default-psnr", scale=4).source == str(default_model_path(4))
    for name in names:
        assert (DEFAULT_DIR / name).stat().st_size <= 5 * 2**20, name


def pooled_psnr_y(outputs: list[torch.Tensor], targets: list[torch.Tensor], border: int) -> float:
    """PSNR-Y of the squared errors pooled over all crops (a flat crop at 50 dB cannot outweigh a textured one)."""
    total, count = 0.0, 0
    for out, ref in zip(outputs, targets, strict=True):
        diff = (rgb_to_y(out) - rgb_to_y(ref))[..., border:-border, border:-border].double()
        total, count = total + float((diff**2).sum()), count + diff.numel()
    return 10 * math.log10(count / total)


def _as_upscale_runs_it(spec: str, scale: int):
    """The engine ``realsr upscale --model spec -s scale`` runs (``--denoise auto`` for a built-in model)."""
    from realsr_cli.upscale.auto_denoise import build_upscaler
    from realsr_cli.upscale.pipeline import UpscaleOptions

    engine = build_upscaler(spec, torch.device("cpu"), UpscaleOptions(scale=scale, tile=0))

    def run(lr: torch.Tensor) -> torch.Tensor:
        pixels = (lr[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        out, stats = engine.upscale_pixels(pixels)
        run.strengths.append(stats.get("denoise"))
        return torch.from_numpy(out.astype(np.float32) / 255).permute(2, 0, 1)[None]

    run.strengths = []
    return run


@pytest.mark.parametrize("scale, level", [(s, lv) for s in DEFAULT_SCALES for lv in LEVELS])
def test_shipped_default_model_beats_bicubic_at_every_level(scale, level, shared_dir):
    """default-psnr as ``upscale`` runs it: the mild end where the estimator sees a clean or mild photo, blended
    towards the strong end where it sees a heavily degraded one."""
    model = load_sr_model("default-psnr", scale=scale)
    assert model.scale == scale and model.name == "default-psnr" and model.arch == "srvgg-bicubic"
    upscale = _as_upscale_runs_it("default-psnr", scale)
    recipe = Degradation.from_preset(level)
    hrs, srs, bicubics = _held_out_crops(shared_dir), [], []
    for stem, hr in zip(HELD_OUT, hrs, strict=True):
        params = recipe.sample(item_rng(123, stem), tuple(hr.shape), scale=scale)
        lr = (recipe.apply(hr, params).clamp(0, 1) * 255).round() / 255
        srs.append(upscale(lr).double())
        bicubics.append(imresize(lr[0], scale=scale)[None].clamp(0, 1))
        assert srs[-1].shape == hr.shape == bicubics[-1].shape
    gain = pooled_psnr_y(srs, hrs, scale) - pooled_psnr_y(bicubics, hrs, scale)
    assert gain > LEVELS[level], (gain, upscale.strengths)
    if level == "bicubic":
        assert upscale.strengths == [0.0] * len(HELD_OUT)  # clean photos get the mild end itself


def _level_crops(level: str, scale: int, shared_dir) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(HR crops, their LR at ``level``), the LR drawn as the PSNR test draws it."""
    recipe = Degradation.from_preset(level)
    hrs, lrs = _held_out_crops(shared_dir), []
    for stem, hr in zip(HELD_OUT, hrs, strict=True):
        params = recipe.sample(item_rng(123, stem), tuple(hr.shape), scale=scale)
        lrs.append((recipe.apply(hr, params).clamp(0, 1) * 255).round() / 255)
    return hrs, lrs


def _outputs(spec: str | Path, lrs: list[torch.Tensor], scale: int) -> list[torch.Tensor]:
    model = load_sr_model(spec, scale=scale)
    with torch.no_grad():
        return [model.module(lr).clamp(0, 1) for lr in lrs]


@pytest.mark.parametrize("level", ["mild", "realesrgan"])
def test_gan_default_has_the_lowest_lpips_of_the_shipped_models(level, shared_dir, shared_weights):
    from realsr_cli.metrics.perceptual import LPIPS

    alex = shared_weights / "alexnet-features.pth"
    if not alex.is_file():
        pytest.skip("alexnet-features.pth not in ../shared/weights")
    lpips = LPIPS("alex", weights=alex)
    hrs, lrs = _level_crops(level, 4, shared_dir)
    score = {}
    for variant in VARIANTS[4]:
        srs = _outputs(default_model_path(4, variant), lrs, 4)
        score[variant] = float(np.mean([float(lpips(sr, hr)[0]) for sr, hr in zip(srs, hrs, strict=True)]))
    assert min(score, key=score.get) == GAN_VARIANT, score


@pytest.mark.slow
@pytest.mark.parametrize("level", list(LEVELS))
def test_gan_default_beats_bicubic_niqe_at_every_level(level, shared_dir):
    """On the whole held-out photos (NIQE's 96-px patch statistics are meaningless on a few crops)."""
    from realsr_cli.metrics.niqe import niqe

    recipe, gan, bicubic = Degradation.from_preset(level), [], []
    model = load_sr_model("default-gan", scale=4)
    for stem in HELD_OUT:
        hr = read_tensor(shared_dir / "data" / "hr-train" / f"{stem}.png")
        hr = hr[..., : hr.shape[-2] // 4 * 4, : hr.shape[-1] // 4 * 4]
        lr = (recipe.apply(hr, recipe.sample(item_rng(123, stem), tuple(hr.shape), scale=4)).clamp(0, 1) * 255).round()
        lr = lr / 255
        with torch.no_grad():
            gan.append(float(niqe(model.module(lr).clamp(0, 1), crop_border=4)))
        bicubic.append(float(niqe(imresize(lr[0], scale=4)[None].clamp(0, 1), crop_border=4)))
    assert np.mean(gan) < np.mean(bicubic), (gan, bicubic)


def clean_scene(n: int = 256) -> torch.Tensor:
    """Smooth gradients and antialiased straight edges at three angles, (1, 3, n, n) in [0, 1]."""
    y, x = torch.meshgrid(torch.linspace(0, 1, n), torch.linspace(0, 1, n), indexing="ij")
    img = 0.3 + 0.4 * torch.exp(-((x - 0.4) ** 2 + (y - 0.6) ** 2) / 0.2)
    for angle, offset, contrast in [(0.3, 0.2, 0.3), (1.2, -0.1, -0.25), (2.2, 0.5, 0.2)]:
        d = (x - 0.5) * math.cos(angle) + (y - 0.5) * math.sin(angle) - offset * 0.5
        img = img + contrast * torch.sigmoid(d * n / 1.5)
    return torch.stack([img, img * 0.9 + 0.05, img * 0.8 + 0.1]).clamp(0, 1)[None]


def block_excess(sr: torch.Tensor, scale: int) -> float:
    """|log| of the block-boundary ratio: 0 = no preference for the scale's pixel grid."""
    return abs(math.log(float(block_boundary_ratio(sr, scale))))


def _block_excess_vs_bicubic(module: torch.nn.Module, scale: int) -> tuple[float, float]:
    lr = resize(clean_scene(), (256 // scale, 256 // scale), "matlab")
    with torch.no_grad():
        sr = module(lr).clamp(0, 1)
    bicubic = imresize(lr[0], scale=scale)[None].clamp(0, 1)
    return block_excess(sr, scale), block_excess(bicubic, scale)


@pytest.mark.parametrize("scale, variant", SHIPPED)
def test_shipped_models_have_no_more_block_structure_than_bicubic(scale, variant):
    model = load_sr_model(default_model_path(scale, variant), scale=scale)
    excess, bicubic = _block_excess_vs_bicubic(model.module, scale)
    assert excess <= bicubic + math.log(1.1), (excess, bicubic)


def test_block_structure_check_fails_for_the_old_nearest_skip_default():
    model = load_sr_model(NEAREST_SKIP_MODEL, scale=4)
    excess, bicubic = _block_excess_vs_bicubic(model.module, 4)
    assert excess > bicubic + math.log(1.1) + 0.3, (excess, bicubic)


def _noisy_flat_patch(scale: int) -> torch.Tensor:
    """Mid-grey with gray (luminance) Gaussian noise, sigma 10: the noise the eye sees. (Independent per-channel
    colour noise on a flat field is removed much less by either end: 8.6 -> 7.6 / 7.3 at x4.)"""
    flat = torch.full((1, 3, 64, 64), 0.5)
    return add_gaussian(flat, 10.0, torch.Generator().manual_seed(0), gray=True)


@pytest.mark.parametrize("scale", DEFAULT_SCALES)
def test_denoise_strength_lowers_output_noise_monotonically(scale):
    lr = _noisy_flat_patch(scale)
    stds, outputs = [], []
    for strength in (0.0, 0.5, 1.0):
        model = default_denoise_model(strength, "cpu", scale)
        with torch.no_grad():
            sr = model.module(lr).clamp(0, 1)
        outputs.append(sr)
        stds.append(float(sr[..., 8:-8, 8:-8].std() * 255))
    assert stds[0] > stds[1] > stds[2], stds
    assert stds[0] - stds[2] > 1.0, stds  # visibly different: more than 1/255 of noise std removed
    assert float((outputs[0] - outputs[2]).abs().mean() * 255) > 0.5


@pytest.mark.parametrize("base", ["default", "default-psnr", "default-gan"])
def test_denoise_ends_equal_the_shipped_end_models(base):
    for strength, end in ((0.0, builtin_variant(base, 4)), (1.0, STRONG_END)):
        knob = default_denoise_model(strength, "cpu", 4, base).module.state_dict()
        shipped = load_sr_model(default_model_path(4, end), scale=4).module.state_dict()
        assert all(torch.equal(knob[k], shipped[k]) for k in shipped)
    with pytest.raises(Exception, match="between 0"):
        default_denoise_model(1.5, "cpu", 4)


def test_default_models_record_their_recipe():
    obj = torch.load(default_model_path(4), map_location="cpu", weights_only=True)
    assert obj["arch"] == "srvgg-bicubic" and obj["arch_args"]["skip"] == "bicubic"
    assert np.isfinite([float(v.abs().sum()) for v in obj["params"].values()]).all()
