"""The shipped default models (issue 9): every installed scale loads offline and beats MATLAB bicubic on held-out
photos (hr-train 0037-0040, never seen in training) degraded with the `realesrgan` recipe it was trained for."""

from __future__ import annotations

import pytest
import torch

from realsr_cli.degradations.pipeline import Degradation
from realsr_cli.degradations.resize import imresize
from realsr_cli.metrics import psnr
from realsr_cli.models.loading import DEFAULT_DIR, DEFAULT_ENV, DEFAULT_SCALES, load_sr_model
from realsr_cli.pairs.modes import image_tensor
from realsr_cli.seeding import item_rng

HELD_OUT = ("0037", "0038", "0039", "0040")
CROP = 192


def _held_out_crops(shared_dir) -> list[torch.Tensor]:
    """Central CROP x CROP crops, read as make-pairs reads its HR images."""
    crops = []
    for stem in HELD_OUT:
        image, _ = image_tensor(shared_dir / "data" / "hr-train" / f"{stem}.png")
        top, left = (image.shape[-2] - CROP) // 2, (image.shape[-1] - CROP) // 2
        crops.append(image[..., top : top + CROP, left : left + CROP])
    return crops


def test_both_default_scales_ship():
    assert sorted(int(p.stem.split("_x")[1]) for p in DEFAULT_DIR.glob("default_x*.pt")) == sorted(DEFAULT_SCALES)


@pytest.mark.parametrize("scale", DEFAULT_SCALES)
def test_shipped_default_model_beats_bicubic(scale, shared_dir, monkeypatch):
    monkeypatch.delenv(DEFAULT_ENV, raising=False)
    model = load_sr_model("default", scale=scale)
    assert model.scale == scale and model.name == "default"
    recipe = Degradation.from_preset("realesrgan")
    gains = []
    for stem, hr in zip(HELD_OUT, _held_out_crops(shared_dir), strict=True):
        params = recipe.sample(item_rng(123, stem), tuple(hr.shape), scale=scale)
        lr = (recipe.apply(hr, params).clamp(0, 1) * 255).round() / 255
        with torch.no_grad():
            sr = model.module(lr).clamp(0, 1)
        bicubic = imresize(lr[0], scale=scale)[None].clamp(0, 1)
        assert sr.shape == hr.shape == bicubic.shape
        gains.append(float(psnr(sr, hr, crop_border=scale) - psnr(bicubic, hr, crop_border=scale)))
    assert sum(gains) / len(gains) > 0.3, gains
