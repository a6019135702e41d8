"""One blur kernel per camera (default) or per photo, each from K KernelGAN restarts, with its stability.

* camera (default): K restarts of :func:`kernelgan.estimate_camera_kernels` trained in one batch, every (G, D) on
  crops of all the camera's photos; the camera kernel is the robust aggregate of the restarts
  (:mod:`realsr_cli.learn.kernel_aggregate`), their scatter its stability. One estimate per camera instead of one
  per photo is also what makes ``learn-degradation`` fast.
* per photo (Ji et al., CVPRW 2020, the NTIRE 2020 winner's way): K restarts per photo, aggregated per photo; the
  camera kernel is then the robust aggregate of the photos' kernels.

Restarts are aggregated at x2 (the kernel KernelGAN estimates); x4 is the analytic kernel of the aggregate, so the
written x2/x4 pair stays consistent as in the original.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from realsr_cli.learn import kernel_aggregate, kernel_io
from realsr_cli.learn.kernelgan import (
    KernelEstimate,
    KernelGANConfig,
    analytic_kernel,
    estimate_camera_kernels,
    estimate_kernels,
)
from realsr_cli.seeding import item_rng

CAMERA_RESTARTS = 6
PHOTO_RESTARTS = 3


@dataclass
class KernelResult:
    """A kernel (x2 and its analytic x4) aggregated from several estimates, and the estimates themselves."""

    kernel_x2: np.ndarray
    kernel_x4: np.ndarray
    aggregate: kernel_aggregate.Aggregate
    estimates: list[KernelEstimate]
    seconds: float

    def report(self) -> dict:
        """report.json fields: the kernel's statistics, per-estimate statistics, spread and reliability."""
        per: list[dict[str, Any]] = []
        for est, keep, dist in zip(self.estimates, self.aggregate.inliers, self.aggregate.distances, strict=True):
            per.append(
                {
                    "x2": kernel_io.kernel_stats(est.kernel_x2),
                    "x4": kernel_io.kernel_stats(est.kernel_x4),
                    "edge_mass": round(est.edge_mass, 5),
                    "inlier": bool(keep),
                    "l2_to_kernel_x2": round(dist, 5),
                }
            )
        return {
            "x2": kernel_io.kernel_stats(self.kernel_x2),
            "x4": kernel_io.kernel_stats(self.kernel_x4),
            "estimates": per,
            "spread": {
                "x2": kernel_aggregate.spread([p["x2"] for p in per], self.aggregate.inliers),
                "x4": kernel_aggregate.spread([p["x4"] for p in per], self.aggregate.inliers),
            },
            "reliable": self.aggregate.reliable,
            "reasons": self.aggregate.reasons,
            "seconds": round(self.seconds, 3),
        }


def combine(estimates: list[KernelEstimate], seconds: float) -> KernelResult:
    """Robust x2 aggregate of the estimates and its analytic x4 kernel."""
    agg = kernel_aggregate.aggregate(
        [e.kernel_x2 for e in estimates], [e.edge_mass for e in estimates], min_size=estimates[0].raw.shape[0]
    )
    return KernelResult(agg.kernel, analytic_kernel(agg.kernel), agg, estimates, seconds)


def restart_rngs(seed: int, key: str, restarts: int) -> list[np.random.Generator]:
    """Restart 0 draws from ``item_rng(seed, "kernelgan", key)`` (the single-run stream), restart r > 0 its own."""
    return [
        item_rng(seed, "kernelgan", key) if r == 0 else item_rng(seed, "kernelgan", key, r) for r in range(restarts)
    ]


def camera_kernel(
    images: list[np.ndarray],
    seed: int,
    restarts: int = CAMERA_RESTARTS,
    config: KernelGANConfig | None = None,
    device: torch.device | str = "cpu",
    progress: Callable[[int], None] | None = None,
) -> KernelResult:
    """K restarts of the camera-level KernelGAN on all ``images`` (``prepare_image`` arrays), aggregated."""
    rngs = restart_rngs(seed, "__camera__", max(1, restarts))
    estimates = estimate_camera_kernels(images, rngs, config, device, progress)
    return combine(estimates, sum(e.seconds for e in estimates))


def photo_kernels(
    named: list[tuple[str, np.ndarray]],
    seed: int,
    restarts: int = PHOTO_RESTARTS,
    batch: int = 8,
    config: KernelGANConfig | None = None,
    device: torch.device | str = "cpu",
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, KernelResult]:
    """K restarts per photo, trained ``batch`` (G, D) pairs at a time; ``progress(chunk, iteration)``."""
    restarts = max(1, restarts)
    jobs = [(name, image, rng) for name, image in named for rng in restart_rngs(seed, name, restarts)]
    size = max(1, batch)
    found: dict[str, list[KernelEstimate]] = {name: [] for name, _ in named}
    for n, start in enumerate(range(0, len(jobs), size)):
        chunk = jobs[start : start + size]
        update = None if progress is None else (lambda i, n=n: progress(n, i))
        for (name, _, _), est in zip(chunk, _estimate_chunk(chunk, config, device, update), strict=True):
            found[name].append(est)
    return {name: combine(ests, sum(e.seconds for e in ests)) for name, ests in found.items()}


def _estimate_chunk(chunk, config, device, update) -> list[KernelEstimate]:
    return estimate_kernels([im for _, im, _ in chunk], [rng for _, _, rng in chunk], config, device, update)


def camera_from_photos(results: dict[str, KernelResult]) -> KernelResult:
    """The camera kernel as the robust aggregate of per-photo kernels (each photo one estimate)."""
    photos = list(results.values())
    pseudo = [
        KernelEstimate(r.kernel_x2, r.kernel_x4, r.estimates[0].raw, r.seconds, r.estimates[0].iters, _edge(r))
        for r in photos
    ]
    return combine(pseudo, sum(r.seconds for r in photos))


def _edge(result: KernelResult) -> float:
    return float(np.median([e.edge_mass for e in result.estimates]))
