"""Camera ISP stages after the sensor: denoising, then unsharp-mask sharpening (and the halos it leaves at edges).

A phone or compact camera does not hand out its sensor's blur + noise: its image signal processor denoises, then
sharpens, then JPEG-compresses (the stages of Karaimer & Brown, "A Software Platform for Manipulating the Camera
Imaging Pipeline", ECCV 2016). Denoising flattens fine texture and leaves low-frequency "blotchy" residual noise;
sharpening overshoots on both sides of every edge (light and dark halos). Pure blur + noise models have neither.

- ``denoise`` — ``method: bilateral`` (Tomasi & Manduchi, "Bilateral Filtering for Gray and Color Images",
  ICCV 1998; ``cv2.bilateralFilter`` on float32, ``sigma_color`` on the 0-255 scale, ``sigma_space`` and
  ``diameter`` in pixels), ``nlm`` (non-local means, Buades, Coll & Morel, CVPR 2005;
  ``cv2.fastNlMeansDenoisingColored`` on the 8-bit image, filter strengths ``h`` / ``h_color`` on the 0-255 scale,
  7-px template, 21-px search window) or ``gaussian`` (``sigma`` px).
- ``sharpen`` — the unsharp mask ``y = x + amount * (x - G_radius * x)`` wherever ``|x - G_radius * x|`` exceeds
  ``threshold`` (0-255 scale), with ``G_radius`` a Gaussian of std ``radius`` px (the radius / amount / threshold
  of GIMP's and Photoshop's "Unsharp Mask"); clipped to [0, 1].

``sample_isp`` draws a step's values (through the pipeline's ``draw``) into a self-contained op dict;
``apply_isp`` applies it deterministically to (B,C,H,W) tensors in [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import torch

from realsr_cli.degradations.kernels import blur, gaussian_kernel
from realsr_cli.errors import PresetError

ISP_OPS = ("denoise", "sharpen")
DENOISE_METHODS = ("bilateral", "nlm", "gaussian")


def _per_image(x: torch.Tensor, fn: Callable[[np.ndarray], np.ndarray]) -> torch.Tensor:
    """Apply ``fn`` to every (H, W, C) float32 image of a (B,C,H,W) tensor on the CPU; back on x's device."""
    arrays = x.detach().to("cpu", torch.float32).permute(0, 2, 3, 1).numpy()
    out = np.stack([fn(np.ascontiguousarray(a)) for a in arrays])
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(device=x.device, dtype=x.dtype)


def _per_plane(img: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``fn`` on the whole image when it has 1 or 3 channels, else on each channel alone."""
    if img.shape[2] in (1, 3):
        return fn(img).reshape(img.shape)
    return np.stack([fn(img[..., c : c + 1]).reshape(img.shape[:2]) for c in range(img.shape[2])], axis=2)


def bilateral(x: torch.Tensor, sigma_color: float, sigma_space: float, diameter: int) -> torch.Tensor:
    """Edge-preserving bilateral filter (Tomasi & Manduchi 1998); ``sigma_color`` on the 0-255 scale."""

    def run(img: np.ndarray) -> np.ndarray:
        return cv2.bilateralFilter(img, int(diameter), float(sigma_color) / 255.0, float(sigma_space))

    return _per_image(x, lambda img: np.clip(_per_plane(img, run), 0, 1))


def nlm(x: torch.Tensor, h: float, h_color: float) -> torch.Tensor:
    """Non-local means (Buades et al. 2005) on the 8-bit image (OpenCV's fast NLM; colour in CIELAB)."""

    def run(img: np.ndarray) -> np.ndarray:
        u8 = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
        if img.shape[2] == 3:
            bgr = np.ascontiguousarray(u8[..., ::-1])
            out = cv2.fastNlMeansDenoisingColored(bgr, None, float(h), float(h_color), 7, 21)[..., ::-1]
        else:
            out = cv2.fastNlMeansDenoising(np.ascontiguousarray(u8[..., 0]), None, float(h), 7, 21)
        return np.ascontiguousarray(out).astype(np.float32) / 255.0

    return _per_image(x, lambda img: _per_plane(img, run))


def _gaussian(radius: float) -> np.ndarray:
    return gaussian_kernel(2 * math.ceil(3.0 * float(radius)) + 1, float(radius))


def unsharp_mask(x: torch.Tensor, radius: float, amount: float, threshold: float = 0.0) -> torch.Tensor:
    """``x + amount * (x - G_radius * x)`` where the detail exceeds ``threshold`` (0-255 scale); clipped."""
    detail = x - blur(x, _gaussian(radius))
    if threshold > 0:
        detail = detail * (detail.abs() >= float(threshold) / 255.0).to(detail.dtype)
    return (x + float(amount) * detail).clamp(0, 1)


def _bilateral_diameter(sigma_space: float) -> int:
    return 2 * math.ceil(2.0 * float(sigma_space)) + 1


def sample_isp(step: dict[str, Any], value: Callable[[Any], Any], name: str) -> dict[str, Any]:
    """One ISP step's op dict, every value drawn by ``value`` (the pipeline's ``draw`` bound to its rng)."""
    if step["op"] == "sharpen":
        return {
            "op": "sharpen",
            "radius": float(value(step.get("radius", 1.0))),
            "amount": float(value(step.get("amount", 0.5))),
            "threshold": float(value(step.get("threshold", 0.0))),
        }
    method = value(step.get("method", "bilateral"))
    if method not in DENOISE_METHODS:
        raise PresetError(f"preset '{name}': unknown denoise method {method!r} (have: {', '.join(DENOISE_METHODS)})")
    if method == "bilateral":
        sigma_space = float(value(step.get("sigma_space", 1.5)))
        diameter = int(value(step.get("diameter", _bilateral_diameter(sigma_space))))
        return {
            "op": "denoise",
            "method": method,
            "sigma_color": float(value(step.get("sigma_color", 20.0))),
            "sigma_space": sigma_space,
            "diameter": diameter,
        }
    if method == "nlm":
        h = float(value(step.get("h", 10.0)))
        return {"op": "denoise", "method": method, "h": h, "h_color": float(value(step.get("h_color", h)))}
    return {"op": "denoise", "method": method, "sigma": float(value(step.get("sigma", 1.0)))}


def apply_isp(x: torch.Tensor, op: dict[str, Any]) -> torch.Tensor:
    """Apply a recorded ``denoise`` or ``sharpen`` op to (B,C,H,W) images in [0, 1]."""
    if op["op"] == "sharpen":
        return unsharp_mask(x, op["radius"], op["amount"], op.get("threshold", 0.0))
    method = op["method"]
    if method == "bilateral":
        return bilateral(x, op["sigma_color"], op["sigma_space"], op["diameter"])
    if method == "nlm":
        return nlm(x, op["h"], op["h_color"])
    if method == "gaussian":
        return blur(x, _gaussian(op["sigma"])).clamp(0, 1)
    raise PresetError(f"unknown denoise method {method!r}")
