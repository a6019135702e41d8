"""The in-memory Python API: numpy arrays in, numpy arrays (or numbers) out; no files touched.

Arrays are (H, W, C) RGB / RGBA or (H, W) / (H, W, 1) gray, ``uint8`` or ``uint16`` (the result keeps the dtype),
or float in [0, 1] (worked on as 16-bit, returned as ``float32``)::

    from realsr_cli import Upscaler, degrade, score_arrays

    lr = degrade(hr, preset="realesrgan", seed=0, scale=4)       # the same LR for the same seed
    sr = Upscaler.from_model("default", scale=4).upscale(lr)      # or a zoo name, a URL, a model file
    score_arrays(sr, hr, metrics=("psnr", "ssim"))                # {"psnr": ..., "ssim": ...}
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from realsr_cli.errors import InputError
from realsr_cli.io.images import from_float, to_float
from realsr_cli.io.tensors import to_tensor

__all__ = ["Upscaler", "degrade", "score_arrays"]


def _as_pixels(image: np.ndarray, what: str) -> tuple[np.ndarray, np.dtype | None]:
    """(H, W, C) uint8/uint16 pixels, and the float dtype to return to (None: keep the integer dtype)."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4) or min(array.shape[:2]) < 1:
        raise InputError(f"{what}: expected an (H, W), (H, W, 1|2|3|4) array, got shape {array.shape}")
    if array.dtype in (np.uint8, np.uint16):
        return array, None
    if np.issubdtype(array.dtype, np.floating):
        return from_float(np.clip(array.astype(np.float32), 0.0, 1.0), np.uint16), np.dtype(np.float32)
    raise InputError(f"{what}: unsupported dtype {array.dtype} (uint8, uint16 or float in [0, 1])")


def _back(pixels: np.ndarray, float_dtype: np.dtype | None, squeeze: bool) -> np.ndarray:
    out = to_float(pixels).astype(float_dtype) if float_dtype is not None else pixels
    return out[:, :, 0] if squeeze and out.shape[2] == 1 else out


class Upscaler:
    """An SR model ready for arrays, with the ``upscale`` command's tiling, precision and pixel handling."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    @classmethod
    def from_model(
        cls,
        model: str | Path = "default",
        *,
        scale: int | None = None,
        device: str = "auto",
        tile: int | None = None,
        tta: bool = False,
        precision: str = "auto",
        backend: str = "torch",
        denoise: float | str | None = None,
    ) -> Upscaler:
        """``model``: "default", "bicubic"/"lanczos"/"bilinear"/"nearest", a name from ``realsr models list``, a URL
        or a model file (as ``--model``); ``backend`` as ``--backend`` (``auto``: OpenVINO / ONNX Runtime on the
        CPU when installed and matching PyTorch; the default here is PyTorch); ``denoise`` as ``--denoise`` (None:
        ``auto`` for ``default-psnr``, estimated per image)."""
        from realsr_cli.device import resolve_device
        from realsr_cli.upscale.auto_denoise import build_upscaler
        from realsr_cli.upscale.pipeline import UpscaleOptions

        dev = resolve_device(device)
        options = UpscaleOptions(scale=scale, tile=tile, tta=tta, precision=precision, backend=backend)
        return cls(build_upscaler(str(model), dev, options, denoise))

    @property
    def scale(self) -> int:
        return int(self.engine.scale)

    def upscale(self, image: np.ndarray) -> np.ndarray:
        """``image`` enlarged ``scale`` times; same layout and dtype (float in -> float32 out)."""
        pixels, float_dtype = _as_pixels(image, "upscale")
        out, _ = self.engine.upscale_pixels(np.ascontiguousarray(pixels))
        return _back(out, float_dtype, np.ndim(image) == 2)


def degrade(
    image: np.ndarray,
    preset: str | Path = "generic",
    *,
    seed: int = 0,
    scale: int = 4,
    device: str = "cpu",
) -> np.ndarray:
    """A synthetic low-resolution version of ``image`` (a recipe from ``presets/degradation`` or a YAML file).

    The same (image size, preset, seed, scale) gives the same random draws, so the same result."""
    from realsr_cli.degradations.pipeline import Degradation, sample_with_model
    from realsr_cli.degradations.run import degrade_pixels
    from realsr_cli.seeding import item_rng

    pixels, float_dtype = _as_pixels(image, "degrade")
    deg = Degradation.from_preset(preset)
    params = sample_with_model(deg, item_rng(seed, "array"), pixels.shape[:2], scale)
    with torch.inference_mode():
        out = degrade_pixels(deg, np.ascontiguousarray(pixels), params, torch.device(device))
    return _back(out, float_dtype, np.ndim(image) == 2)


def _unit(image: np.ndarray, what: str) -> torch.Tensor:
    return to_tensor(_as_pixels(image, what)[0], "color", dtype=torch.float64)


def score_arrays(
    sr: np.ndarray,
    gt: np.ndarray | None = None,
    metrics: str | Sequence[str] | None = None,
    *,
    crop_border: int = 0,
    y_channel: bool = False,
    device: str = "cpu",
    lpips_weights: str | Path | None = None,
) -> dict[str, float]:
    """The ``score`` command's metrics for one image (against ``gt`` when given): ``{metric: value}``.

    ``metrics`` default: psnr, ssim with ``gt``; niqe, brisque, piqe without."""
    from realsr_cli.scoring import ScoreOptions, Scorer, parse_metrics

    names = parse_metrics(metrics, gt is not None)
    options = ScoreOptions(
        metrics=names, crop_border=crop_border, y_channel=y_channel, device=device, lpips_weights=lpips_weights
    )
    a = _unit(sr, "score_arrays sr").to(options.device)
    b = _unit(gt, "score_arrays gt").to(options.device) if gt is not None else None
    if b is not None and a.shape != b.shape:
        raise InputError(f"score_arrays: sr is {tuple(a.shape[1:])} (C, H, W) but gt is {tuple(b.shape[1:])}")
    row = Scorer(options).score_tensors(a, b, {})
    return {k: float(v) for k, v in row.items()}
