"""KernelGAN's resolution floor, and the range of blurs an estimate at that floor leaves open.

KernelGAN (Bell-Kligler et al., "Blind Super-Resolution Kernel Estimation using an Internal-GAN", NeurIPS 2019)
cannot tell blurs narrower than about 0.75-0.8 LR pixels apart: on synthetic cameras with a known narrow blur, every
x4 estimate, of this tool and of the official code alike, comes out at 2.9-3.1 HR pixels whatever the truth below
that (``python -m benchmarks camera_kernel``: `iso-narrow`, true sigma 1.86 -> 3.06; the minor axis of `aniso`,
1.66 -> 2.86; ``kernelgan-fidelity``: the original +1.47 px on `iso-narrow`). An axis at the floor is therefore an
upper bound on the camera's blur, not a measurement of it, and pairs made with it alone teach a network to sharpen
more than the camera blurs (a loss against plain bicubic on sharp cameras).

``make-pairs --kernel-floor range`` draws, for each image, a width between the ideal downscaling
kernel's (MATLAB bicubic, the sharpest a camera's (I * k)↓s can be) and the estimate's, uniformly, on the axes at
the floor: the estimate's own shape shrunk by an affine map about its aligned centre, so its orientation and the
axes above the floor are kept. ``--kernel-floor match`` (the default when the kernel folder holds the camera's
spectrum, ``spectrum.json``) first chooses where in that range the camera lies, by matching the pairs' LR spectrum
to the camera photos' (:mod:`realsr_cli.pairs.spectral_match`), and draws within 0.1 of it. ``--kernel-floor off``
uses the estimate as it is (the NTIRE 2020 winner's way).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import ndimage

FLOOR_LR_PX = 0.8  # sigma (LR pixels) at or below which an estimated kernel's axis is not resolved
KERNEL_FLOOR_MODES = ("match", "range", "off")


@lru_cache(maxsize=8)
def bicubic_sigma(scale: int) -> float:
    """Standard deviation (HR pixels) of MATLAB's antialiased bicubic kernel for x``scale`` downscaling, measured as
    every kernel here is (``principal_axes``: negative lobes clipped; the full kernel's second moment is 0)."""
    from realsr_cli.degradations.resize import cubic

    x = np.linspace(-2.0 * scale, 2.0 * scale, 8001)
    w = np.clip(cubic(x / scale), 0, None)
    return float(math.sqrt((w * x**2).sum() / w.sum()))


def principal_axes(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sigmas, axes) of a kernel's second moments in (row, col) coordinates: ``axes[:, i]`` has ``sigmas[i]``."""
    k = np.clip(np.asarray(kernel, dtype=np.float64), 0, None)
    k = k / (k.sum() or 1.0)
    rr, cc = np.mgrid[0 : k.shape[0], 0 : k.shape[1]].astype(np.float64)
    r, c = rr - (k * rr).sum(), cc - (k * cc).sum()
    cov = np.array([[(k * r * r).sum(), (k * r * c).sum()], [(k * r * c).sum(), (k * c * c).sum()]])
    evals, evecs = np.linalg.eigh(cov)
    return np.sqrt(np.clip(evals, 0, None)), evecs


def floor_factors(kernel: np.ndarray, scale: int, draw: float) -> np.ndarray | None:
    """Per principal axis, the factor that moves an unresolved axis's sigma ``draw`` (0..1) of the way from the
    estimate's down to the bicubic kernel's; None when no axis is at the floor (the estimate is a measurement)."""
    return _factors(principal_axes(kernel)[0], scale, draw)


def _factors(sigmas: np.ndarray, scale: int, draw: float) -> np.ndarray | None:
    floor, sharpest = FLOOR_LR_PX * scale, bicubic_sigma(scale)
    unresolved = (sigmas <= floor) & (sigmas > sharpest)
    if not unresolved.any():
        return None
    target = np.where(unresolved, sigmas - draw * (sigmas - sharpest), sigmas)
    return target / np.maximum(sigmas, 1e-12)


def is_unresolved(kernel: np.ndarray, scale: int) -> bool:
    """True when at least one axis of the kernel is at KernelGAN's floor (and wider than bicubic)."""
    return floor_factors(kernel, scale, 1.0) is not None


def shrink_to_range(kernel: np.ndarray, scale: int, draw: float) -> np.ndarray:
    """The kernel with its unresolved axes narrowed ``draw`` (0 = the estimate, 1 = bicubic's width) of the way,
    by an affine map about its centre of mass (linear interpolation: non-negative), then re-centred on the
    x``scale``-aligned centre (``kernel_centre.recentre``). Returned unchanged when no axis is at the floor."""
    from realsr_cli.degradations.kernel_centre import centre_of_mass, recentre

    k = np.asarray(kernel, dtype=np.float64)
    sigmas, axes = principal_axes(k)
    factors = _factors(sigmas, scale, float(draw))
    if factors is None:
        return kernel
    inverse = axes @ np.diag(1.0 / factors) @ axes.T  # output offset -> input offset
    centre = centre_of_mass(np.clip(k, 0, None))
    out = ndimage.affine_transform(k, inverse, offset=centre - inverse @ centre, order=1, mode="constant")
    out = np.clip(out, 0, None)
    return recentre(out / out.sum(), scale, order=1, min_size=k.shape[0])
