"""make-pairs throughput: pairs per second on CPU for each mode (and 1 vs 2 workers), on synthetic images.

Each mode makes 64x64 HR patches (x4) from the same 4 textured 192x256 images; best of two runs; ratios are against
the ``self`` mode measured in the same run (timings on a shared machine are noisy; compare ratios, not absolute numbers).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from realsr_cli.io.images import write_image
from realsr_cli.pairs import PairsConfig, make_pairs

SIZE = (192, 256)
IMAGES = 4


def _image(seed: int, h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    planes = [0.5 + 0.3 * np.sin(xx / (3 + c) + rng.uniform(0, 3)) * np.cos(yy / (5 + c)) for c in range(3)]
    img = np.stack(planes, 2) + 0.03 * rng.standard_normal((h, w, 3))
    return np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)


def _data(root: Path) -> dict[str, Path]:
    from realsr_cli.degradations.learned_model import build_generator, save_degradation_model

    paths = {name: root / name for name in ("hr", "phone", "kernels", "noise")}
    for path in paths.values():
        path.mkdir()
    for i in range(IMAGES):
        write_image(paths["hr"] / f"im{i}.png", _image(i, *SIZE))
        write_image(paths["phone"] / f"im{i}.png", _image(100 + i, *SIZE))
    g = np.exp(-0.5 * (np.arange(-6, 7) / 1.5) ** 2)
    np.save(paths["kernels"] / "cam_kernel_x4.npy", np.outer(g, g) / np.outer(g, g).sum())
    noise = np.rint(128 + 8 * np.random.default_rng(0).standard_normal((64, 64, 3))).astype(np.uint8)
    write_image(paths["noise"] / "n0.png", noise)
    generator = build_generator({})
    paths["model"] = root / "degradation.pt"
    save_degradation_model(paths["model"], generator, method="dsgan", arch_args={}, scale=4)
    return paths


def _modes(p: dict[str, Path]) -> dict[str, dict]:
    return {
        "self": {"self_pairs": True},
        "kernel-noise": {"kernels": p["kernels"], "noise_patches": p["noise"]},
        "preset bicubic": {"preset": "bicubic"},
        "preset generic": {"preset": "generic"},
        "preset realesrgan": {"preset": "realesrgan"},
        "learned (DSGAN 8x64)": {"degradation_model": p["model"]},
        "aligned T1 bicubic": {"aligned_lr": p["phone"]},
        "aligned T4 downscale": {"aligned_lr": p["phone"], "downscale_lr": True},
    }


def _time(root: Path, name: str, hr_dir: Path, options: dict, workers: int = 1) -> tuple[int, float]:
    out = root / f"out-{name.replace(' ', '_')}-{workers}"
    cfg = PairsConfig(hr_dir, out, scale=4, patch_size=64, stride=64, workers=workers, quiet=True, **options)
    start = time.perf_counter()
    result = make_pairs(cfg)
    elapsed = time.perf_counter() - start
    if result.failures:
        raise RuntimeError(result.failures)
    return len(result.records), elapsed


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = _data(root)
        rows = []
        for name, options in _modes(paths).items():  # best of 2: the first run also pays one-off imports
            runs = [_time(root, f"{name}-{i}", paths["hr"], options) for i in range(2)]
            pairs, elapsed = min(runs, key=lambda r: r[1])
            rows.append((name, pairs, pairs / elapsed))
        base = rows[0][2]
        print(f"{IMAGES} images {SIZE[1]}x{SIZE[0]} -> 64x64 HR / 16x16 LR patches, x4, 1 torch thread, CPU")
        print(f"{'mode':24s} {'pairs':>6s} {'pairs/s':>9s} {'vs self':>8s}")
        for name, pairs, rate in rows:
            print(f"{name:24s} {pairs:6d} {rate:9.1f} {rate / base:8.2f}")
        many = root / "many"
        many.mkdir()
        for i in range(4 * IMAGES):
            write_image(many / f"im{i}.png", _image(200 + i, *SIZE))
        opts = _modes(paths)["preset realesrgan"]
        n1, t1 = _time(root, "rg", many, opts, workers=1)
        n2, t2 = _time(root, "rg", many, opts, workers=2)
        print(
            f"realesrgan, {n1} pairs: 1 worker {n1 / t1:.1f} pairs/s, 2 spawned workers {n2 / t2:.1f} pairs/s "
            f"({(n2 / t2) / (n1 / t1):.2f}x, including ~{os.cpu_count()}-core machine load and process start-up)"
        )


if __name__ == "__main__":
    main()
