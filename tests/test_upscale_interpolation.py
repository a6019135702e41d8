"""``upscale --model bicubic|lanczos|bilinear|nearest``: parameter-free interpolation models through the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from realsr_cli.degradations.resize import imresize, lanczos3
from realsr_cli.io.images import read_image, to_float, write_image
from realsr_cli.models.classical import INTERPOLATORS, interpolation_model
from realsr_cli.models.loading import load_sr_model
from realsr_cli.upscale.pipeline import UpscaleOptions, Upscaler
from tests.conftest import synthetic_image

CPU = torch.device("cpu")


def _chw(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(to_float(pixels).transpose(2, 0, 1)))[None].float()


def _matlab_lanczos3_1d(x: np.ndarray, scale: int) -> np.ndarray:
    """Direct per-pixel MATLAB ``imresize(.., 'lanczos3')`` along the last axis (contributions + symmetric border)."""
    n = x.shape[-1]
    out = np.zeros((*x.shape[:-1], n * scale))
    for i in range(1, n * scale + 1):
        u = i / scale + 0.5 * (1 - 1 / scale)
        taps = np.arange(math.floor(u - 3), math.ceil(u + 3) + 1)
        weights = lanczos3(u - taps)
        src = taps - 1
        src = np.where(src < 0, -src - 1, np.where(src >= n, 2 * n - src - 1, src))  # symmetric (edge repeated)
        out[..., i - 1] = (x[..., src] * weights).sum(-1) / weights.sum()
    return out


def _pil(plane: np.ndarray, scale: int, method: int) -> np.ndarray:
    """Pillow's float ('F' mode) resize of one (h, w) plane."""
    h, w = plane.shape
    return np.asarray(PILImage.fromarray(plane.astype(np.float32), "F").resize((w * scale, h * scale), method))


@pytest.mark.parametrize("scale", [2, 4])
def test_cli_bicubic_equals_matlab_imresize(tmp_path, cli, scale):
    pixels = synthetic_image(12, 10, seed=3)
    write_image(tmp_path / "in.png", pixels)
    result = cli("upscale", tmp_path / "in.png", tmp_path / "out.png", "--model", "bicubic", "-s", scale, "-q")
    assert result.exit_code == 0, result.output
    out = read_image(tmp_path / "out.png").pixels
    ref = imresize(_chw(pixels).double(), scale=scale)[0].clamp(0, 1).permute(1, 2, 0).numpy()
    assert out.shape == (12 * scale, 10 * scale, 3)
    assert np.abs(out.astype(float) / 255 - ref).max() <= 1 / 255 + 1e-9
    assert np.rint(ref * 255).astype(np.uint8).tolist() == out.tolist()  # in fact exact after rounding


@pytest.mark.parametrize("method", list(INTERPOLATORS))
def test_tiled_equals_untiled(method):
    pixels = synthetic_image(21, 26, seed=5)
    model = interpolation_model(method, 2)
    whole, _ = Upscaler([model], CPU, UpscaleOptions(tile=0)).upscale_tensor(_chw(pixels))
    # --tile-pad 0 is raised to the kernel's radius (bicubic 2, lanczos 3), so the tiles still join exactly
    up = Upscaler([model], CPU, UpscaleOptions(tile=8, tile_pad=0, batch=2))
    tiled, stats = up.upscale_tensor(_chw(pixels))
    assert up.tile_pad == INTERPOLATORS[method][1] and stats["tiles"] > 1
    assert (whole - tiled).abs().max() < 1e-5


def test_lanczos_is_matlab_lanczos3_and_pillow_inside():
    plane = np.random.default_rng(0).random((9, 11))
    model = interpolation_model("lanczos", 3)
    out = model.module(torch.from_numpy(plane)[None, None])[0, 0].numpy()
    ref = _matlab_lanczos3_1d(_matlab_lanczos3_1d(plane, 3).T, 3).T
    assert np.abs(out - ref).max() < 1e-9
    pil = _pil(plane, 3, PILImage.LANCZOS)
    inner = (slice(9, -9), slice(9, -9))  # 3 LR pixels from each border: Pillow clips there instead of mirroring
    assert np.abs(out[inner] - pil[inner]).max() < 1e-5


def test_bilinear_and_nearest_match_pillow_and_repetition():
    plane = np.random.default_rng(1).random((7, 8))
    x = torch.from_numpy(plane)[None, None]
    bilinear = interpolation_model("bilinear", 2).module(x)[0, 0].numpy()
    assert np.abs(bilinear - _pil(plane, 2, PILImage.BILINEAR)).max() < 1e-5
    nearest = interpolation_model("nearest", 3).module(x)[0, 0].numpy()
    assert np.array_equal(nearest, np.repeat(np.repeat(plane, 3, 0), 3, 1))


def test_loading_by_name():
    model = load_sr_model("Bicubic", "cpu", 2)
    assert (model.name, model.scale, model.arch, model.context) == ("bicubic", 2, "interpolation", 2)
    assert not list(model.module.parameters()) and not model.half_ok  # exact fp32, never fp16
    assert load_sr_model("lanczos").scale == 4  # the default scale, as --model default


def test_denoise_with_an_interpolation_is_a_clear_error(tmp_path, cli):
    write_image(tmp_path / "in.png", synthetic_image(8, 8))
    for extra in (["--denoise", "0.5"], ["--denoise", "0.5", "--interpolate", "x.pt"]):
        result = cli("upscale", tmp_path / "in.png", tmp_path / "out.png", "--model", "bicubic", *extra)
        assert result.exit_code == 1
        assert "fixed interpolation" in result.output and "--denoise" in result.output
    assert not (tmp_path / "out.png").exists()
