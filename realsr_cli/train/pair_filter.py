"""Dropping misaligned training pairs (``data.min_pair_psnr``): PSNR of the bicubic-downscaled HR against the LR.

A data-cleaning trick of the AIM 2020 Real Image SR entries (Wei et al., "AIM 2020 Challenge on Real Image
Super-Resolution: Methods and Results", ECCVW 2020), whose real LR/HR pairs are photographed at two focal lengths
and registered, not always well. An aligned pair's HR, downscaled to the LR size (MATLAB bicubic, antialiased), is
close to the LR; a shifted, scaled or mismatched one is far from it. PSNR: RGB, peak 1, the whole image.
"""

from __future__ import annotations

from pathlib import Path

from realsr_cli.console import warn_line
from realsr_cli.errors import InputError


def pair_psnr(hr_path: Path, lr_path: Path) -> float:
    """PSNR (dB) of the HR image, bicubic-downscaled to the LR's size, against the LR image."""
    from realsr_cli.degradations.resize import imresize
    from realsr_cli.io.tensors import read_tensor
    from realsr_cli.metrics import psnr

    hr, lr = read_tensor(hr_path, batch=False), read_tensor(lr_path, batch=False)
    if hr.shape[0] != lr.shape[0]:
        raise InputError(f"{lr_path}: {lr.shape[0]} channels but HR {hr_path.name} has {hr.shape[0]}")
    down = imresize(hr[None].double(), size=(lr.shape[-2], lr.shape[-1])).clamp(0, 1)
    return float(psnr(down, lr[None].double())[0])


def filter_pairs(
    pairs: list[tuple[Path, Path]], min_psnr: float, folder: Path
) -> tuple[list[tuple[Path, Path]], list[tuple[str, float]]]:
    """(kept pairs, dropped (stem, PSNR)) for the threshold ``min_psnr`` dB; a warning names the dropped pairs."""
    kept, dropped = [], []
    for hr_path, lr_path in pairs:
        value = pair_psnr(hr_path, lr_path)
        if value >= min_psnr:
            kept.append((hr_path, lr_path))
        else:
            dropped.append((hr_path.stem, value))
    if dropped:
        shown = ", ".join(f"{stem} ({value:.1f} dB)" for stem, value in dropped[:5])
        more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        warn_line(
            f"{folder}: dropped {len(dropped)} of {len(pairs)} pair(s) whose bicubic-downscaled HR is below "
            f"{min_psnr:g} dB PSNR against the LR (data.min_pair_psnr; misaligned?): {shown}{more}"
        )
    if not kept:
        raise InputError(f"{folder}: every pair is below data.min_pair_psnr {min_psnr:g} dB; lower or unset it")
    return kept, dropped
