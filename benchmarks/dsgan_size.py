"""DSGAN's training size against the degradation it learns (issue 17 item 6: the default run on a 2-core CPU).

DSGAN (Fritsche et al., ICCVW 2019; ``realsr_cli.learn.dsgan``) at this tool's default (``--gan-batch 8``,
``--patch-size 64``, 2000 iterations) costs 1.96 s an iteration on a 2-core CPU without AMX (65 minutes a run). The
same number of iterations on smaller crops costs a fraction of that; this benchmark measures what they lose.

Camera: the zoo's tuning camera ``phone`` (benchmarks/cameras/phone.yaml; anisotropic blur, Poisson-Gaussian noise
14.2 at mid-grey, JPEG 70-85). As the zoo's sets (``../shared/data/hr-train``): source (real) photos = the camera on
full-size photos 0017-0020; clean = photos 0001-0008 halved (MATLAB bicubic). Test: photos 0033-0036 halved, x1/4
MATLAB bicubic, through the trained generator; the truth is the camera on the same halved photos. Measured on the
generator's 8-bit outputs against the camera's, as ``learn-degradation`` measures a camera:

* noise: the noise model (``noise_model.fit_camera_model``) of each, sigma at luma 64/128/192 (mean over channels),
  and the largest relative error;
* sharpness: the distance of their luma spectrum signatures (``degradations.spectrum``, RMS of log10 power over
  bands 4-12; what ``make-pairs --kernel-floor match`` compares);
* the plain bicubic LR as a reference row (no degradation learnt).

Each size is trained once with checkpoints at ``STAGES`` iterations (``--resume`` continues a run bit-exactly) and
scored at each, so one run also shows how far the iterations matter. ``python -m benchmarks dsgan-size
[--sizes 64x8,32x8] [--stages 500,1000,2000] [--out DIR]``: a 64x8 run takes about 25 minutes on a 2-core Xeon with
AMX (bf16; 65 on an AMD EPYC with AVX512-BF16 but no AMX, about 3.5 h in fp32 on one without AVX-512), a
32x8 run about half of it. Results in docs/learn-degradation.md
("Smaller crops: what they cost").
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.bench_noise_model import camera_photos, fit_photos, model_sigma
from realsr_cli.degradations import spectrum
from realsr_cli.degradations.learned_model import load_degradation_model
from realsr_cli.degradations.noise import NoiseModel
from realsr_cli.degradations.pipeline import Degradation
from realsr_cli.degradations.resize import imresize
from realsr_cli.io.images import read_image
from realsr_cli.io.tensors import to_pixels
from realsr_cli.learn import noise_model
from realsr_cli.learn.gan_training import MODEL_FILE, GANConfig, train_degradation

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "hr-train"
CAMERA = ROOT / "benchmarks" / "cameras" / "phone.yaml"
SOURCE, CLEAN, TEST = range(17, 21), range(1, 9), range(33, 37)
SCALE = 4


def _hr(index: int, halve: bool) -> torch.Tensor:
    pixels = read_image(PHOTOS / f"{index:04d}.png").pixels[:, :, :3]
    x = torch.from_numpy(pixels.transpose(2, 0, 1) / 255.0).float()
    return imresize(x[None], scale=0.5)[0].clamp(0, 1) if halve else x


def _float(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0


def sigmas(model: NoiseModel) -> list[float]:
    """The model's sigma at each of ``LEVELS``, mean over channels (0-255)."""
    return [float(v) for v in model_sigma(model).mean(1)]


def measure(images: list[np.ndarray], truth_model: NoiseModel, truth_signature: np.ndarray) -> dict:
    """Noise levels, their largest error against the camera's, and the spectrum distance of 8-bit HWC images."""
    model = fit_photos(images)
    sigma = sigmas(model) if model else None
    true = sigmas(truth_model)
    error = max(abs(s / t - 1) for s, t in zip(sigma, true, strict=True)) if sigma else float("inf")
    sig = spectrum.signature([noise_model.gray_255(p) for p in images])
    return {"sigma": sigma, "noise_error": error, "spectrum_distance": spectrum.distance(sig, truth_signature)}


def _generate(model_path: Path, inputs: list[torch.Tensor]) -> list[np.ndarray]:
    generator = load_degradation_model(model_path)
    out = []
    with torch.inference_mode():
        for x in inputs:
            y = generator.degrade(x[None])[0]
            out.append(to_pixels(y))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks dsgan-size", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64x8,32x8", help="PATCHxBATCH, comma-separated")
    parser.add_argument("--stages", default="500,1000,2000")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "dsgan_size")
    args = parser.parse_args(argv)
    camera = Degradation.from_preset(CAMERA)
    source = [_float(p) for p in camera_photos(camera, [_hr(i, False) for i in SOURCE])]
    clean = [_hr(i, True).numpy().transpose(1, 2, 0) for i in CLEAN]
    test_hr = [_hr(i, True) for i in TEST]
    truth = camera_photos(camera, test_hr, seed=1)
    truth_model = fit_photos(truth)
    assert truth_model is not None, "the camera's own photos give a noise model"
    truth_signature = spectrum.signature([noise_model.gray_255(p) for p in truth])
    inputs = [imresize(x[None], scale=1.0 / SCALE)[0].clamp(0, 1) for x in test_hr]
    bicubic = [to_pixels(x) for x in inputs]
    rows = {"bicubic": measure(bicubic, truth_model, truth_signature)}
    print("truth sigma", [round(v, 2) for v in sigmas(truth_model)])
    print(f"bicubic: {rows['bicubic']}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    for size in args.sizes.split(","):
        patch, batch = (int(v) for v in size.split("x"))
        run = args.out / size
        shutil.rmtree(run, ignore_errors=True)  # every size trains from nothing (its stages resume its own state)
        run.mkdir()
        seconds = 0.0
        for stage in (int(s) for s in args.stages.split(",")):
            config = GANConfig(method="dsgan", iters=stage, batch=batch, patch=patch)
            resume = (run / "learn_state.pt").is_file()
            t0 = time.perf_counter()
            train_degradation(source, clean, SCALE, run, config, seed=0, resume=resume, overwrite=True)
            seconds += time.perf_counter() - t0
            row = measure(_generate(run / MODEL_FILE, inputs), truth_model, truth_signature)
            rows[f"{size}@{stage}"] = {**row, "train_seconds": round(seconds, 1)}
            print(f"{size}@{stage}: {rows[f'{size}@{stage}']}", flush=True)
            (args.out / "results.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
