"""``degrade`` throughput on CPU: megapixels of HR input per second for each preset, beside plain ``cv2.resize``.

Engine only (sample + apply on a float tensor; file I/O excluded), x4, on one 512x768 textured image (a shared HR
image cropped to that size when ../shared is present). Every preset is timed over the same number of images with
per-image seeds; the ratio is against ``cv2.resize(INTER_CUBIC)`` of the same uint8 image measured in the same run
(the machine is shared and noisy: compare ratios, not absolute numbers).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from realsr_cli.degradations.kernels import gaussian_kernel
from realsr_cli.degradations.pipeline import Degradation
from realsr_cli.io.images import read_image, to_float, write_image

SIZE = (512, 768)
SCALE = 4
REPEATS = 6
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hr-train"


def _image() -> np.ndarray:
    files = sorted(SHARED.glob("*.png")) if SHARED.is_dir() else []
    if files:
        pixels = read_image(files[0]).pixels[..., :3]
        if pixels.shape[0] >= SIZE[0] and pixels.shape[1] >= SIZE[1] and pixels.dtype == np.uint8:
            return np.ascontiguousarray(pixels[: SIZE[0], : SIZE[1]])
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0 : SIZE[0], 0 : SIZE[1]].astype(np.float32)
    img = np.stack([0.5 + 0.3 * np.sin(xx / (3 + c)) * np.cos(yy / (5 + c)) for c in range(3)], 2)
    img += 0.03 * rng.standard_normal(img.shape)
    return np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)


def _time(fn, repeats: int) -> float:
    fn(0)  # warm-up
    start = time.perf_counter()
    for i in range(repeats):
        fn(i + 1)
    return (time.perf_counter() - start) / repeats


def main() -> None:
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1"))))
    pixels = _image()
    mp = pixels.shape[0] * pixels.shape[1] / 1e6
    hr = torch.from_numpy(to_float(pixels)).permute(2, 0, 1)[None]
    lr_size = (pixels.shape[1] // SCALE, pixels.shape[0] // SCALE)
    cv_s = _time(lambda i: cv2.resize(pixels, lr_size, interpolation=cv2.INTER_CUBIC), REPEATS * 5)
    print(f"image {pixels.shape[1]}x{pixels.shape[0]} ({mp:.2f} MP), x{SCALE}, {torch.get_num_threads()} thread(s)")
    print(f"{'preset':<14}{'ms/image':>10}{'MP/s':>10}{'time / cv2':>18}")
    print(f"{'cv2.resize':<14}{cv_s * 1e3:>10.2f}{mp / cv_s:>10.1f}{1.0:>18.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        kdir, ndir = Path(tmp) / "kernels", Path(tmp) / "noise"
        kdir.mkdir()
        ndir.mkdir()
        for i, (sx, sy) in enumerate([(1.5, 3.0), (2.5, 1.0)]):
            np.save(kdir / f"k{i}_kernel_x{SCALE}.npy", gaussian_kernel(25, sx, sy, 0.5))
        rng = np.random.default_rng(1)
        for i in range(3):
            write_image(ndir / f"n{i}.png", np.rint(128 + 6 * rng.standard_normal((64, 64, 3))).astype(np.uint8))
        for name in ("bicubic", "generic", "realesrgan", "kernel-noise"):
            deg = Degradation.from_preset(name, kdir, ndir) if name == "kernel-noise" else Degradation.from_preset(name)

            def run(i: int, deg: Degradation = deg) -> torch.Tensor:
                return deg.apply(hr, deg.sample(np.random.default_rng(i), hr.shape, SCALE))

            with torch.inference_mode():
                sec = _time(run, REPEATS)
            print(f"{name:<14}{sec * 1e3:>10.1f}{mp / sec:>10.1f}{sec / cv_s:>18.1f}")


if __name__ == "__main__":
    main()
