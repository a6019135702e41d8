"""Validation during training: full-reference metrics on pairs, no-reference metrics on LR-only folders.

``--val DIR`` is a make-pairs folder (``hr/`` + ``lr/``: PSNR, SSIM, L1, optionally LPIPS) or, for photos of the
real camera that have no ground truth, LR images only (``DIR/lr/`` or images directly in ``DIR``). The NTIRE 2020
Real-World SR challenge (Lugmayr et al., CVPRW 2020) has no ground truth for its Track 2 smartphone photos; what can
judge a model there are no-reference metrics (``realsr_cli.metrics``: NIQE, BRISQUE, PIQE), so
``train.best_metric: niqe|brisque|piqe`` keeps the checkpoint that scores best on them. Directions (lower is better
for L1, LPIPS and the no-reference metrics) come from ``realsr_cli.scoring.HIGHER_IS_BETTER``. Metrics are computed
on the SR output in [0, 1] with ``crop_border = scale``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from realsr_cli.errors import InputError, PresetError
from realsr_cli.io.paths import collect_inputs
from realsr_cli.io.tensors import read_tensor
from realsr_cli.scoring import HIGHER_IS_BETTER, NO_REFERENCE
from realsr_cli.train.data import find_pairs

FULL_REFERENCE = ("psnr", "ssim", "l1", "lpips")
VAL_METRICS = FULL_REFERENCE + NO_REFERENCE
NIQE_BLOCK = 96


@dataclass
class ValImage:
    stem: str
    lr: Tensor
    hr: Tensor | None = None


def lower_is_better(metric: str) -> bool:
    """Direction of a validation metric (``realsr_cli.scoring.HIGHER_IS_BETTER``)."""
    return not HIGHER_IS_BETTER.get(metric, True)


def check_best_metric(metric: str) -> None:
    if metric not in VAL_METRICS:
        raise PresetError(f"train.best_metric {metric!r}: expected one of {', '.join(VAL_METRICS)}")


def load_validation_set(folder: Path) -> list[ValImage]:
    """(stem, LR, HR) of ``hr/`` + ``lr/`` pairs, or (stem, LR, None) of LR-only images (``lr/`` or the folder)."""
    folder = Path(folder)
    lr_only = not (folder / "hr").is_dir() and ((folder / "lr").is_dir() or _has_images(folder))
    if not lr_only:  # pairs, or find_pairs' error naming the missing subfolders
        return [
            ValImage(hr.stem, read_tensor(lr, batch=False), read_tensor(hr, batch=False))
            for hr, lr in find_pairs(folder)
        ]
    source = folder / "lr" if (folder / "lr").is_dir() else folder
    return [ValImage(item.path.stem, read_tensor(item.path, batch=False)) for item in collect_inputs(source)]


def _has_images(folder: Path) -> bool:
    try:
        return bool(collect_inputs(folder))
    except InputError:
        return False


def validation_metrics(val_set: list[ValImage], best: str, lpips: bool) -> tuple[str, ...]:
    """The metrics to compute: FR ones with ground truth, plus ``best`` when it is a no-reference metric."""
    check_best_metric(best)
    metrics: tuple[str, ...] = ()
    if all(item.hr is not None for item in val_set):
        metrics = ("psnr", "ssim", "l1", "lpips") if lpips else ("psnr", "ssim", "l1")
    return metrics + ((best,) if best in NO_REFERENCE else ())


def check_validation(folder: Path, val_set: list[ValImage], best: str, scale: int) -> None:
    """Fail before training: FR ``best_metric`` without ground truth, or SR outputs too small for NIQE."""
    check_best_metric(best)
    if best in FULL_REFERENCE and any(item.hr is None for item in val_set):
        raise InputError(
            f"{folder}: LR images only (no hr/), but train.best_metric {best} needs ground truth; "
            f"use --set train.best_metric=niqe (or brisque, piqe)"
        )
    if best == "niqe":
        for item in val_set:
            h, w = (int(n) * scale - 2 * scale for n in item.lr.shape[-2:])
            if min(h, w) < NIQE_BLOCK:
                raise InputError(
                    f"{folder}: {item.stem}: SR {w}x{h} (after cropping {scale} px) is smaller than NIQE's "
                    f"{NIQE_BLOCK}x{NIQE_BLOCK} block"
                )


def score_output(
    sr: Tensor, hr: Tensor | None, metrics: tuple[str, ...], crop: int, lpips_fn: Callable | None = None
) -> dict[str, float]:
    """The ``metrics`` of one (1, C, H, W) SR output in [0, 1] (against ``hr`` for full-reference ones)."""
    from realsr_cli import metrics as M

    gt = None if hr is None else hr[None] if hr.dim() == 3 else hr
    if gt is not None and sr.shape != gt.shape:
        raise InputError(f"validation: SR {tuple(sr.shape)} does not match HR {tuple(gt.shape)}")
    out: dict[str, float] = {}
    for name in metrics:
        if name in FULL_REFERENCE:
            if gt is None:
                raise InputError(f"validation: {name} needs HR images (hr/ + lr/ pairs)")
            out[name] = _full_reference(name, sr, gt, crop, lpips_fn)
        elif name == "niqe":
            out[name] = float(M.niqe(sr.double(), crop_border=crop)[0])
        elif name == "brisque":
            out[name] = float(M.brisque(sr.double(), crop_border=crop)[0])
        elif name == "piqe":
            out[name] = float(M.piqe(_crop(sr.double(), crop))[0])
    return out


def _full_reference(name: str, sr: Tensor, gt: Tensor, crop: int, lpips_fn: Callable | None) -> float:
    from realsr_cli import metrics as M

    if name == "psnr":
        return float(M.psnr(sr, gt, crop_border=crop)[0])
    if name == "ssim":
        return float(M.ssim(sr, gt, crop_border=crop)[0])
    if name == "l1":
        return float((sr - gt).abs().mean())
    if lpips_fn is None:
        raise InputError("validation: lpips needs the LPIPS network (train.val_lpips)")
    return float(lpips_fn(sr, gt).reshape(-1)[0])


def _crop(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[..., border:-border, border:-border] if border else x
