"""The fidelity photos: one hr-train photo per known kernel, degraded as :mod:`benchmarks.bench_camera_kernel`.

Photo ``i`` is the i-th clean photo, blurred by the i-th synthetic camera's Gaussian (iso-narrow, iso-wide, aniso,
aniso-wide), MATLAB-bicubic x4, noise sigma 2, 8 bits, written as PNG (the original reads files); its true x4
kernel is that Gaussian convolved with MATLAB's x1/4 bicubic weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.bench_camera_kernel import CAMERAS, PHOTOS, blur_gaussian, synthetic_photo, true_x4_kernel
from realsr_cli.io.images import write_image
from realsr_cli.learn.kernelgan import prepare_image

MAX_PHOTOS = len(CAMERAS)


@dataclass
class Photo:
    """One synthetic photo: its kernel's name and HR Gaussian, PNG file, ``prepare_image`` pixels and x4 truth."""

    name: str
    spec: tuple[float, float, float]
    path: Path
    pixels: np.ndarray
    truth: np.ndarray


def make_photos(count: int, lr_size: int, folder: Path, source: Path = PHOTOS) -> list[Photo]:
    """The first ``count`` (<= 4) photos, written to ``folder`` as ``NAME.png``."""
    files = sorted(source.glob("*.png"))
    if count > min(MAX_PHOTOS, len(files)):
        raise ValueError(f"{count} photos asked, {min(MAX_PHOTOS, len(files))} available (kernels x {source})")
    folder.mkdir(parents=True, exist_ok=True)
    photos = []
    for i, (name, spec) in enumerate(list(CAMERAS.items())[:count]):
        lr = synthetic_photo(files[i], blur_gaussian(spec), lr_size, np.random.default_rng([1, i]))
        path = write_image(folder / f"{name}.png", lr, overwrite=True)
        photos.append(Photo(name, spec, path, prepare_image(lr), true_x4_kernel(*spec)))
    return photos
