"""BRISQUE: Mittal, Moorthy, Bovik, "No-Reference Image Quality Assessment in the Spatial Domain", IEEE TIP 2012.

The model is the LIVE-trained epsilon-SVR distributed with the ``brisque`` Python package 0.2.0 (``models/svm.txt``
+ ``normalize.pickle``, Apache-2.0), converted once by ``convert_model`` into ``data/brisque_live.npz`` (plain
arrays, read with ``allow_pickle=False``; the pickle is read with an unpickler that refuses every global). Features
follow that package bit for bit so that its model gives its scores (equal to the package run with libsvm to ~1e-10;
the ``BRISQUE (LIVE svm.txt model)`` row of ``../shared/data/calibration/VALUES.md`` is in fact pyiqa's row for the
original LIVE release model, rho -153.591, which is not available): gray = scikit-image ``rgb2gray`` of [0, 1] RGB; MSCN with a 7x7 Gaussian
(sigma 7/6), zero padding, C = 1/255; AGGD fits (moment matching solved by ``scipy.optimize.root`` from 0.2) of the
MSCN coefficients and of the 4 neighbour products, at full and half size (OpenCV bicubic ``resize``): 36 features
scaled to [-1, 1]; score = sum_i coef_i exp(-gamma ||x - sv_i||^2) - rho. Lower is better (about 0..100).
MATLAB's ``brisque`` ships a different model release, so its values are not reproduced (see docs/score.md).
"""

from __future__ import annotations

import pickle
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import torch
from scipy import optimize, signal, special

from realsr_cli.errors import InputError

BRISQUE_MODEL = Path(__file__).parent / "data" / "brisque_live.npz"
SKIMAGE_GRAY = (0.2125, 0.7154, 0.0721)


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # pickle protocol
        raise pickle.UnpicklingError(f"refusing global {module}.{name} in a parameter file")


def convert_model(svm_txt: Path, normalize_pickle: Path, out: Path) -> None:
    """Convert the libsvm text model and the scaling pickle of ``brisque`` 0.2.0 into one ``.npz`` of arrays."""
    lines = Path(svm_txt).read_text().splitlines()
    header = {}
    start = lines.index("SV") + 1
    for line in lines[: start - 1]:
        key, *values = line.split()
        header[key] = values
    coefs, rows = [], []
    for line in lines[start:]:
        if not line.strip():
            continue
        coef, *pairs = line.split()
        row = np.zeros(36)
        for pair in pairs:
            idx, val = pair.split(":")
            row[int(idx) - 1] = float(val)
        coefs.append(float(coef))
        rows.append(row)
    with open(normalize_pickle, "rb") as f:
        scale = _NoGlobals(f).load()
    np.savez_compressed(
        out,
        support_vectors=np.array(rows),
        coefs=np.array(coefs),
        rho=np.float64(header["rho"][0]),
        gamma=np.float64(header["gamma"][0]),
        feature_min=np.array(scale["min_"], dtype=np.float64),
        feature_max=np.array(scale["max_"], dtype=np.float64),
    )


@lru_cache(maxsize=1)
def _model() -> dict[str, np.ndarray]:
    with np.load(BRISQUE_MODEL, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


def _gaussian(n: int = 7, sigma: float = 7 / 6) -> np.ndarray:
    # The package's exact expression (with the 1/(2 pi sigma^2) factor before normalising): the kernel then differs by
    # ~1e-17, which in flat regions flips the sign of the MSCN rounding noise and moves the score (I19: 90.72 vs 89.89).
    y, x = np.indices((n, n)) - n // 2
    k = 1 / (2 * np.pi * sigma**2) * np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return k / np.sum(k)


def _mscn(gray: np.ndarray) -> np.ndarray:
    k = _gaussian()
    mu = signal.convolve2d(gray, k, "same")
    sd = np.sqrt(np.abs(mu**2 - signal.convolve2d(gray**2, k, "same")))
    return (gray - mu) / (sd + 1 / 255)


def _phi(alpha: np.ndarray) -> np.ndarray:
    return special.gamma(2 / alpha) ** 2 / (special.gamma(1 / alpha) * special.gamma(3 / alpha))


def _aggd_fit(x: np.ndarray) -> tuple[float, float, float, float]:
    """(alpha, mean, sigma_l, sigma_r) of an AGGD fitted by moment matching (``brisque`` 0.2.0 conventions)."""
    left, right = x[x < 0], x[x >= 0]
    sl = np.sqrt(np.sum(left**2) / left.size) if left.size else 0.0
    sr = np.sqrt(np.sum(right**2) / right.size) if right.size else 0.0
    if sr == 0 or sl == 0:
        raise InputError("BRISQUE: the image has no texture (one-sided or constant MSCN coefficients)")
    r_hat = np.mean(np.abs(x)) ** 2 / np.mean(x**2)
    g = sl / sr
    big_r = r_hat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    alpha = float(optimize.root(lambda z: _phi(z) - big_r, [0.2]).x[0])
    const = np.sqrt(special.gamma(1 / alpha) / special.gamma(3 / alpha))
    mean = (sr - sl) * const * (special.gamma(2 / alpha) / special.gamma(1 / alpha))
    return alpha, float(mean), float(sl), float(sr)


def _scale_features(gray: np.ndarray) -> list[float]:
    m = _mscn(gray)
    products = (m[:, :-1] * m[:, 1:], m[:-1, :] * m[1:, :], m[:-1, :-1] * m[1:, 1:], m[1:, :-1] * m[:-1, 1:])
    alpha, _, sl, sr = _aggd_fit(m)
    feats = [alpha, (sl**2 + sr**2) / 2]
    for p in products:
        alpha, mean, sl, sr = _aggd_fit(p)
        feats += [alpha, mean, sl**2, sr**2]
    return feats


def brisque_features(gray: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of a float64 gray image in [0, 1] (full and half size)."""
    if min(gray.shape) < 16:
        raise InputError(f"BRISQUE needs at least 16x16 pixels, got {gray.shape[1]}x{gray.shape[0]}")
    half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
    return np.array(_scale_features(gray) + _scale_features(half))


def brisque_from_features(feats: np.ndarray) -> float:
    m = _model()
    x = -1 + 2.0 / (m["feature_max"] - m["feature_min"]) * (feats - m["feature_min"])
    dist = ((m["support_vectors"] - x) ** 2).sum(axis=1)
    return float(np.sum(m["coefs"] * np.exp(-m["gamma"] * dist)) - m["rho"])


def to_gray_skimage(x: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W) float64 exactly as scikit-image ``rgb2gray`` (alpha dropped, gray passed through).

    Pixels on the 8-bit grid are rebuilt as the uint8 image that ``rgb2gray`` would get (``u8 * (1/255)`` then
    ``rgb @ coeffs``), so that the result equals the package's bit for bit (its flat regions are that sensitive).
    """
    a = x.detach().to(torch.float64).cpu().numpy()
    u8 = np.rint(a * 255.0)
    if np.all(np.abs(a * 255.0 - u8) < 1e-6):
        a = np.multiply(u8, 1.0 / 255.0)
    if a.shape[0] in (1, 2):
        return a[0]
    return np.ascontiguousarray(np.moveaxis(a[:3], 0, -1)) @ np.array(SKIMAGE_GRAY)  # as rgb2gray: (H, W, 3) rows


def brisque(x: torch.Tensor, crop_border: int = 0) -> torch.Tensor:
    """BRISQUE (LIVE model) of each image of (B, C, H, W) in [0, 1]; lower is better; float64 (B,)."""
    x = x if x.dim() == 4 else x.unsqueeze(0)
    if crop_border:
        x = x[..., crop_border:-crop_border, crop_border:-crop_border]
    values = [brisque_from_features(brisque_features(to_gray_skimage(img))) for img in x]
    return torch.tensor(values, dtype=torch.float64)
