"""KernelGAN speed and accuracy: this tool's fast/batched trainer vs a straightforward reference of the original.

The reference runs the official iteration (sefibk/KernelGAN kernelGAN.py train_g + train_d): the full 64-channel
linear G on the 64x64 crop (twice: G step and D step), ``calc_curr_k`` by a delta pass, the spectral-normalised
patch D (torch.nn.utils.spectral_norm), the same losses and Adam. Timed here for a few iterations, in the same
run and thread count as the fast trainer, so the ratio is fair on a shared, noisy machine.

Reported: seconds per iteration (reference, fast B=1, fast batched B=4 and 8 per image), the speed-up ratios,
and a full 3000-iteration estimate of one synthetic image degraded with a known anisotropic Gaussian kernel
((I*k)|2): seconds per image and the L2 kernel error of the estimate vs the bicubic kernel's (both centred).
Set REALSR_BENCH_QUICK=1 to skip the full run. CUDA is timed too when present.

``learn_speed`` (issue 13 item 6) times, in the same run, the parts of ``learn-degradation`` with defaults on a
~1.5 MP photo: the crop sampling maps, one training iteration at batch 4 and 8, the JPEG measurement, and
extrapolates 20 photos at 3000 iterations for the old default (one KernelGAN per photo, ``--kernel-batch 4``)
and the camera kernel (6 restarts on all photos in one batch of 6), with their ratio.
"""

from __future__ import annotations

import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn

from realsr_cli.degradations.kernels import blur_subsample, gaussian_kernel
from realsr_cli.learn.kernelgan import (
    BICUBIC_X2,
    KernelGANConfig,
    KernelLosses,
    ReferenceGenerator,
    bicubic_downscale,
    estimate_kernels,
    prepare_image,
    shave_to,
)


class _ReferenceD(nn.Module):
    def __init__(self, c: KernelGANConfig) -> None:
        super().__init__()
        sn = nn.utils.spectral_norm
        layers: list[nn.Module] = [sn(nn.Conv2d(3, c.d_chan, c.d_kernel))]
        for _ in range(1, c.d_n_layers - 1):
            layers += [sn(nn.Conv2d(c.d_chan, c.d_chan, 1)), nn.BatchNorm2d(c.d_chan), nn.ReLU(True)]
        layers += [sn(nn.Conv2d(c.d_chan, 1, 1)), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def reference_seconds_per_iter(image: np.ndarray, iters: int, device: torch.device) -> float:
    """The original's per-iteration work (one image), timed after one warm-up iteration."""
    c = KernelGANConfig()
    g, d = ReferenceGenerator(c).to(device), _ReferenceD(c).to(device)
    opt_g = torch.optim.Adam(g.parameters(), lr=c.g_lr, betas=(c.beta1, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=c.d_lr, betas=(c.beta1, 0.999))
    losses = KernelLosses(c.kernel_size, device)
    t = torch.from_numpy(image.transpose(2, 0, 1)).float()[None].mul(2).sub(1).to(device)
    rng = np.random.default_rng(0)

    def step() -> None:
        r, q = (int(v) // 2 * 2 for v in rng.integers(0, min(t.shape[-2:]) - c.crop, 2))
        g_in = t[..., r : r + c.crop, q : q + c.crop]
        d_in = (
            t[..., r : r + c.d_input, q : q + c.d_input] + torch.randn(1, 3, c.d_input, c.d_input, device=device) / 255
        )
        opt_g.zero_grad()
        g_pred = g(g_in)
        k = g.kernel()
        loss = (d(g_pred) - 1).abs().mean() + 5 * F.mse_loss(g_pred, shave_to(bicubic_downscale(g_in), 26, 26))
        loss = loss + 0.5 * losses.sum2one(k[None]).sum() + 0.5 * losses.boundaries(k[None]).sum()
        loss.backward()
        opt_g.step()
        opt_d.zero_grad()
        real = d(d_in)
        out = g(g_in)
        fake = d((out + torch.randn_like(out) / 255).detach())
        (0.5 * (fake.abs().mean() + (real - 1).abs().mean())).backward()
        opt_d.step()

    step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        step()
    _sync(device)
    return (time.perf_counter() - start) / iters


def fast_seconds_per_iter(images: list[np.ndarray], iters: int, device: torch.device) -> float:
    """Per image and iteration, including crop sampling and post-processing."""
    cfg = KernelGANConfig(iters=iters)
    rngs = [np.random.default_rng(i) for i in range(len(images))]
    estimate_kernels(images[:1], rngs[:1], KernelGANConfig(iters=3), device)  # warm-up
    _sync(device)
    start = time.perf_counter()
    estimate_kernels(images, rngs, cfg, device)
    _sync(device)
    return (time.perf_counter() - start) / iters / len(images)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def synthetic(seed: int = 3, size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """A textured HR image degraded with a known anisotropic kernel: (I * k) subsampled by 2."""
    rng = np.random.default_rng(seed)
    hr = ndimage.gaussian_filter(rng.random((size, size, 3)), (1.5, 1.5, 0))
    hr = (hr - hr.min()) / (hr.max() - hr.min())
    k = gaussian_kernel(13, 2.6, 0.8, 0.6)
    lr = blur_subsample(torch.from_numpy(hr.transpose(2, 0, 1))[None], k, 2)[0].numpy().transpose(1, 2, 0)
    return prepare_image(lr), k


def centred(k: np.ndarray, size: int = 13) -> np.ndarray:
    full = np.zeros((size, size))
    o = (size - k.shape[0]) // 2
    full[o : o + k.shape[0], o : o + k.shape[1]] = k
    com = np.array(ndimage.center_of_mass(np.clip(full, 0, None)))
    out = ndimage.shift(full, np.array([6.5, 6.5]) - com, order=1)
    return out / out.sum()


def learn_speed(photos: int = 20, iters: int = 3000) -> dict:
    """Measured parts and the extrapolated KernelGAN + JPEG time of ``learn-degradation`` on ``photos`` 1.5 MP photos."""
    from realsr_cli.learn import jpeg_quality
    from realsr_cli.learn.kernelgan import crop_maps

    rng = np.random.default_rng(0)
    big = ndimage.gaussian_filter(rng.random((1000, 1500, 3)), (1.5, 1.5, 0)).astype(np.float32)
    big = (big - big.min()) / (big.max() - big.min())
    start = time.perf_counter()
    crop_maps(big, KernelGANConfig())
    t_map = time.perf_counter() - start
    pixels = np.rint(big * 255).astype(np.uint8)
    start = time.perf_counter()
    jpeg_quality.estimate_pixels(pixels)
    t_jpeg = time.perf_counter() - start
    small = [synthetic(seed=s, size=256)[0] for s in range(8)]
    cpu = torch.device("cpu")
    t4 = fast_seconds_per_iter(small[:4], 30, cpu) * 4  # per iteration of the whole batch
    t6 = fast_seconds_per_iter(small[:6], 30, cpu) * 6
    old = photos * t_map + -(-photos // 4) * iters * t4
    new = photos * t_map + iters * t6 + photos * t_jpeg
    return {"map_s": t_map, "jpeg_s": t_jpeg, "iter_b4_s": t4, "iter_b6_s": t6, "old_s": old, "camera_s": new}


def main() -> None:
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    print(f"threads: {torch.get_num_threads()}")
    speed = learn_speed()
    print(
        f"learn-degradation parts (1.5 MP photo): crop maps {speed['map_s']:.2f} s, JPEG measurement "
        f"{speed['jpeg_s']:.2f} s, one iteration {speed['iter_b4_s'] * 1e3:.0f} ms (batch 4) / "
        f"{speed['iter_b6_s'] * 1e3:.0f} ms (batch 6)"
    )
    print(
        f"20 photos, 3000 iterations: per-photo kernels (old default, batch 4) {speed['old_s'] / 60:.1f} min; "
        f"camera kernel (6 restarts) + JPEG {speed['camera_s'] / 60:.1f} min -> x{speed['old_s'] / speed['camera_s']:.1f}"
    )
    image, true_k = synthetic()
    images = [synthetic(seed=s)[0] for s in range(8)]
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    for device in devices:
        ref = reference_seconds_per_iter(image, 3 if device.type == "cpu" else 50, device)
        fast1 = fast_seconds_per_iter(images[:1], 60 if device.type == "cpu" else 300, device)
        fast4 = fast_seconds_per_iter(images[:4], 40 if device.type == "cpu" else 300, device)
        fast8 = fast_seconds_per_iter(images[:8], 30 if device.type == "cpu" else 300, device)
        print(f"[{device}] reference original: {ref:.3f} s/iter ({ref * 3000 / 60:.1f} min per 3000-iteration image)")
        print(f"[{device}] fast B=1: {fast1 * 1e3:.1f} ms/iter  -> x{ref / fast1:.1f} vs reference")
        print(
            f"[{device}] fast B=4: {fast4 * 1e3:.1f} ms/iter/image -> x{ref / fast4:.1f} (batched x{fast1 / fast4:.2f})"
        )
        print(
            f"[{device}] fast B=8: {fast8 * 1e3:.1f} ms/iter/image -> x{ref / fast8:.1f} (batched x{fast1 / fast8:.2f})"
        )
    if os.environ.get("REALSR_BENCH_QUICK") == "1":
        return
    for device in devices:
        start = time.perf_counter()
        (est,) = estimate_kernels([image], [np.random.default_rng(0)], KernelGANConfig(), device)
        seconds = time.perf_counter() - start
        target = centred(true_k)
        err = np.linalg.norm(centred(est.kernel_x2) - target)
        err_bic = np.linalg.norm(centred(BICUBIC_X2) - target)
        print(
            f"[{device}] full 3000 iterations, one {image.shape[1]}x{image.shape[0]} image: {seconds:.1f} s; "
            f"kernel L2 error {err:.4f} (bicubic kernel {err_bic:.4f})"
        )


if __name__ == "__main__":
    main()
