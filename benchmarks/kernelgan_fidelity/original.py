"""The original KernelGAN from a checkout of sefibk/KernelGAN, run on the CPU by ``original_shim.py``.

The checkout is never copied into the project nor imported by it: each run is a subprocess (one thread) that
patches the original at run time (see the shim; one thread unless told) and writes its kernels where the original writes them
(``OUT/NAME/NAME_kernel_x2.mat`` and, with ``--X4``, ``NAME_kernel_x4.mat``: x2 convolved with itself).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

URL = "https://github.com/sefibk/KernelGAN"
FILES = ("train.py", "kernelGAN.py", "networks.py", "data.py", "configs.py", "util.py", "loss.py", "learner.py")
NEEDS = {"tqdm": "tqdm", "PIL": "pillow", "scipy": "scipy"}  # imported by the original and not stubbed by the shim
SHIM = Path(__file__).with_name("original_shim.py")


@dataclass
class OriginalRun:
    """One run's x4 kernel and times: ``seconds`` of its ``train()``, ``wall`` of the whole subprocess."""

    kernel_x4: np.ndarray
    seconds: float
    wall: float


def unavailable(folder: Path | None) -> str | None:
    """Why the original cannot run (a one-line note), or None when ``folder`` is a usable checkout."""
    if folder is None:
        return f"no --original DIR given (a checkout of {URL})"
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        return f"{folder} is not a checkout of {URL} (missing {', '.join(missing)})"
    lacking = [pip for module, pip in NEEDS.items() if importlib.util.find_spec(module) is None]
    if lacking:
        return f"the original needs {', '.join(lacking)}: `.venv/bin/pip install {' '.join(lacking)}` (not a realsr dependency)"
    return None


def run(folder: Path, image: Path, work: Path, iters: int, seed: int, threads: int = 1) -> OriginalRun:
    """The original on ``image`` with ``seed`` on ``threads`` threads (outputs under ``work``, which must not exist
    yet)."""
    work.mkdir(parents=True)
    result = work / "result.json"
    count = str(threads)
    env = {**os.environ, "OMP_NUM_THREADS": count, "MKL_NUM_THREADS": count, "KERNELGAN_THREADS": count}
    env["CUDA_VISIBLE_DEVICES"] = ""
    cmd = [sys.executable, str(SHIM), str(folder), str(image), str(work), str(iters), str(seed), str(result)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0 or not result.is_file():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise RuntimeError(f"the original failed on {image.name} (exit {proc.returncode}):\n" + "\n".join(tail))
    found = json.loads(result.read_text())
    kernel = scipy.io.loadmat(found["kernel_x4"])["Kernel"].astype(np.float64)
    return OriginalRun(kernel, float(found["seconds"]), wall)
