"""NIQE / PIQE / BRISQUE against official values (../shared calibration) and independent straightforward ports."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch
from scipy import ndimage, special

from realsr_cli.metrics import brisque, niqe, piqe
from realsr_cli.metrics.brisque import (
    BRISQUE_MODEL,
    _aggd_fit,
    brisque_from_features,
    convert_model,
    to_gray_skimage,
)
from realsr_cli.metrics.natural_scene import estimate_aggd
from realsr_cli.metrics.niqe import NIQE_PARAMS
from realsr_cli.scoring import load_unit
from tests.conftest import synthetic_image

# ../shared/data/calibration/VALUES.md: official MATLAB values on the distorted TID2013 images.
NIQE_MATLAB = {"I03": 15.7536, "I04": 3.6549, "I06": 3.2355, "I08": 3.1840, "I19": 8.6352}
PIQE_MATLAB = {"I03": 100.0, "I04": 21.62, "I06": 35.86, "I08": 41.15, "I19": 76.95}


@pytest.fixture(scope="module")
def calibration():
    from tests.conftest import SHARED

    folder = SHARED / "data" / "calibration" / "dist"
    if not folder.is_dir():
        pytest.skip("../shared calibration data missing")
    return {name: load_unit(folder / f"{name}.bmp") for name in NIQE_MATLAB}


def test_niqe_matches_matlab_calibration(calibration):
    got = {n: niqe(x).item() for n, x in calibration.items()}
    assert got["I04"] == pytest.approx(NIQE_MATLAB["I04"], abs=1e-3)
    assert got["I06"] == pytest.approx(NIQE_MATLAB["I06"], abs=2e-3)
    # I03/I08/I19 have large flat areas where MATLAB's own rounding noise enters (see niqe.py docstring).
    for n in NIQE_MATLAB:
        assert got[n] == pytest.approx(NIQE_MATLAB[n], abs=0.035), n


def test_piqe_matches_matlab_calibration(calibration):
    for n, x in calibration.items():
        assert piqe(x).item() == pytest.approx(PIQE_MATLAB[n], abs=0.006), n  # official values have 2 decimals


def _niqe_reference(gray255: np.ndarray) -> float:
    """Straightforward numpy NIQE (BasicSR ``niqe`` structure: loops over blocks, np.roll, scipy convolve)."""
    from realsr_cli.degradations.resize import imresize

    params = np.load(NIQE_PARAMS)
    mu_p, cov_p, window = params["mu_pris_param"].ravel(), params["cov_pris_param"], params["gaussian_window"]
    gam = np.arange(0.2, 10.001, 0.001)
    r_gam = special.gamma(2 / gam) ** 2 / (special.gamma(1 / gam) * special.gamma(3 / gam))

    def aggd(v):
        v = v.ravel()
        ls, rs = np.sqrt(np.mean(v[v < 0] ** 2)), np.sqrt(np.mean(v[v > 0] ** 2))
        g = ls / rs
        rhat = np.mean(np.abs(v)) ** 2 / np.mean(v**2)
        a = gam[np.argmin((r_gam - rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2) ** 2)]
        return (
            a,
            ls * np.sqrt(special.gamma(1 / a) / special.gamma(3 / a)),
            rs * np.sqrt(special.gamma(1 / a) / special.gamma(3 / a)),
        )

    h, w = gray255.shape
    img = gray255[: h // 96 * 96, : w // 96 * 96]
    feats = []
    for scale in (1, 2):
        mu = ndimage.convolve(img, window, mode="nearest")
        sigma = np.sqrt(np.abs(ndimage.convolve(img * img, window, mode="nearest") - mu * mu))
        norm = (img - mu) / (sigma + 1)
        b = 96 // scale
        rows = []
        for i in range(img.shape[0] // b):
            for j in range(img.shape[1] // b):
                blk = norm[i * b : (i + 1) * b, j * b : (j + 1) * b]
                a, bl, br = aggd(blk)
                f = [a, (bl + br) / 2]
                for sh in ((0, 1), (1, 0), (1, 1), (-1, 1)):
                    a, bl, br = aggd(blk * np.roll(blk, sh, axis=(0, 1)))
                    f += [a, (br - bl) * special.gamma(2 / a) / special.gamma(1 / a), bl, br]
                rows.append(f)
        feats.append(np.array(rows))
        img = imresize(torch.from_numpy(img / 255.0)[None, None], scale=0.5)[0, 0].numpy() * 255.0
    feats = np.concatenate(feats, axis=1)
    diff = mu_p - feats.mean(0)
    return float(np.sqrt(diff @ np.linalg.pinv((cov_p + np.cov(feats, rowvar=False)) / 2) @ diff))


def test_niqe_equals_straightforward_port():
    rng = np.random.default_rng(0)
    img = synthetic_image(200, 300, 3, seed=4).astype(np.float64)
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).round()
    x = torch.from_numpy(img / 255).permute(2, 0, 1)[None]
    gray = np.round(img @ np.array([0.298936021293775, 0.587043074451121, 0.114020904255103]))
    assert niqe(x).item() == pytest.approx(_niqe_reference(gray), abs=1e-3)


def test_aggd_fit_recovers_gaussian_and_laplacian():
    g = torch.Generator().manual_seed(0)
    gauss = torch.randn(1, 200_000, generator=g, dtype=torch.float64) * 0.7
    alpha, bl, br = estimate_aggd(gauss)
    assert alpha.item() == pytest.approx(2.0, abs=0.03)
    # For alpha = 2 the scale beta = sigma * sqrt(Gamma(1/2) / Gamma(3/2)) = sigma * sqrt(2).
    assert bl.item() == pytest.approx(0.7 * math.sqrt(2), rel=0.02)
    lap = torch.distributions.Laplace(0.0, 1.0).sample((1, 200_000)).double()
    assert estimate_aggd(lap)[0].item() == pytest.approx(1.0, abs=0.03)
    a, mean, sl, sr = _aggd_fit(lap.numpy().ravel())
    assert a == pytest.approx(1.0, abs=0.03) and abs(mean) < 0.02 and sl == pytest.approx(sr, rel=0.02)


def test_brisque_model_conversion_and_svr(tmp_path, shared_weights):
    out = tmp_path / "m.npz"
    convert_model(shared_weights / "brisque_svm.txt", shared_weights / "brisque_normalize.pickle", out)
    shipped, fresh = np.load(BRISQUE_MODEL), np.load(out)
    for k in shipped.files:
        assert np.array_equal(shipped[k], fresh[k]), k
    assert shipped["support_vectors"].shape == (770, 36) and shipped["rho"] == -155.845
    # The epsilon-SVR with an RBF kernel, evaluated by hand at the first support vector.
    sv, coef = shipped["support_vectors"], shipped["coefs"]
    lo, hi = shipped["feature_min"], shipped["feature_max"]
    feats = lo + (sv[0] + 1) * (hi - lo) / 2
    expected = sum(coef[i] * math.exp(-0.05 * float(((sv[i] - sv[0]) ** 2).sum())) for i in range(770)) + 155.845
    assert brisque_from_features(feats) == pytest.approx(expected, rel=1e-9)


def test_restricted_unpickler_refuses_globals(tmp_path, shared_weights):
    evil = tmp_path / "evil.pickle"
    evil.write_bytes(pickle.dumps({"min_": [0.0], "max_": [1.0], "f": print}))
    with pytest.raises(pickle.UnpicklingError, match="refusing global"):
        convert_model(shared_weights / "brisque_svm.txt", evil, tmp_path / "x.npz")


def test_no_reference_metrics_rank_distortion_consistently():
    clean = torch.from_numpy(synthetic_image(192, 192, 3, seed=5)).permute(2, 0, 1)[None].double() / 255
    g = torch.Generator().manual_seed(1)
    noisy = (clean + 0.15 * torch.randn(clean.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    both = torch.cat([clean, noisy])
    for metric in (niqe, brisque, piqe):
        values = metric(both)
        assert values.shape == (2,) and values[1] > values[0], metric.__name__


# The brisque 0.2.0 package itself (its feature code, its svm.txt + normalize.pickle, predicted by libsvm-official
# 3.37 ``svm_predict_probability``; numpy-2 fix: features flattened to floats) on the distorted calibration images.
# VALUES.md's "LIVE svm.txt" row (94.6421, -0.1076, 0.9929, 5.3583, 72.2617) is pyiqa's calibration row of the original
# LIVE release (``allmodel``: rho -153.591, other feature ranges), a model not available here; see docs/score.md.
BRISQUE_PACKAGE = {"I03": 102.344726, "I04": 0.840863, "I06": 0.747000, "I08": 8.835152, "I19": 89.888746}


def test_calibration_brisque_matches_package(calibration):
    # Measured agreement ~1e-10; 1e-4 leaves room for other BLAS/scipy builds. I19's flat regions make its score
    # depend on the sign of ~1e-17 MSCN rounding noise (a 1-ulp different Gaussian kernel moves it to 90.72).
    for n, x in calibration.items():
        assert brisque(x).item() == pytest.approx(BRISQUE_PACKAGE[n], abs=1e-4), n
    got = {n: brisque(x).item() for n, x in calibration.items()}
    assert got["I03"] > got["I19"] > got["I08"] > max(got["I04"], got["I06"])  # the VALUES.md row's ordering


def test_brisque_gray_equals_skimage_rgb2gray():
    from skimage.color import rgb2gray

    u8 = synthetic_image(24, 40, 3, seed=4)
    x = torch.from_numpy(u8).permute(2, 0, 1).double() / 255
    assert np.array_equal(to_gray_skimage(x), rgb2gray(u8))


def test_niqe_single_block_and_too_small():
    from realsr_cli.errors import InputError

    x = torch.from_numpy(synthetic_image(100, 120, 3, seed=2)).permute(2, 0, 1)[None].double() / 255
    assert math.isfinite(niqe(x).item())
    with pytest.raises(InputError, match="at least 96x96"):
        niqe(x[..., :90, :])
