"""Synthetic cameras with known noise for the noise-estimation tests: textured scenes, Gaussian or
Poisson-Gaussian noise (var = a * mu + sigma^2 + offset, at least 0; 0-255 units), colour correlation, optional
JPEG."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Camera:
    sigma: float = 0.0
    a: float = 0.0
    corr: tuple[tuple[float, ...], ...] | None = None
    jpeg: int | None = None
    offset: float = 0.0  # added to the variance (negative: a pedestal, or a denoiser that cleans the dark tones)

    def variance(self, mu: float) -> float:
        """The noise variance added before JPEG at mean ``mu`` (0-255), at least 0."""
        return np.maximum(self.a * mu + self.sigma**2 + self.offset, 0.0)

    def shoot(self, clean: np.ndarray, seed: int) -> np.ndarray:
        """The camera's 8-bit RGB photo of a clean (H, W, 3) 0-255 float scene."""
        rng = np.random.default_rng(seed + 1000)
        z = rng.standard_normal(clean.shape)
        if self.corr is not None:
            z = z @ np.linalg.cholesky(np.asarray(self.corr)).T
        noisy = np.clip(np.rint(clean + np.sqrt(np.maximum(self.variance(clean), 0)) * z), 0, 255).astype(np.uint8)
        if self.jpeg:
            _, buf = cv2.imencode(".jpg", noisy[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, self.jpeg])
            noisy = cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1].copy()
        return noisy

    def flat_variance(self, colour: float | np.ndarray) -> np.ndarray:
        """Per-channel noise variance of this camera's photo of a flat card of ``colour`` (a gray level or RGB,
        0-255), JPEG included: the noise as it is in the files."""
        colour = np.broadcast_to(np.asarray(colour, dtype=np.float64), (3,))
        if not self.jpeg:
            return np.array([self.variance(float(c)) for c in colour])
        card = np.broadcast_to(colour, (256, 256, 3)).copy()
        return self.shoot(card, seed=99).astype(np.float64).var(axis=(0, 1))


def scene(h: int, w: int, seed: int) -> np.ndarray:
    """Smooth gradients, shaded rectangles and discs with edges, sinusoid-textured discs: (H, W, 3) 0-255 float."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    gx, gy = rng.uniform(-0.25, 0.25, 2)
    img = rng.uniform(60, 190, 3)[None, None, :] + (gx * (xx - w / 2) + gy * (yy - h / 2))[:, :, None]
    for _ in range(14):
        colour = rng.uniform(15, 240, 3)
        kind = int(rng.integers(3))
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(12, min(h, w) / 4)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        if kind == 0:
            mask = (np.abs(yy - cy) < r) & (np.abs(xx - cx) < r * rng.uniform(0.5, 2))
            img[mask] = colour + (rng.uniform(-0.3, 0.3) * (xx - cx))[mask][:, None]
        elif kind == 1:
            img[disc] = colour + (rng.uniform(-0.3, 0.3) * (xx - cx))[disc][:, None]
        else:
            f, th = rng.uniform(0.3, 1.2), rng.uniform(0, np.pi)
            texture = 30 * np.sin(f * (np.cos(th) * xx + np.sin(th) * yy))
            img[disc] = colour + texture[disc][:, None]
    return np.clip(img, 0, 255)


def photos(camera: Camera, n: int = 2, size: int = 320, seed: int = 0) -> list[np.ndarray]:
    return [camera.shoot(scene(size, size, seed + i), seed + i) for i in range(n)]
