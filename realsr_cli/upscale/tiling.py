"""Tiled inference: any image size on bounded memory, seamless output.

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
- the image stays on the host and tiles travel to the device one batch at a time (huge images stream);
- a CUDA out-of-memory error halves the tile size and retries (``run_tiled``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

ModelFn = Callable[[torch.Tensor], torch.Tensor]
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


def _ramp(length: int, lo: int, hi: int, fade_lo: int, fade_hi: int, device: torch.device) -> torch.Tensor:
    """1-D weights over [0, length): 0 outside [lo, hi), linear fade-in over ``fade_lo``, fade-out over ``fade_hi``."""
    pos = torch.arange(length, device=device, dtype=torch.float32) + 0.5
    w = torch.ones(length, device=device)
    if fade_lo > 0:
        w = torch.minimum(w, (pos - lo) / fade_lo)
    if fade_hi > 0:
        w = torch.minimum(w, (hi - pos) / fade_hi)
    w = w.clamp(min=0.0)
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


def tile_weights(win: Window, height: int, width: int, scale: int, blend: int) -> torch.Tensor:
    """(sh, sw) blending weights of one tile's output (zero outside what the tile keeps)."""
    ys = _blend_span(win.cy0, win.cy1, win.y0, win.y1, height, blend)
    xs = _blend_span(win.cx0, win.cx1, win.x0, win.x1, width, blend)
    wy = _ramp(
        (win.y1 - win.y0) * scale, ys[0] * scale, ys[1] * scale, ys[2] * scale, ys[3] * scale, torch.device("cpu")
    )
    wx = _ramp(
        (win.x1 - win.x0) * scale, xs[0] * scale, xs[1] * scale, xs[2] * scale, xs[3] * scale, torch.device("cpu")
    )
    return wy[:, None] * wx[None, :]


def tiled_forward(
    model_fn: ModelFn,
    image: torch.Tensor,
    scale: int,
    *,
    tile: int = 0,
    pad: int = 10,
    batch: int = 1,
    device: torch.device | None = None,
    on_tile: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Run ``model_fn`` over (1, C, H, W) ``image`` (kept where it is) tile by tile; returns (1, C', sH, sW) on host.

    ``model_fn`` receives a (B, C, h, w) batch on ``device`` and returns (B, C', s*h, s*w). Overlapping outputs are
    cross-faded over ``2 * blend_width(tile, pad)`` LR pixels; ``on_tile(n)`` is called after every batch.
    """
    _, _, height, width = image.shape
    device = device or image.device
    windows = plan_windows(height, width, tile, pad, uniform=batch > 1)
    if len(windows) == 1:
        out = model_fn(image.to(device)).float().cpu()
        if on_tile:
            on_tile(1)
        return out
    blend = blend_width(tile, pad)
    acc: torch.Tensor | None = None
    norm = torch.zeros(1, 1, height * scale, width * scale)
    for group in _batches(windows, batch):
        inputs = torch.cat([image[:, :, w.y0 : w.y1, w.x0 : w.x1] for w in group]).to(device, non_blocking=True)
        outputs = model_fn(inputs).float().cpu()
        if acc is None:
            acc = torch.zeros(1, outputs.shape[1], height * scale, width * scale)
        for out, win in zip(outputs, group, strict=True):
            weight = tile_weights(win, height, width, scale, blend)
            region = (
                slice(None),
                slice(None),
                slice(win.y0 * scale, win.y1 * scale),
                slice(win.x0 * scale, win.x1 * scale),
            )
            acc[region] += out * weight
            norm[region] += weight
        if on_tile:
            on_tile(len(group))
    assert acc is not None
    return acc / norm.clamp(min=1e-8)


def _size(win: Window) -> tuple[int, int]:
    return win.y1 - win.y0, win.x1 - win.x0


def _batches(windows: list[Window], batch: int) -> list[list[Window]]:
    """Consecutive windows of equal size, at most ``batch`` per group."""
    groups: list[list[Window]] = []
    for win in windows:
        last = groups[-1] if groups else None
        if last is not None and _size(last[0]) == _size(win) and len(last) < max(1, batch):
            last.append(win)
        else:
            groups.append([win])
    return groups


def tile_count(height: int, width: int, tile: int, pad: int) -> int:
    return len(plan_windows(height, width, tile, pad))


def is_oom(exc: BaseException) -> bool:
    """True for CUDA (or MPS) out-of-memory errors."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()


def run_tiled(
    model_fn: ModelFn,
    image: torch.Tensor,
    scale: int,
    *,
    tile: int,
    pad: int,
    batch: int = 1,
    device: torch.device | None = None,
    on_tile: Callable[[int], None] | None = None,
    on_retry: Callable[[int], None] | None = None,
) -> tuple[torch.Tensor, int]:
    """``tiled_forward`` that halves the tile size after an out-of-memory error; returns (output, tile used)."""
    _, _, height, width = image.shape
    current = tile
    while True:
        try:
            out = tiled_forward(
                model_fn, image, scale, tile=current, pad=pad, batch=batch, device=device, on_tile=on_tile
            )
            return out, current
        except Exception as exc:  # only out-of-memory errors are retried
            whole = current <= 0 or current >= max(height, width)
            next_tile = (max(height, width) if whole else current) // 2
            if not is_oom(exc) or (batch <= 1 and next_tile < MIN_TILE):
                raise
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            if batch > 1:
                batch //= 2
            else:
                current = next_tile
            if on_retry:
                on_retry(current)


def activation_bytes_per_pixel(model: torch.nn.Module, channels: int = 3, probe: int = 32) -> float:
    """Estimate peak activation memory per input pixel: the largest module outputs on a small probe, x3 live tensors.

    On CUDA the measured peak allocation is used instead (``cuda_bytes_per_pixel``).
    """
    sizes: list[int] = []

    def hook(_m, _i, out):
        if isinstance(out, torch.Tensor):
            sizes.append(out.numel() * out.element_size())

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        param = next(model.parameters(), None)
        dtype = param.dtype if param is not None else torch.float32
        dev = param.device if param is not None else torch.device("cpu")
        with torch.inference_mode():
            model(torch.zeros(1, channels, probe, probe, dtype=dtype, device=dev))
    finally:
        for h in handles:
            h.remove()
    top = sorted(sizes, reverse=True)[:3]
    return max(1.0, sum(top) / (probe * probe))


def cuda_bytes_per_pixel(model_fn: ModelFn, device: torch.device, dtype: torch.dtype, probe: int = 64) -> float:
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    with torch.inference_mode():
        model_fn(torch.zeros(1, 3, probe, probe, device=device, dtype=dtype))
    torch.cuda.synchronize(device)
    return max(1.0, (torch.cuda.max_memory_allocated(device) - base) / (probe * probe))


def available_memory(device: torch.device) -> int:
    """Free bytes on the device (CUDA: mem_get_info; CPU: MemAvailable from /proc/meminfo, else 4 GiB)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


def auto_tile(bytes_per_pixel: float, free_bytes: int, batch: int = 1, fraction: float = 0.5, cap: int = 2048) -> int:
    """Largest multiple-of-32 tile whose activations for ``batch`` tiles fit in ``fraction`` of the free memory."""
    side = math.sqrt(max(0.0, free_bytes * fraction) / (bytes_per_pixel * max(1, batch)))
    return int(max(32, min(cap, side // 32 * 32)))
