"""MSRResNet: SRResNet without batch norm, the AIM 2019/2020 efficient-SR baseline.

C. Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a GAN", CVPR 2017 (SRResNet); the BN-free
"modified SRResNet" of X. Wang et al., ESRGAN (ECCVW 2018); K. Zhang et al., "AIM 2020 Challenge on Efficient
Super-Resolution", ECCVW 2020. Official code: cszn/KAIR ``models/network_msrresnet.py`` (``MSRResNet1``) and BasicSR
``basicsr/archs/srresnet_arch.py``: 16 residual blocks (ReLU inside, applied functionally), 64 channels,
conv+PixelShuffle upsampling with an ``nn.LeakyReLU(0.1)`` module after conv_first / each upsampler / conv_hr, and a
bilinear global skip. 1,517,571 parameters at x4.

State-dict keys follow BasicSR (``body``, ``conv_hr``); KAIR/AIM 2020 names (``recon_trunk``, ``HRconv``) convert via
:func:`convert_msrresnet_state_dict`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from realsr_cli.archs.blocks import ResidualBlockNoBN, conv3x3, default_init_weights, make_layer


class MSRResNet(nn.Module):
    def __init__(
        self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64, num_block: int = 16, scale: int = 4
    ) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"MSRResNet supports x2, x3, x4 (got x{scale})")
        self.scale = scale
        self.conv_first = conv3x3(num_in_ch, num_feat)
        self.body = make_layer(ResidualBlockNoBN, num_block, num_feat=num_feat)
        if scale in (2, 3):
            self.upconv1 = conv3x3(num_feat, num_feat * scale * scale)
            self.pixel_shuffle = nn.PixelShuffle(scale)
        else:
            self.upconv1 = conv3x3(num_feat, num_feat * 4)
            self.upconv2 = conv3x3(num_feat, num_feat * 4)
            self.pixel_shuffle = nn.PixelShuffle(2)
        self.conv_hr = conv3x3(num_feat, num_feat)
        self.conv_last = conv3x3(num_feat, num_out_ch)
        self.lrelu = nn.LeakyReLU(negative_slope=0.1, inplace=True)
        default_init_weights([self.conv_first, self.upconv1, self.conv_hr, self.conv_last], 0.1)
        if scale == 4:
            default_init_weights(self.upconv2, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.lrelu(self.conv_first(x))
        out = self.body(feat)
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        if self.scale == 4:
            out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return out + base


def convert_msrresnet_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """KAIR / AIM 2020 ``MSRResNet1`` keys (``recon_trunk.N``, ``HRconv``) -> this module's (BasicSR) keys."""
    out = {}
    for key, value in state.items():
        key = key.replace("recon_trunk.", "body.", 1) if key.startswith("recon_trunk.") else key
        key = key.replace("HRconv.", "conv_hr.", 1) if key.startswith("HRconv.") else key
        out[key] = value
    return out


def is_msrresnet_state_dict(state: dict[str, torch.Tensor]) -> bool:
    """True for MSRResNet weights, BasicSR (``body.N.conv1``) or KAIR / AIM 2020 (``recon_trunk.N.conv1``) keys."""
    body = "recon_trunk.0.conv1.weight" in state or "body.0.conv1.weight" in state
    return "conv_first.weight" in state and "upconv1.weight" in state and body


def infer_msrresnet_args(
    state: dict[str, torch.Tensor], original: dict[str, torch.Tensor], scale: int | None
) -> tuple[dict[str, int], int]:
    """(num_in_ch / num_out_ch / num_feat / num_block, scale) of a BasicSR-keyed MSRResNet state dict."""
    num_feat, num_in = state["conv_first.weight"].shape[:2]
    num_block = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("body.") and k.endswith("conv1.weight"))
    inferred = 4 if "upconv2.weight" in state else int(round((state["upconv1.weight"].shape[0] / num_feat) ** 0.5))
    args = {"num_in_ch": int(num_in), "num_out_ch": int(state["conv_last.weight"].shape[0])}
    return {**args, "num_feat": int(num_feat), "num_block": num_block}, inferred
