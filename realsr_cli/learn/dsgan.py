"""DSGAN: learning the degradation with frequency separation.

Fritsche, Gu, Timofte, "Frequency Separation for Real-World Super-Resolution", ICCV Workshops 2019; official code
https://github.com/ManuelFritsche/real-world-sr (dsgan/model.py, loss.py, train.py). A generator maps
bicubic-downscaled clean images x to the source domain; its losses are split by frequency:

* low frequencies: colour loss ``L1(low(G(x)), low(x))`` with ``low`` a 5x5 box filter (``FilterLow``), weight 1;
* high frequencies: the discriminator sees only ``high = I - low(I)`` (``FilterHigh``, no padding counted) of
  G(x) and of real source crops; generator texture loss ``mean(-log(D(high(G(x))) + 1e-8))``, weight 0.005;
  D loss ``-mean(log(D(real) + 1e-8)) - mean(log(1 - D(fake) + 1e-8))`` (DSGAN loss.py);
* perceptual loss LPIPS-VGG between G(x) and x, weight 0.01 (VGG16 conv weights from a local file, found as the
  SR perceptual loss finds its own: ``realsr_cli.losses.perceptual.load_vgg_features``; weight 0 disables it).

Discriminator: high-pass filter, then 5x5 convs 3-64-128-256-1 (BN from the second, LeakyReLU 0.2), sigmoid.
Adam 2e-4, betas (0.5, 0.999).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from realsr_cli.losses.perceptual import load_vgg_features

PURPOSE = "the DSGAN perceptual loss (or use --perceptual-weight 0)"


class FilterLow(nn.Module):
    """Box (or Gaussian) low-pass, same size out."""

    kernel: Tensor  # buffer, Gaussian only

    def __init__(self, kernel_size: int = 5, gaussian: bool = False, include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size, self.gaussian, self.include_pad = kernel_size, gaussian, include_pad
        if gaussian:
            z = torch.arange(kernel_size, dtype=torch.float32) - (kernel_size - 1) / 2
            g = torch.exp(-(z**2) / (2 * (kernel_size / 6.0) ** 2))
            k = torch.outer(g, g)
            self.register_buffer("kernel", (k / k.sum()).expand(3, 1, kernel_size, kernel_size).clone())

    def forward(self, x: Tensor) -> Tensor:
        p = self.kernel_size // 2
        if self.gaussian:
            return F.conv2d(F.pad(x, (p, p, p, p), mode="reflect"), self.kernel, groups=x.shape[1])
        return F.avg_pool2d(x, self.kernel_size, stride=1, padding=p, count_include_pad=self.include_pad)


class FilterHigh(nn.Module):
    def __init__(self, kernel_size: int = 5, gaussian: bool = False) -> None:
        super().__init__()
        self.low = FilterLow(kernel_size, gaussian, include_pad=False)

    def forward(self, x: Tensor) -> Tensor:
        return x - self.low(x)


class DSGANDiscriminator(nn.Module):
    def __init__(self, kernel_size: int = 5, gaussian: bool = False, channels: int = 64) -> None:
        super().__init__()
        self.filter = FilterHigh(kernel_size, gaussian)
        p = kernel_size // 2
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(3, c, kernel_size, padding=p),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(c, 2 * c, kernel_size, padding=p),
            nn.BatchNorm2d(2 * c),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * c, 4 * c, kernel_size, padding=p),
            nn.BatchNorm2d(4 * c),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(4 * c, 1, kernel_size, padding=p),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.net(self.filter(x)))


class VGGPerceptual(nn.Module):
    """LPIPS-VGG (Zhang et al. 2018, the ``net-lin`` model DSGAN uses) with VGG16 conv weights from a local file
    (``vgg_weights``, else found offline by :func:`realsr_cli.losses.perceptual.find_vgg_weights`)."""

    def __init__(self, vgg_weights: str | Path | None = None) -> None:
        super().__init__()
        features = load_vgg_features("vgg16", vgg_weights, purpose=PURPOSE)
        import lpips

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            self.lpips = lpips.LPIPS(net="vgg", pretrained=True, pnet_rand=True, verbose=False)
        net = self.lpips.net
        for slice_ in (net.slice1, net.slice2, net.slice3, net.slice4, net.slice5):
            for name, module in slice_.named_children():
                if isinstance(module, nn.Conv2d):
                    module.load_state_dict(features[int(name)].state_dict())
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return self.lpips(a, b, normalize=True).mean()
