"""Tiled inference of PyTorch models: :mod:`realsr_cli.upscale.windows`' tiling (Real-ESRGAN's ``tile_process``
with batched, cross-faded tiles) driven by a PyTorch model function, plus what only PyTorch can tell: a CUDA
out-of-memory error halves the tile size and retries (``run_tiled``), and the activation memory per pixel that
sizes the tiles.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from realsr_cli.upscale.windows import (  # noqa: F401 - the tiling names, importable from here as before
    MIN_TILE,
    Window,
    auto_tile,
    blend_width,
    host_memory,
    plan_windows,
    tile_count,
    tile_weights,
)
from realsr_cli.upscale.windows import tiled_forward as tiled_arrays

ModelFn = Callable[[torch.Tensor], torch.Tensor]


def array_fn(model_fn: ModelFn, device: torch.device) -> Callable[[np.ndarray], np.ndarray]:
    """``model_fn`` as a host-array function: each batch goes to ``device`` and its output comes back as float32."""

    def run(batch: np.ndarray) -> np.ndarray:
        out = model_fn(torch.from_numpy(batch).to(device, non_blocking=True))
        return out.detach().float().cpu().numpy()

    return run


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
    """Run ``model_fn`` over (1, C, H, W) ``image`` (kept on the host) tile by tile; returns (1, C', sH, sW) on host.

    ``model_fn`` receives a (B, C, h, w) batch on ``device`` and returns (B, C', s*h, s*w); the tiling, blending
    and ``on_tile`` calls are :func:`realsr_cli.upscale.windows.tiled_forward`'s.
    """
    device = device or image.device
    host = np.ascontiguousarray(image.detach().float().cpu().numpy())
    out = tiled_arrays(array_fn(model_fn, device), host, scale, tile=tile, pad=pad, batch=batch, on_tile=on_tile)
    return torch.from_numpy(out)


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
    """Free bytes on the device (CUDA: mem_get_info; CPU: :func:`realsr_cli.upscale.windows.host_memory`)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    return host_memory()
