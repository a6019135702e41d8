"""Pairs as sharp as the camera's photos: the kernel floor's width and the ISP's sharpening, by frequency matching.

Two things set how much fine detail a camera's photos hold that KernelGAN cannot measure:

* **a blur below KernelGAN's floor** (:mod:`realsr_cli.degradations.kernel_floor`): an estimated axis at the floor
  (about 0.8 LR px) is only an upper bound, anywhere between bicubic's width and the estimate's;
* **the ISP's sharpening**: phones and action cameras unsharp-mask their photos before JPEG (overshoot at edges),
  which no blur kernel makes.

Both are chosen by matching spectra (:mod:`realsr_cli.degradations.spectrum`, after Ji et al.'s Frequency
Consistent Adaptation, AAAI 2021): up to ``MATCH_IMAGES`` of make-pairs' own HR images (central crops) go through
the pairs' whole chain (kernel at a candidate width, unsharp mask at a candidate amount, then the pair's noise and
JPEG, so like is compared with like), and the candidate whose LR spectrum is nearest the camera photos'
(``kernels/spectrum.json``, written by ``learn-degradation``) wins. First the floor amount (``--kernel-floor
match``; pairs then draw within ``BAND`` of it); then, only when the photos hold clearly more fine detail than those
pairs (``SHARPER_THAN_PAIRS``), an unsharp-mask amount (``--sharpen auto``; radius ``SHARPEN_RADIUS`` LR px, the
usual camera setting), applied to every image's LR before its noise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from realsr_cli.degradations import spectrum
from realsr_cli.degradations.isp import unsharp_mask
from realsr_cli.degradations.kernel_floor import principal_axes, shrink_to_range
from realsr_cli.learn.noise_model import gray_255

FLOOR_CANDIDATES = tuple(float(v) for v in np.linspace(0.0, 1.0, 6))  # 0 = the estimate, 1 = bicubic's width
SHARPEN_CANDIDATES = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)  # unsharp-mask amounts
SHARPEN_RADIUS = 1.0  # LR pixels
BAND = 0.1  # pairs draw their floor amount within +-BAND of the matched one
MATCH_IMAGES = 16
MATCH_CROP = 1024  # HR pixels: each HR image's central crop (a 256-px LR at x4: 16 tiles)
SHARPER_THAN_PAIRS = 0.1  # mean log10 excess of the photos' compared bands over the pairs': the camera sharpens


class MatchableMode(Protocol):
    """What matching needs of the kernel + noise mode (``realsr_cli.pairs.modes.KernelNoiseMode``)."""

    scale: int
    degradation: Any

    def sample_pair(self, rng: np.random.Generator, lr: torch.Tensor) -> dict[str, Any] | None: ...

    def degrade_pair(self, lr: torch.Tensor, params: dict[str, Any] | None) -> torch.Tensor: ...


@dataclass
class SpectralMatch:
    """What was matched (floor amount and band, sharpening amount) and the evidence (distance per candidate)."""

    images: int
    floor: float | None = None  # None: no axis at the floor (or not matched)
    band: tuple[float, float] | None = None
    floor_distances: dict[float, float] | None = None
    sigmas: list[float] | None = None  # the matched kernel's principal sigmas (HR px), of the first kernel file
    excess: float = 0.0  # the photos' mean log10 excess over the matched pairs in the compared bands
    sharpen: float | None = None  # None: not matched (off, or the photos are not sharper than the pairs)
    sharpen_distances: dict[float, float] | None = None
    camera_tiles: int | None = None  # the 64-px tiles the camera spectrum was measured on (spectrum.json)

    def as_dict(self) -> dict[str, Any]:
        rounded = lambda d: None if d is None else {f"{k:.2f}": round(v, 4) for k, v in d.items()}  # noqa: E731
        return {
            "images": self.images,
            "floor": None if self.floor is None else round(self.floor, 4),
            "band": None if self.band is None else [round(v, 4) for v in self.band],
            "floor_distances": rounded(self.floor_distances),
            "sigmas": None if self.sigmas is None else [round(v, 3) for v in self.sigmas],
            "excess": round(self.excess, 4),
            "sharpen": None if self.sharpen is None else round(self.sharpen, 3),
            "sharpen_radius": SHARPEN_RADIUS,
            "sharpen_distances": rounded(self.sharpen_distances),
            "camera_tiles": self.camera_tiles,
            "uncertain": self.uncertain,
        }

    @property
    def uncertain(self) -> bool:
        """The camera spectrum rests on too few tiles (``spectrum.FEW_TILES``) for a steady match."""
        return self.camera_tiles is not None and self.camera_tiles < spectrum.FEW_TILES

    def summary(self) -> str:
        parts = []
        if self.floor is not None and self.floor_distances and self.sigmas and self.band:
            parts.append(
                f"kernel floor amount {self.floor:.2f} (sigmas {' x '.join(f'{s:.2f}' for s in self.sigmas)} HR px, "
                f"spectral distance {min(self.floor_distances.values()):.3f}; pairs draw {self.band[0]:.2f}-"
                f"{self.band[1]:.2f})"
            )
        if self.sharpen is not None and self.sharpen_distances:
            parts.append(
                f"the photos hold more fine detail than the pairs (excess {self.excess:.2f}): the camera sharpens; "
                f"unsharp mask amount {self.sharpen:.2f}, radius {SHARPEN_RADIUS:g} px "
                f"(distance {min(self.sharpen_distances.values()):.3f})"
            )
        if self.uncertain:
            parts.append(
                f"uncertain: the camera spectrum rests on {self.camera_tiles} tiles of 64 px only "
                "(more or larger photos steady it)"
            )
        return f"matched to the camera's spectrum on {self.images} HR images: " + "; ".join(parts)


def central_crop(hr: torch.Tensor, size: int, scale: int) -> torch.Tensor:
    """The central ``size`` x ``size`` (or smaller) crop, a multiple of ``scale`` on each side (a copy: the whole
    image is not kept alive by it)."""
    h, w = int(hr.shape[-2]), int(hr.shape[-1])
    ch, cw = min(h, size) // scale * scale, min(w, size) // scale * scale
    top, left = (h - ch) // 2 // scale * scale, (w - cw) // 2 // scale * scale
    return hr[..., top : top + ch, left : left + cw].clone()


def simulate(mode: MatchableMode, hrs: list[torch.Tensor], floor: float | None, sharpen: float, seed: int) -> Any:
    """The spectrum signature of the pairs' LR for ``hrs``: every floor draw set to ``floor`` (None: as sampled),
    then an unsharp mask of ``sharpen`` (0: none), then the pair's noise and JPEG."""
    planes = []
    for i, hr in enumerate(hrs):
        params = mode.degradation.sample(np.random.default_rng([seed, i]), tuple(hr.shape[-2:]), mode.scale)
        for op in params.get("ops", []):
            if floor is not None and op.get("floor_draw") is not None:
                op["floor_draw"] = floor
        lr = mode.degradation.apply(hr, params).clamp(0, 1)
        if sharpen > 0:
            lr = unsharp_mask(lr, SHARPEN_RADIUS, sharpen)
        lr = mode.degrade_pair(lr, mode.sample_pair(np.random.default_rng([seed, i, 1]), lr))
        planes.append(gray_255(lr[0].permute(1, 2, 0).cpu().numpy() * 255.0))
    return spectrum.signature(planes)


def refine(xs: list[float], ys: list[float]) -> float:
    """The minimum of the parabola through the best candidate and its neighbours (the candidate at an end)."""
    i = int(np.argmin(ys))
    if i in (0, len(xs) - 1):
        return xs[i]
    (x0, x1, x2), (y0, y1, y2) = xs[i - 1 : i + 2], ys[i - 1 : i + 2]
    # the vertex of the parabola through three (possibly unevenly spaced) points
    num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
    den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
    if den == 0:
        return xs[i]
    return float(np.clip(x1 - 0.5 * num / den, x0, x2))


def _scan(camera: np.ndarray, sims: dict[float, Any]) -> dict[float, float] | None:
    if any(sim is None for sim in sims.values()):
        return None
    return {x: spectrum.distance(sim, camera) for x, sim in sims.items()}


def _excess(camera: np.ndarray, sim: np.ndarray) -> float:
    return float(np.mean((camera - sim)[spectrum.COMPARED_BANDS]))


def match_sharpness(
    mode: MatchableMode,
    camera: np.ndarray,
    hrs: list[torch.Tensor],
    *,
    floor: bool,
    sharpen: bool,
    seed: int = 0,
) -> SpectralMatch | None:
    """Match the floor amount (``floor``), then the sharpening (``sharpen``) on ``hrs`` (already cropped); None
    when no HR image gives a spectrum tile."""
    result = SpectralMatch(images=len(hrs))
    if floor:
        distances = _scan(camera, {x: simulate(mode, hrs, x, 0.0, seed) for x in FLOOR_CANDIDATES})
        if distances is None:
            return None
        result.floor = refine(list(distances), list(distances.values()))
        result.band = (max(0.0, result.floor - BAND), min(1.0, result.floor + BAND))
        result.floor_distances = distances
        files = mode.degradation.kernel_files(mode.scale)
        kernel = shrink_to_range(mode.degradation.downsample_kernel(files[0], mode.scale), mode.scale, result.floor)
        result.sigmas = sorted((float(s) for s in principal_axes(kernel)[0]), reverse=True)
    matched = simulate(mode, hrs, result.floor, 0.0, seed)
    if matched is None:
        return None
    result.excess = _excess(camera, matched)
    if sharpen and result.excess > SHARPER_THAN_PAIRS:
        sims = {a: simulate(mode, hrs, result.floor, a, seed) if a else matched for a in SHARPEN_CANDIDATES}
        result.sharpen_distances = _scan(camera, sims)
        assert result.sharpen_distances is not None  # the same crops gave tiles above
        result.sharpen = refine(list(result.sharpen_distances), list(result.sharpen_distances.values()))
    return result
