"""Training data: aligned random crops of make-pairs folders, or HR images degraded on the fly.

Every training sample has a global index ``k`` (iteration, rank and batch slot); which image, which crop,
which flips and which degradation it gets depend only on ``(seed, k)``. Worker processes, their number and
``--resume`` therefore never change the data stream (BasicSR's ``augment``: horizontal flip, vertical flip,
transpose = 90 degree rotation; Real-ESRGAN's on-the-fly degradation through
:class:`realsr_cli.degradations.pipeline.Degradation`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from realsr_cli.console import warn_line
from realsr_cli.errors import InputError
from realsr_cli.io.paths import collect_inputs
from realsr_cli.io.tensors import read_tensor
from realsr_cli.seeding import item_rng


def find_pairs(folder: Path) -> list[tuple[Path, Path]]:
    """``folder/hr/<stem>.*`` with ``folder/lr/<stem>.*`` (make-pairs layout), sorted by stem."""
    hr_dir, lr_dir = folder / "hr", folder / "lr"
    if not hr_dir.is_dir() or not lr_dir.is_dir():
        raise InputError(f"{folder}: expected hr/ and lr/ subfolders (make-pairs output)")
    hr = {item.path.stem: item.path for item in collect_inputs(hr_dir)}
    lr = {item.path.stem: item.path for item in collect_inputs(lr_dir)}
    stems = sorted(set(hr) & set(lr))
    if not stems:
        raise InputError(f"{folder}: no image pairs with the same name in hr/ and lr/")
    warn_unpaired(hr_dir, sorted(set(hr) - set(lr)), "lr/")
    warn_unpaired(lr_dir, sorted(set(lr) - set(hr)), "hr/")
    return [(hr[s], lr[s]) for s in stems]


def warn_unpaired(folder: Path, stems: list[str], other: str) -> None:
    """Name the images of ``folder`` left out of training because ``other`` has no image of the same name."""
    if stems:
        shown = ", ".join(stems[:5]) + (f" and {len(stems) - 5} more" if len(stems) > 5 else "")
        warn_line(f"{folder}: {len(stems)} image(s) without a twin in {other}, not used: {shown}")


def header_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file header (no decoding); (0, 0) when PIL cannot tell."""
    from PIL import Image as PILImage

    from realsr_cli.io.decoder_scope import pillow_unlimited

    try:
        with pillow_unlimited(), PILImage.open(path) as img:  # the size only: Pillow's bomb limit does not apply
            return img.size
    except Exception:  # noqa: BLE001 - the real read reports unreadable files with their name
        return (0, 0)


def check_pairs(pairs: list[tuple[Path, Path]], scale: int, patch: int) -> None:
    """Fail before training (not inside a worker) on pairs of the wrong size; orientation-agnostic."""
    lp = patch // scale
    for hr_path, lr_path in pairs:
        (hw, hh), (lw, lh) = header_size(hr_path), header_size(lr_path)
        if 0 in (hw, hh, lw, lh):
            continue
        if sorted((hw, hh)) != sorted((lw * scale, lh * scale)):
            raise InputError(f"{lr_path}: LR {lw}x{lh} is not 1/{scale} of HR {hw}x{hh} ({hr_path.name})")
        if min(lw, lh) < lp:
            raise InputError(f"{lr_path}: LR {lw}x{lh} is smaller than the LR patch {lp}x{lp} (lower --patch-size)")


def augment(tensors: list[torch.Tensor], rng: np.random.Generator, flip: bool, rot90: bool) -> list[torch.Tensor]:
    """The same random horizontal/vertical flip and transpose on every (C,H,W) tensor."""
    hflip, vflip, transpose = (
        (rng.random() < 0.5 and flip),
        (rng.random() < 0.5 and rot90),
        (rng.random() < 0.5 and rot90),
    )
    out = []
    for t in tensors:
        if hflip:
            t = t.flip(-1)
        if vflip:
            t = t.flip(-2)
        if transpose:
            t = t.transpose(-1, -2)
        out.append(t.contiguous())
    return out


class _IndexedSamples(Dataset):
    """Base: maps a global sample index to an image and a per-sample random generator."""

    def __init__(self, count: int, seed: int) -> None:
        self.count = count
        self.seed = seed

    def __len__(self) -> int:  # samples are addressed by global index; any non-negative int works
        return 2**62

    def pick(self, k: int) -> tuple[int, np.random.Generator]:
        epoch, slot = divmod(int(k), self.count)
        order = np.random.default_rng([self.seed & 0xFFFFFFFF, epoch, 0x5EED]).permutation(self.count)
        return int(order[slot]), item_rng(self.seed, "sample", int(k))


class PairedPatches(_IndexedSamples):
    """Aligned random crops (HR ``patch_size``, LR ``patch_size/scale``) from make-pairs folders.

    ``min_psnr`` (``data.min_pair_psnr``) drops misaligned pairs first (:mod:`realsr_cli.train.pair_filter`);
    ``dropped`` lists them as (stem, PSNR)."""

    def __init__(
        self,
        folder: Path,
        scale: int,
        patch_size: int,
        seed: int,
        flip: bool = True,
        rot90: bool = True,
        min_psnr: float | None = None,
    ):
        self.pairs = find_pairs(Path(folder))
        check_pairs(self.pairs, scale, patch_size)
        self.dropped: list[tuple[str, float]] = []
        if min_psnr is not None:
            from realsr_cli.train.pair_filter import filter_pairs

            self.pairs, self.dropped = filter_pairs(self.pairs, float(min_psnr), Path(folder))
        super().__init__(len(self.pairs), seed)
        self.scale, self.patch, self.flip, self.rot90 = scale, patch_size, flip, rot90

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        index, rng = self.pick(k)
        hr_path, lr_path = self.pairs[index]
        hr, lr = read_tensor(hr_path, batch=False), read_tensor(lr_path, batch=False)
        s, lp = self.scale, self.patch // self.scale
        if hr.shape[1] != lr.shape[1] * s or hr.shape[2] != lr.shape[2] * s:
            raise InputError(f"{lr_path}: LR {tuple(lr.shape[1:])} is not 1/{s} of HR {tuple(hr.shape[1:])}")
        if lr.shape[1] < lp or lr.shape[2] < lp:
            raise InputError(f"{lr_path}: LR {tuple(lr.shape[1:])} is smaller than the LR patch {lp}x{lp}")
        top, left = int(rng.integers(0, lr.shape[1] - lp + 1)), int(rng.integers(0, lr.shape[2] - lp + 1))
        lr = lr[:, top : top + lp, left : left + lp]
        hr = hr[:, top * s : (top + lp) * s, left * s : (left + lp) * s]
        hr, lr = augment([hr, lr], rng, self.flip, self.rot90)
        return {"lr": lr, "hr": hr}


class DegradedPatches(_IndexedSamples):
    """HR crops degraded on the fly with a degradation preset (``Degradation.sample`` then ``.apply``)."""

    def __init__(
        self,
        folder: Path,
        degradation: Any,
        scale: int,
        patch_size: int,
        seed: int,
        flip: bool = True,
        rot90: bool = True,
    ):
        folder = Path(folder)
        source = folder / "hr" if (folder / "hr").is_dir() else folder
        self.paths = [item.path for item in collect_inputs(source)]
        if not self.paths:
            raise InputError(f"{folder}: no HR images found")
        super().__init__(len(self.paths), seed)
        self.degradation = degradation
        self.scale, self.patch, self.flip, self.rot90 = scale, patch_size, flip, rot90

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        index, rng = self.pick(k)
        path = self.paths[index]
        hr = read_tensor(path, batch=False)
        p = self.patch
        if hr.shape[1] < p or hr.shape[2] < p:
            raise InputError(f"{path}: image {tuple(hr.shape[1:])} is smaller than the HR patch {p}x{p}")
        top, left = int(rng.integers(0, hr.shape[1] - p + 1)), int(rng.integers(0, hr.shape[2] - p + 1))
        (hr,) = augment([hr[:, top : top + p, left : left + p]], rng, self.flip, self.rot90)
        params = self.degradation.sample(rng, tuple(hr.shape[-2:]), self.scale)
        with torch.no_grad():
            lr = self.degradation.apply(hr[None], params)[0].clamp(0, 1)
        expected = p // self.scale
        if tuple(lr.shape[-2:]) != (expected, expected):
            raise InputError(f"degradation gave LR {tuple(lr.shape[-2:])} for HR {p}x{p} at x{self.scale}")
        return {"lr": lr.float().contiguous(), "hr": hr}


class StepSampler(Sampler[int]):
    """Global sample indices for iterations ``start..stop-1`` of one rank: ``((it*world + rank)*batch + j)``."""

    def __init__(self, start: int, stop: int, batch: int, rank: int = 0, world: int = 1) -> None:
        self.start, self.stop, self.batch, self.rank, self.world = start, stop, batch, rank, world

    def __iter__(self) -> Iterator[int]:
        for it in range(self.start, self.stop):
            base = (it * self.world + self.rank) * self.batch
            yield from range(base, base + self.batch)

    def __len__(self) -> int:
        return max(0, self.stop - self.start) * self.batch


def validation_pairs(folder: Path) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(stem, LR, HR) whole images of a validation folder (hr/ + lr/)."""
    return [
        (hr.stem, read_tensor(lr, batch=False), read_tensor(hr, batch=False)) for hr, lr in find_pairs(Path(folder))
    ]
