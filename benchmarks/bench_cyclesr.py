"""CycleSR joint training vs the two stages run separately, on a synthetic camera (issue 17 item 1).

Chen et al., "Unsupervised Image Super-Resolution with an Indirect Supervised Path", CVPRW 2020, claim that
training the translator and the SR network together (the SR loss back-propagated into the translator) beats
training them one after the other. Here both arms run ``realsr_cli.train.cyclesr`` with the ``cyclesr`` preset
(a smaller SR network and translator for the CPU), the same seed, data stream and number of updates per network:

* ``joint``: translator alone P_t iterations, SR alone P_s, then J joint iterations (lambda_SR->trans 10);
* ``two-stage``: translator alone P_t + J, then SR alone P_s + J on its frozen output (no joint phase).

Camera: the camera zoo's tuning camera ``phone`` (benchmarks/cameras/phone.yaml: anisotropic lens blur, bicubic
x4, Poisson-Gaussian noise 14.2 at mid-grey, JPEG 70-85). Image sets as the zoo's (``../shared/data/hr-train``,
disjoint): clean HR = photos 0001-0016 halved (MATLAB bicubic); real LR = the camera applied to full-size photos
0017-0020; test = photos 0033-0040 halved (GT) and the camera applied to them (input). Scored: RGB PSNR and
LPIPS-alex (``../shared/weights/alexnet-features.pth``), 4-pixel border cropped, of 8-bit SR outputs; MATLAB
bicubic upscaling as a reference row.

``python -m benchmarks.bench_cyclesr [--quick] [--out DIR]`` (also ``python -m benchmarks cyclesr``; there
``REALSR_BENCH_QUICK=1`` selects the quick plan). ``--quick`` is a plumbing check: tiny crops, tens of
iterations; its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from realsr_cli.degradations.pipeline import Degradation
from realsr_cli.degradations.resize import imresize
from realsr_cli.io.images import read_image, to_float, write_image
from realsr_cli.seeding import item_rng
from realsr_cli.train import load_train_config

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
HR_SOURCE = SHARED / "data" / "hr-train"
LPIPS_WEIGHTS = SHARED / "weights" / "alexnet-features.pth"
CAMERA = REPO / "benchmarks" / "cameras" / "phone.yaml"
SCALE = 4


@dataclass(frozen=True)
class Plan:
    """One benchmark size; index ranges inclusive, crops (centred, px) None for whole images."""

    name: str
    train: tuple[int, int]
    source: tuple[int, int]
    test: tuple[int, int]
    train_crop: int | None
    source_crop: int | None
    test_crop: int | None
    batch: int
    phases: tuple[int, int, int]  # P_t, P_s, J
    meaningful: bool


FULL = Plan("full", (1, 16), (17, 20), (33, 40), None, None, None, batch=8, phases=(1000, 200, 1500), meaningful=True)
QUICK = Plan("quick", (1, 2), (17, 18), (33, 34), 256, 1040, 128, batch=2, phases=(12, 4, 16), meaningful=False)
NETWORKS = [
    "arch_args={num_feat: 32, num_block: 6}",
    "cyclesr.translator={n_res_blocks: 4, channels: 32, d_channels: 32, d_layers: 3}",
    "train.lr=2e-4",
    "train.scheduler={type: constant}",  # so that the SR network's rate does not depend on when it starts
    "train.ema_decay=0",
    "train.save_every=0",
    "train.log_every=25",
    "train.val_every=0",
    "data.workers=0",
]


def _photo(index: int) -> torch.Tensor:
    path = HR_SOURCE / f"{index:04d}.png"
    if not path.is_file():
        raise SystemExit(f"{path}: this benchmark needs ../shared/data/hr-train (images 0001-0040)")
    return torch.from_numpy(np.ascontiguousarray(to_float(read_image(path).pixels)[..., :3].transpose(2, 0, 1))).float()


def _crop(t: torch.Tensor, size: int | None, multiple: int = SCALE) -> torch.Tensor:
    """Centre crop to ``size`` (None: whole), then down to a multiple of ``multiple``."""
    h, w = t.shape[-2:]
    if size is not None:
        top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
        t = t[..., top : top + size, left : left + size]
    h, w = t.shape[-2] // multiple * multiple, t.shape[-1] // multiple * multiple
    return t[..., :h, :w]


def _halved(index: int) -> torch.Tensor:
    return imresize(_photo(index)[None], scale=0.5)[0].clamp(0, 1)


def _save(t: torch.Tensor, path: Path) -> None:
    write_image(path, np.rint(t.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8), overwrite=True)


def shoot(camera: Degradation, hr: torch.Tensor, key: str) -> torch.Tensor:
    """The camera's LR photo of ``hr`` (its random draws from ``key``)."""
    params = camera.sample(item_rng(0, "camera", key), tuple(hr.shape[-2:]), SCALE)
    with torch.no_grad():
        return camera.apply(hr[None], params)[0].clamp(0, 1)


def make_sets(plan: Plan, root: Path) -> tuple[Path, Path, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Clean HR folder, real-LR folder and the test (LR, GT) pairs, written under ``root``."""
    camera = Degradation.from_preset(CAMERA)
    hr_dir, real_dir = root / "hr", root / "real-lr"
    hr_dir.mkdir(parents=True, exist_ok=True)
    real_dir.mkdir(parents=True, exist_ok=True)
    for i in range(plan.train[0], plan.train[1] + 1):
        _save(_crop(_halved(i), plan.train_crop), hr_dir / f"{i:04d}.png")
    for i in range(plan.source[0], plan.source[1] + 1):
        _save(shoot(camera, _crop(_photo(i), plan.source_crop), f"source{i}"), real_dir / f"{i:04d}.png")
    test = []
    for i in range(plan.test[0], plan.test[1] + 1):
        gt = _crop(_halved(i), plan.test_crop)
        lr = torch.from_numpy(np.rint(shoot(camera, gt, f"test{i}").numpy() * 255) / 255).float()
        test.append((lr, gt))
    return hr_dir, real_dir, test


def arm_config(plan: Plan, joint: bool) -> dict:
    p_t, p_s, j = plan.phases
    phases = (p_t, p_s, p_t + p_s + j) if joint else (p_t + j, p_s + j, p_t + p_s + 2 * j)
    sets = NETWORKS + [f"cyclesr.pretrain_translator={phases[0]}", f"cyclesr.pretrain_sr={phases[1]}"]
    overrides = {"scale": SCALE, "train.iters": phases[2], "data.patch_size": 128, "data.batch_size": plan.batch}
    return load_train_config("cyclesr", overrides, sets)


def score(model_path: Path | None, test: list[tuple[torch.Tensor, torch.Tensor]], lpips) -> dict[str, float]:
    """Mean PSNR (RGB) and LPIPS of the 8-bit SR outputs (MATLAB bicubic when ``model_path`` is None)."""
    from realsr_cli.metrics import psnr
    from realsr_cli.models.loading import load_model

    model = load_model(model_path, "cpu")[0].eval() if model_path is not None else None
    psnrs, lpipss = [], []
    for lr, gt in test:
        with torch.no_grad():
            sr = model(lr[None]) if model is not None else imresize(lr[None], scale=SCALE)
        sr = torch.round(sr.clamp(0, 1) * 255) / 255
        psnrs.append(float(psnr(sr, gt[None], crop_border=SCALE)[0]))
        if lpips is not None:
            b = SCALE
            lpipss.append(float(lpips(sr[..., b:-b, b:-b], gt[None, :, b:-b, b:-b])[0]))
    out = {"psnr": float(np.mean(psnrs))}
    if lpipss:
        out["lpips"] = float(np.mean(lpipss))
    return out


def train_arm(name: str, plan: Plan, hr_dir: Path, real_dir: Path, root: Path) -> tuple[Path, float]:
    from realsr_cli.train.cyclesr import train_cyclesr

    start = time.perf_counter()
    cfg = arm_config(plan, joint=name == "joint")
    result = train_cyclesr(hr_dir, root / name, cfg, real_lr=real_dir, device="cpu", quiet=True, overwrite=True)
    return result.model_path, time.perf_counter() - start


def run(plan: Plan, out: Path) -> dict:
    torch.set_flush_denormal(True)
    start = time.perf_counter()
    hr_dir, real_dir, test = make_sets(plan, out / "data")
    lpips = None
    if LPIPS_WEIGHTS.is_file():
        from realsr_cli.metrics import LPIPS

        lpips = LPIPS("alex", "cpu", weights=LPIPS_WEIGHTS)
    rows = {"bicubic": {**score(None, test, lpips), "seconds": 0.0}}
    for arm in ("two-stage", "joint"):
        model, seconds = train_arm(arm, plan, hr_dir, real_dir, out)
        rows[arm] = {**score(model, test, lpips), "seconds": round(seconds, 1)}
    result = {
        "plan": asdict(plan),
        "threads": torch.get_num_threads(),
        "rows": rows,
        "seconds": round(time.perf_counter() - start, 1),
    }
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def table(result: dict) -> str:
    plan = result["plan"]
    note = "" if plan["meaningful"] else "  (QUICK PLUMBING CHECK: these numbers mean nothing)"
    lines = [f"CycleSR on camera 'phone', plan {plan['name']}, phases {plan['phases']}{note}"]
    lines.append(f"{'way':<10} {'PSNR dB':>8} {'LPIPS':>7} {'train s':>8}")
    for name, row in result["rows"].items():
        lpips = f"{row['lpips']:.4f}" if "lpips" in row else "-"
        lines.append(f"{name:<10} {row['psnr']:>8.3f} {lpips:>7} {row['seconds']:>8.1f}")
    lines.append(f"total {result['seconds']:.0f} s, {result['threads']} thread(s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_cyclesr", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny plumbing check (numbers mean nothing)")
    parser.add_argument("--out", type=Path, default=None, help="work folder (default runs/bench-cyclesr-PLAN)")
    args = parser.parse_args(argv if argv is not None else [])
    plan = QUICK if args.quick or os.environ.get("REALSR_BENCH_QUICK") == "1" else FULL
    out = args.out or REPO / "runs" / f"bench-cyclesr-{plan.name}"
    print(table(run(plan, out)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
