"""train-sr throughput: iterations/s of the Trainer vs a plain PyTorch loop (same model, Adam, L1) in the same run.

Issue target: batch 16, HR patch 128, x4, msrresnet and rrdbnet. On a CPU that is minutes per RRDBNet iteration,
so by default the CPU run uses batch 4, patch 64 (set ``REALSR_BENCH_TRAIN_FULL=1`` for batch 16 / patch 128;
CUDA always uses the full size). The plain loop feeds pre-made tensors already on the device (an upper bound);
the Trainer reads PNG pairs through its DataLoader (2 workers), as a real run does. Each side is timed
``REPEATS`` times, alternating, and the best rate is kept (the shared CPU is noisy). ``WARMUP`` iterations are
not timed: on CPU the first iterations of a fresh model are several times slower (denormal numbers while the
0.1-scaled initial weights and Adam's moments settle; ``torch.set_flush_denormal(True)`` removes most of it).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from realsr_cli.archs import build_arch
from realsr_cli.io.images import write_image
from realsr_cli.train import load_train_config
from realsr_cli.train.trainer import Trainer

WARMUP = 5
REPEATS = 3


def _pairs(folder: Path, hr_size: int, scale: int, count: int = 8) -> Path:
    rng = np.random.default_rng(0)
    (folder / "hr").mkdir(parents=True)
    (folder / "lr").mkdir()
    for i in range(count):
        hr = rng.integers(0, 256, (hr_size, hr_size, 3), dtype=np.uint8)
        lr = hr.reshape(hr_size // scale, scale, hr_size // scale, scale, 3).mean(axis=(1, 3))
        write_image(folder / "hr" / f"{i}.png", hr)
        write_image(folder / "lr" / f"{i}.png", np.rint(lr).astype(np.uint8))
    return folder


def plain_loop(arch: str, batch: int, patch: int, iters: int, device: torch.device) -> float:
    torch.manual_seed(0)
    model = build_arch(arch, scale=4).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, betas=(0.9, 0.99))
    lr = torch.rand(batch, 3, patch // 4, patch // 4, device=device)
    hr = torch.rand(batch, 3, patch, patch, device=device)
    for i in range(WARMUP + iters):
        if i == WARMUP:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        loss = (model(lr) - hr).abs().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return iters / (time.perf_counter() - start)


def trainer_rate(arch: str, batch: int, patch: int, iters: int, device: torch.device, data: Path, amp: str) -> float:
    sets = [f"data.batch_size={batch}", f"data.patch_size={patch}", "data.workers=2", "train.log_every=1"]
    sets += ["train.save_every=0", f"train.amp={amp}", "train.scheduler={type: constant}"]
    cfg = load_train_config("msrresnet", {"arch": arch, "scale": 4, "train.iters": WARMUP + iters}, sets)
    with tempfile.TemporaryDirectory() as run:
        Trainer(data, Path(run), cfg, device=str(device), quiet=True).run()
        rows = [json.loads(line) for line in (Path(run) / "log.jsonl").read_text().splitlines()]
    times = [r["time"] for r in rows if "time" in r]
    return iters / (times[-1] - times[WARMUP - 1])


def main() -> None:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    full = device.type == "cuda" or os.environ.get("REALSR_BENCH_TRAIN_FULL") == "1"
    batch, patch = (16, 128) if full else (4, 64)
    iters = 20 if device.type == "cuda" else 5
    print(
        f"device {device}, threads {torch.get_num_threads()}, batch {batch}, HR patch {patch}, x4, {iters} timed iterations"
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = _pairs(Path(tmp) / "pairs", max(patch * 2, 256), 4)
        for arch in ("msrresnet", "rrdbnet"):
            plain = ours = 0.0
            for _ in range(REPEATS):
                plain = max(plain, plain_loop(arch, batch, patch, iters, device))
                ours = max(ours, trainer_rate(arch, batch, patch, iters, device, data, "none"))
            line = f"{arch:10s} plain loop {plain:8.3f} it/s | trainer fp32 {ours:8.3f} it/s (ratio {ours / plain:.2f})"
            if device.type == "cuda":
                bf16 = max(trainer_rate(arch, batch, patch, iters, device, data, "bf16") for _ in range(REPEATS))
                line += f" | trainer bf16+channels-last {bf16:8.3f} it/s (ratio {bf16 / plain:.2f})"
            print(line, flush=True)


if __name__ == "__main__":
    main()
