"""CycleGAN-style two-way translation between bicubic-downscaled clean images and source images.

The first stage of CycleSR (Chen et al., "Unsupervised Image Super-Resolution with an Indirect Supervised Path",
CVPRW 2020), which follows CycleGAN (Zhu et al., ICCV 2017; https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix):
two generators (clean->source, source->clean; here DSGAN's residual generator, same size in and out) and two
PatchGAN discriminators (4x4 convs, stride 2, instance norm, LeakyReLU 0.2; ``n_layers`` 3 = the 70x70 PatchGAN),
least-squares GAN loss, cycle-consistency L1 (lambda 10) and identity L1 (0.5 x lambda). Adam 2e-4, betas
(0.5, 0.999). The clean->source generator is the saved degradation model.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class PatchDiscriminator(nn.Module):
    """pix2pix/CycleGAN ``NLayerDiscriminator`` with instance norm."""

    def __init__(self, channels: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, channels, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(channels * prev, channels * mult, 4, stride, 1),
                nn.InstanceNorm2d(channels * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(channels * mult, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def lsgan(pred: Tensor, real: bool) -> Tensor:
    return F.mse_loss(pred, pred.new_full(pred.shape, 1.0 if real else 0.0))
