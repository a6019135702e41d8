"""Pixels <-> float planes on the host: the NumPy half of :mod:`realsr_cli.io.tensors`' bridge (no torch), with
the same policy (range, channels, layout: see that module). :mod:`realsr_cli.io.tensors` builds its tensors from
:func:`to_planes`, so a tensor and a plane array of one image hold the same numbers.
"""

from __future__ import annotations

import cv2
import numpy as np

from realsr_cli.io.images import from_float, to_float

CHANNELS = ("rgb", "color", "all")


def select_channels(pixels: np.ndarray, channels: str = "rgb") -> np.ndarray:
    """(H, W[, C]) pixels with the channels the policy keeps: ``rgb``, ``color`` or ``all`` (module docstring)."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    gray = pixels.shape[2] in (1, 2)
    if channels == "rgb":
        return np.repeat(pixels[:, :, :1], 3, axis=2) if gray else pixels[:, :, :3]
    if channels == "color":
        return pixels[:, :, :1] if gray else pixels[:, :, :3]
    if channels == "all":
        return pixels
    raise ValueError(f"channels={channels!r}: expected one of {', '.join(CHANNELS)}")


def to_planes(
    pixels: np.ndarray, channels: str = "rgb", dtype: np.dtype | type = np.float32, batch: bool = True
) -> np.ndarray:
    """(H, W[, C]) pixels -> contiguous (1, C, H, W) (``batch=False``: (C, H, W)) floats in [0, 1]."""
    unit = to_float(select_channels(pixels, channels), dtype)
    planes = np.ascontiguousarray(unit.transpose(2, 0, 1))
    return planes[None] if batch else planes


def planes_to_pixels(planes: np.ndarray, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """(C, H, W) float32 planes in [0, 1] -> (H, W, C) integers: ``from_float``'s numbers (x * peak in float32,
    rounded half to even, saturated) by OpenCV's ``multiply`` per plane and ``merge``, one pass over the floats:
    a 16 MP x4 output converts in 0.05 s instead of 0.4 s. NaN becomes 0, as in ``from_float``."""
    np_dtype = np.dtype(dtype)
    if np_dtype not in (np.dtype(np.uint8), np.dtype(np.uint16)):
        raise ValueError(f"to_pixels: uint8 or uint16, not {np_dtype}")
    peak, depth = (65535.0, cv2.CV_16U) if np_dtype == np.uint16 else (255.0, cv2.CV_8U)
    ints = []
    for plane in planes:
        plane = np.ascontiguousarray(plane, np.float32)
        if np.isnan(plane).any():
            plane = np.nan_to_num(plane, nan=0.0)
        if plane.size < 64:  # OpenCV's bindings read a 1x1 array as a Scalar: NumPy for tiny planes
            ints.append(from_float(plane, np_dtype))
        else:
            ints.append(cv2.multiply(plane, peak, dtype=depth))
    return cv2.merge(ints) if len(ints) > 1 else ints[0][:, :, None]
