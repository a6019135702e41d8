"""Model ensembles: mean fusion, and Samsung-SLSI-MSL's luminance-adaptive fusion (NTIRE 2020 Real-World SR).

Luminance fusion: Ren, Kheradmand, El-Khamy, Wang, Bai, Lee, "Real-World Super-Resolution using Generative
Adversarial Networks" (CVPRW 2020), team Samsung-SLSI-MSL in Lugmayr et al., "NTIRE 2020 Challenge on Real-World
Image Super-Resolution: Methods and Results". Two ESRGAN generators, one trained with the relativistic GAN loss
(``SR_rel``, the first model) and one with the standard GAN loss (``SR_std``, the second), are fused as
``alpha * SR_rel + beta * SR_std`` when the image is dark, else ``SR_rel`` alone; published values alpha = 0.6,
beta = 0.4, gamma = 64. As in the paper, "dark" is decided on the super-resolved image: the median of the Y channel
(BT.601 luma, 0-255 scale) of ``SR_rel`` below ``gamma`` (not the input's luma), so ``SR_std`` is computed only for
dark images, and one decision holds for the whole image (every tile, and its alpha plane).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from realsr_cli.upscale.options import LuminanceFusion

ModelFn = Callable[[torch.Tensor], torch.Tensor]
BT601 = (0.299, 0.587, 0.114)


def median_luma(x: torch.Tensor) -> float:
    """Median of the BT.601 luma of a (1, 3|1, H, W) [0, 1] image, on the 0-255 scale."""
    img = x.float()
    r, g, b = BT601
    luma = img[:, 0] if img.shape[1] == 1 else r * img[:, 0] + g * img[:, 1] + b * img[:, 2]
    return float(luma.flatten().median()) * 255.0


def fuse_mean(outputs: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.stack([o.float() for o in outputs]).mean(dim=0)


def fuse_luminance(sr_rel: torch.Tensor, sr_std: torch.Tensor, luma: float, params: LuminanceFusion) -> torch.Tensor:
    """``alpha * SR_rel + beta * SR_std`` if ``luma < gamma`` else ``SR_rel`` (``luma`` on the 0-255 scale)."""
    if luma < params.gamma:
        return params.alpha * sr_rel.float() + params.beta * sr_std.float()
    return sr_rel.float()


def fused_model(fns: Sequence[ModelFn]) -> ModelFn:
    """One model function that runs every model on a batch and averages the outputs (mean fusion)."""
    if len(fns) == 1:
        return fns[0]
    return lambda x: fuse_mean([fn(x) for fn in fns])


def luminance_ensemble(
    sr_rel: torch.Tensor, run_std: Callable[[], torch.Tensor], params: LuminanceFusion, luma: float | None = None
) -> tuple[torch.Tensor, float]:
    """(fused image, median luma): the decision on ``sr_rel``'s median Y (or on ``luma`` when given, e.g. the
    image's for its alpha plane); ``run_std()`` (the standard-GAN model's output) is called only for dark images."""
    if luma is None:
        luma = median_luma(sr_rel.clamp(0.0, 1.0))
    if luma >= params.gamma:
        return sr_rel.float(), luma
    return fuse_luminance(sr_rel, run_std(), luma, params), luma
