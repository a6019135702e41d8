"""The in-memory Python API (realsr_cli.Upscaler / degrade / score_arrays) and the README's example of it."""

from __future__ import annotations

import re

import numpy as np
import pytest

import realsr_cli
from realsr_cli import Upscaler, degrade, score_arrays
from realsr_cli.errors import InputError
from tests.conftest import REPO


@pytest.fixture(scope="module")
def hr() -> np.ndarray:
    y, x = np.mgrid[0:48, 0:64]
    base = np.stack([x * 4, y * 5, (x + y) * 2], axis=-1) % 256
    return base.astype(np.uint8)


@pytest.fixture(scope="module")
def upscaler() -> Upscaler:
    return Upscaler.from_model("default", scale=4, device="cpu")


def test_upscale_keeps_layout_and_dtype(upscaler, hr) -> None:
    lr = hr[::4, ::4]
    sr = upscaler.upscale(lr)
    assert upscaler.scale == 4 and sr.shape == (48, 64, 3) and sr.dtype == np.uint8
    gray = upscaler.upscale(lr[:, :, 0])
    assert gray.shape == (48, 64) and gray.dtype == np.uint8
    as_float = upscaler.upscale(lr.astype(np.float32) / 255)
    assert as_float.dtype == np.float32 and as_float.shape == (48, 64, 3)
    assert np.abs(as_float * 255 - sr.astype(np.float32)).max() <= 2.0
    with pytest.raises(InputError, match="shape"):
        upscaler.upscale(np.zeros((2, 3, 4, 5), np.uint8))


def test_degrade_is_seeded_and_sized(hr) -> None:
    a = degrade(hr, preset="generic", seed=3, scale=4)
    assert a.shape == (12, 16, 3) and a.dtype == np.uint8
    assert np.array_equal(a, degrade(hr, preset="generic", seed=3, scale=4))
    assert not np.array_equal(a, degrade(hr, preset="generic", seed=4, scale=4))


def test_score_arrays_matches_the_known_values(hr) -> None:
    same = score_arrays(hr, hr, metrics=["psnr", "ssim"])
    assert same["psnr"] == float("inf") or same["psnr"] > 99 and same["ssim"] == pytest.approx(1.0)
    noisy = np.clip(hr.astype(np.int16) + 8, 0, 255).astype(np.uint8)
    score = score_arrays(noisy, hr, metrics="psnr")
    mse = np.mean((noisy.astype(np.float64) - hr) ** 2)
    assert score["psnr"] == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-6)
    with pytest.raises(InputError, match="gt"):
        score_arrays(hr, hr[:10])


def test_readme_example_runs() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- api-example -->\s*```python\n(.*?)```", text, re.S)
    assert block, "README.md lost its Python API example"
    scope: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), scope)  # our own README
    assert scope["sr"].shape == scope["hr"].shape and set(scope["scores"]) >= {"psnr", "ssim"}


def test_api_is_lazy() -> None:
    assert "Upscaler" in realsr_cli.__all__
    with pytest.raises(AttributeError):
        realsr_cli.no_such_name  # noqa: B018
