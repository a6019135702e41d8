"""EDSR: Enhanced Deep Residual Networks for Single Image Super-Resolution.

B. Lim et al., CVPRW 2017 (NTIRE 2017 winner). Official code: sanghyun-son/EDSR-PyTorch ``src/model/edsr.py``; this
module follows BasicSR ``basicsr/archs/edsr_arch.py`` (same network, BasicSR keys). Defaults are the paper's EDSR
(256 features, 32 residual blocks, residual scaling 0.1); ``num_feat=64, num_block=16, res_scale=1`` gives EDSR-baseline.
Inputs in [0, 1] are mean-shifted by the DIV2K RGB mean and scaled to [0, 255] inside, as the original.
"""

from __future__ import annotations

import torch
from torch import nn

from realsr_cli.archs.blocks import ResidualBlockNoBN, Upsample, conv3x3

DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


class EDSR(nn.Module):
    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 256,
        num_block: int = 32,
        scale: int = 4,
        res_scale: float = 0.1,
        img_range: float = 255.0,
        rgb_mean: tuple[float, float, float] = DIV2K_RGB_MEAN,
    ) -> None:
        super().__init__()
        self.img_range = img_range
        self.register_buffer("mean", torch.tensor(rgb_mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.conv_first = conv3x3(num_in_ch, num_feat)
        self.body = nn.Sequential(
            *[ResidualBlockNoBN(num_feat, res_scale=res_scale, init_scale=None) for _ in range(num_block)]
        )
        self.conv_after_body = conv3x3(num_feat, num_feat)
        self.upsample = Upsample(scale, num_feat)
        self.conv_last = conv3x3(num_feat, num_out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = self.mean.to(x)
        x = (x - mean) * self.img_range
        x = self.conv_first(x)
        res = self.conv_after_body(self.body(x)) + x
        return self.conv_last(self.upsample(res)) / self.img_range + mean
