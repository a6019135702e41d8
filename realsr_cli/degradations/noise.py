"""Noise models on (B,C,H,W) float tensors in [0, 1]; random draws come from an explicit ``torch.Generator``.

Draws are made on the CPU (then moved to the tensor's device) so a seed gives the same noise on CPU and GPU.

- ``add_gaussian``: ``y = x + n``, ``n ~ N(0, (sigma/255)^2)`` (sigma on the 0-255 scale); ``gray=True`` draws one
  noise plane shared by all channels (Real-ESRGAN's gray noise).
- ``add_poisson``: ``y = P(peak * x) / peak`` — photon-count noise with ``peak`` photons at white, so
  ``E[y] = x`` and ``Var[y] = x / peak``.
- ``add_poisson_gaussian``: the Poisson-Gaussian model ``z = alpha * P(t / alpha) + n`` of Foi et al. (IEEE TIP 2008)
  on the 0-255 scale (``t = 255 x``, ``n ~ N(0, sigma^2)``); hence ``E[y] = x`` and, in [0, 1] units,
  ``Var[y] = alpha * x / 255 + (sigma / 255)^2``. The "generic" recipe (Samsung-SLSI-MSL, NTIRE 2020) uses alpha = 1.
- ``add_realesrgan_poisson``: Real-ESRGAN's ``generate_poisson_noise_pt``: ``x`` rounded to 8 bits,
  ``vals = 2^ceil(log2(#unique values))``, ``noise = (P(x * vals) / vals - x) * scale``.
- ``NoisePatchBank``: RealSR noise injection (Ji et al., CVPRW 2020, jixiaozhong/RealSR ``noiseDataset``): a real
  noise patch from a folder, its per-channel mean subtracted, added to the image. A patch smaller than the image is
  tiled by mirroring (symmetric) from a recorded offset so the added noise stays stationary and seamless.

All adders clip to [0, 1] unless ``clip=False``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from realsr_cli.errors import InputError
from realsr_cli.io.images import IMAGE_EXTENSIONS, read_image, to_float


def _randn(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=gen, dtype=torch.float32)


def _finish(y: torch.Tensor, clip: bool) -> torch.Tensor:
    return y.clamp(0, 1) if clip else y


def gaussian_noise(shape: tuple[int, ...], sigma: float, gen: torch.Generator, gray: bool = False) -> torch.Tensor:
    """Zero-mean Gaussian noise in [0, 1] units, sigma on the 0-255 scale, for a (B,C,H,W) shape."""
    b, c, h, w = shape
    n = _randn((b, 1, h, w) if gray else (b, c, h, w), gen) * (float(sigma) / 255.0)
    return n.expand(b, c, h, w) if gray else n


def add_gaussian(
    x: torch.Tensor, sigma: float, gen: torch.Generator, gray: bool = False, clip: bool = True
) -> torch.Tensor:
    n = gaussian_noise(tuple(x.shape), sigma, gen, gray).to(device=x.device, dtype=x.dtype)
    return _finish(x + n, clip)


def _poisson(rate: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return torch.poisson(rate.detach().to("cpu", torch.float64).clamp_min(0), generator=gen)


def add_poisson(x: torch.Tensor, peak: float, gen: torch.Generator, clip: bool = True) -> torch.Tensor:
    """``P(peak * x) / peak``."""
    y = (_poisson(x * float(peak), gen) / float(peak)).to(device=x.device, dtype=x.dtype)
    return _finish(y, clip)


def add_poisson_gaussian(
    x: torch.Tensor, sigma: float, gen: torch.Generator, alpha: float = 1.0, clip: bool = True
) -> torch.Tensor:
    """``(alpha * P(255 x / alpha) + N(0, sigma^2)) / 255``; Var = alpha x / 255 + (sigma/255)^2 in [0, 1] units."""
    counts = _poisson(x * (255.0 / float(alpha)), gen)
    signal = (counts * float(alpha) / 255.0).to(device=x.device, dtype=x.dtype)
    return add_gaussian(signal, sigma, gen, clip=clip)


def add_realesrgan_poisson(
    x: torch.Tensor, scale: float, gen: torch.Generator, gray: bool = False, clip: bool = True
) -> torch.Tensor:
    """Real-ESRGAN's Poisson noise (``generate_poisson_noise_pt``), ``scale`` as its ``poisson_scale_range``."""
    src = x
    if gray and x.shape[1] == 3:
        r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
        src = 0.299 * r + 0.587 * g + 0.114 * b
    levels = torch.clamp((src * 255.0).round(), 0, 255)
    q = levels / 255.0
    # number of distinct 8-bit values per image (as torch.unique, via a histogram: much faster)
    counts = [int(torch.bincount(levels[i].flatten().long(), minlength=256).count_nonzero()) for i in range(q.shape[0])]
    vals = [2 ** np.ceil(np.log2(n)) for n in counts]
    v = torch.tensor(vals, dtype=torch.float64).view(-1, 1, 1, 1)
    qc = q.detach().to("cpu", torch.float64)
    noise = (_poisson(qc * v, gen) / v - qc).to(device=x.device, dtype=x.dtype) * float(scale)
    return _finish(x + noise.expand_as(x), clip)


# ---------------------------------------------------------------------------------------------------- noise patches


class NoisePatchBank:
    """A folder of real-noise patches (images); sampled by a numpy Generator, injected zero-mean."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"{self.folder}: noise-patch folder not found")
        self.paths = sorted(p for p in self.folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not self.paths:
            raise InputError(f"{self.folder}: no noise patches (images) found")
        self._cache: dict[Path, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def sample(self, rng: np.random.Generator) -> Path:
        return self.paths[int(rng.integers(len(self.paths)))]

    def relative(self, path: Path) -> str:
        return path.relative_to(self.folder).as_posix()

    def resolve(self, name: str | Path) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.folder / path

    def patch(self, path: str | Path) -> np.ndarray:
        """Zero-mean noise (H, W, C) float32 in [0, 1] units (see ``load_noise_patch``)."""
        path = self.resolve(path)
        if path not in self._cache:
            self._cache[path] = load_noise_patch(path)
        return self._cache[path]

    def inject(
        self,
        x: torch.Tensor,
        patch_path: str | Path,
        offset: tuple[int, int] = (0, 0),
        strength: float = 1.0,
        clip: bool = True,
    ) -> torch.Tensor:
        """Add the zero-mean patch (tiled by mirroring from ``offset`` when smaller) to every image in (B,C,H,W)."""
        return inject_noise(x, self.patch(patch_path), offset, strength, clip)


def load_noise_patch(path: str | Path) -> np.ndarray:
    """A noise patch file as zero-mean (H, W, C) float32 in [0, 1] units (per-channel mean removed, alpha dropped)."""
    pixels = to_float(read_image(path).pixels).astype(np.float64)
    if pixels.shape[2] in (2, 4):
        pixels = pixels[..., :-1]
    return (pixels - pixels.mean(axis=(0, 1), keepdims=True)).astype(np.float32)


def inject_noise(
    x: torch.Tensor, patch: np.ndarray, offset: tuple[int, int] = (0, 0), strength: float = 1.0, clip: bool = True
) -> torch.Tensor:
    """Add a zero-mean (h, w, C) noise patch, mirrored/tiled from ``offset`` to the image size, to (B,C,H,W)."""
    noise = tile_noise(patch, x.shape[-2], x.shape[-1], offset)
    n = torch.from_numpy(np.ascontiguousarray(noise.transpose(2, 0, 1))).to(device=x.device, dtype=x.dtype)
    if n.shape[0] == 1 and x.shape[1] > 1:
        n = n.expand(x.shape[1], -1, -1)
    elif n.shape[0] != x.shape[1]:
        n = n.mean(dim=0, keepdim=True).expand(x.shape[1], -1, -1)
    return _finish(x + float(strength) * n.unsqueeze(0), clip)


def tile_noise(patch: np.ndarray, h: int, w: int, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """An (h, w, C) window of the patch mirrored (symmetric) infinitely, starting at ``offset`` = (dy, dx)."""
    ph, pw = patch.shape[:2]

    def index(n: int, start: int, length: int) -> np.ndarray:
        m = np.mod(np.arange(start, start + length), 2 * n)
        return np.where(m < n, m, 2 * n - 1 - m)

    return patch[index(ph, int(offset[0]), h)][:, index(pw, int(offset[1]), w)]
