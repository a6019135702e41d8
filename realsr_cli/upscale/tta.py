"""Geometric self-ensemble ("x8"): average the model's outputs over the 8 flips/rotations of the input.

Lim et al., "Enhanced Deep Residual Networks for Single Image Super-Resolution" (EDSR+, CVPRW 2017), also used by
ESRGAN/BasicSR test scripts: each transform of the dihedral group is applied to the LR input, the output is
transformed back, and the eight results are averaged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

ModelFn = Callable[[torch.Tensor], torch.Tensor]


def transform(x: torch.Tensor, index: int) -> torch.Tensor:
    """Transform ``index`` in 0..7: rotate by ``index % 4`` quarter turns, then mirror horizontally when ``index >= 4``."""
    y = torch.rot90(x, index % 4, dims=(-2, -1))
    return torch.flip(y, dims=(-1,)) if index >= 4 else y


def inverse_transform(x: torch.Tensor, index: int) -> torch.Tensor:
    y = torch.flip(x, dims=(-1,)) if index >= 4 else x
    return torch.rot90(y, -(index % 4), dims=(-2, -1))


def self_ensemble(model_fn: ModelFn, transforms: int = 8) -> ModelFn:
    """Wrap ``model_fn`` so that it returns the mean over ``transforms`` (1, 2, 4 or 8) transformed passes."""
    if transforms not in (1, 2, 4, 8):
        raise ValueError(f"self-ensemble uses 1, 2, 4 or 8 transforms, not {transforms}")
    order = [0, 4, 2, 6, 1, 5, 3, 7][:transforms]

    def wrapped(x: torch.Tensor) -> torch.Tensor:
        total: torch.Tensor | None = None
        for index in order:
            out = inverse_transform(model_fn(transform(x, index)), index).float()
            total = out if total is None else total + out
        assert total is not None
        return total / len(order)

    return wrapped
