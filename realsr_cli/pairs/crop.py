"""Cropping HR/LR images into aligned training patches.

The HR image is first cropped to a multiple of the scale ``s`` (top-left anchored, as BasicSR's
``mod_crop``), so that its LR counterpart is exactly ``1/s`` of it. Patches follow BasicSR's
``scripts/data_preparation/extract_subimages.py`` grid (positions ``0, stride, 2*stride, ...``), with the
border handled by ``shift`` (one extra patch flush with the right/bottom edge, so the whole image is
covered) or ``drop`` (the remainder is discarded). Every HR box corner is a multiple of ``s``, so the LR
box is exactly the HR box divided by ``s``. Near-flat patches (mean per-channel variance of the HR patch in
[0, 1] units below a threshold) can be skipped, as flat sky or walls teach a SR model nothing.

Reference: X. Wang et al., BasicSR (https://github.com/XPixelGroup/BasicSR), ``extract_subimages.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realsr_cli.errors import InputError

BORDER_MODES = ("shift", "drop")


@dataclass(frozen=True)
class Box:
    """A rectangle ``(top, left, height, width)`` in pixels."""

    top: int
    left: int
    height: int
    width: int

    def scaled_down(self, scale: int) -> Box:
        """The same region in an image ``scale`` times smaller (corners must be multiples of ``scale``)."""
        if any(v % scale for v in (self.top, self.left, self.height, self.width)):
            raise ValueError(f"{self} is not aligned to the scale {scale}")
        return Box(self.top // scale, self.left // scale, self.height // scale, self.width // scale)

    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.top + self.height), slice(self.left, self.left + self.width)

    def as_list(self) -> list[int]:
        return [self.top, self.left, self.height, self.width]

    @classmethod
    def from_list(cls, values: list[int]) -> Box:
        top, left, height, width = (int(v) for v in values)
        return cls(top, left, height, width)


def multiple_of_scale_box(height: int, width: int, scale: int) -> Box:
    """The largest top-left box whose sides are multiples of ``scale`` (BasicSR ``mod_crop``)."""
    h, w = height - height % scale, width - width % scale
    if h == 0 or w == 0:
        raise InputError(f"image of {width}x{height} pixels is smaller than the scale {scale}")
    return Box(0, 0, h, w)


def _positions(length: int, patch: int, stride: int, border: str) -> list[int]:
    starts = list(range(0, length - patch + 1, stride))
    if border == "shift" and starts and starts[-1] + patch < length:
        starts.append(length - patch)
    return starts


def patch_boxes(height: int, width: int, patch: int, stride: int, scale: int, border: str = "shift") -> list[Box]:
    """HR patch boxes (row-major) of ``patch`` pixels every ``stride`` pixels; ``patch == 0``: the whole image.

    ``height``/``width`` must already be multiples of ``scale``; ``patch`` and ``stride`` must be too.
    """
    if border not in BORDER_MODES:
        raise InputError(f"--border {border}: expected one of {', '.join(BORDER_MODES)}")
    if height % scale or width % scale:
        raise ValueError(f"{width}x{height} is not a multiple of the scale {scale}")
    if patch == 0:
        return [Box(0, 0, height, width)]
    if height < patch or width < patch:
        raise InputError(f"image of {width}x{height} pixels (after cropping) is smaller than --patch-size {patch}")
    rows = _positions(height, patch, stride, border)
    cols = _positions(width, patch, stride, border)
    return [Box(top, left, patch, patch) for top in rows for left in cols]


def check_patch_options(patch: int, stride: int, scale: int) -> int:
    """Validate ``--patch-size``/``--stride`` against the scale; return the effective stride."""
    if patch < 0:
        raise InputError(f"--patch-size {patch}: must be 0 (whole images) or positive")
    if patch == 0:
        return 0
    if patch % scale:
        raise InputError(f"--patch-size {patch}: must be a multiple of the scale {scale} (LR patch = HR patch / s)")
    stride = patch if stride <= 0 else stride
    if stride % scale:
        raise InputError(f"--stride {stride}: must be a multiple of the scale {scale} so LR patches align")
    return stride


def patch_variance(hr: np.ndarray) -> float:
    """Mean over channels of the pixel variance of an (H, W, C) float patch in [0, 1]."""
    return float(hr.reshape(-1, hr.shape[-1]).var(axis=0).mean())


def is_flat(hr: np.ndarray, min_variance: float) -> bool:
    """True when the patch's variance is below ``min_variance`` (0 disables the test)."""
    return min_variance > 0 and patch_variance(hr) < min_variance
