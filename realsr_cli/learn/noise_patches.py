"""Real noise patches from flat regions, and per-image noise-level estimates.

Two rules pick the windows kept as noise patches.

The adaptive rule (default, ``AdaptiveRule``): the camera's noise-level function ``var_c(mu) = a_c mu + b_c``
(pooled over its photos; one photo's own without that) is fitted first (``realsr_cli.learn.noise_model``: Foi et al., IEEE TIP 2008 level sets, local-variance mode as
Lee & Hoppel, IGARSS 1989), so the threshold follows the noise of that camera and of that brightness
(signal-dependent noise). Overlapping ``window`` (64) windows at ``stride`` (32) are candidates; a window is kept
when, in every colour channel, (1) its variance is at most ``tolerance`` (1.3) times the expected noise variance at
its mean, and (2) it is a weak-texture window in the sense of X. Liu, M. Tanaka, M. Okutomi, "Single-Image Noise
Level Estimation for Blind Denoising", IEEE TIP 2013: the largest eigenvalue of its gradient covariance (central
differences) is at most ``tolerance`` times what white noise of that variance gives (``var / 2``; spatially
correlated noise, e.g. after JPEG, gives less, so the test never rejects pure noise). Windows with more than 1 % of
clipped pixels (0 or the maximum) are skipped: clipping shrinks the noise. Among the passing windows the flattest
are kept greedily without overlap, at most ``max_patches`` per photo. Both tests are made on the window minus its
least-squares plane per channel (a smooth shading is not noise), and the patch is saved so: the window's pixels
minus that plane, its mean kept (the bank removes the mean at injection, as RealSR's).

The RealSR rule (Ji et al., "Real-World Super-Resolution via Kernel Estimation and Noise Injection", CVPRW 2020,
NTIRE 2020 winner; official code https://github.com/jixiaozhong/RealSR codes/preprocess/collect_noise.py):
non-overlapping 256x256 windows of the gray image (``range(0, H - 256, 256)`` as the original, so a window
touching the last row/column is not used), kept when the gray variance is below 20 and the mean above a floor
(both on the 0-255 scale; 16-bit images are judged on value / 257). Kept patches are the colour windows, saved
at the source's bit depth; the mean is removed only when they are injected.

Noise level: the median over kept patches of the per-channel standard deviation (0-255 units), and Immerkaer's
fast estimator on each colour channel of the whole image, averaged (J. Immerkaer, "Fast Noise Variance Estimation", CVIU 1996).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from realsr_cli.degradations.noise import NoiseModel
from realsr_cli.errors import InputError
from realsr_cli.learn.noise_model import (
    BlockStats,
    LevelFit,
    box_sums,
    colour_planes,
    fit_levels,
    gray_255,
    immerkaer_sigma,
    model_levels,
    plane_fit,
)


@dataclass
class NoiseRule:
    window: int = 256
    stride: int = 256
    max_var: float = 20.0
    min_mean: float = 0.0


@dataclass
class AdaptiveRule:
    window: int = 64
    stride: int = 32
    tolerance: float = 1.3
    min_mean: float = 0.0
    max_patches: int = 16
    max_clipped: float = 0.01


@dataclass
class PatchResult:
    patches: list[np.ndarray]
    boxes: list[tuple[int, int]]
    patch_sigma: float | None
    immerkaer_sigma: float
    windows: int
    lowest_var: float | None = None
    variances: list[float] = field(default_factory=list)


def channel_immerkaer(pixels: np.ndarray) -> float:
    """Mean over colour channels (alpha ignored) of Immerkaer's estimate, 0-255 units."""
    planes = colour_planes(pixels)
    return float(np.mean([immerkaer_sigma(planes[:, :, c]) for c in range(planes.shape[2])]))


def collect_patches(pixels: np.ndarray, rule: NoiseRule | None = None) -> PatchResult:
    """Apply the RealSR rule to one image (H, W, C) uint8/uint16; returns kept colour patches and estimates."""
    rule = rule or NoiseRule()
    gray = gray_255(pixels)
    h, w = gray.shape
    sp, st = rule.window, rule.stride
    patches, boxes, variances = [], [], []
    for top in range(0, h - sp, st):
        for left in range(0, w - sp, st):
            win = gray[top : top + sp, left : left + sp]
            var, mean = float(win.var()), float(win.mean())
            variances.append(var)
            if var < rule.max_var and mean > rule.min_mean:
                patches.append(np.ascontiguousarray(pixels[top : top + sp, left : left + sp]))
                boxes.append((top, left))
    return PatchResult(
        patches=patches,
        boxes=boxes,
        patch_sigma=_patch_sigma(patches, pixels.dtype),
        immerkaer_sigma=channel_immerkaer(pixels),
        windows=len(variances),
        lowest_var=min(variances) if variances else None,
        variances=variances,
    )


def suggestion(result: PatchResult, rule: NoiseRule, shape: tuple[int, ...]) -> str:
    """A hint for an image that gave no patches."""
    lowest = result.lowest_var
    if result.windows == 0 or lowest is None:
        return (
            f"the image ({shape[1]}x{shape[0]}) is not larger than one {rule.window}x{rule.window} window; "
            f"try --noise-window {max(16, min(shape[:2]) // 2)}"
        )
    return (
        f"no {rule.window}x{rule.window} window has variance < {rule.max_var:g} and mean > {rule.min_mean:g} "
        f"(lowest variance {lowest:.1f}); try --noise-max-var {math.ceil(lowest * 1.2 + 1)} "
        f"or a smaller --noise-window"
    )


@dataclass
class AdaptiveResult(PatchResult):
    """``PatchResult`` plus why: the noise level used, the windows that passed, the flattest one's ratios."""

    sigma: float | None = None
    brightness: float = 0.0
    passed: int = 0
    clipped: int = 0
    lowest_ratio: float | None = None
    lowest_box: tuple[int, int] | None = None
    ratios: list[float] = field(default_factory=list)


def window_ratios(pixels: np.ndarray, fit: LevelFit, rule: AdaptiveRule) -> tuple[np.ndarray, ...]:
    """Per window (grid ny x nx): worst-channel ratio of plane-removed variance and of gradient-covariance
    eigenvalue to the noise's; gray mean; clipped fraction. Empty arrays when the image is smaller than a window."""
    planes = colour_planes(pixels)
    h, w, c = planes.shape
    win, st = rule.window, rule.stride
    if h < win or w < win:
        empty = np.zeros((0, 0))
        return empty, empty, empty, empty
    n, inner = float(win * win), float((win - 2) ** 2)
    ss = win * float(np.sum((np.arange(win) - (win - 1) / 2.0) ** 2))
    var_ratios, grad_ratios = [], []
    gray = box_sums(gray_255(pixels), win, st) / n
    signal = gray if fit.signal == "luma" and c == 3 else None  # the brightness a "luma" fit's level follows
    for ch in range(c):
        plane = planes[:, :, ch] - planes[:, :, ch].mean()
        mean, gx, gy = plane_fit(plane, win, st)
        residual_var = box_sums(plane * plane, win, st) / n - mean**2 - (gx**2 + gy**2) * ss / n
        own = mean + planes[:, :, ch].mean()
        expected = fit.variance(own if signal is None else signal, min(ch, len(fit.a) - 1))
        dh, dv = np.zeros_like(plane), np.zeros_like(plane)
        dh[:, 1:-1] = 0.5 * (plane[:, 2:] - plane[:, :-2])
        dv[1:-1, :] = 0.5 * (plane[2:, :] - plane[:-2, :])
        sums = [box_sums(a, win - 2, st, offset=1) / inner for a in (dh, dv, dh * dh, dv * dv, dh * dv)]
        mh, mv = sums[0], sums[1]  # the plane's slope: not texture
        c11, c22, c12 = sums[2] - mh**2, sums[3] - mv**2, sums[4] - mh * mv
        lam = 0.5 * (c11 + c22) + np.sqrt(0.25 * (c11 - c22) ** 2 + c12**2)
        var_ratios.append(residual_var / expected)
        grad_ratios.append(lam / (0.5 * expected))
    clip = np.asarray(((planes <= 0.5) | (planes >= 254.5)).any(axis=2), dtype=np.float64)
    clipped = box_sums(clip, win, st) / n
    return np.max(var_ratios, axis=0), np.max(grad_ratios, axis=0), gray, clipped


def remove_plane(window: np.ndarray) -> np.ndarray:
    """The window (h, w, C) integer pixels minus each channel's least-squares plane, its mean kept (same dtype)."""
    p = window.astype(np.float64)
    h, w = p.shape[:2]
    yy = np.arange(h, dtype=np.float64)[:, None, None] - (h - 1) / 2.0
    xx = np.arange(w, dtype=np.float64)[None, :, None] - (w - 1) / 2.0
    gy = (p * yy).sum((0, 1)) / (w * float(np.sum(yy**2)))
    gx = (p * xx).sum((0, 1)) / (h * float(np.sum(xx**2)))
    flat = p - gy * yy - gx * xx
    top = 65535 if window.dtype == np.uint16 else 255
    return np.clip(np.rint(flat), 0, top).astype(window.dtype)


def collect_adaptive(pixels: np.ndarray, fit: LevelFit, rule: AdaptiveRule | None = None) -> AdaptiveResult:
    """Apply the adaptive rule (module docstring) to one image (H, W, C) uint8/uint16 with its noise-level fit."""
    rule = rule or AdaptiveRule()
    var_ratio, grad_ratio, gray, clipped = window_ratios(pixels, fit, rule)
    score = np.maximum(var_ratio, grad_ratio)
    usable = (clipped <= rule.max_clipped) & (gray > rule.min_mean)
    passing = usable & (score <= rule.tolerance)
    boxes: list[tuple[int, int]] = []
    for flat in np.argsort(np.where(passing, score, np.inf), axis=None, kind="stable")[: int(passing.sum())]:
        iy, ix = np.unravel_index(flat, score.shape)
        box = (int(iy) * rule.stride, int(ix) * rule.stride)
        if len(boxes) < rule.max_patches and all(_apart(box, b, rule.window) for b in boxes):
            boxes.append(box)
    boxes.sort()
    win = rule.window
    patches = [remove_plane(pixels[t : t + win, x : x + win]) for t, x in boxes]
    lowest = int(np.argmin(np.where(usable, score, np.inf))) if usable.any() else None
    brightness = float(np.median(gray_255(pixels)))
    return AdaptiveResult(
        patches=patches,
        boxes=boxes,
        patch_sigma=_patch_sigma(patches, pixels.dtype),
        immerkaer_sigma=channel_immerkaer(pixels),
        windows=int(score.size),
        variances=[],
        sigma=fit.sigma(brightness),
        brightness=brightness,
        passed=int(passing.sum()),
        clipped=int((~usable).sum()),
        lowest_ratio=None if lowest is None else float(score.flat[lowest]),
        lowest_box=None
        if lowest is None
        else (lowest // score.shape[1] * rule.stride, lowest % score.shape[1] * rule.stride),
        ratios=[float(v) for v in np.sort(score[usable])[:5]],
    )


def _apart(a: tuple[int, int], b: tuple[int, int], window: int) -> bool:
    return abs(a[0] - b[0]) >= window or abs(a[1] - b[1]) >= window


def _patch_sigma(patches: list[np.ndarray], dtype: np.dtype) -> float | None:
    """Median over patches of the mean per-channel standard deviation (0-255 units)."""
    if not patches:
        return None
    scale = 257.0 if dtype == np.uint16 else 1.0
    return float(
        np.median([float(np.mean(p.reshape(-1, p.shape[-1]).astype(np.float64).std(0))) / scale for p in patches])
    )


def adaptive_reason(result: AdaptiveResult, rule: AdaptiveRule, shape: tuple[int, ...]) -> str:
    """Why an image gave no patches under the adaptive rule, with a hint."""
    if result.windows == 0:
        return (
            f"the image ({shape[1]}x{shape[0]}) is smaller than one {rule.window}x{rule.window} window; "
            f"try --noise-window {max(16, min(shape[:2]) // 2)}"
        )
    if result.lowest_ratio is None:
        return (
            f"all {result.windows} {rule.window}x{rule.window} windows are clipped (over {rule.max_clipped:.0%} of "
            f"pixels at 0 or white) or darker than --noise-min-mean {rule.min_mean:g}"
        )
    sigma = f"sigma {result.sigma:.2f} at brightness {result.brightness:.0f}" if result.sigma is not None else "?"
    return (
        f"no {rule.window}x{rule.window} window is within {rule.tolerance:g}x the expected noise variance and "
        f"gradient energy ({sigma}); the flattest, at {result.lowest_box}, has {result.lowest_ratio:.2f}x: "
        f"the scene has no flat area at this size (the noise model still describes the noise); try a smaller "
        f"--noise-window or --noise-tolerance {math.ceil(result.lowest_ratio * 10 + 1) / 10:g}"
    )


def photo_noise(
    pixels: np.ndarray, stats: BlockStats, camera: NoiseModel | None, rule: AdaptiveRule | NoiseRule
) -> tuple[dict, PatchResult]:
    """One photo's patches and its report entry: the noise level found, the rule's threshold, what was kept, why.

    The noise-level function is the camera model's (fitted on the blocks of all its photos: one photo's bins hold
    too few flat blocks to place the line reliably); the photo's own fit without a camera model; else a constant
    from Immerkaer's estimate.
    """
    fit, source = (model_levels(camera), "camera") if camera is not None else (fit_levels(stats), "photo")
    if fit is None:
        fit, source = immerkaer_levels(pixels), "immerkaer"
    brightness = float(np.median(gray_255(pixels)))
    entry: dict = {
        "sigma": round(fit.sigma(brightness), 4),
        "brightness": round(brightness, 2),
        "noise_level": {"a": _rounded(fit.a), "b": _rounded(fit.b), "model": fit.method, "from": source},
    }
    if isinstance(rule, NoiseRule):
        res: PatchResult = collect_patches(pixels, rule)
        entry.update(rule="realsr", window=rule.window, stride=rule.stride, max_var=rule.max_var)
        entry.update(patches=len(res.patches), windows=res.windows)
        if not res.patches:
            entry["reason"] = entry["suggestion"] = suggestion(res, rule, pixels.shape)
    else:
        res = collect_adaptive(pixels, fit, rule)
        expected = float(np.mean([fit.variance(brightness, c) for c in range(len(fit.a))]))
        entry.update(rule="adaptive", window=rule.window, stride=rule.stride, tolerance=rule.tolerance)
        entry["threshold_var"] = round(expected * rule.tolerance, 4)
        entry.update(patches=len(res.patches), windows=res.windows, passed=res.passed, clipped=res.clipped)
        entry["flattest_ratios"] = [round(v, 3) for v in res.ratios]
        if not res.patches:
            entry["reason"] = adaptive_reason(res, rule, pixels.shape)
    entry["sigma_patches"] = None if res.patch_sigma is None else round(res.patch_sigma, 4)
    entry["sigma_immerkaer"] = round(res.immerkaer_sigma, 4)
    return entry, res


def immerkaer_levels(pixels: np.ndarray) -> LevelFit:
    """A constant noise-level function from Immerkaer's per-channel estimate (when nothing can be fitted)."""
    planes = colour_planes(pixels)
    b = np.array([immerkaer_sigma(planes[:, :, c]) ** 2 for c in range(planes.shape[2])])
    return LevelFit(np.zeros_like(b), np.nan_to_num(b), [], 0, "gaussian")


def _rounded(values) -> list[float]:
    return [round(float(v), 5) for v in values]


def noise_rule_from_options(
    rule: str,
    window: int | None,
    stride: int | None,
    tolerance: float,
    max_var: float | None,
    min_mean: float,
) -> AdaptiveRule | NoiseRule:
    """The rule of the ``--noise-*`` options; thresholds of the other rule are an error, not silently ignored."""
    rule = rule.strip().lower()
    if rule == "realsr":
        window = 256 if window is None else window
        max_var = 20.0 if max_var is None else max_var
        chosen: AdaptiveRule | NoiseRule = NoiseRule(window, stride or window, max_var, min_mean)
    elif rule == "adaptive":
        if max_var is not None:
            raise InputError("--noise-max-var is the realsr rule's threshold: add --noise-rule realsr")
        window = 64 if window is None else window
        chosen = AdaptiveRule(window, stride or max(1, window // 2), tolerance, min_mean)
        if not tolerance > 0:
            raise InputError(f"--noise-tolerance {tolerance}: must be positive")
    else:
        raise InputError(f"--noise-rule {rule}: expected adaptive or realsr")
    if window < 8 or chosen.stride < 1:
        raise InputError(f"--noise-window {window} / --noise-stride {chosen.stride}: need a window >= 8, stride >= 1")
    return chosen
