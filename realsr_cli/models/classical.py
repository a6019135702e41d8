"""Classical interpolation as parameter-free SR models: ``upscale --model bicubic|lanczos|bilinear|nearest``.

They run through the same engine as the networks (tiling, TTA, alpha, 16-bit, metadata), so the bicubic row of a
comparison table is made with ``realsr upscale`` itself:

- ``bicubic``: MATLAB ``imresize(I, s)`` (Keys cubic, a = -0.5, symmetric borders; ``resize.imresize``), the
  convention of the SR benchmarks' bicubic rows (Set5/DIV2K, NTIRE 2020 / AIM 2020 reports);
- ``lanczos``: MATLAB ``imresize(I, s, 'lanczos3')``: ``sinc(x) sinc(x / 3)`` for ``|x| < 3``, weights normalised
  to sum 1, symmetric borders. At least 3 LR pixels from the border it equals Pillow's ``Image.LANCZOS`` (Pillow
  renormalises the clipped window at the border instead of mirroring); it is not OpenCV's ``INTER_LANCZOS4``
  (8 taps);
- ``bilinear``: half-pixel-centred bilinear (PyTorch ``align_corners=False``; for upscaling the same as MATLAB's
  ``'bilinear'``, OpenCV's ``INTER_LINEAR`` and Pillow's ``BILINEAR``);
- ``nearest``: each pixel repeated ``s x s`` times.

Outputs are not clipped here (bicubic and Lanczos overshoot); the upscale engine clips to [0, 1] as MATLAB does on
8-bit images. Each model's ``context`` is its kernel radius in LR pixels: the engine gives every tile at least that
much context, so a tiled output equals the untiled one.
"""

from __future__ import annotations

import torch
from torch import nn

from realsr_cli.degradations.resize import resize
from realsr_cli.errors import InputError
from realsr_cli.models.loading import SRModel

# name -> (resize method, kernel radius in LR pixels)
INTERPOLATORS: dict[str, tuple[str, int]] = {
    "bicubic": ("matlab", 2),
    "lanczos": ("lanczos", 3),
    "bilinear": ("bilinear", 1),
    "nearest": ("nearest", 0),
}


def is_interpolator(spec: object) -> bool:
    """Whether ``spec`` names one of ``INTERPOLATORS`` (case-insensitive)."""
    return str(spec).strip().lower() in INTERPOLATORS


class InterpolationUpscaler(nn.Module):
    """``scale`` x upscaling of (B, C, H, W) float images by a fixed interpolation kernel (no parameters)."""

    def __init__(self, method: str, scale: int) -> None:
        super().__init__()
        if method not in INTERPOLATORS:
            raise ValueError(f"unknown interpolation {method!r} (expected {', '.join(INTERPOLATORS)})")
        self.method = method
        self.scale = int(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = (x.shape[-2] * self.scale, x.shape[-1] * self.scale)
        return resize(x, size, INTERPOLATORS[self.method][0])

    def extra_repr(self) -> str:
        return f"method={self.method}, scale={self.scale}"


def interpolation_model(name: str, scale: int) -> SRModel:
    """The ``SRModel`` of interpolator ``name`` at integer ``scale`` (fp32 only: it is exact, not approximate)."""
    method = str(name).strip().lower()
    if method not in INTERPOLATORS:
        raise InputError(f"{name}: not an interpolation (expected {', '.join(INTERPOLATORS)})")
    if int(scale) != scale or scale < 1:
        raise InputError(f"--model {method} -s {scale}: the scale must be a positive integer")
    module = InterpolationUpscaler(method, int(scale)).eval()
    return SRModel(
        module=module,
        scale=int(scale),
        name=method,
        arch="interpolation",
        source=f"builtin:{method}",
        half_ok=False,
        bf16_ok=False,
        context=INTERPOLATORS[method][1],
        meta={"interpolation": method},
    )
