"""Blur kernels: Gaussian (isotropic/anisotropic), generalized Gaussian, plateau, sinc; kernel files; blurring.

Kernel generators follow BasicSR/Real-ESRGAN (``basicsr/data/degradations.py``: ``bivariate_Gaussian``,
``bivariate_generalized_Gaussian``, ``bivariate_plateau``, ``circular_lowpass_kernel``; Wang et al., "Real-ESRGAN",
ICCVW 2021): a (k, k) grid centred on the middle pixel, covariance ``R diag(sx^2, sy^2) R^T`` with rotation ``theta``;

- Gaussian ``exp(-0.5 d)``, generalized Gaussian ``exp(-0.5 d^beta)``, plateau ``1 / (1 + d^beta)``, where ``d`` is
  the squared Mahalanobis distance ``x^T S^-1 x``;
- sinc (circular low-pass): ``wc J1(wc r) / (2 pi r)``, centre ``wc^2 / (4 pi)``.

Every kernel is float64 and normalised to sum 1. ``load_kernel`` reads ``.npy``, KernelGAN's ``.mat`` (key ``Kernel``
as written by sefibk/KernelGAN ``save_final_kernel``, or ``kernel``) and 8/16-bit PNGs.

``blur`` is BasicSR's ``filter2D``: per-channel correlation with reflect padding (``d c b | a b c d``).
``blur_subsample`` is the KernelGAN/RealSR model ``(I * k)↓s`` exactly as KernelGAN's ``imresize(..., kernel=k)``
used by RealSR (Ji et al., CVPRW 2020, jixiaozhong/RealSR): ``scipy.ndimage.correlate`` (symmetric borders,
``c b a | a b c``), then rows/columns ``0, s, 2s, ...``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from scipy import special

from realsr_cli.errors import InputError

KERNEL_EXTENSIONS = (".npy", ".mat", ".png")


def normalise(kernel: np.ndarray) -> np.ndarray:
    """float64 copy scaled to sum 1 (refuses empty, non-finite or non-positive-sum kernels)."""
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0 or not np.all(np.isfinite(k)):
        raise InputError(f"a blur kernel must be a finite 2-D array, got shape {k.shape}")
    total = k.sum()
    if total <= 0:
        raise InputError("a blur kernel must have a positive sum")
    return k / total


def mesh_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """x (columns) and y (rows) offsets from the kernel centre."""
    ax = np.arange(size, dtype=np.float64) - (size - 1) / 2
    return np.meshgrid(ax, ax)


def _mahalanobis_sq(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    cov = rot @ np.diag([sigma_x**2, sigma_y**2]) @ rot.T
    inv = np.linalg.inv(cov)
    xx, yy = mesh_grid(size)
    return inv[0, 0] * xx * xx + (inv[0, 1] + inv[1, 0]) * xx * yy + inv[1, 1] * yy * yy


def gaussian_kernel(size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0) -> np.ndarray:
    """(An)isotropic Gaussian; ``sigma_y=None`` gives the isotropic kernel."""
    sigma_y = sigma_x if sigma_y is None else sigma_y
    return normalise(np.exp(-0.5 * _mahalanobis_sq(size, sigma_x, sigma_y, theta)))


def generalized_gaussian_kernel(
    size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0, beta: float = 1.0
) -> np.ndarray:
    """Generalized Gaussian ``exp(-0.5 d^beta)`` (beta = 1 is the Gaussian)."""
    sigma_y = sigma_x if sigma_y is None else sigma_y
    return normalise(np.exp(-0.5 * np.power(_mahalanobis_sq(size, sigma_x, sigma_y, theta), beta)))


def plateau_kernel(
    size: int, sigma_x: float, sigma_y: float | None = None, theta: float = 0.0, beta: float = 1.0
) -> np.ndarray:
    """Plateau-shaped ``1 / (1 + d^beta)``."""
    sigma_y = sigma_x if sigma_y is None else sigma_y
    return normalise(1.0 / (np.power(_mahalanobis_sq(size, sigma_x, sigma_y, theta), beta) + 1.0))


def sinc_kernel(size: int, cutoff: float, pad_to: int = 0) -> np.ndarray:
    """Circular low-pass (2-D sinc) kernel with cutoff ``wc`` (radians), optionally zero-padded to ``pad_to``."""
    if size % 2 != 1:
        raise ValueError("sinc kernel size must be odd")
    xx, yy = mesh_grid(size)
    r = np.sqrt(xx * xx + yy * yy)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = cutoff * special.j1(cutoff * r) / (2 * np.pi * r)
    k[size // 2, size // 2] = cutoff**2 / (4 * np.pi)
    k = k / k.sum()
    if pad_to > size:
        pad = (pad_to - size) // 2
        k = np.pad(k, pad)
    return k


def pad_kernel(kernel: np.ndarray, size: int) -> np.ndarray:
    """Zero-pad a centred odd kernel to ``size`` x ``size``."""
    pad = (size - kernel.shape[0]) // 2
    return np.pad(kernel, pad) if pad > 0 else kernel


def make_kernel(spec: dict) -> np.ndarray:
    """Build a kernel from recorded parameters: {"type": iso|aniso|generalized_iso|..., "size", ...}."""
    kind, size = spec["type"], int(spec["size"])
    if kind == "sinc":
        return pad_kernel(sinc_kernel(size, float(spec["cutoff"])), int(spec.get("pad_to", 0)))
    if kind not in ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso"):
        raise ValueError(f"unknown kernel type {kind!r}")
    sx, sy, theta = float(spec["sigma_x"]), spec.get("sigma_y"), float(spec.get("theta", 0.0))
    sy = sy if kind.endswith("aniso") else None
    if kind in ("iso", "aniso"):
        kernel = gaussian_kernel(size, sx, sy, theta)
    elif kind.startswith("generalized"):
        kernel = generalized_gaussian_kernel(size, sx, sy, theta, spec["beta"])
    else:
        kernel = plateau_kernel(size, sx, sy, theta, spec["beta"])
    return pad_kernel(kernel, int(spec.get("pad_to", 0)))


# ---------------------------------------------------------------------------------------------------- kernel files


def load_kernel(path: str | Path) -> np.ndarray:
    """Read a kernel file (.npy, KernelGAN .mat, 8/16-bit PNG) as float64 normalised to sum 1."""
    path = Path(path)
    ext = path.suffix.lower()
    try:
        if ext == ".npy":
            data = np.load(path, allow_pickle=False)
        elif ext == ".mat":
            data = _load_mat(path)
        elif ext == ".png":
            data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if data is None:
                raise InputError(f"{path}: not a readable PNG")
            data = data.astype(np.float64)
            if data.ndim == 3:
                data = data[..., :3].mean(axis=2)
        else:
            raise InputError(f"{path}: unsupported kernel file (use {', '.join(KERNEL_EXTENSIONS)})")
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - numpy/scipy raise many types for corrupt files
        raise InputError(f"{path}: cannot read kernel ({type(exc).__name__}: {exc})") from None
    data = np.squeeze(np.asarray(data))
    try:
        return normalise(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None


def _load_mat(path: Path) -> np.ndarray:
    from scipy.io import loadmat

    mat = loadmat(str(path))
    for key in ("Kernel", "kernel"):
        if key in mat:
            return mat[key]
    arrays = [k for k in mat if not k.startswith("__")]
    if len(arrays) == 1:
        return mat[arrays[0]]
    raise InputError(f"{path}: no 'Kernel' or 'kernel' variable (found {', '.join(arrays) or 'none'})")


CAMERA_KERNEL_STEM = "camera"  # learn-degradation's camera kernel: top-level camera_kernel_x{s}.npy|.mat


def camera_kernel_file(folder: str | Path, scale: int) -> Path | None:
    """The camera kernel ``camera_kernel_x{s}.npy`` (or ``.mat``) at the top of a kernel folder, if there is one."""
    for ext in (".npy", ".mat"):
        path = Path(folder) / f"{CAMERA_KERNEL_STEM}_kernel_x{int(scale)}{ext}"
        if path.is_file():
            return path
    return None


def find_kernel_files(folder: str | Path, scale: int, per_photo: bool = False) -> list[Path]:
    """Kernel files for ``scale`` in a folder: the camera kernel (``camera_kernel_x{s}``, from ``learn-degradation``)
    when there is one, unless ``per_photo``; otherwise ``*_kernel_x{s}.npy|.mat`` searched recursively (this tool's
    folders and KernelGAN's ``results/<img>/<img>_kernel_x{s}.mat``; one file per stem, .npy preferred), and
    failing those the top-level .npy/.mat/.png files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: kernel folder not found")
    camera = camera_kernel_file(folder, scale)
    if camera is not None and not per_photo:
        return [camera]
    pattern = re.compile(rf"_kernel_x{int(scale)}\.(npy|mat)$", re.IGNORECASE)
    chosen: dict[tuple[Path, str], Path] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file() and pattern.search(p.name):
            key = (p.parent, p.stem)
            if key not in chosen or p.suffix.lower() == ".npy":
                chosen[key] = p
    chosen.pop((folder, f"{CAMERA_KERNEL_STEM}_kernel_x{int(scale)}"), None)
    if chosen:
        return sorted(chosen.values())
    if camera is not None:
        raise InputError(
            f"{folder}: only the camera kernel for x{scale}, no per-photo kernels "
            "(learn-degradation --per-photo-kernels writes them)"
        )
    fallback = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in KERNEL_EXTENSIONS)
    if not fallback:
        raise InputError(f"{folder}: no kernel files for x{scale} (*_kernel_x{scale}.npy/.mat, or .npy/.mat/.png)")
    return fallback


# ---------------------------------------------------------------------------------------------------- blurring


def _pad_index(n: int, before: int, after: int, mode: str) -> torch.Tensor:
    idx = np.arange(-before, n + after)
    if mode == "symmetric":
        m = np.mod(idx, 2 * n)
        idx = np.where(m < n, m, 2 * n - 1 - m)
    elif n == 1:
        idx = np.zeros_like(idx)
    else:  # reflect, edge not repeated
        m = np.mod(idx, 2 * n - 2)
        idx = np.where(m < n, m, 2 * n - 2 - m)
    return torch.from_numpy(idx)


def pad2d(x: torch.Tensor, pad: tuple[int, int, int, int], mode: str = "reflect") -> torch.Tensor:
    """Pad (B,C,H,W) by (left, right, top, bottom), ``reflect`` or ``symmetric``, for any pad size."""
    left, right, top, bottom = pad
    h, w = x.shape[-2:]
    rows = _pad_index(h, top, bottom, mode).to(x.device)
    cols = _pad_index(w, left, right, mode).to(x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


FFT_MIN_TAPS = 200  # kernels with more taps (15x15 and up) are applied through the FFT: same result, faster on CPU


def trim_kernel(kernel: torch.Tensor) -> torch.Tensor:
    """Drop all-zero outer rings (e.g. Real-ESRGAN's zero padding to 21x21); the blur result is unchanged."""
    k = kernel
    while k.shape[-1] > 2 and k.shape[-2] > 2 and k.shape[-1] % 2 == 1 and k.shape[-2] % 2 == 1:
        if torch.any(k[..., 0, :] != 0) or torch.any(k[..., -1, :] != 0):
            break
        if torch.any(k[..., :, 0] != 0) or torch.any(k[..., :, -1] != 0):
            break
        k = k[..., 1:-1, 1:-1]
    return k


def _fast_length(n: int) -> int:
    """Smallest 5-smooth length >= n (fast FFT sizes; zero padding beyond the image does not change 'valid')."""
    m = n
    while True:
        r = m
        for p in (2, 3, 5):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


def _fft_valid_correlate(xp: torch.Tensor, k: torch.Tensor, out_hw: tuple[int, int]) -> torch.Tensor:
    """'valid' correlation of padded images (..., Hp, Wp) with (k, k) or per-image (B, 1, k, k) kernels via rFFT."""
    hp, wp = _fast_length(xp.shape[-2]), _fast_length(xp.shape[-1])
    kh, kw = k.shape[-2:]
    spec = torch.fft.rfft2(xp, s=(hp, wp)) * torch.fft.rfft2(torch.flip(k, dims=(-2, -1)), s=(hp, wp))
    full = torch.fft.irfft2(spec, s=(hp, wp))
    return full[..., kh - 1 : kh - 1 + out_hw[0], kw - 1 : kw - 1 + out_hw[1]]


def blur(x: torch.Tensor, kernel: np.ndarray | torch.Tensor, padding: str = "reflect") -> torch.Tensor:
    """Correlate every channel of (B,C,H,W) with one (k, k) kernel (or a (B, k, k) batch of kernels); same size out.

    Small kernels use direct convolution, large ones the FFT (identical up to float rounding)."""
    k = torch.as_tensor(np.asarray(kernel) if not isinstance(kernel, torch.Tensor) else kernel)
    k = trim_kernel(k.to(device=x.device, dtype=x.dtype))
    b, c, h, w = x.shape
    kh, kw = k.shape[-2:]
    xp = pad2d(x, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2), padding)
    if kh * kw >= FFT_MIN_TAPS:
        return _fft_valid_correlate(xp, k if k.dim() == 2 else k[:, None], (h, w))
    if k.dim() == 2:
        return F.conv2d(xp, k.expand(c, 1, kh, kw), groups=c)
    weight = k[:, None].expand(b, c, kh, kw).reshape(b * c, 1, kh, kw)
    out = F.conv2d(xp.reshape(1, b * c, *xp.shape[-2:]), weight, groups=b * c)
    return out.reshape(b, c, h, w)


def blur_subsample(x: torch.Tensor, kernel: np.ndarray | torch.Tensor, scale: int) -> torch.Tensor:
    """``(I * k)↓s``: symmetric-padded correlation with ``k`` evaluated only at every ``s``-th pixel from the first."""
    s = int(scale)
    k = torch.as_tensor(np.asarray(kernel) if not isinstance(kernel, torch.Tensor) else kernel)
    k = trim_kernel(k.to(device=x.device, dtype=x.dtype))
    c = x.shape[1]
    kh, kw = k.shape[-2:]
    xp = pad2d(x, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2), "symmetric")
    return F.conv2d(xp, k.expand(c, 1, kh, kw), groups=c, stride=s)
