"""Images <-> tensors: the one bridge between (H, W, C) pixel arrays and (B, C, H, W) float tensors.

After BasicSR's ``img2tensor`` / ``tensor2img`` (basicsr/utils/img_util.py), with one policy:

- **Range**: integer pixels are divided by their dtype's peak (uint8: 255, uint16: 65535) into [0, 1], float
  pixels are clipped to [0, 1] (:func:`realsr_cli.io.images.to_float`); back, values are clipped to [0, 1],
  scaled to the peak of the caller's integer dtype and rounded (:func:`realsr_cli.io.images.from_float`).
- **16-bit** is never quantised on the way in: give :func:`to_pixels` the source's dtype to write 16 bits back.
- **Channels** (``channels``): ``"rgb"`` (the default, what networks take): three channels, gray replicated and
  alpha dropped; ``"color"``: the colour channels as stored (1 for gray, 3 for RGB), alpha dropped (metrics);
  ``"all"``: every channel, alpha included (callers that treat alpha themselves).
- **Layout**: pixels in RGB(A) order, as :func:`realsr_cli.io.images.read_image` gives them; tensors contiguous
  (1, C, H, W), or (C, H, W) with ``batch=False``; float32 unless ``dtype`` (float64 for metrics: the division is
  done in that precision).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from realsr_cli.io.arrays import CHANNELS, planes_to_pixels, select_channels, to_planes  # noqa: F401 - re-exported
from realsr_cli.io.images import read_image

_NUMPY_FLOAT = {torch.float32: np.float32, torch.float64: np.float64}


def to_tensor(
    pixels: np.ndarray,
    channels: str = "rgb",
    *,
    dtype: torch.dtype = torch.float32,
    batch: bool = True,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """(H, W[, C]) pixels -> a (1, C, H, W) (``batch=False``: (C, H, W)) float tensor in [0, 1]."""
    x = torch.from_numpy(to_planes(pixels, channels, _NUMPY_FLOAT.get(dtype, np.float32), batch)).to(dtype)
    return x if device is None else x.to(device)


def read_tensor(
    path: str | Path,
    channels: str = "rgb",
    *,
    dtype: torch.dtype = torch.float32,
    batch: bool = True,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """An image file as :func:`to_tensor` gives it (``ImageReadError`` naming the file when it cannot be read)."""
    return to_tensor(read_image(path).pixels, channels, dtype=dtype, batch=batch, device=device)


def to_pixels(x: torch.Tensor, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """A (1, C, H, W) or (C, H, W) float tensor in [0, 1] -> (H, W, C) integer pixels of ``dtype``."""
    if x.dim() == 4:
        if x.shape[0] != 1:
            raise ValueError(f"to_pixels: one image at a time, got a batch of {x.shape[0]}")
        x = x[0]
    return planes_to_pixels(x.detach().to("cpu", torch.float32).numpy(), dtype)
