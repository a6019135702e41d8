"""Robust aggregation of several estimates of one blur kernel, and their scatter (how much to trust the result).

KernelGAN (Bell-Kligler et al., NeurIPS 2019) gives one draw of a non-convex GAN game: restarts with other seeds,
and per-photo estimates of one camera, scatter widely (sefibk/KernelGAN issues; this project's issues 13 and 19).
The estimates (centred, see :mod:`realsr_cli.degradations.kernel_centre`) are padded to a common support; the one
closest to all others (the medoid) anchors an outlier test on the distances to it (median + 3 scaled MADs,
Rousseeuw & Croux 1993), and the inliers are combined by their geometric median (Weiszfeld 1937): robust to the
remaining stragglers, and still the average of agreeing kernels. A weighted mean of aligned kernels is aligned, so
the result stays centred. The report gives the spread of widths and angles over the estimates and a verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from realsr_cli.degradations import kernel_centre

MAD_SCALE = 1.4826  # MAD -> standard deviation for Gaussian data
OUTLIER_MADS = 3.0
MAX_REL_DISPERSION = 0.35  # median ||k_i - k|| / ||k|| above this: the estimates disagree
MIN_INLIER_SHARE = 0.6
MAX_EDGE_MASS = 0.01  # KernelGAN's G placed > 1 % of the mass on its 13x13 border: the true kernel may be wider
ANISOTROPY_FOR_ANGLE = 1.15  # sigma_major / sigma_minor below this: the angle is not defined


@dataclass
class Aggregate:
    """The combined kernel and how the estimates behind it agree."""

    kernel: np.ndarray
    inliers: list[bool]
    medoid: int
    distances: list[float]  # L2 from each estimate to ``kernel``
    reasons: list[str] = field(default_factory=list)

    @property
    def reliable(self) -> bool:
        return not self.reasons


def common_support(kernels: list[np.ndarray]) -> np.ndarray:
    """(N, S, S) stack: every kernel zero-padded symmetrically to the largest odd size (alignment kept)."""
    size = max(max(k.shape) for k in kernels)
    size += 1 - size % 2
    return np.stack([kernel_centre.pad_to(k, size) for k in kernels])


def medoid(stack: np.ndarray) -> int:
    """Index of the estimate with the smallest summed L2 distance to the others."""
    flat = stack.reshape(len(stack), -1)
    dist = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
    return int(np.argmin(dist.sum(1)))


def outliers(distances: np.ndarray) -> np.ndarray:
    """True where a distance (to the medoid) exceeds the median by more than 3 scaled MADs (needs >= 3 values)."""
    if len(distances) < 3:
        return np.zeros(len(distances), bool)
    others = np.sort(distances)[1:]  # the medoid's own zero would pull the median down
    med = float(np.median(others))
    mad = float(np.median(np.abs(others - med))) * MAD_SCALE
    return distances > med + OUTLIER_MADS * max(mad, 0.05 * med)


def geometric_median(stack: np.ndarray, weights: np.ndarray | None = None, iters: int = 200) -> np.ndarray:
    """Weiszfeld's iteration for the point minimising the (weighted) sum of L2 distances to the estimates."""
    flat = stack.reshape(len(stack), -1)
    w0 = np.ones(len(flat)) if weights is None else np.asarray(weights, np.float64)
    point = (w0[:, None] * flat).sum(0) / w0.sum()
    for _ in range(iters):
        dist = np.maximum(np.linalg.norm(flat - point, axis=1), 1e-12)
        w = w0 / dist
        new = (w[:, None] * flat).sum(0) / w.sum()
        if np.linalg.norm(new - point) < 1e-10:
            point = new
            break
        point = new
    return point.reshape(stack.shape[1:])


def aggregate(kernels: list[np.ndarray], edge_masses: list[float] | None = None, min_size: int = 1) -> Aggregate:
    """The robust camera (or photo) kernel of several centred estimates; see the module docstring."""
    if not kernels:
        raise ValueError("no kernels to aggregate")
    stack = common_support(kernels)
    centre = medoid(stack)
    to_medoid = np.linalg.norm((stack - stack[centre]).reshape(len(stack), -1), axis=1)
    keep = ~outliers(to_medoid)
    combined = geometric_median(stack[keep])
    combined = kernel_centre.trim(combined / combined.sum(), min_size)
    combined = combined / combined.sum()
    padded = kernel_centre.pad_to(combined, stack.shape[-1]) if combined.shape[0] < stack.shape[-1] else combined
    distances = np.linalg.norm((stack - padded).reshape(len(stack), -1), axis=1)
    result = Aggregate(combined, keep.tolist(), centre, [float(d) for d in distances])
    result.reasons = verdict(result, float(np.linalg.norm(combined)), edge_masses or [])
    return result


def verdict(agg: Aggregate, norm: float, edge_masses: list[float]) -> list[str]:
    """Why the aggregate should not be trusted (empty: reliable)."""
    reasons = []
    n = len(agg.inliers)
    inl = [d for d, k in zip(agg.distances, agg.inliers, strict=True) if k]
    if n >= 2 and float(np.median(inl)) / max(norm, 1e-12) > MAX_REL_DISPERSION:
        reasons.append(f"estimates disagree (median L2 distance {np.median(inl) / norm:.2f} x the kernel's norm)")
    if n >= 3 and sum(agg.inliers) / n < MIN_INLIER_SHARE:
        reasons.append(f"only {sum(agg.inliers)} of {n} estimates agree")
    if edge_masses and float(np.median(edge_masses)) > MAX_EDGE_MASS:
        reasons.append(
            f"{100 * float(np.median(edge_masses)):.1f} % of the mass on the border of G's 13x13 support "
            "(the blur may be wider than KernelGAN can estimate)"
        )
    return reasons


def axial_spread(angles_deg: list[float]) -> tuple[float, float]:
    """Mean and circular standard deviation (degrees) of axial angles (theta and theta + 180 are the same axis)."""
    doubled = np.radians(2 * np.asarray(angles_deg, np.float64))
    c, s = np.cos(doubled).mean(), np.sin(doubled).mean()
    r = min(1.0, math.hypot(c, s))
    mean = math.degrees(math.atan2(s, c)) / 2 % 180
    std = math.degrees(math.sqrt(-2 * math.log(max(r, 1e-12)))) / 2
    return mean, std


def spread(stats: list[dict], inliers: list[bool] | None = None) -> dict:
    """Scatter of ``kernel_io.kernel_stats`` over estimates (inliers only when given): widths and angle."""
    chosen = [s for s, keep in zip(stats, inliers or [True] * len(stats), strict=True) if keep] or stats
    major = np.array([s["sigma_major"] for s in chosen])
    minor = np.array([s["sigma_minor"] for s in chosen])
    anis = float(np.median(major / np.maximum(minor, 1e-9)))
    mean_angle, angle_std = axial_spread([s["angle_deg"] for s in chosen])
    return {
        "estimates": len(chosen),
        "sigma_major": _range(major),
        "sigma_minor": _range(minor),
        "anisotropy_median": round(anis, 3),
        "angle_mean_deg": round(mean_angle, 2),
        "angle_std_deg": round(angle_std, 2),
        "angle_defined": anis >= ANISOTROPY_FOR_ANGLE,
    }


def _range(values: np.ndarray) -> dict:
    return {
        "median": round(float(np.median(values)), 4),
        "std": round(float(values.std()), 4),
        "min": round(float(values.min()), 4),
        "max": round(float(values.max()), 4),
    }
