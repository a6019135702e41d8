"""Scoring speed: images/s of PSNR+SSIM (batched torch, float64) vs scikit-image's per-image loop, and of LPIPS
(batched) vs a straightforward per-image loop over the same lpips model; NIQE/BRISQUE/PIQE per-image throughput.
Ratios are measured in the same run (> 1 means this project is faster)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

N, H, W = 16, 256, 256


def _timed(fn: Callable[[], object], repeat: int = 2) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _images(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.random((N, H, W, 3))
    gt = np.stack(
        [np.clip(0.5 + 0.5 * np.sin(np.arange(W)[None, :, None] / 7.0 + i) * g, 0, 1) for i, g in enumerate(gt)]
    )
    sr = np.clip(gt + 0.03 * rng.standard_normal(gt.shape), 0, 1)
    return sr, gt


def bench_psnr_ssim(sr: np.ndarray, gt: np.ndarray) -> None:
    from realsr_cli.metrics import psnr, ssim

    ts, tg = (torch.from_numpy(a).permute(0, 3, 1, 2).contiguous() for a in (sr, gt))

    def ours():
        return psnr(ts, tg), ssim(ts, tg)

    def ours_loop():
        return [(psnr(ts[i : i + 1], tg[i : i + 1]), ssim(ts[i : i + 1], tg[i : i + 1])) for i in range(N)]

    def skimage_loop():
        return [
            (
                peak_signal_noise_ratio(g, s, data_range=1.0),
                structural_similarity(
                    s, g, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0, channel_axis=2
                ),
            )
            for s, g in zip(sr, gt, strict=True)
        ]

    p, s = ours()
    ref = skimage_loop()
    err = max(max(abs(p[i].item() - r[0]), abs(s[i].item() - r[1])) for i, r in enumerate(ref))
    t_batch, t_loop, t_ref = _timed(ours), _timed(ours_loop), _timed(skimage_loop)
    print(
        f"PSNR+SSIM {N}x{H}x{W} RGB (float64): ours per image {N / t_loop:.1f} img/s, ours batched {N / t_batch:.1f}"
        f" img/s, scikit-image loop {N / t_ref:.1f} img/s; ratio per-image/skimage {t_ref / t_loop:.2f}x, "
        f"batched/skimage {t_ref / t_batch:.2f}x (max |diff| {err:.1e})"
    )


def bench_lpips(sr: np.ndarray, gt: np.ndarray) -> None:
    from realsr_cli.errors import WeightsNotFoundError
    from realsr_cli.metrics import LPIPS

    try:
        metric = LPIPS("alex")
    except WeightsNotFoundError:
        from pathlib import Path

        shared = Path(__file__).resolve().parents[2] / "shared" / "weights" / "alexnet-features.pth"
        if not shared.is_file():
            print("LPIPS: skipped (no AlexNet backbone weights)")
            return
        metric = LPIPS("alex", weights=shared)
    ts, tg = (torch.from_numpy(a).permute(0, 3, 1, 2).float().contiguous() for a in (sr, gt))

    def ours():
        return metric(ts, tg)

    def loop():
        with torch.no_grad():
            return [metric.model(ts[i : i + 1] * 2 - 1, tg[i : i + 1] * 2 - 1).item() for i in range(N)]

    err = float(np.max(np.abs(ours().numpy() - np.array(loop()))))
    t_ours, t_ref = _timed(ours), _timed(loop)
    print(
        f"LPIPS-alex {N}x{H}x{W}: batched {N / t_ours:7.1f} img/s, per-image loop {N / t_ref:7.1f} img/s, "
        f"ratio {t_ref / t_ours:.2f}x (max |diff| {err:.1e})"
    )


def bench_no_reference(sr: np.ndarray) -> None:
    from realsr_cli.metrics import brisque, niqe, piqe

    x = torch.from_numpy(sr[:4]).permute(0, 3, 1, 2).contiguous()
    for name, fn in (("NIQE", niqe), ("BRISQUE", brisque), ("PIQE", piqe)):
        t = _timed(lambda fn=fn: fn(x), repeat=1)
        print(f"{name} {H}x{W}: {4 / t:7.1f} img/s")


def main() -> None:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    sr, gt = _images()
    bench_psnr_ssim(sr, gt)
    bench_lpips(sr, gt)
    bench_no_reference(sr)


if __name__ == "__main__":
    main()
