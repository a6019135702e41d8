"""Self-ensemble and precision fallback."""

from __future__ import annotations

import numpy as np
import torch

from realsr_cli.upscale.precision import fallback_chain, output_problem, run_with_fallback
from realsr_cli.upscale.tta import self_ensemble
from tests.upscale_helpers import ConvUp


def _dihedral_numpy(a: np.ndarray) -> list[tuple]:
    """The 8 symmetries of the square as (forward, inverse) on HxWxC numpy arrays, written independently."""
    ops = []
    for flip in (False, True):
        for k in range(4):

            def fwd(x, k=k, flip=flip):
                y = np.rot90(x, k, axes=(0, 1))
                return y[:, ::-1] if flip else y

            def inv(y, k=k, flip=flip):
                y = y[:, ::-1] if flip else y
                return np.rot90(y, -k, axes=(0, 1))

            ops.append((fwd, inv))
    return ops


def test_tta_equals_mean_of_eight_transformed_passes():
    model = ConvUp(scale=2, depth=3, seed=5).eval()
    x = torch.rand(1, 3, 12, 17, generator=torch.Generator().manual_seed(0))
    img = x[0].permute(1, 2, 0).numpy()
    outs = []
    with torch.inference_mode():
        for fwd, inv in _dihedral_numpy(img):
            t = torch.from_numpy(np.ascontiguousarray(fwd(img))).permute(2, 0, 1)[None]
            y = model(t)[0].permute(1, 2, 0).numpy()
            outs.append(inv(y))
        expected = np.mean(outs, axis=0)
        got = self_ensemble(model)(x)[0].permute(1, 2, 0).numpy()
        plain = model(x)[0].permute(1, 2, 0).numpy()
    assert got.shape == (24, 34, 3)
    assert np.abs(got - expected).max() < 1e-5
    assert np.abs(plain - expected).max() > 1e-3  # the model is not equivariant: TTA really averages


def test_nan_output_retries_in_higher_precision():
    x = torch.rand(1, 3, 8, 8)
    tried = []

    def run(dtype):
        tried.append(dtype)
        out = torch.ones(1, 3, 16, 16)
        return out * float("nan") if dtype == torch.float16 else out

    out, dtype = run_with_fallback(run, x, [torch.float16, torch.float32])
    assert tried == [torch.float16, torch.float32] and dtype == torch.float32
    assert bool(torch.isfinite(out).all())


def test_black_and_inf_outputs_are_detected():
    x = torch.full((1, 3, 4, 4), 0.5)
    assert output_problem(torch.zeros(1, 3, 8, 8), x) == "black"
    assert output_problem(torch.full((1, 3, 8, 8), float("inf")), x) == "NaN/inf"
    assert output_problem(torch.zeros(1, 3, 8, 8), torch.zeros_like(x)) is None  # black in, black out is fine
    assert output_problem(torch.full((1, 3, 8, 8), 0.4), x) is None


def test_cpu_runs_fp32_only():
    assert fallback_chain(torch.float32, torch.device("cpu")) == [torch.float32]
