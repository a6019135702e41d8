"""Pixel handling shared by the ``upscale`` engines, on host arrays (no torch).

After Real-ESRGAN's ``RealESRGANer.enhance`` (Wang et al., ICCVW 2021): RGB through the model, gray replicated to
RGB and back (BT.601 luma, as OpenCV's RGB2GRAY), alpha upscaled separately (by the model as gray RGB, or by
bicubic interpolation; a constant alpha is passed through exactly), 16-bit in -> 16-bit out. An engine supplies
the model pass (:meth:`PixelEngine.upscale_rgb`) and its tile size; the PyTorch engine
(:class:`realsr_cli.upscale.pipeline.Upscaler`) adds what needs torch (colour fix, ``--outscale``, bicubic
alpha), the lean one (:class:`realsr_cli.upscale.lean.LeanUpscaler`) runs a CPU runtime without importing torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from realsr_cli.errors import InputError
from realsr_cli.io.arrays import planes_to_pixels, to_planes
from realsr_cli.upscale.options import UpscaleOptions
from realsr_cli.upscale.windows import tile_count

BT601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)
BLACK_LEVEL = 1.0 / 255.0  # an output this dark from a brighter input is broken (an fp16 overflow, a bad model)


class ModelInfo(Protocol):
    """What the batch driver reads of an engine's models."""

    name: str
    arch: str


def to_gray(rgb: np.ndarray) -> np.ndarray:
    """(3, H, W) -> (1, H, W) BT.601 luma (as OpenCV's RGB2GRAY, used by Real-ESRGAN for gray inputs)."""
    return np.clip((rgb * BT601[:, None, None]).sum(axis=0, keepdims=True), 0.0, 1.0)


def is_constant(plane: np.ndarray) -> bool:
    return bool(plane.min() == plane.max())


def color_shift(sr: Any, lr: Any) -> float:
    """Mean over channels of |mean(SR_c) - mean(bicubic(LR)_c)|, on the 0-255 scale ((1, C, H, W) arrays or CPU
    tensors). The bicubic upscale's channel means are those of LR (its weights sum to one per output pixel and to
    s^2 per input pixel away from the borders), so LR's means are used and the big bicubic image is never formed."""
    means = [np.asarray(x, np.float32).mean(axis=(0, 2, 3), dtype=np.float64) for x in (sr, lr)]
    return float(np.abs(means[0] - means[1]).mean()) * 255.0


def problem_of(total: float, peak: float, input_peak: float) -> str | None:
    """'NaN/inf' or 'black' when an output whose sum is ``total`` and largest magnitude ``peak`` is unusable, else
    None (a black input may give a black output). One fp32 sum finds any NaN/inf (20x faster than checking every
    value on a 50 MP output; only values near fp32's limit could overflow it, and such an output is unusable too)."""
    if not math.isfinite(total):
        return "NaN/inf"
    return "black" if peak < BLACK_LEVEL and input_peak > 8 * BLACK_LEVEL else None


def output_problem(output: np.ndarray, inputs: np.ndarray) -> str | None:
    """:func:`problem_of` a host array output."""
    total = float(output.sum(dtype=np.float32))
    peak = max(float(output.max()), -float(output.min())) if math.isfinite(total) else math.inf
    return problem_of(total, peak, float(inputs.max()))


class PixelEngine:
    """Integer pixels in, integer pixels out, around an engine's model pass (see the module docstring)."""

    scale: int
    options: UpscaleOptions
    models: Sequence[ModelInfo]
    device: Any
    backend: str
    tile_pad: int
    on_tile: Callable[[int], None] | None = None

    # ---- what an engine supplies -----------------------------------------------------------------------------
    def upscale_rgb(self, rgb: np.ndarray, luma: float | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """(1, 3, H, W) float32 in [0, 1] -> (1, 3, sH, sW) float32 in [0, 1], plus run statistics (``tile``,
        ``tiles``, ``precision``; ``median_luma`` for luminance fusion, decided on ``luma`` when given)."""
        raise NotImplementedError

    def tile_for(self, height: int, width: int) -> int:
        """The tile size for an image of this size (0: whole)."""
        raise NotImplementedError

    def release(self) -> None:
        """Free what the model pass holds between calls (a runtime's compiled model and buffers); the next call
        sets it up again. The batch driver calls it before writing its last output."""

    def fix_colours(self, sr: np.ndarray, rgb: np.ndarray) -> np.ndarray:
        """``--color-fix`` (an engine that offers it overrides this)."""
        if self.options.color_fix:
            raise InputError("--color-fix needs the PyTorch engine")
        return sr

    def resize_output(self, out: np.ndarray, in_h: int, in_w: int) -> np.ndarray:
        """``--outscale``'s final resize of (C, sH, sW) planes (an engine that offers it overrides this)."""
        raise InputError("--outscale needs the PyTorch engine")

    def bicubic_alpha(self, alpha: np.ndarray) -> np.ndarray:
        """``--alpha bicubic``: (1, 1, H, W) -> (1, sH, sW) (an engine that offers it overrides this)."""
        raise InputError("--alpha bicubic needs the PyTorch engine")

    # ---- pixels ----------------------------------------------------------------------------------------------
    def expected_tiles(self, pixels: np.ndarray) -> int:
        """Tiles the progress bar will count for this image (twice when a varying alpha goes through the model,
        twice again for luminance fusion's two model passes)."""
        height, width = pixels.shape[:2]
        count = tile_count(height, width, self.tile_for(height, width), self.tile_pad)
        alpha_by_model = (
            pixels.shape[2] in (2, 4) and self.options.alpha == "model" and not is_constant(pixels[..., -1])
        )
        return count * (2 if alpha_by_model else 1) * (2 if self.options.fusion == "luminance" else 1)

    def upscale_pixels(self, pixels: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """(H, W, C) uint8/uint16 gray, gray+alpha, RGB or RGBA -> upscaled pixels of the same dtype and channels."""
        if pixels.dtype not in (np.uint8, np.uint16):
            raise InputError(f"cannot upscale {pixels.dtype} pixels (expected 8- or 16-bit integers)")
        channels = pixels.shape[2]
        rgb = to_planes(pixels)  # gray replicated, alpha apart
        sr, stats = self.upscale_rgb(rgb)
        luma = stats.get("median_luma")
        sr = self.fix_colours(sr, rgb)
        stats["color_shift"] = round(color_shift(sr, rgb), 4)
        stats["median_luma"] = None if luma is None else round(luma, 3)
        planes = [sr[0]] if channels >= 3 else [to_gray(sr[0])]
        if channels in (2, 4):
            planes.append(self._upscale_alpha(pixels[:, :, -1], luma))
        out = planes[0] if len(planes) == 1 else np.concatenate(planes, axis=0)  # no copy without alpha
        if self.options.outscale is not None and self.options.outscale != self.scale:
            out = self.resize_output(out, pixels.shape[0], pixels.shape[1])
        result = planes_to_pixels(out, pixels.dtype)
        if channels in (2, 4) and is_constant(pixels[:, :, -1]):
            result[:, :, -1] = pixels[0, 0, -1]
        return result, stats

    def _upscale_alpha(self, alpha: np.ndarray, luma: float | None = None) -> np.ndarray:
        """(H, W) alpha -> (1, sH, sW) float: constant passed through, else model (as gray RGB; luminance fusion
        decided by the image's ``luma``) or bicubic."""
        a = to_planes(alpha, "color")
        size = (alpha.shape[0] * self.scale, alpha.shape[1] * self.scale)
        if is_constant(alpha):
            return np.full((1, *size), a.flat[0], np.float32)
        if self.options.alpha == "bicubic":
            return self.bicubic_alpha(a)
        out, _ = self.upscale_rgb(np.ascontiguousarray(np.broadcast_to(a, (1, 3, *a.shape[-2:]))), luma)
        return to_gray(out[0])
