"""Kernel error against the truth, and its spread over seeds, for the fidelity benchmark.

Each x4 estimate is first put on the x4-aligned centre when it is off by more than 0.05 px (a linear shift on a
larger support, nothing cut: what ``make-pairs`` does with a loaded kernel), then scored by
:func:`benchmarks.bench_camera_kernel.errors`: L2 to the truth on a common support, the widths' and angle's errors.
The centre error before that shift is kept (``centre_before``, HR px).
"""

from __future__ import annotations

import itertools

import numpy as np

from benchmarks.bench_camera_kernel import errors
from realsr_cli.degradations import kernel_centre
from realsr_cli.learn import kernel_io
from realsr_cli.learn.kernel_aggregate import ANISOTROPY_FOR_ANGLE, common_support


def centred(kernel: np.ndarray) -> np.ndarray:
    """The x4 kernel on its aligned centre (unchanged when within the 0.05 px tolerance)."""
    return kernel if kernel_centre.is_centred(kernel, 4) else kernel_centre.recentre(kernel, 4, order=1)


def run_errors(kernel: np.ndarray, truth: np.ndarray) -> dict:
    """One estimate's errors: l2, major, minor (signed, px), angle (deg), centre (after), centre_before."""
    before = float(np.abs(kernel_centre.centre_offset(kernel, 4)).max())
    return {**errors(centred(kernel), truth), "centre_before": before}


def spread(values: list[float]) -> dict:
    """mean, std (population: 0 for one value), min and max."""
    v = np.asarray(values, np.float64)
    return {"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()), "max": float(v.max())}


def seed_distance(kernels: list[np.ndarray]) -> float:
    """Mean L2 between the centred estimates of different seeds (0 for one seed): how much a rerun moves it."""
    stack = common_support([centred(k) for k in kernels])
    pairs = list(itertools.combinations(range(len(stack)), 2))
    return float(np.mean([np.linalg.norm(stack[a] - stack[b]) for a, b in pairs])) if pairs else 0.0


def angle_defined(stats: dict) -> bool:
    """A kernel's angle means something (``kernel_io.kernel_stats``: major >= 1.15 x minor)."""
    return stats["sigma_major"] >= ANISOTROPY_FOR_ANGLE * stats["sigma_minor"]


def summarise(kernels: list[np.ndarray], seconds: list[float], truth: np.ndarray) -> dict:
    """One tool on one photo over its seeds: per-seed errors, their spreads, the seed distance, s/run."""
    per_seed = [run_errors(k, truth) for k in kernels]
    out = {
        "per_seed": per_seed,
        "l2": spread([e["l2"] for e in per_seed]),
        "abs_major": spread([abs(e["major"]) for e in per_seed]),
        "abs_minor": spread([abs(e["minor"]) for e in per_seed]),
        "sigma_major": spread([kernel_io.kernel_stats(centred(k))["sigma_major"] for k in kernels]),
        "seed_l2": seed_distance(kernels),
        "centre_before_max": max(e["centre_before"] for e in per_seed),
        "seconds": spread(seconds),
    }
    out["angle"] = spread([e["angle"] for e in per_seed]) if angle_defined(kernel_io.kernel_stats(truth)) else None
    return out


def totals(photos: list[dict]) -> dict:
    """Over all photos (``summarise`` results): mean L2 of all runs, mean seed std, mean s/run."""
    return {
        "l2_mean": float(np.mean([e["l2"] for p in photos for e in p["per_seed"]])),
        "l2_seed_std_mean": float(np.mean([p["l2"]["std"] for p in photos])),
        "seed_l2_mean": float(np.mean([p["seed_l2"] for p in photos])),
        "centre_before_max": max(p["centre_before_max"] for p in photos),
        "seconds_per_run": float(np.mean([p["seconds"]["mean"] for p in photos])),
    }
