"""Tiled inference: coverage, seamlessness (tiled == untiled), OOM halving, memory-based tile size."""

from __future__ import annotations

import pytest
import torch

from realsr_cli.upscale.tiling import auto_tile, plan_windows, run_tiled, tiled_forward
from tests.upscale_helpers import ConvUp


@pytest.mark.parametrize(("h", "w", "tile", "pad"), [(37, 53, 16, 4), (64, 64, 32, 6), (20, 90, 24, 3)])
@pytest.mark.parametrize("uniform", [True, False])
def test_windows_cover_every_pixel_once(h, w, tile, pad, uniform):
    windows = plan_windows(h, w, tile, pad, uniform)
    cover = torch.zeros(h, w, dtype=torch.int32)
    for win in windows:
        cover[win.cy0 : win.cy1, win.cx0 : win.cx1] += 1
        assert 0 <= win.y0 <= win.cy0 and win.cy1 <= win.y1 <= h
        assert 0 <= win.x0 <= win.cx0 and win.cx1 <= win.x1 <= w
    assert bool((cover == 1).all())
    shapes = {(win.y1 - win.y0, win.x1 - win.x0) for win in windows}
    if uniform:
        assert len(shapes) == 1  # batchable
    else:
        assert all(win.y1 - win.y0 <= tile + 2 * (pad + pad // 2) for win in windows)  # clipped: no extra compute


@pytest.mark.parametrize(("scale", "tile", "batch"), [(2, 16, 1), (3, 13, 3), (4, 20, 4)])
def test_tiled_equals_untiled_when_pad_covers_receptive_field(scale, tile, batch):
    depth = 3  # receptive-field radius 3 LR pixels
    model = ConvUp(scale=scale, depth=depth).eval()
    x = torch.rand(1, 3, 41, 57, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        whole = model(x)
        tiled = tiled_forward(model, x, scale, tile=tile, pad=depth, batch=batch)
    assert tiled.shape == whole.shape == (1, 3, 41 * scale, 57 * scale)
    assert float((tiled - whole).abs().max()) < 1 / 255


def test_too_small_pad_shows_seams():
    """The equality above is not vacuous: without context the tile borders differ from the untiled output."""
    model = ConvUp(scale=2, depth=6).eval()
    x = torch.rand(1, 3, 40, 40, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        diff = (tiled_forward(model, x, 2, tile=10, pad=0) - model(x)).abs().max()
    assert float(diff) > 1 / 255


def test_out_of_memory_halves_the_tile_and_retries():
    model = ConvUp(scale=2, depth=2).eval()
    sizes = []

    def picky(batch: torch.Tensor) -> torch.Tensor:
        sizes.append(batch.shape[-1])
        if batch.shape[-1] > 24:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return model(batch)

    x = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        out, used = run_tiled(picky, x, 2, tile=0, pad=2)
        whole = model(x)
    assert used == 12  # 48 -> 24 (window 24 + 2 * (2 + 1) = 30, still too big) -> 12
    assert sizes[0] == 48 and max(sizes[-4:]) <= 24
    assert float((out - whole).abs().max()) < 1 / 255


def test_other_errors_are_not_retried():
    def broken(_x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        run_tiled(broken, torch.zeros(1, 3, 32, 32), 2, tile=16, pad=2)


def test_auto_tile_fits_the_memory_budget():
    per_px, free = 4000.0, 8 << 30  # 4 kB per input pixel, 8 GiB free, half usable -> sqrt(2^32 / 4000) = 1036
    tile = auto_tile(per_px, free, batch=1, fraction=0.5)
    assert tile == 1024
    assert auto_tile(per_px, free, batch=4, fraction=0.5) == 512
    assert auto_tile(1e9, 1 << 20) == 32  # never below the minimum
