"""``upscale --denoise auto``: the restoration strength of the built-in models chosen per photo.

The shipped default models have two ends (:mod:`realsr_cli.models.interpolation`): the mild end, trained on clean
and mildly degraded photos (``default-mild``), and the strong end, trained on Real-ESRGAN's second-order
degradations (``realesrgan``). Which one suits a photo depends on how degraded it is; a fixed ``--denoise`` costs
2.5-4.7 dB at 1 on clean photos and leaves 1.2-1.5 dB on the table at 0 on heavily degraded ones (the model card).

A small CNN (:class:`DegradationEstimator`, 38k parameters) reads 64x64 tiles of the low-resolution photo and
gives the log-odds that they come from the strong end's training distribution rather than the mild end's, the
blind-degradation classification of Wang et al., "Unsupervised Degradation Representation Learning for Blind
Super-Resolution" (DASR, CVPR 2021) reduced to the two distributions the knob spans. The photo's probability ``p``
(the mean log-odds of up to :data:`MAX_TILES` tiles on a grid) becomes a strength through a per-model ramp
``clip((p - start) / (end - start), 0, 1)`` fitted to maximise PSNR-Y on calibration crops of the training photos
(``benchmarks/demo/strength_estimator.py``, ``make strength-estimator``); ``default-gan`` has none (its LPIPS-fitted
ramp did not carry over from the crops to whole photos). The estimator, its ramps and a summary of their
calibration are one file, ``realsr_cli/models/default/strength_estimator.pt``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from realsr_cli.errors import InputError

ESTIMATOR_FILE = "strength_estimator.pt"
FORMAT = "realsr-strength-estimator"
TILE = 64
MAX_TILES = 64


class DegradationEstimator(nn.Module):
    """Tiles (N, 3, h, w) in [0, 1] -> (N,) log-odds of the strong end's degradations. A high-pass input (the tile
    minus its 3x3 box blur, scaled) beside the tile itself, four convolutions, mean and std pooling."""

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        act = nn.LeakyReLU(0.2)
        self.body = nn.Sequential(
            nn.Conv2d(6, width, 3, padding=1), act,
            nn.Conv2d(width, width, 3, stride=2, padding=1), act,
            nn.Conv2d(width, width * 2, 3, stride=2, padding=1), act,
            nn.Conv2d(width * 2, width * 2, 3, padding=1), act,
        )  # fmt: skip
        self.head = nn.Linear(width * 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        detail = (x - nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)) * 8.0
        f = self.body(torch.cat([x - 0.5, detail], dim=1))
        pooled = torch.cat([f.mean(dim=(2, 3)), f.flatten(2).std(dim=2)], dim=1)
        return self.head(pooled).squeeze(1)


@dataclass(frozen=True)
class Ramp:
    """Strength ``clip((p - start) / (end - start), 0, 1)`` for probability ``p``."""

    start: float
    end: float

    def __call__(self, p: float) -> float:
        return float(np.clip((p - self.start) / max(self.end - self.start, 1e-6), 0.0, 1.0))


def tiles_of(pixels: np.ndarray, tile: int = TILE, max_tiles: int = MAX_TILES) -> torch.Tensor:
    """Up to ``max_tiles`` non-overlapping ``tile``-px tiles on an even grid of an (H, W[, C]) uint8/uint16/float
    gray, gray+alpha, RGB or RGBA image (colour only), as (N, 3, tile, tile) float32 in [0, 1]; an image smaller
    than a tile is one reflect-padded tile."""
    from realsr_cli.io.images import to_float

    x = to_float(np.asarray(pixels))
    x = x[..., None] if x.ndim == 2 else x
    x = np.repeat(x[..., :1], 3, axis=2) if x.shape[2] in (1, 2) else x[..., :3]  # gray (+alpha) as RGB, no alpha
    h, w = x.shape[:2]
    if h < tile or w < tile:
        x = np.pad(x, ((0, max(0, tile - h)), (0, max(0, tile - w)), (0, 0)), mode="reflect")
        h, w = x.shape[:2]
    rows, cols = h // tile, w // tile
    step = max(1, int(np.ceil(np.sqrt(rows * cols / max_tiles))))
    picks = [(r, c) for r in range(0, rows, step) for c in range(0, cols, step)][:max_tiles]
    oy, ox = (h - rows * tile) // 2, (w - cols * tile) // 2
    batch = np.stack([x[oy + r * tile : oy + (r + 1) * tile, ox + c * tile : ox + (c + 1) * tile] for r, c in picks])
    return torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 3, 1, 2)))


class StrengthEstimator:
    """The shipped estimator and its ramps: ``strength(pixels, scale, base)`` is ``--denoise auto``'s value."""

    def __init__(self, net: DegradationEstimator, ramps: dict[str, Ramp], meta: dict[str, Any]) -> None:
        self.net = net.eval()
        self.ramps = ramps
        self.meta = meta

    @classmethod
    def load(cls, path: str | Path | None = None) -> StrengthEstimator:
        path = Path(path) if path is not None else default_estimator_path()
        if not path.is_file():
            raise InputError(f"{path}: the --denoise auto estimator is missing (make strength-estimator writes it)")
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
            raise InputError(f"{path}: not a strength estimator file ({type(exc).__name__})") from None
        found = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        if found != FORMAT:
            raise InputError(f"{path}: not a strength estimator file (format {found!r})")
        net = DegradationEstimator(**obj.get("arch_args", {}))
        net.load_state_dict(obj["params"])
        ramps = {key: Ramp(float(v[0]), float(v[1])) for key, v in obj["ramps"].items()}
        return cls(net, ramps, dict(obj.get("meta", {})))

    def probability(self, pixels: np.ndarray) -> float:
        """The photo's probability of the strong end's degradations (mean log-odds over its tiles)."""
        with torch.inference_mode():
            logits = self.net(tiles_of(pixels))
        return float(torch.sigmoid(logits.mean()))

    def ramp(self, scale: int, base: str) -> Ramp:
        key = f"x{scale}/{base}"
        if key not in self.ramps:
            have = ", ".join(sorted(self.ramps))
            raise InputError(f"--denoise auto has no calibration for {key} (have: {have}); give --denoise 0..1")
        return self.ramps[key]

    def strength(self, pixels: np.ndarray, scale: int, base: str) -> float:
        """``--denoise auto`` for this photo and built-in model file (``psnr`` / ``gan``), rounded to 0.05."""
        return round(self.ramp(scale, base)(self.probability(pixels)) * 20) / 20


def default_estimator_path() -> Path:
    from realsr_cli.models.specs import DEFAULT_DIR

    return DEFAULT_DIR / ESTIMATOR_FILE


def save_estimator(path: str | Path, net: DegradationEstimator, ramps: dict[str, Ramp], meta: dict[str, Any]) -> Path:
    from realsr_cli.io.atomic import atomic_write_torch

    payload = {
        "format": FORMAT,
        "arch_args": {"width": net.head.in_features // 4},
        "params": {k: v.detach().cpu().clone() for k, v in net.state_dict().items()},
        "ramps": {k: [r.start, r.end] for k, r in ramps.items()},
        "meta": meta,
    }
    return atomic_write_torch(path, payload, overwrite=True)
