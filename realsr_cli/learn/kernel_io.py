"""Writing estimated kernels the way KernelGAN does, plus pictures and summary statistics.

Files (the camera kernel NAME = ``camera``, and per image NAME with ``--per-photo-kernels``, in OUT/kernels/):
``NAME_kernel_x2.mat`` / ``NAME_kernel_x4.mat`` (odd sizes from 13x13 / 25x25 up, centred) written with
``scipy.io.savemat(path, {"Kernel": k})`` exactly as the official ``save_final_kernel``
(https://github.com/sefibk/KernelGAN, util.py), the same arrays as ``NAME_kernel_x{2,4}.npy`` (float64), and
PNG pictures in OUT/kernels/previews/ (one per kernel, and ``contact_sheet.png`` with all of them).
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import cv2
import numpy as np
import scipy.io

from realsr_cli.degradations.spectrum import SPECTRUM_FILE
from realsr_cli.io.atomic import atomic_write_bytes, ensure_writable
from realsr_cli.io.images import write_image


def kernel_paths(out_dir: Path, name: str, scale: int) -> tuple[Path, Path]:
    return out_dir / f"{name}_kernel_x{scale}.mat", out_dir / f"{name}_kernel_x{scale}.npy"


def write_kernel(out_dir: Path, name: str, scale: int, kernel: np.ndarray, overwrite: bool = False) -> list[Path]:
    """Write ``NAME_kernel_x{scale}.mat`` (key ``Kernel``) and ``.npy`` atomically; returns the paths."""
    mat_path, npy_path = kernel_paths(out_dir, name, scale)
    for p in (mat_path, npy_path):
        ensure_writable(p, overwrite)
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"Kernel": kernel})
    atomic_write_bytes(mat_path, buf.getvalue(), overwrite=overwrite)
    buf = io.BytesIO()
    np.save(buf, np.asarray(kernel, dtype=np.float64), allow_pickle=False)
    atomic_write_bytes(npy_path, buf.getvalue(), overwrite=overwrite)
    return [mat_path, npy_path]


def write_kernel_pair(
    out_dir: Path, name: str, kernel_x2: np.ndarray, kernel_x4: np.ndarray, overwrite: bool = False
) -> list[Path]:
    """The x2 and x4 files of one estimate (``camera`` for the camera kernel)."""
    return write_kernel(out_dir, name, 2, kernel_x2, overwrite) + write_kernel(out_dir, name, 4, kernel_x4, overwrite)


def remove_kernels(out_dir: Path) -> None:
    """Delete this tool's kernel files (``*_kernel_x2|x4.mat|.npy``) and the photos' ``spectrum.json`` at the top of
    ``out_dir`` (before a rerun)."""
    if out_dir.is_dir():
        for path in out_dir.iterdir():
            if path.is_file() and (re.search(r"_kernel_x[24]\.(mat|npy)$", path.name) or path.name == SPECTRUM_FILE):
                path.unlink()


def kernel_picture(kernel: np.ndarray, cell: int = 8) -> np.ndarray:
    """An RGB uint8 picture: the kernel scaled to its maximum, nearest-neighbour enlarged, 'inferno' colours."""
    k = np.clip(kernel / max(float(kernel.max()), 1e-12), 0, 1)
    gray = np.rint(k * 255).astype(np.uint8)
    big = cv2.resize(gray, (k.shape[1] * cell, k.shape[0] * cell), interpolation=cv2.INTER_NEAREST)
    return cv2.cvtColor(cv2.applyColorMap(big, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


def contact_sheet(pictures: list[np.ndarray], columns: int = 8, gap: int = 4) -> np.ndarray:
    """Tile pictures (any sizes) on a dark background, row by row."""
    cols = max(1, min(columns, len(pictures)))
    rows = math.ceil(len(pictures) / cols)
    ch, cw = max(p.shape[0] for p in pictures), max(p.shape[1] for p in pictures)
    sheet = np.full((rows * (ch + gap) + gap, cols * (cw + gap) + gap, 3), 32, np.uint8)
    for i, pic in enumerate(pictures):
        r, c = divmod(i, cols)
        y, x = gap + r * (ch + gap), gap + c * (cw + gap)
        sheet[y : y + pic.shape[0], x : x + pic.shape[1]] = pic
    return sheet


def write_previews(preview_dir: Path, kernels: dict[str, np.ndarray], overwrite: bool = False) -> list[Path]:
    """One PNG per kernel (``NAME.png``) and ``contact_sheet.png``."""
    paths = []
    pictures = []
    for name, k in kernels.items():
        pic = kernel_picture(k)
        pictures.append(pic)
        paths.append(write_image(preview_dir / f"{name}.png", pic, overwrite=overwrite))
    if pictures:
        paths.append(write_image(preview_dir / "contact_sheet.png", contact_sheet(pictures), overwrite=overwrite))
    return paths


def kernel_stats(kernel: np.ndarray) -> dict:
    """Size, centre of mass (row, col), and spread: the kernel's standard deviations along its principal axes
    (sigma_major >= sigma_minor, in pixels) and the major axis angle in degrees (counter-clockwise from x)."""
    from realsr_cli.degradations.kernel_centre import centre_of_mass
    from realsr_cli.degradations.kernel_floor import principal_axes

    k = np.clip(kernel, 0, None)
    cy, cx = centre_of_mass(k) if k.sum() else (0.0, 0.0)
    sigmas, axes = principal_axes(k)
    d_row, d_col = axes[:, 1]  # the major axis; rows grow downwards, the angle counts from x towards up
    return {
        "size": [int(kernel.shape[0]), int(kernel.shape[1])],
        "centre": [round(float(cy), 3), round(float(cx), 3)],
        "sigma_major": round(float(sigmas[1]), 4),
        "sigma_minor": round(float(sigmas[0]), 4),
        "angle_deg": round(float(np.degrees(np.arctan2(-d_row, d_col)) % 180), 2),
    }
