"""Batch augmentations for SR training: CutBlur and the mixture of augmentations (MoA), ``data.augment``.

Yoo, Ahn & Sohn, "Rethinking Data Augmentation for Image Super-resolution: A Comprehensive Analysis and a New
Strategy", CVPR 2020 (official code: clovaai/cutblur, ``augments.py``, defaults from ``option.py``); CutBlur and MoA
are among the training tricks of the AIM 2020 Real Image SR entries (Wei et al., "AIM 2020 Challenge on Real Image
Super-Resolution: Methods and Results", ECCVW 2020). As in the official code, one augmentation is drawn per batch
(weights ``p``), applied with probability ``prob`` and strength ``alpha``: ``blend`` (both images towards one random
colour), ``rgb`` (one channel permutation), ``mixup`` (both images mixed with a permuted batch, Beta(alpha, alpha)),
``cutout`` (LR pixels dropped with probability alpha, the loss masked there), ``cutmix`` (a box of side ~alpha from a
permuted batch), ``cutmixup`` (cutmix of a mixup), ``cutblur`` (a box of the input replaced by the HR content).

Adaptation: the official SR case cuts between HR and the nearest-upsampled LR at HR size and feeds the network an
HR-size input (its EDSR starts with a space-to-depth block). The realsr networks take LR input, so ``cutblur`` works
at LR size in the inverse direction: the HR batch is MATLAB-bicubic downscaled to the LR size and a box of it is
pasted into the LR input (or, with probability 1/2, a box of the LR into it); the target stays the HR.

The random draws depend only on ``(seed, iteration, rank)``, so worker count and ``--resume`` never change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from realsr_cli.errors import PresetError
from realsr_cli.schema import ANY, check_keys, closest
from realsr_cli.seeding import item_rng

# clovaai/cutblur option.py, the MoA defaults: prob 1.0 each, these alphas, cutmixup's mixup prob 1 / alpha 1.2.
ALPHAS = {"none": 0.0, "blend": 0.6, "rgb": 1.0, "mixup": 1.2, "cutout": 0.001, "cutmix": 0.7, "cutmixup": 0.7}
ALPHAS["cutblur"] = 0.7
MOA = ("blend", "rgb", "mixup", "cutout", "cutmix", "cutmixup", "cutblur")
# option.py for the RealSR data set: 0.1 for each, 0.4 for CutBlur.
MOA_REALSR = {name: 0.1 for name in MOA} | {"cutblur": 0.4}


@dataclass(frozen=True)
class AugmentSpec:
    """One entry of the mixture: its weight ``p``, probability ``prob`` and strength ``alpha``."""

    name: str
    p: float = 1.0
    prob: float = 1.0
    alpha: float = 0.0
    mixup_prob: float = 1.0
    mixup_alpha: float = 1.2


@dataclass
class Augmented:
    """An augmented batch; ``mask`` (B, 1, H, W) at HR size restricts the reconstruction loss (cutout)."""

    lr: Tensor
    hr: Tensor
    name: str
    mask: Tensor | None = None


def _entry(name: str, options: Any) -> AugmentSpec:
    if name not in ALPHAS:
        match = closest(str(name), ALPHAS)
        hint = f"did you mean '{match}'? " if match else ""
        raise PresetError(f"data.augment: unknown augmentation {name!r} ({hint}choose from {', '.join(ALPHAS)}, moa)")
    options = {} if options is None else options
    if isinstance(options, (int, float)) and not isinstance(options, bool):
        options = {"p": options}
    if not isinstance(options, dict):
        raise PresetError(f"data.augment.{name}: expected a weight or {{p, prob, alpha}}, not {options!r}")
    check_keys(options, dict.fromkeys(("p", "prob", "alpha", "mixup_prob", "mixup_alpha"), ANY), f"data.augment.{name}")
    values = {"p": 1.0, "prob": 1.0, "alpha": ALPHAS[name], "mixup_prob": 1.0, "mixup_alpha": 1.2} | options
    for key, value in values.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
            raise PresetError(f"data.augment.{name}.{key}={value!r}: expected a number >= 0")
    return AugmentSpec(name, **{k: float(v) for k, v in values.items()})


def parse_augment(spec: Any) -> list[AugmentSpec]:
    """``data.augment``: null, ``moa``, ``moa-realsr``, a name, a list of names, or ``{name: {p, prob, alpha}}``."""
    if spec in (None, "none", [], {}):
        return []
    if spec == "moa":
        spec = list(MOA)
    elif spec == "moa-realsr":
        spec = dict(MOA_REALSR)
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, list):
        if not all(isinstance(name, str) for name in spec) or len(set(spec)) != len(spec):
            raise PresetError(f"data.augment={spec!r}: expected distinct augmentation names")
        spec = {name: None for name in spec}
    if not isinstance(spec, dict):
        raise PresetError(f"data.augment={spec!r}: expected moa, a name, a list of names or a mapping")
    entries = [_entry(str(name), options) for name, options in spec.items()]
    if sum(e.p for e in entries) <= 0:
        raise PresetError("data.augment: the weights p sum to 0")
    return entries


def _box(h: int, w: int, alpha: float, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a box of side ~alpha (clovaai/cutblur: ratio N(alpha, 0.01^2))."""
    ratio = rng.standard_normal() * 0.01 + alpha
    ch, cw = min(h, max(0, int(h * ratio))), min(w, max(0, int(w * ratio)))
    return int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1)), ch, cw


def _permutation(n: int, rng: np.random.Generator, device: torch.device) -> Tensor:
    return torch.from_numpy(rng.permutation(n)).to(device)


def blend(lr: Tensor, hr: Tensor, spec: AugmentSpec, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    """Both images towards one random colour per sample: ``v x + (1 - v) c``, v ~ U(alpha, 1)."""
    colour = torch.from_numpy(rng.uniform(0, 1, (lr.shape[0], lr.shape[1], 1, 1))).to(lr)
    v = float(rng.uniform(spec.alpha, 1))
    return v * lr + (1 - v) * colour, v * hr + (1 - v) * colour


def rgb(lr: Tensor, hr: Tensor, spec: AugmentSpec, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    """The same random permutation of the colour channels in both images."""
    perm = _permutation(lr.shape[1], rng, lr.device)
    return lr[:, perm], hr[:, perm]


def mixup(lr: Tensor, hr: Tensor, spec: AugmentSpec, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    """Each pair mixed with another pair of the batch: ``v x + (1 - v) x[perm]``, v ~ Beta(alpha, alpha)."""
    v = float(rng.beta(spec.alpha, spec.alpha))
    perm = _permutation(lr.shape[0], rng, lr.device)
    return v * lr + (1 - v) * lr[perm], v * hr + (1 - v) * hr[perm]


def cutmix(lr: Tensor, hr: Tensor, spec: AugmentSpec, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    """The same box (LR coordinates, times the scale in HR) taken from another pair of the batch."""
    s = hr.shape[-2] // lr.shape[-2]
    top, left, ch, cw = _box(lr.shape[-2], lr.shape[-1], spec.alpha, rng)
    perm = _permutation(lr.shape[0], rng, lr.device)
    lo = (..., slice(top, top + ch), slice(left, left + cw))
    hi = (..., slice(top * s, (top + ch) * s), slice(left * s, (left + cw) * s))
    lr, hr = lr.clone(), hr.clone()
    lr[lo], hr[hi] = lr[perm][lo], hr[perm][hi]
    return lr, hr


def cutmixup(lr: Tensor, hr: Tensor, spec: AugmentSpec, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    """CutMix with a mixup of the two pairs inside the box, or outside it (probability 1/2 each)."""
    s = hr.shape[-2] // lr.shape[-2]
    top, left, ch, cw = _box(lr.shape[-2], lr.shape[-1], spec.alpha, rng)
    perm = _permutation(lr.shape[0], rng, lr.device)
    v = float(rng.beta(spec.mixup_alpha, spec.mixup_alpha))
    if spec.mixup_alpha <= 0 or rng.random() >= spec.mixup_prob:
        lr_aug, hr_aug = lr[perm], hr[perm]
    else:
        lr_aug, hr_aug = v * lr + (1 - v) * lr[perm], v * hr + (1 - v) * hr[perm]
    lo = (..., slice(top, top + ch), slice(left, left + cw))
    hi = (..., slice(top * s, (top + ch) * s), slice(left * s, (left + cw) * s))
    if rng.random() > 0.5:
        lr, hr = lr.clone(), hr.clone()
        lr[lo], hr[hi] = lr_aug[lo], hr_aug[hi]
        return lr, hr
    lr_aug, hr_aug = lr_aug.clone(), hr_aug.clone()
    lr_aug[lo], hr_aug[hi] = lr[lo], hr[hi]
    return lr_aug, hr_aug


def cutout(lr: Tensor, hr: Tensor, spec: AugmentSpec, rng: np.random.Generator) -> tuple[Tensor, Tensor, Tensor]:
    """LR pixels dropped with probability alpha; the mask (nearest-upsampled to HR) for the loss."""
    keep = rng.choice([0.0, 1.0], size=(lr.shape[0], 1, *lr.shape[-2:]), p=[spec.alpha, 1 - spec.alpha])
    mask = torch.from_numpy(keep).to(lr)
    s = hr.shape[-2] // lr.shape[-2]
    return lr * mask, hr, mask.repeat_interleave(s, dim=-2).repeat_interleave(s, dim=-1)


def cutblur(lr: Tensor, hr: Tensor, spec: AugmentSpec, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    """A box of the LR input replaced by the bicubic-downscaled HR, or the inverse (probability 1/2 each)."""
    from realsr_cli.degradations.resize import imresize

    down = imresize(hr, size=(lr.shape[-2], lr.shape[-1])).clamp(0, 1).to(lr.dtype)
    top, left, ch, cw = _box(lr.shape[-2], lr.shape[-1], spec.alpha, rng)
    box = (..., slice(top, top + ch), slice(left, left + cw))
    inside = rng.random() > 0.5
    out = lr.clone() if inside else down
    out[box] = down[box] if inside else lr[box]
    return out, hr


OPS = {"blend": blend, "rgb": rgb, "mixup": mixup, "cutmix": cutmix, "cutmixup": cutmixup, "cutblur": cutblur}


class BatchAugment:
    """Draw one augmentation per batch from ``data.augment`` and apply it to (LR, HR) batches."""

    def __init__(self, spec: Any, seed: int) -> None:
        self.entries = parse_augment(spec)
        self.seed = int(seed)
        weights = np.array([e.p for e in self.entries], dtype=np.float64)
        self.weights = weights / weights.sum() if len(weights) else weights

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __call__(self, lr: Tensor, hr: Tensor, index: int) -> Augmented:
        """Augment batch number ``index`` (iteration * world size + rank); the draws depend on (seed, index)."""
        if not self.entries:
            return Augmented(lr, hr, "none")
        rng = item_rng(self.seed, "batch-augment", int(index))
        spec = self.entries[int(rng.choice(len(self.entries), p=self.weights))]
        if spec.name == "none" or (spec.name != "rgb" and spec.alpha <= 0) or rng.random() >= spec.prob:
            return Augmented(lr, hr, spec.name)
        if spec.name == "cutout":
            lr, hr, mask = cutout(lr, hr, spec, rng)
            return Augmented(lr, hr, spec.name, mask)
        lr, hr = OPS[spec.name](lr, hr, spec, rng)
        return Augmented(lr.contiguous(), hr.contiguous(), spec.name)
