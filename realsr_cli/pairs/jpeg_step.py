"""The last step of a camera chain in ``make-pairs --kernels``: JPEG at the quality ``learn-degradation`` measured.

``learn-degradation`` writes ``OUT/jpeg.json`` (:mod:`realsr_cli.learn.jpeg_quality`); ``--jpeg auto`` (default)
finds it beside the ``--kernels`` (or ``--noise-patches``) folder and, when the camera's photos carry JPEG,
compresses every LR pair after the kernel and the noise (kernel -> noise -> JPEG, the order of a camera), at a
quality drawn per pair from the photos' measured qualities. ``--jpeg off`` disables it, ``--jpeg N`` fixes the
quality, ``--jpeg FILE`` reads another ``jpeg.json``.

The camera's noise (patches and ``noise/model.json``) is measured in its JPEG files, i.e. after its JPEG. Added to
a pair and compressed again at the same quality it would lose as much once more (sigma 10 in the camera is 5.4 in
its q75 files and 2.4 after a second q75). :func:`jpeg_noise_gain` undoes that: the noise op's ``strength`` is
scaled so that, after the pair's JPEG, flat regions carry the measured (post-JPEG) level again — calibrated on
mid-grey (the noise was measured on flat windows) with the noise's own spectrum and colour (the patch itself; for
the model, spatially white noise with the model's per-channel levels and colour correlation, as it synthesises),
and recorded in the op so the pair replays exactly. The colour matters: JPEG keeps luma noise and removes most
chroma noise, so independent channels lose far more than the luma-correlated noise a camera's files hold
(post-JPEG correlation 0.9); calibrating a correlated model on independent noise over-amplified it 1.4x.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from realsr_cli.degradations.jpeg import jpeg_compress
from realsr_cli.degradations.noise import correlate_channels
from realsr_cli.errors import InputError
from realsr_cli.learn.jpeg_quality import JPEG_FILE


@dataclass(frozen=True)
class JpegStep:
    """Qualities to draw from (uniformly, one per pair) and where they came from."""

    qualities: tuple[int, ...]
    source: str

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {"op": "jpeg", "quality": int(self.qualities[int(rng.integers(len(self.qualities)))])}


def read_jpeg_file(path: Path) -> JpegStep | None:
    """A ``jpeg.json``'s step, or None when it says the photos carry no JPEG."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the JPEG measurement ({exc})") from None
    if not isinstance(data, dict) or "detected" not in data:
        raise InputError(f"{path}: not a learn-degradation jpeg.json (no 'detected' field)")
    if not data["detected"]:
        return None
    qualities = data.get("make_pairs_qualities")
    if qualities == []:
        raise InputError(f"{path}: the photos carry JPEG of unknown quality; give --jpeg N (or --jpeg off)")
    if not qualities or not all(isinstance(q, int) and 1 <= q <= 100 for q in qualities):
        raise InputError(f"{path}: 'make_pairs_qualities' must be a non-empty list of integers 1..100")
    return JpegStep(tuple(qualities), str(Path(path).resolve()))


def resolve_jpeg(spec: str | int | None, kernels: Path | None, noise: Path | None = None) -> JpegStep | None:
    """``--jpeg``: auto | off | a quality 1..100 | a jpeg.json file."""
    text = "off" if spec is None else str(spec).strip()
    if text.lower() in ("off", "none", "no", "0"):
        return None
    if text.isdigit():
        quality = int(text)
        if not 1 <= quality <= 100:
            raise InputError(f"--jpeg {text}: a JPEG quality is 1..100")
        return JpegStep((quality,), f"--jpeg {quality}")
    if text.lower() == "auto":
        folders = [f for f in (kernels, noise) if f is not None]
        for candidate in [f.parent / JPEG_FILE for f in folders] + [f / JPEG_FILE for f in folders]:
            if candidate.is_file():
                return read_jpeg_file(candidate)
        return None
    path = Path(text)
    if not path.is_file():
        raise InputError(f"--jpeg {text}: no such file (expected auto, off, a quality 1..100 or a jpeg.json file)")
    return read_jpeg_file(path)


def jpeg_option(step: JpegStep | None) -> str:
    """What a manifest records (and ``mode_from_record`` passes back to :func:`resolve_jpeg`)."""
    if step is None:
        return "off"
    return str(step.qualities[0]) if step.source.startswith("--jpeg") else step.source


MAX_NOISE_GAIN = 4.0
MIN_NOISE_GAIN = 0.5
CALIBRATION_SIZE = 256
COMPENSATION_LEVELS = (48, 88, 128, 168, 208)  # grey levels a noise model's JPEG gain is measured at
MID_GREY = 128  # an 8-bit level: at 127.5 the encoder's rounding adds its own +-0.5 dither (std up to 0.5)


def white_noise(sigma: float, size: int = CALIBRATION_SIZE) -> torch.Tensor:
    """A fixed-seed (1, 3, size, size) white Gaussian field of std ``sigma`` (0-255), in [0, 1] units."""
    gen = torch.Generator().manual_seed(0)
    return torch.randn(1, 3, size, size, generator=gen, dtype=torch.float64) * (sigma / 255.0)


def model_noise_field(
    a: list[float],
    b: list[float],
    correlation: list[list[float]] | None = None,
    size: int = CALIBRATION_SIZE,
    level: float = MID_GREY,
) -> torch.Tensor:
    """A fixed-seed (1, 3, size, size) spatially white Gaussian field in [0, 1] units: the noise model's (``a``,
    ``b``: ``var_c = a_c mu + b_c``, 0-255) at grey ``level``, with its colour correlation (identity when None), as
    ``add_model_noise`` colours it. One channel: the same plane in every channel (a 1-channel model on a colour
    image)."""
    sigmas = [float(np.sqrt(max(ca * level + cb, 0.0))) for ca, cb in zip(a, b, strict=True)]
    if len(sigmas) == 1:
        return white_noise(sigmas[0], size)[:, :1].expand(1, 3, size, size).clone()
    corr = np.eye(len(sigmas)) if correlation is None else correlation
    z = correlate_channels(white_noise(1.0, size), corr)
    return z * torch.tensor(sigmas, dtype=torch.float64).view(1, -1, 1, 1)


def jpeg_noise_gain(noise: torch.Tensor, quality: int, level: float = MID_GREY) -> float:
    """Factor ``g``: grey ``level`` (0-255) plus ``g * noise`` keeps the std of ``noise`` after JPEG at ``quality``.

    ``noise``: a zero-mean (1, 3, h, w) field in [0, 1] units with the camera noise's spectrum (a patch of it, or
    white noise for the noise model). Bisection over ``g`` in [1, ``MAX_NOISE_GAIN``], or in [``MIN_NOISE_GAIN``, 1]
    when the JPEG raises the noise's std (at high quality, a quantiser step near the noise's coefficients rounds
    them up as often as to zero: luma-correlated sigma 4.8 leaves q94 at 5.1); rounded to 3 decimals (it is
    recorded in the manifest)."""
    noise = noise.double()
    target = float(noise.std())
    if target <= 0:
        return 1.0

    def kept(gain: float) -> float:
        grey = level / 255.0
        return float(jpeg_compress((grey + gain * noise).clamp(0, 1).float(), int(quality)).double().std())

    at_one = kept(1.0)
    if at_one == target:
        return 1.0
    low, high = (1.0, MAX_NOISE_GAIN) if at_one < target else (MIN_NOISE_GAIN, 1.0)
    if kept(low) >= target:
        return low
    if kept(high) <= target:
        return high
    for _ in range(12):
        mid = (low + high) / 2
        low, high = (mid, high) if kept(mid) < target else (low, mid)
    return round((low + high) / 2, 3)


@dataclass(frozen=True)
class ModelCompensation:
    """A noise model's line before the pair's JPEG: ``a``, ``b`` such that, after JPEG at the pair's quality, flat
    grey at each of ``levels`` carries the model's own (post-JPEG) level; ``gains`` the sigma factor at each."""

    a: tuple[float, ...]
    b: tuple[float, ...]
    levels: tuple[float, ...]
    gains: tuple[float, ...]


def compensate_model(
    a: list[float], b: list[float], correlation: list[list[float]] | None, quality: int
) -> ModelCompensation:
    """The model's noise as it must be before a JPEG at ``quality`` (see :class:`ModelCompensation`).

    JPEG removes a larger share of faint noise than of strong noise (its quantiser zeroes the coefficients below
    half a step), so one gain for all levels, calibrated at mid-grey, left a signal-dependent model's pairs 8-10 %
    short at grey 64 and 8-10 % over at 192 (``phone``, ``mid-pg`` of ``python -m benchmarks noise_model``). The
    gain is measured at each of ``COMPENSATION_LEVELS`` (:func:`jpeg_noise_gain` on the model's field at that
    level), and a line ``a' mu + b'`` is fitted per channel to the compensated variances ``(g sigma)^2`` (least
    squares, ``a' >= 0``): the noise a camera's sensor line would have to have to leave those levels in its files."""
    levels = tuple(float(v) for v in COMPENSATION_LEVELS)
    gains = tuple(jpeg_noise_gain(model_noise_field(a, b, correlation, level=mu), quality, mu) for mu in levels)
    mu = np.asarray(levels)
    g2 = np.asarray(gains) ** 2
    new_a, new_b = [], []
    for ca, cb in zip(a, b, strict=True):
        var = g2 * np.maximum(ca * mu + cb, 0.0)
        slope, intercept = np.polyfit(mu, var, 1)
        if slope < 0:
            slope, intercept = 0.0, float(var.mean())
        new_a.append(round(float(slope), 6))
        new_b.append(round(float(intercept), 6))
    return ModelCompensation(tuple(new_a), tuple(new_b), levels, gains)


def compensate_noise(
    ops: list[dict[str, Any]],
    quality: int,
    patch_gain: Callable[[dict[str, Any], int], float],
    model_compensation: Callable[[dict[str, Any], int], ModelCompensation],
) -> None:
    """Make each camera-noise op survive the JPEG that follows, recording what was done in the op: a noise patch's
    ``strength`` is scaled by ``patch_gain(op, q)`` (:func:`jpeg_noise_gain`; ``jpeg_gain``), a noise model's line
    is replaced by ``model_compensation(op, q)``'s (:func:`compensate_model`; the model's own in ``model_a``,
    ``model_b``, the per-level gains in ``jpeg_gain``, their levels in ``jpeg_levels``)."""
    for op in ops:
        if "jpeg_gain" in op:
            continue
        if op.get("op") == "noise_patch":
            gain = patch_gain(op, int(quality))
            op["strength"] = float(op.get("strength", 1.0)) * gain
            op["jpeg_gain"] = gain
        elif op.get("op") == "noise_model":
            comp = model_compensation(op, int(quality))
            op["model_a"], op["model_b"] = op["a"], op["b"]
            op["a"], op["b"] = list(comp.a), list(comp.b)
            op["jpeg_gain"], op["jpeg_levels"] = list(comp.gains), list(comp.levels)
