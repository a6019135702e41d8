"""Camera kernel vs per-photo kernels on synthetic cameras with a known blur (issue 13 item 3, issue 19).

Each camera: HR crops of the shared clean photos (../shared/data/hr-train), blurred with a known Gaussian (iso or
aniso, HR pixels), MATLAB-bicubic x4 downscaled (``realsr_cli.degradations``), Gaussian noise sigma 2 (8-bit),
rounded to 8 bits. The true x4 kernel of such a camera is the Gaussian convolved with MATLAB's x1/4 bicubic
weights (measured by resizing impulses). Estimates are compared after centring on the common support (L2), and by
their widths and angle. Reported per camera: each per-photo kernel's error (one KernelGAN run per photo, the
original's way), their median, the robust aggregate of the per-photo kernels, and the camera-level KernelGAN
(K restarts on crops of all photos), with the restarts' spread.

``python -m benchmarks camera_kernel`` runs all cameras (about 2-3 minutes each on the 2-core CPU at the reduced
settings below); ``REALSR_BENCH_CAMERAS=iso-wide,aniso`` picks some, ``REALSR_BENCH_ITERS`` (1000),
``REALSR_BENCH_PHOTOS`` (5), ``REALSR_BENCH_SIZE`` (LR side, 320) and ``REALSR_BENCH_RESTARTS`` (6) change them.

``REALSR_BENCH_CAMERAS=zoo`` (or ``zoo:studio,dslr``) runs the camera zoo's cameras instead (benchmarks/cameras/,
issue 13's "every zoo camera with a known kernel"), at learn-degradation's defaults (3000 iterations, 6 camera
restarts, KernelGAN's crop of each photo; ``REALSR_BENCH_ITERS`` still overrides): their four source photos are
the camera applied to full-size hr-train 0017-0020 (as ``python -m benchmarks cameras`` and ``noise_model`` make
them), the truth is the preset's blur convolved with its x1/4 downscale's weights (MATLAB bicubic, or ``area``'s
box). On the ISP cameras (denoise, unsharp mask) the photos' effective kernel is not that blur alone: their rows
are marked. About 6 minutes a camera.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from scipy import signal

from realsr_cli.degradations import kernel_centre
from realsr_cli.degradations.kernels import blur, gaussian_kernel, make_kernel
from realsr_cli.degradations.pipeline import Degradation
from realsr_cli.degradations.resize import imresize, resize
from realsr_cli.io.images import read_image
from realsr_cli.learn import camera_kernel, kernel_io
from realsr_cli.learn.kernel_aggregate import common_support
from realsr_cli.learn.kernelgan import KernelGANConfig, prepare_image

PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hr-train"
ZOO = Path(__file__).resolve().parent / "cameras"
ISP_OPS = ("denoise", "sharpen")
CAMERAS = {  # HR-pixel Gaussian: sigma_x, sigma_y, theta (radians)
    "iso-narrow": (1.2, 1.2, 0.0),
    "iso-wide": (3.0, 3.0, 0.0),
    "aniso": (3.0, 1.0, 0.5),
    "aniso-wide": (4.5, 1.6, 2.1),
}


def downscale_x4_weights(method: str = "matlab") -> np.ndarray:
    """The x1/4 ``resize`` weights of the HR pixels around LR pixel (8, 8), as a 29x29 x4-aligned kernel.

    ``matlab``: MATLAB imresize's antialiased bicubic; ``area``: the mean of the pixel's 4x4 HR block (a box sensor).
    """
    start, size = 18, 29  # HR block centre of LR pixel 8 is 33.5 = start + aligned_centre(29, 4)
    deltas = torch.zeros(size * size, 1, 64, 64, dtype=torch.float64)
    for j in range(size * size):
        deltas[j, 0, start + j // size, start + j % size] = 1.0
    lr = resize(deltas, (16, 16), method)
    return lr[:, 0, 8, 8].reshape(size, size).numpy()


def true_x4_kernel(sx: float, sy: float, theta: float) -> np.ndarray:
    return x4_kernel_of(blur_gaussian((sx, sy, theta)))


def x4_kernel_of(blur_hr: np.ndarray, method: str = "matlab") -> np.ndarray:
    """The x4 kernel of a camera blurring by ``blur_hr`` (HR pixels), then downscaling by 4 with ``method``."""
    k = signal.convolve(downscale_x4_weights(method), blur_hr, mode="full")
    return kernel_centre.trim(k / k.sum(), 25)


def blur_gaussian(spec: tuple[float, float, float]) -> np.ndarray:
    """The HR-pixel Gaussian (sigma_x, sigma_y, theta) of a synthetic camera, +-4 sigma."""
    return gaussian_kernel(2 * int(math.ceil(4 * max(spec[:2]))) + 1, *spec)


def synthetic_photo(path: Path, g: np.ndarray, lr_size: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 LR photo: the centre (4 lr_size)^2 HR crop of ``path`` blurred by ``g``, MATLAB bicubic x4, noise 2."""
    hr_side = 4 * lr_size
    px = read_image(path).pixels[:, :, :3]
    h, w = px.shape[:2]
    top, left = (h - min(h, hr_side)) // 2, (w - min(w, hr_side)) // 2
    crop = px[top : top + hr_side, left : left + hr_side].astype(np.float64) / 255.0
    x = torch.from_numpy(crop.transpose(2, 0, 1).copy())[None]
    lr = imresize(blur(x, g), scale=0.25)[0].numpy().transpose(1, 2, 0)
    return np.clip(np.rint((lr + rng.normal(0, 2 / 255, lr.shape)) * 255), 0, 255).astype(np.uint8)


def camera_photos(spec: tuple[float, float, float], n: int, lr_size: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    g = blur_gaussian(spec)
    return [prepare_image(synthetic_photo(path, g, lr_size, rng)) for path in sorted(PHOTOS.glob("*.png"))[:n]]


def errors(kernel: np.ndarray, truth: np.ndarray) -> dict:
    a, b = common_support([kernel, truth])
    s, t = kernel_io.kernel_stats(kernel), kernel_io.kernel_stats(truth)
    angle = abs((s["angle_deg"] - t["angle_deg"] + 90) % 180 - 90)
    return {
        "l2": float(np.linalg.norm(a - b)),
        "major": s["sigma_major"] - t["sigma_major"],
        "minor": s["sigma_minor"] - t["sigma_minor"],
        "angle": angle,
        "centre": float(np.abs(kernel_centre.centre_offset(kernel, 4)).max()),
    }


def zoo_truth(camera: Degradation) -> np.ndarray:
    """A zoo camera's true x4 kernel: its preset's HR blur convolved with its x1/4 downscale's weights."""
    ops = camera.sample(np.random.default_rng(0), (64, 64), 4)["ops"]
    lens = make_kernel(next(op for op in ops if op["op"] == "blur")["kernel"])
    return x4_kernel_of(lens, next(op for op in ops if op["op"] == "resize").get("method", "matlab"))


def zoo_photos(camera: Degradation) -> list[np.ndarray]:
    """The camera's four source photos (as the zoo's), prepared for KernelGAN as learn-degradation prepares them."""
    from benchmarks.bench_noise_model import camera_photos as shoot
    from benchmarks.bench_noise_model import source_photos

    crop = KernelGANConfig().crop
    return [prepare_image(p, crop).astype(np.float32) for p in shoot(camera, source_photos(), seed=1)]


def run_zoo_camera(name: str, iters: int, restarts: int) -> dict:
    camera = Degradation.from_preset(ZOO / f"{name}.yaml")
    report = compare(name, zoo_truth(camera), zoo_photos(camera), iters, restarts)
    report["isp"] = any(step["op"] in ISP_OPS for step in camera.config["steps"])
    return report


def run_camera(name: str, iters: int, photos: int, lr_size: int, restarts: int) -> dict:
    truth = true_x4_kernel(*CAMERAS[name])
    return compare(name, truth, camera_photos(CAMERAS[name], photos, lr_size, seed=1), iters, restarts)


def compare(name: str, truth: np.ndarray, images: list[np.ndarray], iters: int, restarts: int) -> dict:
    """Per-photo kernels (one run each, batched), their aggregate and the camera kernel of ``images`` against
    ``truth``."""
    torch.set_num_threads(1)
    photos = len(images)
    cfg = KernelGANConfig(iters=iters)
    t = time.perf_counter()
    per_photo = camera_kernel.photo_kernels(
        [(f"p{i}", im) for i, im in enumerate(images)], seed=0, restarts=1, batch=photos, config=cfg
    )
    t_photo = time.perf_counter() - t
    t = time.perf_counter()
    camera = camera_kernel.camera_kernel(images, seed=0, restarts=restarts, config=cfg)
    t_camera = time.perf_counter() - t
    photo_err = [errors(r.kernel_x4, truth) for r in per_photo.values()]
    from_photos = errors(camera_kernel.camera_from_photos(per_photo).kernel_x4, truth)
    cam_err = errors(camera.kernel_x4, truth)
    restart_err = [errors(e.kernel_x4, truth) for e in camera.estimates]
    bicubic = errors(kernel_centre.trim(downscale_x4_weights(), 25), truth)
    report = camera.report()
    stack = common_support([e.kernel_x4 for e in camera.estimates])
    alternatives = {  # other ways to combine the restarts (the default is the geometric median of the inliers)
        "medoid": errors(stack[camera.aggregate.medoid], truth)["l2"],
        "mean": errors(stack.mean(0), truth)["l2"],
    }
    return {
        "alternatives_l2": alternatives,
        "camera": name,
        "truth": kernel_io.kernel_stats(truth),
        "per_photo_l2": [round(e["l2"], 4) for e in photo_err],
        "per_photo_median_l2": float(np.median([e["l2"] for e in photo_err])),
        "per_photo_median_abs_major": float(np.median([abs(e["major"]) for e in photo_err])),
        "aggregate_of_photos_l2": from_photos["l2"],
        "camera_l2": cam_err["l2"],
        "camera_errors": cam_err,
        "camera_restarts_l2": [round(e["l2"], 4) for e in restart_err],
        "camera_spread_x4": report["spread"]["x4"],
        "camera_reliable": report["reliable"],
        "bicubic_l2": bicubic["l2"],
        "max_centre_error": max(e["centre"] for e in [*photo_err, cam_err, *restart_err]),
        "seconds_per_photo_mode": t_photo,
        "seconds_camera_mode": t_camera,
    }


def main() -> None:
    spec = os.environ.get("REALSR_BENCH_CAMERAS", ",".join(CAMERAS))
    zoo = spec == "zoo" or spec.startswith("zoo:")
    if zoo:
        names = spec[4:].split(",") if spec.startswith("zoo:") else sorted(p.stem for p in ZOO.glob("*.yaml"))
    else:
        names = [n for n in spec.split(",") if n]
    iters = int(os.environ.get("REALSR_BENCH_ITERS", "3000" if zoo else "1000"))
    photos = int(os.environ.get("REALSR_BENCH_PHOTOS", "5"))
    size = int(os.environ.get("REALSR_BENCH_SIZE", "320"))
    restarts = int(os.environ.get("REALSR_BENCH_RESTARTS", "6"))
    where = "the zoo's 4 source photos" if zoo else f"{photos} photos of {size}x{size}"
    print(f"{where} per camera, {iters} iterations, camera restarts {restarts}")
    print("camera       | truth x4 sigma/angle | per-photo L2 median (min-max) | agg. of photos | camera L2 | bicubic")
    for name in names:
        r = run_zoo_camera(name, iters, restarts) if zoo else run_camera(name, iters, photos, size, restarts)
        t, sp = r["truth"], r["camera_spread_x4"]
        verdict = "camera better" if r["camera_l2"] < r["per_photo_median_l2"] else "camera NOT better"
        print(
            f"{name + (' (ISP)' if r.get('isp') else ''):12s} | {t['sigma_major']:.2f}/{t['sigma_minor']:.2f} "
            f"{t['angle_deg']:5.1f} | "
            f"{r['per_photo_median_l2']:.4f} ({min(r['per_photo_l2']):.4f}-{max(r['per_photo_l2']):.4f}) | "
            f"{r['aggregate_of_photos_l2']:.4f} | {r['camera_l2']:.4f} | {r['bicubic_l2']:.4f} | {verdict}"
        )
        e = r["camera_errors"]
        print(
            f"    camera: major {e['major']:+.2f} minor {e['minor']:+.2f} angle err {e['angle']:.1f} deg; restarts L2 "
            f"{r['camera_restarts_l2']}; spread sigma_major std {sp['sigma_major']['std']:.2f}, angle std "
            f"{sp['angle_std_deg']:.1f} deg; reliable {r['camera_reliable']}; max centre error "
            f"{r['max_centre_error']:.4f} px; {r['seconds_per_photo_mode']:.0f} s per-photo mode, "
            f"{r['seconds_camera_mode']:.0f} s camera mode; other combinations {r['alternatives_l2']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
