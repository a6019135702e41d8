"""KernelGAN blind kernel estimation, batched and fast on CPU.

Bell-Kligler, Shocher, Irani, "Blind Super-Resolution Kernel Estimation using an Internal-GAN", NeurIPS 2019;
official code: https://github.com/sefibk/KernelGAN (configs.py, networks.py, kernelGAN.py, learner.py, loss.py,
data.py, util.py). Defaults and schedule follow the official code:

* G: purely linear, bias-free, 64 channels, convolutions [7, 5, 3, 1, 1, 1], the last one with stride 2 (PR #10),
  xavier-normal init (gain 0.1). G is therefore exactly "correlate with one 13x13 kernel, keep every 2nd pixel".
* D: 7x7 spectral-normalised conv, then 5 x (1x1 SN conv + BN + ReLU), 1x1 SN conv + sigmoid; G's outputs get
  N(0, 1/255) noise (images in [-1, 1]). Real crops get N(0, 1/255) noise in [0, 1] units (2/255 in [-1, 1]) that
  stays in the image: data.py's ``next_crop`` adds it with ``crop_im += ...`` to a view of the input image, so
  the noise accumulates where D's crops fall and G's later crops see it too (``accumulate_d_noise``; measured:
  without it single estimates of narrow blurs drift wider between iterations 1000 and 3000, issue 19).
* GAN loss: L1 between D's map and the 0/1 label map. Regularisers: bicubic (MSE to an 8x8 bicubic x2
  downscale, lambda 5, divided by 100 every 200 iterations once the loss stayed < 0.4 for 3 iterations, floor
  5e-6), sum-to-one 0.5, boundaries 0.5 (penalty mask scale 30), centralisation 1 and sparsity 5 (|k|^0.2)
  switched on once lambda_bicubic < 5e-3. Adam(2e-4, beta1 0.5), both rates / 10 every 750 iterations;
  3000 iterations; 64x64 G crops and D crops of G's output size, sampled by gradient magnitude.
* Post-processing: ``zeroize_negligible_val`` (n_filtering 40), ``kernel_shift`` to the x2-aligned centre, x4
  kernel = ``analytic_kernel`` (x2 kernel convolved with itself, dilated; the original crops it to 25x25).

Differences (documented, deliberate): the effective 13x13 kernel is computed once per step (differentiably, by
passing a delta through G's layers as ``calc_curr_k`` does) and applied as ONE strided convolution instead of
running the 64-channel G on the crop (exactly equivalent, see tests); many (G, D) pairs train at once (grouped
convolutions, per-pair spectral norm and lambda schedule), on one photo each or, for the camera kernel, on crops of
all of a camera's photos (``estimate_camera_kernels``, K restarts); the bicubic-loss downscale is depthwise (the
original's ``k.expand(C, C, ...)`` mixes colour channels, see sefibk/KernelGAN#47); kernels are never truncated:
the centred x2 kernel keeps the support it needs (>= 13x13, like the original's 15x15-17x17) and x4 is the whole
analytic kernel, trimmed only where the mass is negligible (:mod:`realsr_cli.degradations.kernel_centre`).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import Tensor, nn

from realsr_cli.degradations import kernel_centre
from realsr_cli.io.images import to_float
from realsr_cli.io.tensors import select_channels, to_tensor

# The 8x8 bicubic x2 kernel of the official DownScaleLoss (MATLAB's imresize kernel for a half-pixel shift).
_BICUBIC_1D = np.array(
    [-0.01171875, -0.03515625, 0.11328125, 0.43359375, 0.43359375, 0.11328125, -0.03515625, -0.01171875]
)
BICUBIC_X2 = np.outer(_BICUBIC_1D, _BICUBIC_1D)


@dataclass
class KernelGANConfig:
    """The official defaults (configs.py, kernelGAN.py, learner.py)."""

    crop: int = 64
    g_chan: int = 64
    g_structure: tuple[int, ...] = (7, 5, 3, 1, 1, 1)
    d_chan: int = 64
    d_n_layers: int = 7
    d_kernel: int = 7
    iters: int = 3000
    g_lr: float = 2e-4
    d_lr: float = 2e-4
    beta1: float = 0.5
    n_filtering: int = 40
    lambda_sum2one: float = 0.5
    lambda_bicubic: float = 5.0
    lambda_boundaries: float = 0.5
    lambda_centralized_end: float = 1.0
    lambda_sparse_end: float = 5.0
    lambda_update_freq: int = 200
    bic_loss_to_start_change: float = 0.4
    lambda_bicubic_decay_rate: float = 100.0
    lambda_bicubic_min: float = 5e-6
    update_lr_freq: int = 750
    update_lr_rate: float = 10.0
    real_noise: float = 2.0 / 255.0  # std of the noise on D's real crops, [-1, 1] units (data.py: 1/255 in [0, 1])
    accumulate_d_noise: bool = True  # data.py: the real crops' noise is added to the image in place (it stays)
    extra: dict = field(default_factory=dict)

    @property
    def kernel_size(self) -> int:
        return 1 + sum(k - 1 for k in self.g_structure)

    @property
    def d_input(self) -> int:
        return (self.crop - self.kernel_size) // 2 + 1

    @property
    def d_output(self) -> int:
        return self.d_input - (self.d_kernel - 1)


# ----------------------------------------------------------------------------------------------- reference G
class ReferenceGenerator(nn.Module):
    """The official G (one image): linear, bias-free convs [7, 5, 3, 1, 1, 1], stride 2 in the last layer."""

    def __init__(self, config: KernelGANConfig | None = None) -> None:
        super().__init__()
        c = config or KernelGANConfig()
        chans = [1] + [c.g_chan] * (len(c.g_structure) - 1) + [1]
        layers = []
        for i, k in enumerate(c.g_structure):
            stride = 2 if i == len(c.g_structure) - 1 else 1
            layers.append(nn.Conv2d(chans[i], chans[i + 1], k, stride=stride, bias=False))
        self.layers = nn.Sequential(*layers)
        for layer in layers:
            nn.init.xavier_normal_(layer.weight, 0.1)

    def forward(self, x: Tensor) -> Tensor:
        """(1, C, H, W) -> (1, C, H', W'): colour channels go through G as a batch of gray images."""
        return self.layers(x.transpose(0, 1)).transpose(0, 1)

    def kernel(self) -> Tensor:
        """``calc_curr_k``: pass a delta through the layers (stride ignored), flip."""
        convs = [layer for layer in self.layers if isinstance(layer, nn.Conv2d)]
        return effective_kernel([layer.weight.unsqueeze(0) for layer in convs])[0]


@functools.lru_cache(maxsize=16)
def _sum_matrix(ka: int, kb: int) -> np.ndarray:
    """0/1 matrix mapping every (a-offset, b-offset) pair to the output offset a + b (2-D, row-major)."""
    size = ka + kb - 1
    ay, ax, by, bx = np.meshgrid(*(np.arange(ka), np.arange(ka), np.arange(kb), np.arange(kb)), indexing="ij")
    target = ((ay + by) * size + (ax + bx)).ravel()
    mat = np.zeros((ka * ka * kb * kb, size * size), np.float32)
    mat[np.arange(target.size), target] = 1.0
    return mat


def compose(a: Tensor, b: Tensor) -> Tensor:
    """One bias-free layer equal to "correlate with ``a``, then with ``b``" for N stacked networks.

    ``a``: (N, c_mid, c_in, ka, ka), ``b``: (N, c_out, c_mid, kb, kb) -> (N, c_out, c_in, ka+kb-1, ka+kb-1):
    the full convolution of the two kernels summed over the middle channels. Computed as all products of taps
    (one einsum over the middle channels) scattered to the offset sums by a fixed 0/1 matrix: plain matmuls,
    cheap forwards and backwards for the small kernels of KernelGAN's G.
    """
    n, c_mid, c_in, ka, _ = a.shape
    c_out, kb = b.shape[1], b.shape[-1]
    pairs = torch.einsum("ncim,nocj->noimj", a.reshape(n, c_mid, c_in, ka * ka), b.reshape(n, c_out, c_mid, kb * kb))
    scatter = torch.as_tensor(_sum_matrix(ka, kb), dtype=a.dtype, device=a.device)
    size = ka + kb - 1
    return (pairs.reshape(n, c_out, c_in, -1) @ scatter).reshape(n, c_out, c_in, size, size)


def effective_kernel(weights: list[Tensor]) -> Tensor:
    """The correlation kernel G applies, for N generators at once (differentiable).

    ``weights[i]`` has shape (N, out, in, k, k). Returns (N, K, K) with K = 1 + sum(k - 1), such that
    ``G(x) == conv2d(x, kernel, stride=2)`` for each image: the official ``calc_curr_k`` value (a delta passed
    through the layers, flipped). The layers are folded from the last one (1x1 layers first), which costs
    ~2 M multiply-adds for the default G instead of ~23 M for the delta pass.
    """
    w = weights[-1]
    for layer in reversed(weights[:-1]):
        w = compose(layer, w)
    return w[:, 0, 0]


# ---------------------------------------------------------------------------------------- batched networks
def _xavier_normal(shape: tuple[int, ...], gain: float, gen: torch.Generator) -> Tensor:
    out_c, in_c, k = shape[0], shape[1], shape[-1]
    std = gain * math.sqrt(2.0 / (in_c * k * k + out_c * k * k))
    return torch.randn(shape, generator=gen) * std


def _default_conv_init(shape: tuple[int, ...], gen: torch.Generator) -> Tensor:
    """PyTorch's Conv2d default (kaiming-uniform, a=sqrt(5)): what the official SN convs keep (their xavier
    init writes into the derived ``weight`` tensor, which spectral norm recomputes from ``weight_orig``)."""
    fan_in = shape[1] * shape[-1] * shape[-1]
    bound = 1.0 / math.sqrt(fan_in)
    return (torch.rand(shape, generator=gen) * 2 - 1) * bound


class BatchedKernelGAN(nn.Module):
    """B independent KernelGAN (G, D) pairs evaluated with grouped convolutions."""

    def __init__(self, batch: int, config: KernelGANConfig, generators: list[torch.Generator]) -> None:
        super().__init__()
        c = config
        self.batch, self.config = batch, c
        chans = [1] + [c.g_chan] * (len(c.g_structure) - 1) + [1]
        self.g_weights = nn.ParameterList(
            [
                nn.Parameter(torch.stack([_xavier_normal((chans[i + 1], chans[i], k, k), 0.1, g) for g in generators]))
                for i, k in enumerate(c.g_structure)
            ]
        )
        d_shapes = [(c.d_chan, 3, c.d_kernel, c.d_kernel)]
        d_shapes += [(c.d_chan, c.d_chan, 1, 1)] * (c.d_n_layers - 2) + [(1, c.d_chan, 1, 1)]
        self.d_weights = nn.ParameterList(
            [nn.Parameter(torch.stack([_default_conv_init(s, g) for g in generators])) for s in d_shapes]
        )
        self.d_biases = nn.ParameterList([nn.Parameter(torch.zeros(batch, s[0])) for s in d_shapes])
        n_bn = c.d_n_layers - 2
        self.bn_weights = nn.ParameterList(
            [
                nn.Parameter(torch.stack([1 + 0.02 * torch.randn(c.d_chan, generator=g) for g in generators]))
                for _ in range(n_bn)
            ]
        )
        self.bn_biases = nn.ParameterList([nn.Parameter(torch.zeros(batch, c.d_chan)) for _ in range(n_bn)])
        for i, s in enumerate(d_shapes):
            u = torch.stack([F.normalize(torch.randn(s[0], generator=g), dim=0) for g in generators])
            self.register_buffer(f"sn_u{i}", u)

    # -- G --
    def kernels(self) -> Tensor:
        """(B, 13, 13) effective correlation kernels (differentiable)."""
        return effective_kernel(list(self.g_weights))

    def generate(self, crops: Tensor, kernels: Tensor) -> Tensor:
        """G's output: (B, 3, crop, crop) -> (B, 3, d_in, d_in), as one strided grouped convolution."""
        b, ch, h, w = crops.shape
        weight = kernels.repeat_interleave(ch, dim=0).unsqueeze(1)
        out = F.conv2d(crops.reshape(1, b * ch, h, w), weight, stride=2, groups=b * ch)
        return out.reshape(b, ch, out.shape[-2], out.shape[-1])

    # -- D --
    def _sn_weight(self, i: int) -> Tensor:
        w = self.d_weights[i]
        mat = w.reshape(w.shape[0], w.shape[1], -1)
        u = getattr(self, f"sn_u{i}")
        if self.training:
            with torch.no_grad():
                v = F.normalize(torch.bmm(mat.transpose(1, 2), u.unsqueeze(2)).squeeze(2), dim=1, eps=1e-12)
                u = F.normalize(torch.bmm(mat, v.unsqueeze(2)).squeeze(2), dim=1, eps=1e-12)
                getattr(self, f"sn_u{i}").copy_(u)
        else:
            v = F.normalize(torch.bmm(mat.transpose(1, 2), u.unsqueeze(2)).squeeze(2), dim=1, eps=1e-12)
        sigma = (u.unsqueeze(1) @ torch.bmm(mat, v.unsqueeze(2))).reshape(-1)
        return w / sigma.reshape(-1, 1, 1, 1, 1)

    def discriminate(self, x: Tensor) -> Tensor:
        """(B, 3, h, w) -> (B, 1, h - 6, w - 6) probability maps; BN statistics per image and per call."""
        b, ch, h, w = x.shape
        weight = self._sn_weight(0)
        out = F.conv2d(x.reshape(1, b * ch, h, w), weight.reshape(-1, ch, *weight.shape[-2:]), groups=b)
        out = out + self.d_biases[0].reshape(1, -1, 1, 1)
        out = out.reshape(b, -1, out.shape[-2], out.shape[-1])
        for i in range(1, len(self.d_weights)):
            wi = self._sn_weight(i)[..., 0, 0]
            out = torch.einsum("boi,bihw->bohw", wi, out) + self.d_biases[i][:, :, None, None]
            if i < len(self.d_weights) - 1:
                flat = out.reshape(1, -1, out.shape[-2], out.shape[-1])
                flat = F.batch_norm(
                    flat, None, None, self.bn_weights[i - 1].reshape(-1), self.bn_biases[i - 1].reshape(-1), True
                )
                out = F.relu(flat.reshape(out.shape))
        return torch.sigmoid(out)


# ------------------------------------------------------------------------------------------------ losses
def penalty_mask(k_size: int, scale: float = 30.0) -> np.ndarray:
    """``create_penalty_mask``: 1 - normalised wide Gaussian, zero in the centre, times ``scale``."""
    center_size = k_size // 2 + k_size % 2
    z = np.arange(-k_size // 2 + 1, k_size // 2 + 1)
    g = np.exp(-(z**2) / (2 * k_size**2)) / np.sqrt(2 * np.pi * k_size**2)
    mask = np.outer(g, g)
    mask = 1 - mask / mask.max()
    margin = (k_size - center_size) // 2 - 1
    mask[margin:-margin, margin:-margin] = 0
    return scale * mask


def bicubic_downscale(crops: Tensor) -> Tensor:
    """``resize_tensor_w_kernel`` with the 8x8 bicubic kernel, stride 2, padding 3 (per channel)."""
    ch = crops.shape[1]
    k = torch.as_tensor(BICUBIC_X2, dtype=crops.dtype, device=crops.device).expand(ch, 1, 8, 8)
    return F.conv2d(crops, k, stride=2, padding=3, groups=ch)


def shave_to(a: Tensor, h: int, w: int) -> Tensor:
    """``shave_a2b``: crop symmetrically (extra pixel at the end) to (h, w)."""
    sr, sc = a.shape[-2] - h, a.shape[-1] - w
    return a[..., sr // 2 : a.shape[-2] - sr // 2 - sr % 2, sc // 2 : a.shape[-1] - sc // 2 - sc % 2]


class KernelLosses:
    """Per-image (B,) values of the official regularisers."""

    def __init__(self, k_size: int, device: torch.device) -> None:
        self.mask = torch.as_tensor(penalty_mask(k_size), dtype=torch.float32, device=device)
        self.indices = torch.arange(float(k_size), device=device)
        self.center = k_size // 2 + 0.5 * (2 - k_size % 2)

    def sum2one(self, k: Tensor) -> Tensor:
        return (1 - k.sum((1, 2))).abs()

    def boundaries(self, k: Tensor) -> Tensor:
        return (k * self.mask).abs().mean((1, 2))

    def centralized(self, k: Tensor) -> Tensor:
        total = k.sum((1, 2))
        r = (k.sum(2) @ self.indices) / total
        c = (k.sum(1) @ self.indices) / total
        return ((r - self.center) ** 2 + (c - self.center) ** 2) / 2

    def sparsity(self, k: Tensor) -> Tensor:
        return (k.abs() + 1e-12).pow(0.2).mean((1, 2))


# ------------------------------------------------------------------------------------------------- crops
def _clip_extreme(im: np.ndarray, percent: float) -> np.ndarray:
    flat = np.sort(im.ravel())
    pivot = int(percent * len(flat))
    v_min = flat[pivot]
    v_max = flat[pivot + 1] if flat[pivot + 1] > v_min else v_min + 10e-6
    return np.clip(im, v_min, v_max) - v_min


def _pad_edges(im: np.ndarray, edge: int) -> np.ndarray:
    out = np.zeros_like(im)
    out[edge:-edge, edge:-edge] = im[edge:-edge, edge:-edge]
    return out


def gradient_map(im: np.ndarray, window: int = 5, percent: float = 0.97) -> np.ndarray:
    """``create_gradient_map``: clipped |gx|, |gy|, |g| of the gray image, box-blurred, mean 1."""
    gray = im @ np.array([0.299, 0.587, 0.114]) if im.ndim == 3 else im
    gx, gy = np.gradient(gray)
    gmag, gx, gy = np.sqrt(gx**2 + gy**2), np.abs(gx), np.abs(gy)
    maps = [_clip_extreme(_pad_edges(g, window), percent) for g in (gx, gy, gmag)]
    comb = sum(m / m.sum() if m.sum() > 0 else m for m in maps)
    loss_map = np.maximum(ndimage.uniform_filter(comb, size=window, mode="constant"), 0)
    mean = loss_map.mean()
    return loss_map / mean if mean > 0 else np.ones_like(loss_map)


def probability_map(loss_map: np.ndarray, crop: int) -> np.ndarray:
    """``create_probability_map``: crop-sized box blur, zero outside valid centres, normalised."""
    blurred = np.maximum(ndimage.uniform_filter(loss_map, size=crop // 2, mode="constant"), 0)
    prob = _pad_edges(blurred, crop // 2).ravel()
    total = prob.sum()
    return prob / total if total > 0 else np.full(prob.shape, 1.0 / prob.size)


def crop_maps(image: np.ndarray, config: KernelGANConfig) -> tuple[np.ndarray, np.ndarray]:
    """The official ``DataGenerator`` sampling maps (flattened): G crops by the gradients of the half-size image,
    D crops by those of the image itself."""
    rows, cols = image.shape[:2]
    t = to_tensor(image)
    small = F.interpolate(t, scale_factor=0.5, mode="bicubic", antialias=True, align_corners=False)
    small_np = small[0].permute(1, 2, 0).clamp(0, 1).numpy().astype(np.float64)
    loss_small = np.repeat(np.repeat(gradient_map(small_np), 2, 0), 2, 1)[:rows, :cols]
    return probability_map(loss_small, config.crop), probability_map(gradient_map(image), config.d_input)


def draw_corners(
    prob: np.ndarray, shape: tuple[int, int], size: int, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` even top-left corners of ``size`` crops whose centres are drawn from ``prob`` (as ``rng.choice``)."""
    rows, cols = shape
    centers = rng.choice(len(prob), size=n, p=prob)
    r, c = centers // cols, centers % cols
    top = np.minimum(np.maximum(0, r - size // 2), rows - size)
    left = np.minimum(np.maximum(0, c - size // 2), cols - size)
    return top - top % 2, left - left % 2


def crop_indices(image: np.ndarray, config: KernelGANConfig, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Top-left corners (even) for every iteration's G and D crops, sampled as the official ``DataGenerator``."""
    prob_g, prob_d = crop_maps(image, config)
    shape = image.shape[:2]
    g = draw_corners(prob_g, shape, config.crop, config.iters, rng)
    return (*g, *draw_corners(prob_d, shape, config.d_input, config.iters, rng))


@dataclass
class CropPlan:
    """For every iteration of one (G, D) pair: the image and top-left corner of G's crop and of D's crop."""

    g_image: np.ndarray
    g_top: np.ndarray
    g_left: np.ndarray
    d_image: np.ndarray
    d_top: np.ndarray
    d_left: np.ndarray

    @classmethod
    def single(cls, index: int, corners: tuple[np.ndarray, ...]) -> CropPlan:
        image = np.full(len(corners[0]), index)
        return cls(image, corners[0], corners[1], image, corners[2], corners[3])


def _zeros(n: int) -> np.ndarray:
    return np.zeros(n, np.int64)


def camera_crop_plans(
    images: list[np.ndarray], config: KernelGANConfig, rngs: list[np.random.Generator]
) -> list[CropPlan]:
    """One plan per restart over ALL of a camera's photos: each iteration draws the photo of G's crop and (again)
    of D's crop uniformly, then the crops by gradient magnitude inside it (the official sampling per photo).
    The maps of one photo at a time are held, so 20 photos of 1.5 MP need little memory."""
    n, iters = len(images), config.iters
    picks = [(r.integers(n, size=iters), r.integers(n, size=iters)) for r in rngs]
    plans = [CropPlan(g, _zeros(iters), _zeros(iters), d, _zeros(iters), _zeros(iters)) for g, d in picks]
    for index, image in enumerate(images):
        prob_g, prob_d = crop_maps(image, config)
        for plan, rng in zip(plans, rngs, strict=True):
            for which, prob, size in (("g", prob_g, config.crop), ("d", prob_d, config.d_input)):
                mask = getattr(plan, f"{which}_image") == index
                top, left = draw_corners(prob, image.shape[:2], size, int(mask.sum()), rng)
                getattr(plan, f"{which}_top")[mask] = top
                getattr(plan, f"{which}_left")[mask] = left
    return plans


# ------------------------------------------------------------------------------------------ post-process
def zeroize_negligible(k: np.ndarray, n: int) -> np.ndarray:
    """Keep values above 0.75 x the n-th largest, renormalise."""
    k_n_min = 0.75 * np.sort(k.ravel())[-n - 1]
    filtered = np.clip(k - k_n_min, 0, 100)
    return filtered / filtered.sum()


def kernel_shift(k: np.ndarray, sf: int = 2) -> np.ndarray:
    """Move the centre of mass to the x``sf``-aligned centre (pads by the shift + 1, like the original)."""
    current = np.array(ndimage.center_of_mass(k))
    wanted = np.array(k.shape) // 2 + 0.5 * (sf - np.array(k.shape) % 2)
    shift = wanted - current
    pad = int(np.ceil(np.max(np.abs(shift)))) + 1
    return ndimage.shift(np.pad(k, pad), shift)


def post_process_kernel(k: np.ndarray, n_filtering: int = 40) -> np.ndarray:
    """Official ``post_process_k`` (zeroize, centre on the x2-aligned centre), never truncated: the support grows
    beyond 13x13 when the shifted kernel needs it (the original writes 15x15-17x17), sum 1."""
    return kernel_centre.recentre(zeroize_negligible(k.astype(np.float64), n_filtering), 2, order=3)


def analytic_kernel(k: np.ndarray) -> np.ndarray:
    """x4 kernel from the x2 kernel (paper appendix): k * (k dilated by 2), sum 1.

    The full (3S - 2)-tap result is x4-aligned when ``k`` is x2-aligned; outer rings are trimmed only while they
    hold < 1e-4 of the mass and never below 2S - 1 taps (25x25 for a 13x13 kernel, the original's crop)."""
    size = k.shape[0]
    big = np.zeros((3 * size - 2, 3 * size - 2))
    for r in range(size):
        for c in range(size):
            big[2 * r : 2 * r + size, 2 * c : 2 * c + size] += k[r, c] * k
    out = kernel_centre.trim(big, 2 * size - 1)
    return out / out.sum()


def edge_mass(k: np.ndarray, n_filtering: int = 40) -> float:
    """Fraction of the zeroized G kernel's mass on its outermost ring: mass G could not place further out."""
    z = np.abs(zeroize_negligible(k.astype(np.float64), n_filtering))
    return float(1.0 - z[1:-1, 1:-1].sum() / z.sum())


# ------------------------------------------------------------------------------------------------ training
@dataclass
class KernelEstimate:
    """One (G, D) pair's result: the post-processed x2 / x4 kernels (float64, sum 1, centred, odd sizes >= 13 and
    25), the raw G kernel, and the share of its mass on G's outer ring (> 1 %: G's 13x13 support was too small)."""

    kernel_x2: np.ndarray
    kernel_x4: np.ndarray
    raw: np.ndarray
    seconds: float
    iters: int
    edge_mass: float = 0.0


def prepare_image(pixels: np.ndarray, crop: int = 64) -> np.ndarray:
    """Float64 HxWx3 in [0, 1] (the :mod:`realsr_cli.io.tensors` policy: gray replicated, alpha dropped), cropped
    to even size (``shave_edges`` for real images)."""
    img = to_float(select_channels(pixels, "rgb"), np.float64)
    h, w = img.shape[:2]
    if h < crop or w < crop:
        raise ValueError(f"image is {w}x{h}, smaller than the {crop}x{crop} KernelGAN crop")
    return np.ascontiguousarray(img[: h - h % 2, : w - w % 2])


class _Schedule:
    """``Learner.update`` for B images: per-image lambda_bicubic decay and constraint switch, shared lr decay."""

    def __init__(self, batch: int, c: KernelGANConfig, device: torch.device) -> None:
        self.c = c
        self.lam_bic = torch.full((batch,), c.lambda_bicubic, device=device)
        self.lam_cent = torch.zeros(batch, device=device)
        self.lam_sparse = torch.zeros(batch, device=device)
        self.similar = [False] * batch
        self.counter = [0] * batch
        self.insert = [True] * batch

    def update(self, it: int, loss_bic: list[float], optimizers: list[torch.optim.Optimizer]) -> None:
        c = self.c
        if it == 0:
            return
        if it % c.update_lr_freq == 0:
            for opt in optimizers:
                for group in opt.param_groups:
                    group["lr"] /= c.update_lr_rate
        for b, value in enumerate(loss_bic):
            if not self.similar[b]:
                if value < c.bic_loss_to_start_change:
                    if self.counter[b] >= 2:
                        self.similar[b] = True
                    else:
                        self.counter[b] += 1
                else:
                    self.counter[b] = 0
            elif it % c.lambda_update_freq == 0 and self.lam_bic[b] > c.lambda_bicubic_min:
                self.lam_bic[b] = max(float(self.lam_bic[b]) / c.lambda_bicubic_decay_rate, c.lambda_bicubic_min)
                if self.insert[b] and self.lam_bic[b] < 5e-3:
                    self.lam_cent[b] = c.lambda_centralized_end
                    self.lam_sparse[b] = c.lambda_sparse_end
                    self.insert[b] = False


def estimate_kernels(
    images: list[np.ndarray],
    rngs: list[np.random.Generator],
    config: KernelGANConfig | None = None,
    device: torch.device | str = "cpu",
    progress: Callable[[int], None] | None = None,
) -> list[KernelEstimate]:
    """Run KernelGAN on several images at once (one G and D each); images as from ``prepare_image``.

    On the CPU it runs on PyTorch's thread count, which the CLI sets by the thread rule (:mod:`realsr_cli.threads`:
    the cores free now). Quiet 2-core machine, ms per iteration and photo at 1 / 2 threads: batch 1 27 / 18,
    batch 8 10 / 6.5; on a core another job keeps busy every extra thread waits for it, which is why the rule
    gives one thread there.
    """
    c = config or KernelGANConfig()
    seeds = _seeds(rngs)
    maps: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # restarts of one photo share its sampling maps
    plans = []
    for i, (img, rng) in enumerate(zip(images, rngs, strict=True)):
        if id(img) not in maps:
            maps[id(img)] = crop_maps(img, c)
        prob_g, prob_d = maps[id(img)]
        g = draw_corners(prob_g, img.shape[:2], c.crop, c.iters, rng)
        plans.append(CropPlan.single(i, (*g, *draw_corners(prob_d, img.shape[:2], c.d_input, c.iters, rng))))
    return _estimate(images, plans, seeds, c, torch.device(device), progress)


def estimate_camera_kernels(
    images: list[np.ndarray],
    rngs: list[np.random.Generator],
    config: KernelGANConfig | None = None,
    device: torch.device | str = "cpu",
    progress: Callable[[int], None] | None = None,
) -> list[KernelEstimate]:
    """Camera-level KernelGAN: ``len(rngs)`` restarts trained at once, each (G, D) on crops of ALL ``images``.

    One lens and sensor blur all of a camera's photos alike, so one G is fitted to the crops of every photo (D
    sees real crops of every photo); each restart has its own initialisation and crop stream. The restarts are
    aggregated by :mod:`realsr_cli.learn.kernel_aggregate`; their scatter is the estimate's stability.
    """
    c = config or KernelGANConfig()
    start = time.perf_counter()
    seeds = _seeds(rngs)
    plans = camera_crop_plans(images, c, rngs)
    prep = time.perf_counter() - start
    results = _estimate(images, plans, seeds, c, torch.device(device), progress)
    for est in results:
        est.seconds += prep / len(results)
    return results


def _seeds(rngs: list[np.random.Generator]) -> list[tuple[int, int]]:
    """Each (G, D) pair's initialisation and noise seeds, drawn before its crops (the single-image order)."""
    return [(int(r.integers(0, 2**62)), int(r.integers(0, 2**62))) for r in rngs]


def _estimate(
    images: list[np.ndarray],
    plans: list[CropPlan],
    seeds: list[tuple[int, int]],
    c: KernelGANConfig,
    device: torch.device,
    progress: Callable[[int], None] | None,
) -> list[KernelEstimate]:
    start = time.perf_counter()
    b = len(plans)
    init_gens = [torch.Generator().manual_seed(init) for init, _ in seeds]
    noise_gens = [torch.Generator().manual_seed(noise) for _, noise in seeds]
    tensors = [to_tensor(img, batch=False).mul(2).sub(1).to(device) for img in images]
    model = BatchedKernelGAN(b, c, init_gens).to(device).train()
    d_params = [*model.d_weights, *model.d_biases, *model.bn_weights, *model.bn_biases]
    # foreach: one kernel per step for all the pairs' tensors (the same numbers as the per-tensor loop, 5-10 % less
    # time at batch 8; ``fused`` differs)
    opt_g = torch.optim.Adam(model.g_weights.parameters(), lr=c.g_lr, betas=(c.beta1, 0.999), foreach=True)
    opt_d = torch.optim.Adam(d_params, lr=c.d_lr, betas=(c.beta1, 0.999), foreach=True)
    losses = KernelLosses(c.kernel_size, device)
    schedule = _Schedule(b, c, device)
    s, d = c.crop, c.d_input
    images_of = _PairImages(tensors, b, c.accumulate_d_noise)
    for it in range(c.iters):
        g_in = images_of.gather([(p.g_image[it], p.g_top[it], p.g_left[it]) for p in plans], s)
        d_corners = [(p.d_image[it], p.d_top[it], p.d_left[it]) for p in plans]
        d_in = images_of.add_noise(
            d_corners, d, _noise(noise_gens, (tensors[0].shape[0], d, d), device) * (c.real_noise * 255.0)
        )
        # G step (train_g + calc_constraints)
        k = model.kernels()
        g_pred = model.generate(g_in, k)
        loss_gan = (model.discriminate(g_pred) - 1).abs().mean((1, 2, 3))
        target = shave_to(bicubic_downscale(g_in), g_pred.shape[-2], g_pred.shape[-1])
        loss_bic = ((g_pred - target) ** 2).mean((1, 2, 3))
        total = (
            loss_gan
            + schedule.lam_bic * loss_bic
            + c.lambda_sum2one * losses.sum2one(k)
            + c.lambda_boundaries * losses.boundaries(k)
            + schedule.lam_cent * losses.centralized(k)
            + schedule.lam_sparse * losses.sparsity(k)
        )
        grads = torch.autograd.grad(total.sum(), list(model.g_weights))
        for p, g in zip(model.g_weights, grads, strict=True):
            p.grad = g
        opt_g.step()
        # D step (train_d)
        opt_d.zero_grad(set_to_none=True)
        d_real = model.discriminate(d_in)
        with torch.no_grad():
            fake = model.generate(g_in, model.kernels())
            fake = fake + _noise(noise_gens, fake.shape[1:], device)
        d_fake = model.discriminate(fake)
        loss_d = 0.5 * (d_fake.abs().mean((1, 2, 3)) + (d_real - 1).abs().mean((1, 2, 3)))
        loss_d.sum().backward()
        opt_d.step()
        schedule.update(it, loss_bic.detach().cpu().tolist(), [opt_g, opt_d])
        if progress is not None:
            progress(it + 1)
    with torch.no_grad():
        raw = model.kernels().double().cpu().numpy()
    seconds = (time.perf_counter() - start) / b
    results = []
    for kb in raw:
        k2 = post_process_kernel(kb, c.n_filtering)
        results.append(KernelEstimate(k2, analytic_kernel(k2), kb, seconds, c.iters, edge_mass(kb, c.n_filtering)))
    return results


def _noise(gens: list[torch.Generator], shape: tuple[int, ...], device: torch.device) -> Tensor:
    """N(0, 1/255) per image from its own generator (the same draws whatever the batch)."""
    return torch.stack([torch.randn(tuple(shape), generator=g) for g in gens]).div_(255.0).to(device)


NOISE_TILE = 32  # px: the accumulated D-crop noise is stored in tiles of this size where D's crops fall


class _PairImages:
    """The photos each (G, D) pair reads. With ``accumulate`` (the official data.py) the noise of each pair's real
    D crops stays in that pair's photos for its later G and D crops: it is kept per pair and photo in
    :data:`NOISE_TILE`-pixel tiles, allocated where D's crops fall (the photos themselves are shared and never
    written, so memory grows with the area D visits, not with the photos' size); without, the noise is added to
    the crop only."""

    def __init__(self, tensors: list[Tensor], pairs: int, accumulate: bool) -> None:
        self.tensors = tensors
        self.accumulate = accumulate
        self.noise: list[dict[tuple[int, int, int], Tensor]] = [{} for _ in range(pairs)]

    def _tiles(self, r: int, c: int, size: int):
        """(tile row, tile col, crop slice, tile slice) for every noise tile a size x size crop at (r, c) overlaps."""
        t = NOISE_TILE
        for ty in range(r // t, (r + size - 1) // t + 1):
            for tx in range(c // t, (c + size - 1) // t + 1):
                y0, y1 = max(r, ty * t), min(r + size, (ty + 1) * t)
                x0, x1 = max(c, tx * t), min(c + size, (tx + 1) * t)
                crop = (slice(None), slice(y0 - r, y1 - r), slice(x0 - c, x1 - c))
                tile = (slice(None), slice(y0 - ty * t, y1 - ty * t), slice(x0 - tx * t, x1 - tx * t))
                yield ty, tx, crop, tile

    def _crop(self, pair: int, i: int, r: int, c: int, size: int) -> Tensor:
        base = self.tensors[i][:, r : r + size, c : c + size]
        tiles = self.noise[pair]
        if not self.accumulate or not tiles:
            return base
        out = base.clone()
        for ty, tx, crop, tile in self._tiles(r, c, size):
            if (i, ty, tx) in tiles:
                out[crop] += tiles[(i, ty, tx)][tile]
        return out

    def gather(self, corners: list[tuple[int, int, int]], size: int) -> Tensor:
        return torch.stack([self._crop(b, i, r, c, size) for b, (i, r, c) in enumerate(corners)])

    def add_noise(self, corners: list[tuple[int, int, int]], size: int, noise: Tensor) -> Tensor:
        """The D crops with ``noise`` (B, C, size, size) added (and, accumulating, kept for later crops)."""
        if not self.accumulate:
            return self.gather(corners, size) + noise
        for b, (i, r, c) in enumerate(corners):
            tiles = self.noise[b]
            for ty, tx, crop, tile in self._tiles(r, c, size):
                key = (i, ty, tx)
                if key not in tiles:
                    tiles[key] = noise.new_zeros((noise.shape[1], NOISE_TILE, NOISE_TILE))
                tiles[key][tile] += noise[b][crop]
        return self.gather(corners, size)
