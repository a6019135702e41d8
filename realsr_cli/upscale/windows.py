"""Tiled inference on host arrays: any image size on bounded memory, seamless output (no torch: the engine of
both ``upscale`` paths, :mod:`realsr_cli.upscale.pipeline`'s and :mod:`realsr_cli.upscale.lean`'s).

Follows Real-ESRGAN's ``RealESRGANer.tile_process`` (Wang et al., "Real-ESRGAN: Training Real-World Blind
Super-Resolution with Pure Synthetic Data", ICCVW 2021; github.com/xinntao/Real-ESRGAN): the image is cut into
``tile x tile`` cores, each core is run with ``tile_pad`` pixels of context on every side and the padding is
cropped from the output. Differences, for speed and seams:

- with ``batch > 1`` every window has the same size (windows at the borders are shifted inwards instead of
  clipped), so ``batch`` tiles go through one forward pass; with ``batch == 1`` border windows are clipped;
- neighbouring outputs overlap by ``2 * blend`` LR pixels and are cross-faded with linear ramps (each window
  reaches ``pad + blend`` beyond its core, so every kept pixel still has ``pad`` pixels of context), so that a
  model whose receptive field exceeds the pad leaves no visible seam; when the pad covers the receptive field
  every tile equals the untiled output and so does their blend;
- the image stays on the host and tiles go to the model one batch at a time (huge images stream).

The model function takes and returns float32 NumPy arrays, (B, C, h, w) -> (B, C', s*h, s*w);
:mod:`realsr_cli.upscale.tiling` adapts PyTorch models to it and adds the out-of-memory retry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

ArrayFn = Callable[[np.ndarray], np.ndarray]
MIN_TILE = 8


@dataclass(frozen=True)
class Window:
    """One tile: its input window [y0:y1, x0:x1] and the core [cy0:cy1, cx0:cx1] it is responsible for."""

    y0: int
    y1: int
    x0: int
    x1: int
    cy0: int
    cy1: int
    cx0: int
    cx1: int


def _axis_windows(length: int, tile: int, pad: int, uniform: bool) -> list[tuple[int, int, int, int]]:
    """(start, stop, core_start, core_stop) along one axis.

    ``uniform``: every window is ``tile + 2 pad`` long (border windows shifted inwards) so tiles can be batched;
    otherwise border windows are clipped to the image (least compute, as Real-ESRGAN).
    """
    if tile + 2 * pad >= length:
        return [(0, length, 0, length)]  # one window already sees the whole axis
    out = []
    for i in range(math.ceil(length / tile)):
        c0, c1 = i * tile, min(length, (i + 1) * tile)
        if uniform:
            start = min(max(c0 - pad, 0), length - (tile + 2 * pad))
            out.append((start, start + tile + 2 * pad, c0, c1))
        else:
            out.append((max(c0 - pad, 0), min(c1 + pad, length), c0, c1))
    return out


def blend_width(tile: int, pad: int) -> int:
    """LR pixels faded on each side of a tile border: half the pad, at most a quarter of the tile."""
    return max(0, min(pad // 2, tile // 4))


def plan_windows(height: int, width: int, tile: int, pad: int, uniform: bool = True) -> list[Window]:
    """All tiles of an image, row by row; ``tile <= 0`` means one window covering the whole image."""
    if tile <= 0 or (tile >= height and tile >= width):
        return [Window(0, height, 0, width, 0, height, 0, width)]
    reach = pad + blend_width(tile, pad)
    rows, cols = _axis_windows(height, tile, reach, uniform), _axis_windows(width, tile, reach, uniform)
    return [Window(y0, y1, x0, x1, cy0, cy1, cx0, cx1) for y0, y1, cy0, cy1 in rows for x0, x1, cx0, cx1 in cols]


def tile_count(height: int, width: int, tile: int, pad: int) -> int:
    return len(plan_windows(height, width, tile, pad))


def _ramp(length: int, lo: int, hi: int, fade_lo: int, fade_hi: int) -> np.ndarray:
    """1-D float32 weights over [0, length): 0 outside [lo, hi), linear fade-in over ``fade_lo``, fade-out over
    ``fade_hi``."""
    pos = np.arange(length, dtype=np.float32) + np.float32(0.5)
    w = np.ones(length, np.float32)
    if fade_lo > 0:
        w = np.minimum(w, (pos - np.float32(lo)) / np.float32(fade_lo))
    if fade_hi > 0:
        w = np.minimum(w, (np.float32(hi) - pos) / np.float32(fade_hi))
    w = np.maximum(w, np.float32(0.0))
    w[:lo] = 0.0
    w[hi:] = 0.0
    return w


def _blend_span(c0: int, c1: int, w0: int, w1: int, length: int, blend: int) -> tuple[int, int, int, int]:
    """Kept output span [k0, k1) (LR pixels, relative to the window) and the fade lengths at each end."""
    lo_fade = blend if c0 > 0 else 0
    hi_fade = blend if c1 < length else 0
    k0 = max(c0 - lo_fade, w0)
    k1 = min(c1 + hi_fade, w1)
    return k0 - w0, k1 - w0, 2 * (c0 - k0), 2 * (k1 - c1)


def tile_weights(win: Window, height: int, width: int, scale: int, blend: int) -> np.ndarray:
    """(sh, sw) float32 blending weights of one tile's output (zero outside what the tile keeps)."""
    ys = _blend_span(win.cy0, win.cy1, win.y0, win.y1, height, blend)
    xs = _blend_span(win.cx0, win.cx1, win.x0, win.x1, width, blend)
    wy = _ramp((win.y1 - win.y0) * scale, *(v * scale for v in ys))
    wx = _ramp((win.x1 - win.x0) * scale, *(v * scale for v in xs))
    return wy[:, None] * wx[None, :]


def _size(win: Window) -> tuple[int, int]:
    return win.y1 - win.y0, win.x1 - win.x0


def batches(windows: list[Window], batch: int) -> list[list[Window]]:
    """Consecutive windows of equal size, at most ``batch`` per group."""
    groups: list[list[Window]] = []
    for win in windows:
        last = groups[-1] if groups else None
        if last is not None and _size(last[0]) == _size(win) and len(last) < max(1, batch):
            last.append(win)
        else:
            groups.append([win])
    return groups


def tiled_forward(
    model_fn: ArrayFn,
    image: np.ndarray,
    scale: int,
    *,
    tile: int = 0,
    pad: int = 10,
    batch: int = 1,
    on_tile: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Run ``model_fn`` over a (1, C, H, W) float32 ``image`` tile by tile; returns (1, C', sH, sW) float32.

    Overlapping outputs are cross-faded over ``2 * blend_width(tile, pad)`` LR pixels; ``on_tile(n)`` is called
    after every batch.
    """
    _, _, height, width = image.shape
    windows = plan_windows(height, width, tile, pad, uniform=batch > 1)
    if len(windows) == 1:
        out = model_fn(image)
        if on_tile:
            on_tile(1)
        return out
    blend = blend_width(tile, pad)
    acc: np.ndarray | None = None
    norm = np.zeros((1, 1, height * scale, width * scale), np.float32)
    for group in batches(windows, batch):
        inputs = np.ascontiguousarray(np.concatenate([image[:, :, w.y0 : w.y1, w.x0 : w.x1] for w in group]))
        outputs = model_fn(inputs)
        if acc is None:
            acc = np.zeros((1, outputs.shape[1], height * scale, width * scale), np.float32)
        for out, win in zip(outputs, group, strict=True):
            weight = tile_weights(win, height, width, scale, blend)
            ys, xs = slice(win.y0 * scale, win.y1 * scale), slice(win.x0 * scale, win.x1 * scale)
            acc[0, :, ys, xs] += out * weight
            norm[0, :, ys, xs] += weight
        if on_tile:
            on_tile(len(group))
    assert acc is not None
    return acc / np.maximum(norm, np.float32(1e-8))


def host_memory() -> int:
    """Free host bytes: MemAvailable from /proc/meminfo, else 4 GiB."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


def tile_for_image(tile: int, height: int, width: int) -> int:
    """The tile an image of this size gets from an engine's tile size: 0 (whole) when tiling is off or the image
    fits in one tile, else ``tile``."""
    return 0 if tile <= 0 or height * width <= tile * tile else tile


def auto_tile(bytes_per_pixel: float, free_bytes: int, batch: int = 1, fraction: float = 0.5, cap: int = 2048) -> int:
    """Largest multiple-of-32 tile whose activations for ``batch`` tiles fit in ``fraction`` of the free memory."""
    side = math.sqrt(max(0.0, free_bytes * fraction) / (bytes_per_pixel * max(1, batch)))
    return int(max(32, min(cap, side // 32 * 32)))


CPU_MEMORY_FRACTION = 0.25  # the share of free host memory a CPU run's tiles may take (``auto_tile``)
