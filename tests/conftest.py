"""Shared test fixtures: small synthetic images, the shared data folder, a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
# `upscale` runs on PyTorch in the tests (exact comparisons, no ONNX exports in the user's cache); the runtimes of
# `--backend auto` are tested in tests/test_upscale_backends.py.
os.environ.setdefault("REALSR_BACKEND", "torch")

import torch

torch.set_num_threads(1)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def synthetic_image(h: int = 48, w: int = 64, channels: int = 3, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    """A textured test image (gradients + sinusoids + a little noise): not flat, not pure noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    planes = []
    for c in range(channels):
        phase = rng.uniform(0, np.pi)
        plane = 0.5 + 0.25 * np.sin(xx / (3 + c) + phase) * np.cos(yy / (4 + c)) + 0.2 * (xx / w - 0.5)
        plane += 0.03 * rng.standard_normal((h, w))
        planes.append(plane)
    img = np.clip(np.stack(planes, axis=2), 0, 1)
    peak = 65535 if dtype == np.uint16 else 255
    return np.rint(img * peak).astype(dtype)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present beside the project")
    return SHARED


@pytest.fixture
def shared_weights(shared_dir: Path) -> Path:
    return shared_dir / "weights"


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A folder with three small RGB PNGs."""
    from realsr_cli.io.images import write_image

    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(3):
        write_image(folder / f"img{i}.png", synthetic_image(32, 40, seed=i))
    return folder


@pytest.fixture
def cli():
    """Invoke the ``realsr`` Typer app in-process; returns (exit_code, stdout+stderr)."""
    from typer.testing import CliRunner

    from realsr_cli.cli.main import app

    runner = CliRunner()

    def invoke(*args: str):
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return result

    return invoke
