"""``upscale --denoise auto``: the strength estimator (tiles, ramps, its file), the engine that mixes the two ends per
photo, and the shipped estimator telling clean photos from heavily degraded ones."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from realsr_cli.degradations.pipeline import Degradation
from realsr_cli.errors import InputError
from realsr_cli.io.tensors import read_tensor
from realsr_cli.models.interpolation import interpolate_models
from realsr_cli.models.loading import DEFAULT_ENV
from realsr_cli.seeding import item_rng
from realsr_cli.upscale.auto_denoise import AutoDenoiseUpscaler, build_upscaler, parse_denoise
from realsr_cli.upscale.pipeline import UpscaleOptions, Upscaler
from realsr_cli.upscale.strength import (
    MAX_TILES,
    TILE,
    DegradationEstimator,
    Ramp,
    StrengthEstimator,
    default_estimator_path,
    save_estimator,
    tiles_of,
)
from tests.conftest import synthetic_image
from tests.upscale_helpers import ConvUp, sr_model

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def _shipped_defaults(monkeypatch):
    monkeypatch.delenv(DEFAULT_ENV, raising=False)


def _estimator(logit: float, ramps: dict[str, Ramp] | None = None) -> StrengthEstimator:
    """An estimator that answers ``logit`` for every tile (zero weights, head bias ``logit``)."""
    net = DegradationEstimator(width=4)
    for p in net.parameters():
        p.data.zero_()
    net.head.bias.data.fill_(logit)
    return StrengthEstimator(net, ramps or {"x2/psnr": Ramp(0.2, 0.8)}, {})


def test_tiles_cover_the_image_on_a_grid_and_small_images_are_padded():
    big = synthetic_image(700, 900, seed=1)
    tiles = tiles_of(big)
    assert tiles.shape[1:] == (3, TILE, TILE) and 1 < len(tiles) <= MAX_TILES
    assert tiles.dtype == torch.float32 and 0 <= float(tiles.min()) and float(tiles.max()) <= 1
    assert len(tiles_of(synthetic_image(130, 200, seed=2))) == 2 * 3
    small = tiles_of(synthetic_image(20, 30, seed=3))
    assert small.shape == (1, 3, TILE, TILE)
    gray16 = synthetic_image(64, 64, seed=4)[..., 0].astype(np.uint16) * 257
    assert torch.allclose(tiles_of(gray16)[0, 0], tiles_of(gray16)[0, 2])
    rgba = np.dstack([big, np.full(big.shape[:2], 7, np.uint8)])
    assert torch.equal(tiles_of(rgba), tiles)
    gray_alpha = np.dstack([big[..., 0], big[..., 1]])
    assert torch.equal(tiles_of(gray_alpha), tiles_of(big[..., 0]))


def test_ramp_is_clipped_and_linear():
    ramp = Ramp(0.2, 0.6)
    assert [ramp(p) for p in (0.0, 0.2, 0.4, 0.6, 1.0)] == pytest.approx([0, 0, 0.5, 1, 1])


def test_strength_follows_the_ramp_in_steps_of_0_05():
    pixels = synthetic_image(64, 64, seed=0)
    assert _estimator(-8.0).strength(pixels, 2, "psnr") == 0.0
    assert _estimator(8.0).strength(pixels, 2, "psnr") == 1.0
    mid = _estimator(float(np.log(0.53 / 0.47))).strength(pixels, 2, "psnr")  # p = 0.53 -> 0.55
    assert mid == pytest.approx(0.55)
    with pytest.raises(InputError, match="no calibration for x4/gan"):
        _estimator(0.0).strength(pixels, 4, "gan")


def test_estimator_file_round_trips_and_bad_files_are_clear_errors(tmp_path):
    est = _estimator(1.5, {"x4/psnr": Ramp(0.3, 0.9)})
    path = save_estimator(tmp_path / "e.pt", est.net, est.ramps, {"note": "test"})
    back = StrengthEstimator.load(path)
    assert back.ramps == est.ramps and back.meta == {"note": "test"}
    pixels = synthetic_image(80, 80, seed=5)
    assert back.probability(pixels) == pytest.approx(est.probability(pixels))
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="other.pt: not a strength estimator"):
        StrengthEstimator.load(tmp_path / "other.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(InputError, match="list.pt: not a strength estimator file \\(format 'list'\\)"):
        StrengthEstimator.load(tmp_path / "list.pt")
    with pytest.raises(InputError, match="missing.pt: the --denoise auto estimator is missing"):
        StrengthEstimator.load(tmp_path / "missing.pt")


@pytest.mark.parametrize("logit, expected", [(-8.0, 0.0), (8.0, 1.0), (float(np.log(0.5 / 0.5)), 0.5)])
def test_auto_engine_runs_the_interpolation_at_the_estimated_strength(logit, expected):
    mild, strong = sr_model(ConvUp(2, seed=1), 2, "mild"), sr_model(ConvUp(2, seed=2), 2, "strong")
    engine = AutoDenoiseUpscaler(mild, strong, CPU, UpscaleOptions(tile=0), _estimator(logit), "psnr")
    pixels = synthetic_image(24, 28, seed=6)
    out, stats = engine.upscale_pixels(pixels)
    assert stats["denoise"] == expected
    reference = Upscaler([interpolate_models(mild, strong, expected)], CPU, UpscaleOptions(tile=0))
    assert np.array_equal(out, reference.upscale_pixels(pixels)[0])
    fixed = engine.fixed_for(pixels)  # what a video runs for all its frames
    assert type(fixed) is Upscaler and np.array_equal(fixed.upscale_pixels(pixels)[0], out)


def test_parse_denoise():
    assert parse_denoise(None) is None and parse_denoise("auto") == "auto" and parse_denoise("0.25") == 0.25
    for bad in ("1.5", "-0.1", "strong"):
        with pytest.raises(InputError, match="--denoise"):
            parse_denoise(bad)


def test_auto_is_the_default_for_built_in_models_only(tmp_path, monkeypatch):
    if not default_estimator_path().is_file():
        pytest.skip("the estimator is not installed")
    engine = build_upscaler("default-psnr", CPU, UpscaleOptions(scale=2))
    assert isinstance(engine, AutoDenoiseUpscaler) and engine.calibration == "psnr"
    assert isinstance(build_upscaler("default", CPU, UpscaleOptions(scale=2)), AutoDenoiseUpscaler)
    assert type(build_upscaler("default", CPU, UpscaleOptions(scale=4))) is Upscaler  # default-gan: no ramp shipped
    with pytest.raises(InputError, match="no calibration for x4 default-gan"):
        build_upscaler("default-gan", CPU, UpscaleOptions(scale=4), "auto")
    assert type(build_upscaler("default-psnr", CPU, UpscaleOptions(scale=2), 0.0)) is Upscaler
    assert type(build_upscaler("bicubic", CPU, UpscaleOptions(scale=2))) is Upscaler
    with pytest.raises(InputError, match="built-in models"):
        build_upscaler("bicubic", CPU, UpscaleOptions(scale=2), "auto")
    with pytest.raises(InputError, match="not with --interpolate"):
        build_upscaler("default", CPU, UpscaleOptions(scale=2), "auto", interpolate="default-psnr")
    monkeypatch.setenv(DEFAULT_ENV, str(tmp_path))
    with pytest.raises(InputError, match=DEFAULT_ENV):
        build_upscaler("default", CPU, UpscaleOptions(scale=2), "auto")


def test_cli_reports_the_chosen_strength(tmp_path, image_folder, cli):
    if not default_estimator_path().is_file():
        pytest.skip("the estimator is not installed")
    out, report = tmp_path / "out", tmp_path / "r.json"
    res = cli("upscale", str(image_folder), str(out), "-s", "2", "--json", str(report), "-q")
    assert res.exit_code == 0, res.output
    strengths = [r["denoise"] for r in json.loads(report.read_text())["images"]]
    assert len(strengths) == 3 and all(0 <= s <= 1 for s in strengths)
    res = cli("upscale", str(image_folder), str(tmp_path / "o2"), "-s", "2", "--denoise", "lots", "-q")
    assert res.exit_code != 0 and "--denoise lots" in res.output


def _degraded(stem: str, level: str, scale: int, shared_dir) -> np.ndarray:
    hr = read_tensor(shared_dir / "data" / "hr-train" / f"{stem}.png")[..., :512, :512]
    recipe = Degradation.from_preset(level)
    lr = recipe.apply(hr, recipe.sample(item_rng(7, stem), tuple(hr.shape), scale=scale)).clamp(0, 1)
    return (lr[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)


@pytest.mark.parametrize("scale", [2, 4])
def test_shipped_estimator_separates_clean_from_heavily_degraded_held_out_photos(scale, shared_dir):
    """Held-out photos 0037-0040: MATLAB bicubic LR get no restoration; realesrgan LR get more on average."""
    if not default_estimator_path().is_file():
        pytest.skip("the estimator is not installed")
    est = StrengthEstimator.load()
    clean = [
        est.strength(_degraded(s, "bicubic", scale, shared_dir), scale, "psnr")
        for s in ("0037", "0038", "0039", "0040")
    ]
    heavy = [
        est.strength(_degraded(s, "realesrgan", scale, shared_dir), scale, "psnr")
        for s in ("0037", "0038", "0039", "0040")
    ]
    assert max(clean) <= 0.1, clean
    assert np.mean(heavy) > np.mean(clean) + 0.3, (clean, heavy)
