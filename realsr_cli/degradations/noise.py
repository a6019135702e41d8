"""Noise models on (B,C,H,W) float tensors in [0, 1]; random draws come from an explicit ``torch.Generator``.

Draws are made on the CPU (then moved to the tensor's device) so a seed gives the same noise on CPU and GPU.

- ``add_gaussian``: ``y = x + n``, ``n ~ N(0, (sigma/255)^2)`` (sigma on the 0-255 scale); ``gray=True`` draws one
  noise plane shared by all channels (Real-ESRGAN's gray noise).
- ``add_poisson``: ``y = P(peak * x) / peak`` — photon-count noise with ``peak`` photons at white, so
  ``E[y] = x`` and ``Var[y] = x / peak``.
- ``add_poisson_gaussian``: the Poisson-Gaussian model ``z = alpha * P(t / alpha) + n`` of Foi et al. (IEEE TIP 2008)
  on the 0-255 scale (``t = 255 x``, ``n ~ N(0, sigma^2)``); hence ``E[y] = x`` and, in [0, 1] units,
  ``Var[y] = alpha * x / 255 + (sigma / 255)^2``. The "generic" recipe (Samsung-SLSI-MSL, NTIRE 2020) uses alpha = 1.
- ``add_realesrgan_poisson``: Real-ESRGAN's ``generate_poisson_noise_pt``: ``x`` rounded to 8 bits,
  ``vals = 2^ceil(log2(#unique values))``, ``noise = (P(x * vals) / vals - x) * scale``.
- ``NoisePatchBank``: RealSR noise injection (Ji et al., CVPRW 2020, jixiaozhong/RealSR ``noiseDataset``): a real
  noise patch from a folder, its per-channel mean subtracted, added to the image. A patch smaller than the image is
  tiled by mirroring (symmetric) from a recorded offset so the added noise stays stationary and seamless.

All adders clip to [0, 1] unless ``clip=False``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from realsr_cli.errors import InputError
from realsr_cli.io.images import IMAGE_EXTENSIONS, read_image, to_float

BT601 = (0.299, 0.587, 0.114)  # JPEG's (and Real-ESRGAN's gray noise's) luma weights


def _randn(shape: tuple[int, ...], gen: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=gen, dtype=torch.float32)


def _finish(y: torch.Tensor, clip: bool) -> torch.Tensor:
    return y.clamp(0, 1) if clip else y


def _luma(x: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) BT.601 luma of (B, 3, H, W) RGB."""
    r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return BT601[0] * r + BT601[1] * g + BT601[2] * b


def gaussian_noise(shape: tuple[int, ...], sigma: float, gen: torch.Generator, gray: bool = False) -> torch.Tensor:
    """Zero-mean Gaussian noise in [0, 1] units, sigma on the 0-255 scale, for a (B,C,H,W) shape."""
    b, c, h, w = shape
    n = _randn((b, 1, h, w) if gray else (b, c, h, w), gen) * (float(sigma) / 255.0)
    return n.expand(b, c, h, w) if gray else n


def add_gaussian(
    x: torch.Tensor, sigma: float, gen: torch.Generator, gray: bool = False, clip: bool = True
) -> torch.Tensor:
    n = gaussian_noise(tuple(x.shape), sigma, gen, gray).to(device=x.device, dtype=x.dtype)
    return _finish(x + n, clip)


def _poisson(rate: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return torch.poisson(rate.detach().to("cpu", torch.float64).clamp_min(0), generator=gen)


def add_poisson(x: torch.Tensor, peak: float, gen: torch.Generator, clip: bool = True) -> torch.Tensor:
    """``P(peak * x) / peak``."""
    y = (_poisson(x * float(peak), gen) / float(peak)).to(device=x.device, dtype=x.dtype)
    return _finish(y, clip)


def add_poisson_gaussian(
    x: torch.Tensor, sigma: float, gen: torch.Generator, alpha: float = 1.0, clip: bool = True
) -> torch.Tensor:
    """``(alpha * P(255 x / alpha) + N(0, sigma^2)) / 255``; Var = alpha x / 255 + (sigma/255)^2 in [0, 1] units."""
    counts = _poisson(x * (255.0 / float(alpha)), gen)
    signal = (counts * float(alpha) / 255.0).to(device=x.device, dtype=x.dtype)
    return add_gaussian(signal, sigma, gen, clip=clip)


def add_realesrgan_poisson(
    x: torch.Tensor, scale: float, gen: torch.Generator, gray: bool = False, clip: bool = True
) -> torch.Tensor:
    """Real-ESRGAN's Poisson noise (``generate_poisson_noise_pt``), ``scale`` as its ``poisson_scale_range``."""
    src = _luma(x) if gray and x.shape[1] == 3 else x
    levels = torch.clamp((src * 255.0).round(), 0, 255)
    q = levels / 255.0
    # number of distinct 8-bit values per image (as torch.unique, via a histogram: much faster)
    counts = [int(torch.bincount(levels[i].flatten().long(), minlength=256).count_nonzero()) for i in range(q.shape[0])]
    vals = [2 ** np.ceil(np.log2(n)) for n in counts]
    v = torch.tensor(vals, dtype=torch.float64).view(-1, 1, 1, 1)
    qc = q.detach().to("cpu", torch.float64)
    noise = (_poisson(qc * v, gen) / v - qc).to(device=x.device, dtype=x.dtype) * float(scale)
    return _finish(x + noise.expand_as(x), clip)


# ---------------------------------------------------------------------------------------------------- noise patches


class NoisePatchBank:
    """A folder of real-noise patches (images); sampled by a numpy Generator, injected zero-mean."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"{self.folder}: noise-patch folder not found")
        self.paths = sorted(p for p in self.folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not self.paths:
            raise InputError(f"{self.folder}: no noise patches (images) found")
        self._cache: dict[Path, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def sample(self, rng: np.random.Generator) -> Path:
        return self.paths[int(rng.integers(len(self.paths)))]

    def relative(self, path: Path) -> str:
        return path.relative_to(self.folder).as_posix()

    def resolve(self, name: str | Path) -> Path:
        path = Path(name)
        return path if path.is_absolute() else self.folder / path

    def patch(self, path: str | Path) -> np.ndarray:
        """Zero-mean noise (H, W, C) float32 in [0, 1] units (see ``load_noise_patch``)."""
        path = self.resolve(path)
        if path not in self._cache:
            self._cache[path] = load_noise_patch(path)
        return self._cache[path]

    def inject(
        self,
        x: torch.Tensor,
        patch_path: str | Path,
        offset: tuple[int, int] = (0, 0),
        strength: float = 1.0,
        clip: bool = True,
    ) -> torch.Tensor:
        """Add the zero-mean patch (tiled by mirroring from ``offset`` when smaller) to every image in (B,C,H,W)."""
        return inject_noise(x, self.patch(patch_path), offset, strength, clip)


def load_noise_patch(path: str | Path) -> np.ndarray:
    """A noise patch file as zero-mean (H, W, C) float32 in [0, 1] units (per-channel mean removed, alpha dropped)."""
    pixels = to_float(read_image(path).pixels).astype(np.float64)
    if pixels.shape[2] in (2, 4):
        pixels = pixels[..., :-1]
    return (pixels - pixels.mean(axis=(0, 1), keepdims=True)).astype(np.float32)


def inject_noise(
    x: torch.Tensor, patch: np.ndarray, offset: tuple[int, int] = (0, 0), strength: float = 1.0, clip: bool = True
) -> torch.Tensor:
    """Add a zero-mean (h, w, C) noise patch, mirrored/tiled from ``offset`` to the image size, to (B,C,H,W)."""
    noise = tile_noise(patch, x.shape[-2], x.shape[-1], offset)
    n = torch.from_numpy(np.ascontiguousarray(noise.transpose(2, 0, 1))).to(device=x.device, dtype=x.dtype)
    if n.shape[0] == 1 and x.shape[1] > 1:
        n = n.expand(x.shape[1], -1, -1)
    elif n.shape[0] != x.shape[1]:
        n = n.mean(dim=0, keepdim=True).expand(x.shape[1], -1, -1)
    return _finish(x + float(strength) * n.unsqueeze(0), clip)


def tile_noise(patch: np.ndarray, h: int, w: int, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """An (h, w, C) window of the patch mirrored (symmetric) infinitely, starting at ``offset`` = (dy, dx)."""
    ph, pw = patch.shape[:2]

    def index(n: int, start: int, length: int) -> np.ndarray:
        m = np.mod(np.arange(start, start + length), 2 * n)
        return np.where(m < n, m, 2 * n - 1 - m)

    return patch[index(ph, int(offset[0]), h)][:, index(pw, int(offset[1]), w)]


# ---------------------------------------------------------------------------------------------------- camera model

MODEL_FORMAT = "realsr-noise-model"
MODEL_VERSION = 2  # 2: the "signal" entry (1: every model is "channel")
SIGNALS = ("channel", "luma")
MIN_VARIANCE = 0.05  # 0-255 units: the floor of a modelled variance (a noise-free camera still rounds to 8 bits)


@dataclass
class NoiseModel:
    """A camera's heteroscedastic noise: ``var_c(mu) = a_c mu + b_c`` (0-255 units), colour correlation ``R``.

    The Poisson-Gaussian model of Foi et al. (IEEE TIP 2008) in its Gaussian (heteroscedastic) approximation;
    fitted by ``realsr_cli.learn.noise_model``, stored as ``model.json`` (schema in docs/learn-degradation.md).
    ``signal``: what ``mu`` is at a pixel: ``"channel"``, the channel's own value (raw sensor noise), or ``"luma"``,
    the pixel's BT.601 luma for every channel (noise in the files of a camera whose colour processing and JPEG mix
    the channels' noise, as ``learn-degradation`` fits it).
    """

    a: list[float]
    b: list[float]
    correlation: list[list[float]]
    kind: str = "poisson-gaussian"
    valid_range: list[float] = field(default_factory=lambda: [0.0, 255.0])
    bins: list[dict] = field(default_factory=list)
    blocks: int = 0
    photos: int = 0
    block: int = 16
    hf_ratio: float = 1.0  # noise variance / its white-equivalent high-frequency variance (1: white; >1: correlated)
    signal: str = "channel"  # "channel" or "luma": the brightness mu that sets a pixel's noise level

    @property
    def channels(self) -> int:
        return len(self.a)

    def variance(self, mu: np.ndarray | float, channel: int) -> np.ndarray:
        """Noise variance (0-255 units) of ``channel`` at mean ``mu`` (0-255), floored at ``MIN_VARIANCE``."""
        return np.maximum(self.a[channel] * np.asarray(mu, dtype=np.float64) + self.b[channel], MIN_VARIANCE)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": MODEL_FORMAT,
            "format_version": MODEL_VERSION,
            "units": "0-255",
            "model": self.kind,
            "channels": self.channels,
            "a": self.a,
            "b": self.b,
            "correlation": self.correlation,
            "hf_ratio": self.hf_ratio,
            "signal": self.signal,
            "valid_range": self.valid_range,
            "block": self.block,
            "blocks": self.blocks,
            "photos": self.photos,
            "bins": self.bins,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any], source: str = "noise model") -> NoiseModel:
        if not isinstance(obj, dict) or obj.get("format") != MODEL_FORMAT:
            raise InputError(f'{source}: not a noise model (expected "format": "{MODEL_FORMAT}")')
        if int(obj.get("format_version", 0)) > MODEL_VERSION:
            raise InputError(f"{source}: noise model format_version {obj['format_version']} is newer than this tool's")
        try:
            a, b = [float(v) for v in obj["a"]], [float(v) for v in obj["b"]]
            corr = np.asarray(obj["correlation"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{source}: noise model lacks a valid {exc} entry") from None
        if len(a) not in (1, 3) or len(b) != len(a) or corr.shape != (len(a), len(a)):
            raise InputError(f"{source}: noise model needs 1 or 3 channels of a, b and a matching correlation matrix")
        signal = str(obj.get("signal", "channel"))
        if signal not in SIGNALS:
            raise InputError(f'{source}: noise model "signal" must be one of {", ".join(SIGNALS)} (got {signal!r})')
        return cls(
            a,
            b,
            corr.tolist(),
            str(obj.get("model", "poisson-gaussian")),
            [float(v) for v in obj.get("valid_range", [0.0, 255.0])],
            list(obj.get("bins", [])),
            int(obj.get("blocks", 0)),
            int(obj.get("photos", 0)),
            int(obj.get("block", 16)),
            float(obj.get("hf_ratio", 1.0)),
            signal,
        )


def load_noise_model(path: str | Path) -> NoiseModel:
    """Read a ``model.json`` written by ``learn-degradation``; a bad file is an InputError naming it."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: noise model not found") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the noise model ({exc})") from None
    return NoiseModel.from_json(obj, str(path))


def model_noise_params(model: NoiseModel) -> dict[str, Any]:
    """The model's parameters as recorded in a ``noise_model`` op (so a manifest line replays without the file);
    ``signal`` only when it is not the default ``"channel"`` (older manifests replay as they were made)."""
    params: dict[str, Any] = {
        "a": list(model.a),
        "b": list(model.b),
        "correlation": [list(r) for r in model.correlation],
    }
    return params if model.signal == "channel" else {**params, "signal": model.signal}


def correlate_channels(z: torch.Tensor, correlation: np.ndarray | list[list[float]]) -> torch.Tensor:
    """Independent unit-variance channels ``z`` (B, C, H, W) -> channels with colour correlation ``correlation``
    (C, C), by its Cholesky factor, in ``z``'s dtype."""
    chol = torch.from_numpy(np.linalg.cholesky(np.asarray(correlation, dtype=np.float64))).to(z.dtype)
    return torch.einsum("ij,bjhw->bihw", chol, z)


def add_model_noise(
    x: torch.Tensor,
    a: list[float],
    b: list[float],
    correlation: list[list[float]],
    gen: torch.Generator,
    strength: float = 1.0,
    clip: bool = True,
    signal: str = "channel",
) -> torch.Tensor:
    """``y = x + strength * n``, ``n`` Gaussian with ``Var n_c = (a_c 255 mu + b_c) / 255^2``, colour correlation R;
    ``mu`` the clean pixel's channel ``x_c`` (``signal="channel"``) or its BT.601 luma (``"luma"``).

    Draws ``z ~ N(0, I)`` (B, C_model, H, W) on the CPU, colours it by the Cholesky factor of R, scales each channel
    by its signal-dependent standard deviation (from the clean ``x``). A 3-channel model on a 1-channel image uses
    the channel-averaged a and b; a 1-channel model on a 3-channel image adds the same noise plane to every channel.
    The alpha channel of a 2- or 4-channel image (the last) is left as it is.
    """
    if x.shape[1] in (2, 4):
        colour = add_model_noise(x[:, :-1], a, b, correlation, gen, strength, clip, signal)
        return torch.cat([colour, x[:, -1:]], dim=1)
    bsz, c, h, w = x.shape
    a_t, b_t, corr = np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(correlation, np.float64)
    if len(a_t) != c and len(a_t) == 3:
        a_t, b_t, corr = a_t.mean(keepdims=True), b_t.mean(keepdims=True), np.ones((1, 1))
    z = correlate_channels(_randn((bsz, len(a_t), h, w), gen), corr).to(device=x.device, dtype=x.dtype)
    if z.shape[1] != c:
        z = z.expand(bsz, c, h, w)
        a_t, b_t = np.repeat(a_t, c), np.repeat(b_t, c)
    a_x = torch.tensor(a_t, dtype=x.dtype, device=x.device).view(1, c, 1, 1)
    b_x = torch.tensor(b_t, dtype=x.dtype, device=x.device).view(1, c, 1, 1)
    var = (a_x * (255.0 * _signal(x.detach(), signal)) + b_x).clamp_min(MIN_VARIANCE) / 255.0**2
    return _finish(x + float(strength) * z * var.sqrt(), clip)


def _signal(x: torch.Tensor, signal: str) -> torch.Tensor:
    """The brightness that sets each pixel's noise level: ``x`` itself, or (``"luma"``, 3 channels) its BT.601 luma
    in every channel."""
    if signal not in SIGNALS:
        raise ValueError(f"noise model signal must be one of {SIGNALS}, got {signal!r}")
    return x if signal == "channel" or x.shape[1] != 3 else _luma(x).expand_as(x)


MODEL_FILE = "model.json"
MIN_PATCHES = 8  # a bank with fewer patches than this is too small to vary: its folder's model.json is used


@dataclass
class NoiseSources:
    """Where a recipe's camera noise comes from: a patch bank, a noise model, or both."""

    bank: NoisePatchBank | None = None
    model: NoiseModel | None = None
    model_file: Path | None = None
    use_model: bool = False  # noise_patch steps synthesise from the model (forced, or the bank is small/empty)


def noise_sources(patches_dir: str | Path | None, model_file: str | Path | None = None) -> NoiseSources:
    """``--noise-model FILE`` forces the model; else ``--noise-patches DIR`` gives the bank, or the folder's
    ``model.json`` when the bank holds fewer than ``MIN_PATCHES`` patches (learn-degradation writes both)."""
    if model_file is not None:
        path = Path(model_file).resolve()
        return NoiseSources(None, load_noise_model(path), path, True)
    if patches_dir is None:
        return NoiseSources()
    folder = Path(patches_dir)
    candidate = folder / MODEL_FILE
    if not candidate.is_file():
        return NoiseSources(NoisePatchBank(folder))
    model = load_noise_model(candidate)
    images = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    if len(images) < MIN_PATCHES:
        return NoiseSources(None, model, candidate.resolve(), True)
    return NoiseSources(NoisePatchBank(folder), model, candidate.resolve(), False)
