"""A camera's noise from its photos: a signal-dependent noise-level function per channel plus colour correlation.

Model (A. Foi, M. Trimeche, V. Katkovnik, K. Egiazarian, "Practical Poissonian-Gaussian noise modeling and fitting
for single-image raw-data", IEEE TIP 2008): the noise variance of channel ``c`` at local mean ``mu`` (0-255 scale)
is ``var_c(mu) = a_c * mu + b_c`` (``a`` the Poisson/photon gain, ``b`` the Gaussian floor); plain Gaussian noise
is ``a = 0``. The noise of the three channels at one pixel is correlated by the matrix ``R`` (demosaicking and
colour processing mix them).

Fit, per channel, following Foi et al.'s level-set scheme with local statistics as in J.S. Lee and K. Hoppel,
"Noise modeling and estimation of remotely-sensed images", IGARSS 1989:

1. local statistics: ``BLOCK`` x ``BLOCK`` blocks at stride ``BLOCK // 2``; per block the mean, the variance of
   the pixels after removing their least-squares quadratic surface (smooth shading and a soft lens's smooth detail
   are not noise), and the high-frequency energy ``hf`` (J. Immerkaer, "Fast noise variance estimation", CVIU
   1996: the Laplacian-difference mask response squared / 36, which white noise of variance ``v`` gives as ``v``).
   Blocks with clipped pixels (0 or the maximum) are left out: clipping shrinks the variance.
2. level sets: the blocks are binned by brightness, each channel's by its own mean (``signal = "channel"``, raw
   sensor noise) or all by the block's BT.601 luma (``"luma"``) when most of the noise is common to the channels
   (mean cross-channel correlation >= ``SHARED_NOISE``: after colour processing and JPEG's YCbCr with subsampled
   chroma, a red block's red noise follows its luma more than its red level; binned by their own channel, the
   levels of one such camera scattered 0.5-1.5x the truth between channels, by luma within 0.9-1.15 on the
   signal-dependent cameras of ``python -m benchmarks noise_model``). In a bin, noise-only blocks have sample
   variances ``var * chi2_k / k``, whose log-density peaks exactly at ``log var`` whatever ``k`` (even for spatially
   correlated noise after JPEG); texture and edges only add variance. In photos of ordinary (textured) scenes most
   blocks of a bin hold texture, so its plain mode is the texture's: the bin's noise variance is the mode of the
   log variances of its *near-flat* blocks, those within ``FLAT_WINDOW`` x the bin's ``FLAT_QUANTILE``-th
   percentile variance (the lower envelope that flat blocks form; a noise-only bin's spread stays well inside that
   window).
3. the line ``a mu + b`` (``a >= 0``; ``b`` may be negative, as in Foi et al.: a pedestal, or an ISP's denoiser
   that leaves the dark tones cleaner than a line through the origin; the level is floored at ``MIN_VARIANCE``)
   through the bins' (median brightness, noise variance): the two-bin line (or one-bin constant, or line through
   the origin) that bins holding the most blocks agree with to ``OUTLIER`` relative error, minus ``BELOW_WEIGHT``
   x the blocks of bins lying clearly *below* it (RANSAC over all pairs): noise cannot be below the noise, so a bin
   under the line contradicts it, while a bin with no flat block at all has its level on texture, above. Refined
   by least squares in relative error on the agreeing bins. (Until 0.11.0 ``b >= 0``: with the channels' own
   bins a negative intercept followed texture; with luma bins it is what the denoised ``isp-phone`` needs.)

The noise's variance / high-frequency ratio (``hf_ratio``: 1 for white noise, above 1 once JPEG, demosaicking or an
ISP has removed high frequencies; J. Immerkaer, "Fast noise variance estimation", CVIU 1996, for ``hf``) is
reported as a property of the camera: the mode of ``var / hf`` over the blocks whose variance the fitted level
explains.

Correlation: the mean, over blocks within 1.2x the fitted variance in every channel (flat ones), of the per-block
correlation of the plane-removed residuals. All quantities are the noise as it is in the files: on JPEG photos,
the post-JPEG noise (see docs/learn-degradation.md, "Noise").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage

from realsr_cli.console import warn_line
from realsr_cli.degradations.noise import BT601, MIN_VARIANCE, NoiseModel
from realsr_cli.errors import OutputExistsError
from realsr_cli.io.atomic import atomic_write_json
from realsr_cli.io.tensors import select_channels

BLOCK = 16
BINS = 16
MIN_BIN_BLOCKS = 12
MODE_BANDWIDTH = 0.12
OUTLIER = 0.35
FLAT_QUANTILE = 5.0  # percent: a bin's lower envelope of block variances, where its flat blocks are
FLAT_WINDOW = 3.0  # near-flat blocks: variance within this x the envelope
BELOW_WEIGHT = 2.0  # a level-set line loses this x the blocks of the bins clearly below it ...
BELOW_MARGIN = 0.35  # ... by more than this relative margin (a few-block bin's level scatters)
FLAT_FOR_CORRELATION = 1.2
SHARED_NOISE = 0.5  # mean cross-channel correlation from which the noise level follows the luma (see shared_noise)
MID_GRAY = 128.0
IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float64)
SIGNAL_DEPENDENT = 0.1  # "poisson-gaussian" when a * 128 is over 10 % of the variance at mid-gray, else "gaussian"


@dataclass
class BlockStats:
    """Per-block statistics of one photo (0-255 scale): ``mean`` (n, C), ``cov`` (n, C, C) of plane residuals,
    ``hf`` (n, C) high-frequency energy (Immerkaer's mask response squared / 36: the variance of white noise)."""

    mean: np.ndarray
    cov: np.ndarray
    hf: np.ndarray
    block: int = BLOCK

    @property
    def var(self) -> np.ndarray:
        return np.diagonal(self.cov, axis1=1, axis2=2)

    @property
    def channels(self) -> int:
        return int(self.mean.shape[1])

    @property
    def luma(self) -> np.ndarray:
        """(n,) each block's mean BT.601 luma (its single channel's mean for gray photos)."""
        return self.mean @ np.asarray(BT601) if self.channels == 3 else self.mean[:, 0]

    def signal(self, kind: str, channel: int) -> np.ndarray:
        """(n,) the brightness of each block that sets ``channel``'s noise level: its luma or its own mean."""
        return self.luma if kind == "luma" else self.mean[:, channel]


@dataclass
class LevelFit:
    """A fitted noise-level function: per channel ``a``, ``b``; the bins it used; how it was obtained."""

    a: np.ndarray
    b: np.ndarray
    bins: list[dict]
    blocks: int
    method: str = "poisson-gaussian"
    hf_ratio: float = 1.0
    ratio_support: int = 0
    signal: str = "channel"

    def variance(self, mu: np.ndarray | float, channel: int) -> np.ndarray:
        """Noise variance (0-255 units) of ``channel`` at signal ``mu`` (the local luma, or for a ``"channel"`` fit
        the channel's mean); floored at ``MIN_VARIANCE``."""
        return np.maximum(self.a[channel] * np.asarray(mu, dtype=np.float64) + self.b[channel], MIN_VARIANCE)

    def sigma(self, mu: float) -> float:
        """Noise standard deviation at brightness ``mu``, averaged over channels (0-255 units)."""
        return float(np.mean([math.sqrt(float(self.variance(mu, c))) for c in range(len(self.a))]))


def colour_planes(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) float64 on the 0-255 scale (16-bit divided by 257), colour channels only (alpha dropped)."""
    return select_channels(pixels.astype(np.float64) / (257.0 if pixels.dtype == np.uint16 else 1.0), "color")


def gray_255(pixels: np.ndarray) -> np.ndarray:
    """BT.601 luma (JPEG's Y, PIL's 'L' weights) of (H, W[, C]) pixels on the 0-255 scale (16-bit divided by 257)."""
    p = colour_planes(pixels)
    return p[:, :, 0] if p.shape[2] == 1 else p[:, :, 0] * BT601[0] + p[:, :, 1] * BT601[1] + p[:, :, 2] * BT601[2]


def block_stats(pixels: np.ndarray, block: int = BLOCK) -> BlockStats:
    """Mean and surface-removed covariance of every ``block`` x ``block`` block at stride ``block // 2``: each
    block's least-squares quadratic surface (``SURFACE``: 1, x, y, x^2, y^2, xy) is removed before the covariance,
    as a smooth shading or the curvature of a soft lens's blur is not noise. One row of blocks at a time (memory
    linear in the photo's width)."""
    planes = colour_planes(pixels)
    h, w, c = planes.shape
    if h < block or w < block:
        return BlockStats(np.zeros((0, c)), np.zeros((0, c, c)), np.zeros((0, c)), block)
    step = max(1, block // 2)
    centred = planes - planes.mean(axis=(0, 1))
    basis = surface_basis(block)
    dof = float(block * block - basis.shape[1])
    means, covs = [], []
    for top in range(0, h - block + 1, step):
        rows = sliding_window_view(centred[top : top + block], (block, block), axis=(0, 1))[0, ::step]
        values = rows.reshape(rows.shape[0], c, block * block)  # (blocks, C, pixels)
        resid = values - (values @ basis) @ basis.T
        means.append(values.mean(-1))
        covs.append(np.einsum("nip,njp->nij", resid, resid) / dof)
    mean = np.concatenate(means) + planes.mean(axis=(0, 1))
    cov = np.concatenate(covs)
    hf = np.stack([box_sums(_highpass(planes[:, :, i]), block, step) / (block * block) for i in range(c)], -1)
    clip = np.asarray(((planes <= 0.5) | (planes >= 254.5)).any(axis=2), dtype=np.float64)
    keep = (box_sums(clip, block, step) == 0).reshape(-1)
    return BlockStats(mean[keep], cov[keep], hf.reshape(-1, c)[keep], block)


def surface_basis(block: int) -> np.ndarray:
    """An orthonormal basis (block^2, 6) of the quadratic surfaces over a ``block`` x ``block`` block."""
    u = np.arange(block, dtype=np.float64) - (block - 1) / 2.0
    yy, xx = (v.reshape(-1) for v in np.meshgrid(u, u, indexing="ij"))
    design = np.stack([np.ones_like(xx), xx, yy, xx * xx, yy * yy, xx * yy], 1)
    return np.linalg.qr(design)[0]


def box_sums(a: np.ndarray, size: int, step: int, offset: int = 0) -> np.ndarray:
    """Sums of ``a`` over the squares ``[t + offset, t + offset + size)`` (both axes), ``t`` on the grid
    ``range(0, H - size - 2 * offset + 1, step)``: integral images, exact in float64 for these magnitudes."""
    h, w = a.shape
    span = size + 2 * offset
    ys = np.arange(0, h - span + 1, step) + offset
    xs = np.arange(0, w - span + 1, step) + offset
    rows = np.zeros((h + 1, w))
    rows[1:] = a.cumsum(0)
    strips = rows[ys + size] - rows[ys]  # (ny, W): column sums of each block row, then prefix sums along x
    cols = np.zeros((len(ys), w + 1))
    cols[:, 1:] = strips.cumsum(1)
    return cols[:, xs + size] - cols[:, xs]


def plane_fit(plane: np.ndarray, size: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per ``size`` x ``size`` block (grid of ``box_sums``): mean and least-squares slopes along x and y."""
    h, w = plane.shape
    centre = (size - 1) / 2.0
    ss = size * float(np.sum((np.arange(size) - centre) ** 2))
    xx = np.arange(w, dtype=np.float64)[None, :]
    yy = np.arange(h, dtype=np.float64)[:, None]
    total = box_sums(plane, size, step)
    x0 = np.arange(0, w - size + 1, step)[None, :] + centre
    y0 = np.arange(0, h - size + 1, step)[:, None] + centre
    sx = (box_sums(plane * xx, size, step) - x0 * total) / ss
    sy = (box_sums(plane * yy, size, step) - y0 * total) / ss
    return total / (size * size), sx, sy


def _highpass(plane: np.ndarray) -> np.ndarray:
    """Immerkaer's (CVIU 1996) Laplacian-difference response squared / 36: white noise of variance v gives v."""
    return ndimage.correlate(plane, IMMERKAER, mode="reflect") ** 2 / 36.0


def immerkaer_sigma(plane: np.ndarray) -> float:
    """Immerkaer (CVIU 1996): sigma = sqrt(pi/2) / (6 (W-2)(H-2)) * sum |I conv N| (NaN below 3x3)."""
    h, w = plane.shape
    if h < 3 or w < 3:
        return float("nan")
    resp = ndimage.correlate(plane, IMMERKAER, mode="reflect")[1:-1, 1:-1]
    return float(math.sqrt(math.pi / 2) * np.abs(resp).sum() / (6.0 * (w - 2) * (h - 2)))


def fit_levels(stats: BlockStats, ratio: float | None = None, signal: str = "channel") -> LevelFit | None:
    """Fit ``var_c = a_c mu + b_c`` per channel (see the module docstring); None without a usable bin.

    ``ratio``: the camera's variance / high-frequency ratio to report with the fit (``hf_ratio``, measured on all
    its photos); None measures it on these blocks. It does not enter the fit.
    """
    a, b, bins = [], [], []
    for ch in range(stats.channels):
        points = _bin_points(stats.signal(signal, ch), stats.var[:, ch])
        if not points:
            return None
        ca, cb = _robust_line(points)
        a.append(ca)
        b.append(cb)
        bins.append([{"mean": round(m, 3), "var": round(v, 4), "blocks": int(k)} for m, v, k in points])
    photon = [ca * MID_GRAY / max(ca * MID_GRAY + cb, MIN_VARIANCE) for ca, cb in zip(a, b, strict=True)]
    method = "poisson-gaussian" if max(photon) > SIGNAL_DEPENDENT else "gaussian"
    flat = [{"channel": ch, **p} for ch, pts in enumerate(bins) for p in pts]
    fit = LevelFit(np.array(a), np.array(b), flat, int(stats.mean.shape[0]), method, signal=signal)
    fit.hf_ratio, fit.ratio_support = hf_ratio(stats, fit) if ratio is None else (float(ratio), 0)
    return fit


def hf_ratio(stats: BlockStats, fit: LevelFit) -> tuple[float, int]:
    """The noise's variance / high-frequency energy ratio (1 for white noise, above 1 for spatially correlated
    noise, e.g. after JPEG or demosaicking) and the number of blocks it rests on: the mode of ``var / hf`` over the
    blocks whose variance the fitted level explains (within ``OUTLIER``: the flat ones); (1.0, 0) without any."""
    ratios = []
    for ch in range(stats.channels):
        var, hf = stats.var[:, ch], stats.hf[:, ch]
        expected = fit.variance(stats.signal(fit.signal, ch), ch)
        flat = (np.abs(var - expected) <= OUTLIER * expected) & (hf > 0)
        ratios.append(var[flat] / hf[flat])
    r = np.concatenate(ratios)
    return (float(log_mode(np.maximum(r, 1e-6))), int(r.size)) if r.size else (1.0, 0)


def _near_flat(var: np.ndarray) -> np.ndarray:
    """The blocks of one bin whose variance is within ``FLAT_WINDOW`` x the bin's lower envelope (its
    ``FLAT_QUANTILE``-th percentile): the flat ones, and the least textured when the scene has none."""
    return var <= FLAT_WINDOW * max(float(np.percentile(var, FLAT_QUANTILE)), MIN_VARIANCE)


def _bin_index(mean: np.ndarray) -> np.ndarray:
    edges = np.linspace(0.0, 255.0, BINS + 1)
    return np.clip(np.digitize(mean, edges) - 1, 0, BINS - 1)


def _bin_points(mean: np.ndarray, var: np.ndarray) -> list[tuple[float, float, int]]:
    """(median mean, noise variance, block count) per intensity bin with enough blocks: the mode of the log
    variances of the bin's near-flat blocks (texture and edges only add variance)."""
    index = _bin_index(mean)
    points = []
    for k in range(BINS):
        sel = index == k
        if int(sel.sum()) < MIN_BIN_BLOCKS:
            continue
        v = var[sel]
        near = v[_near_flat(v)]
        level = log_mode(near) if near.size >= 3 else max(float(np.percentile(v, FLAT_QUANTILE)), MIN_VARIANCE)
        points.append((float(np.median(mean[sel])), level, int(sel.sum())))
    return points


def log_mode(var: np.ndarray, bandwidth: float = MODE_BANDWIDTH) -> float:
    """The mode of ``log(var)`` by a Gaussian kernel density (binned at ``bandwidth / 8``, then smoothed;
    ``var`` floored at ``MIN_VARIANCE`` / 10)."""
    y = np.log(np.maximum(var, MIN_VARIANCE / 10.0))
    lo, hi = float(np.min(y)), float(np.max(y))
    if hi - lo < 1e-9:
        return float(math.exp(lo))
    step = bandwidth / 8
    pad = 4 * bandwidth
    counts, edges = np.histogram(y, bins=int(math.ceil((hi - lo + 2 * pad) / step)), range=(lo - pad, hi + pad))
    density = ndimage.gaussian_filter1d(counts.astype(np.float64), bandwidth / step, mode="constant")
    centres = 0.5 * (edges[:-1] + edges[1:])
    i = int(np.argmax(density))
    if 0 < i < density.size - 1:  # parabolic refinement of the peak
        d0, d1, d2 = density[i - 1], density[i], density[i + 1]
        denom = d0 - 2 * d1 + d2
        shift = 0.5 * (d0 - d2) / denom if denom < 0 else 0.0
        return float(math.exp(centres[i] + shift * step))
    return float(math.exp(centres[i]))


def _robust_line(points: list[tuple[float, float, int]]) -> tuple[float, float]:
    """``var = a mu + b`` with ``a >= 0`` (the photon gain; ``b`` the read-noise variance, negative after a
    pedestal or an ISP's denoiser, as Foi et al. allow; the level is floored at ``MIN_VARIANCE``): the line through
    two bins, a bin and the origin, or the constant of one bin, that the most blocks' bins agree with (relative
    error below ``OUTLIER``; RANSAC over all of them), less ``BELOW_WEIGHT`` x the blocks of bins clearly below it (texture only
    adds variance, so bins above do not pull the line and bins below contradict it); refined by least squares in
    relative error on the agreeing bins."""
    mu = np.array([p[0] for p in points])
    var = np.array([p[1] for p in points])
    count = np.array([p[2] for p in points], dtype=np.float64)
    candidates = [(0.0, float(v)) for v in var] + [(float(v / m), 0.0) for m, v in zip(mu, var, strict=True) if m > 1.0]
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            if abs(mu[j] - mu[i]) > 1.0:
                a = (var[j] - var[i]) / (mu[j] - mu[i])
                if a >= 0:
                    candidates.append((float(a), float(var[i] - a * mu[i])))
    best, best_score = candidates[0], (-math.inf, 0.0)
    for a, b in candidates:
        fit = np.maximum(a * mu + b, MIN_VARIANCE)
        agree = float(count[np.abs(var - fit) <= OUTLIER * fit].sum())
        below = float(count[var < fit / (1.0 + BELOW_MARGIN)].sum())
        score = (agree - BELOW_WEIGHT * below, -float(fit.sum()))
        if score > best_score:
            best, best_score = (a, b), score
    a, b = best
    for _ in range(3):
        fit = np.maximum(a * mu + b, MIN_VARIANCE)
        inlier = np.abs(var - fit) <= OUTLIER * fit
        a, b = _weighted_line(mu[inlier], var[inlier], np.sqrt(count[inlier]) / fit[inlier])
    return a, b


def _weighted_line(mu: np.ndarray, var: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least squares ``var = a mu + b`` with ``a >= 0``: the unconstrained line when its slope is, else
    the better of the line through the origin and the constant."""
    constant = (0.0, float(np.sum(w**2 * var) / np.sum(w**2)))
    if mu.size < 2 or np.ptp(mu) <= 1.0:
        return constant
    design = np.stack([mu, np.ones(mu.size)], 1) * w[:, None]
    a, b = (float(v) for v in np.linalg.lstsq(design, var * w, rcond=None)[0])
    if a >= 0:
        return a, b
    origin = (float(np.sum(w**2 * mu * var) / np.sum(w**2 * mu * mu)), 0.0)
    return min(constant, origin, key=lambda ab: float(np.sum((w * (ab[0] * mu + ab[1] - var)) ** 2)))


def correlation(stats: BlockStats, fit: LevelFit) -> np.ndarray:
    """Cross-channel noise correlation: mean per-block residual correlation over flat blocks (identity if none)."""
    c = stats.channels
    expected = np.stack([fit.variance(stats.signal(fit.signal, ch), ch) for ch in range(c)], 1)
    flat = np.all(stats.var <= FLAT_FOR_CORRELATION * expected, axis=1) & np.all(stats.var > 0, axis=1)
    if c == 1 or int(flat.sum()) < MIN_BIN_BLOCKS:
        return np.eye(c)
    cov = stats.cov[flat]
    d = np.sqrt(np.diagonal(cov, axis1=1, axis2=2))
    r = (cov / (d[:, :, None] * d[:, None, :])).mean(0)
    return nearest_correlation(r)


def shared_noise(corr: np.ndarray) -> bool:
    """Whether most of each channel's noise is common to all three (mean cross-channel correlation at least
    ``SHARED_NOISE``): then it is the colour processing's and JPEG's mix of the channels and its level follows the
    pixel's luma (the model's ``signal = "luma"``); independent channels (raw sensor noise) follow their own
    values."""
    return corr.shape == (3, 3) and float(np.mean(corr[np.triu_indices(3, 1)])) >= SHARED_NOISE


def nearest_correlation(r: np.ndarray) -> np.ndarray:
    """A symmetric positive-definite matrix with unit diagonal near ``r`` (eigenvalues clipped at 1e-3)."""
    r = 0.5 * (r + r.T)
    vals, vecs = np.linalg.eigh(r)
    r = (vecs * np.maximum(vals, 1e-3)) @ vecs.T
    d = np.sqrt(np.diag(r))
    return r / d[:, None] / d[None, :]


def pool(stats: list[BlockStats]) -> BlockStats:
    """The blocks of several photos of one camera as one set (their channel counts must agree)."""
    c = max(s.channels for s in stats)
    same = [s for s in stats if s.channels == c]
    mean, cov, hf = (np.concatenate([getattr(s, k) for s in same]) for k in ("mean", "cov", "hf"))
    return BlockStats(mean, cov, hf, same[0].block)


def fit_camera_model(stats: list[BlockStats], photos: int) -> NoiseModel | None:
    """The camera's noise model from the block statistics of all its photos (None when it cannot be fitted)."""
    usable = [s for s in stats if s.mean.shape[0]]
    if not usable:
        return None
    pooled = pool(usable)
    fit = fit_levels(pooled)
    if fit is None:
        return None
    corr = correlation(pooled, fit)
    if shared_noise(corr):
        luma_fit = fit_levels(pooled, signal="luma")
        if luma_fit is not None:
            fit, corr = luma_fit, correlation(pooled, luma_fit)
    means = pooled.luma if fit.signal == "luma" else pooled.mean
    return NoiseModel(
        a=[float(v) for v in fit.a],
        b=[float(v) for v in fit.b],
        correlation=corr.round(6).tolist(),
        kind=fit.method,
        valid_range=[float(np.percentile(means, 1)), float(np.percentile(means, 99))],
        bins=fit.bins,
        blocks=fit.blocks,
        photos=photos,
        block=pooled.block,
        hf_ratio=round(fit.hf_ratio, 5),
        signal=fit.signal,
    )


def model_levels(model: NoiseModel) -> LevelFit:
    """A camera model's noise-level function as a ``LevelFit``."""
    return LevelFit(
        np.array(model.a), np.array(model.b), model.bins, model.blocks, model.kind, model.hf_ratio, signal=model.signal
    )


def write_model(path: Path, model: NoiseModel | None, overwrite: bool) -> dict:
    """Write ``model.json`` atomically (or remove a stale one when none was fitted); returns the report summary."""
    if model is None:
        if overwrite:
            path.unlink(missing_ok=True)
        reason = f"too few unclipped {BLOCK}x{BLOCK} blocks in the photos to fit a noise model"
        warn_line(f"{path}: not written; {reason}")
        return {"file": None, "reason": reason}
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: exists (use --overwrite)")
    atomic_write_json(path, model.to_json(), overwrite=overwrite)
    return {
        "file": str(path),
        "model": model.kind,
        "a": [round(v, 5) for v in model.a],
        "b": [round(v, 5) for v in model.b],
        "sigma_at_128": [round(float(np.sqrt(model.variance(128.0, c))), 4) for c in range(model.channels)],
        "correlation": model.correlation,
        "hf_ratio": model.hf_ratio,
        "signal": model.signal,
        "blocks": model.blocks,
        "photos": model.photos,
    }
