"""CycleSR training samples: HR crops, their synthetic LR, and unpaired crops of the camera's real LR photos.

Chen et al., "Unsupervised Image Super-Resolution with an Indirect Supervised Path", CVPRW 2020: the synthetic LR
is the MATLAB-bicubic-downscaled HR crop **with Gaussian noise added after downsampling**; the translator later
maps it to the real-LR domain. Each sample ``k`` draws its HR image, crop, flips, noise and real-LR crop from
``(seed, k)`` only (as :mod:`realsr_cli.train.data`), so workers and ``--resume`` never change the stream.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from realsr_cli.degradations.noise import add_gaussian
from realsr_cli.degradations.resize import imresize
from realsr_cli.errors import InputError
from realsr_cli.io.paths import collect_inputs
from realsr_cli.io.tensors import read_tensor
from realsr_cli.seeding import torch_generator
from realsr_cli.train.data import _IndexedSamples, augment, header_size


def bicubic_lr(hr: Tensor, scale: int) -> Tensor:
    """(C, H, W) HR crop -> MATLAB-bicubic LR (C, H/s, W/s) in [0, 1]."""
    return imresize(hr[None], scale=1.0 / scale)[0].clamp(0, 1)


def add_input_noise(lr: Tensor, sigma: float, gen: torch.Generator) -> Tensor:
    """The translator's input: ``lr`` plus N(0, (sigma/255)^2) noise, clipped to [0, 1] (sigma 0: unchanged)."""
    return add_gaussian(lr[None], sigma, gen)[0] if sigma > 0 else lr


def image_paths(folder: Path, what: str) -> list[Path]:
    """The images of ``folder`` (or of its ``hr/``), sorted; one line naming the folder when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: {what} folder not found")
    source = folder / "hr" if (folder / "hr").is_dir() else folder
    return [item.path for item in collect_inputs(source)]


def check_sizes(paths: list[Path], least: int, what: str, option: str) -> None:
    """Fail before training on an image smaller than its crop (header sizes, no decoding)."""
    for path in paths:
        w, h = header_size(path)
        if 0 < min(w, h) < least:
            raise InputError(f"{path}: {what} {w}x{h} is smaller than the {least}x{least} crop (lower {option})")


class CycleSRPatches(_IndexedSamples):
    """Sample ``k``: ``hr`` (patch), ``lr`` (its noisy bicubic LR, the translator's input), ``real`` (real LR crop)."""

    def __init__(
        self,
        hr_dir: Path,
        real_dir: Path,
        scale: int,
        patch_size: int,
        seed: int,
        noise_sigma: float,
        flip: bool = True,
        rot90: bool = True,
    ) -> None:
        self.paths = image_paths(hr_dir, "HR image")
        self.real = image_paths(real_dir, "real LR (--real-lr)")
        check_sizes(self.paths, patch_size, "HR image", "--patch-size")
        check_sizes(self.real, patch_size // scale, "real LR photo", "--patch-size")
        super().__init__(len(self.paths), seed)
        self.scale, self.patch, self.sigma, self.flip, self.rot90 = scale, patch_size, noise_sigma, flip, rot90

    def __getitem__(self, k: int) -> dict[str, Tensor]:
        index, rng = self.pick(k)
        hr = _crop(read_tensor(self.paths[index], batch=False), self.patch, rng, self.paths[index])
        (hr,) = augment([hr], rng, self.flip, self.rot90)
        lr = add_input_noise(bicubic_lr(hr, self.scale), self.sigma, torch_generator(rng))
        real_path = self.real[int(rng.integers(len(self.real)))]
        real = _crop(read_tensor(real_path, batch=False), self.patch // self.scale, rng, real_path)
        (real,) = augment([real], rng, self.flip, self.rot90)
        return {"lr": lr.contiguous(), "hr": hr, "real": real}


def _crop(img: Tensor, size: int, rng: np.random.Generator, path: Path) -> Tensor:
    if img.shape[1] < size or img.shape[2] < size:
        raise InputError(f"{path}: image {tuple(img.shape[1:])} is smaller than the {size}x{size} crop")
    top, left = int(rng.integers(0, img.shape[1] - size + 1)), int(rng.integers(0, img.shape[2] - size + 1))
    return img[:, top : top + size, left : left + size]
