"""Model ensembles: mean fusion, and Samsung-SLSI-MSL's luminance-adaptive fusion (NTIRE 2020 Real-World SR).

Luminance fusion: Ren, Kheradmand, El-Khamy, Wang, Bai, Lee, "Real-World Super-Resolution using Generative
Adversarial Networks" (CVPRW 2020), team Samsung-SLSI-MSL in Lugmayr et al., "NTIRE 2020 Challenge on Real-World
Image Super-Resolution: Methods and Results". Two ESRGAN generators, one trained with the relativistic GAN loss
(``SR_rel``, the first model) and one with the standard GAN loss (``SR_std``, the second), are fused as
``alpha * SR_rel + beta * SR_std`` when the image is dark (median luma of the input below ``gamma`` on the 0-255
scale), else ``SR_rel`` alone; published values alpha = 0.6, beta = 0.4, gamma = 64.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

ModelFn = Callable[[torch.Tensor], torch.Tensor]
BT601 = (0.299, 0.587, 0.114)


@dataclass(frozen=True)
class LuminanceFusion:
    alpha: float = 0.6
    beta: float = 0.4
    gamma: float = 64.0


def median_luma(x: torch.Tensor) -> float:
    """Median of the BT.601 luma of a (1, 3|1, H, W) [0, 1] image, on the 0-255 scale."""
    img = x.float()
    luma = img[:, 0] if img.shape[1] == 1 else sum(w * img[:, c] for c, w in enumerate(BT601))
    return float(luma.flatten().median()) * 255.0


def fuse_mean(outputs: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.stack([o.float() for o in outputs]).mean(dim=0)


def fuse_luminance(sr_rel: torch.Tensor, sr_std: torch.Tensor, luma: float, params: LuminanceFusion) -> torch.Tensor:
    """``alpha * SR_rel + beta * SR_std`` if ``luma < gamma`` else ``SR_rel`` (``luma`` on the 0-255 scale)."""
    if luma < params.gamma:
        return params.alpha * sr_rel.float() + params.beta * sr_std.float()
    return sr_rel.float()


def fused_model(fns: Sequence[ModelFn], fusion: str, luma: float | None = None, params: LuminanceFusion | None = None):
    """One model function that runs every model on a batch and fuses the outputs.

    For ``luminance`` the decision uses the whole image's median luma (``luma``), so every tile fuses alike.
    """
    if len(fns) == 1:
        return fns[0]
    if fusion == "mean":
        return lambda x: fuse_mean([fn(x) for fn in fns])
    if fusion == "luminance":
        if len(fns) != 2:
            raise ValueError(f"luminance fusion combines exactly 2 models (relativistic, standard), got {len(fns)}")
        if luma is None:
            raise ValueError("luminance fusion needs the input's median luma")
        p = params or LuminanceFusion()
        if luma >= p.gamma:
            return fns[0]
        return lambda x: fuse_luminance(fns[0](x), fns[1](x), luma, p)
    raise ValueError(f"unknown fusion '{fusion}' (expected mean or luminance)")
