"""RCAN: Residual Channel Attention Networks.

Y. Zhang et al., "Image Super-Resolution Using Very Deep Residual Channel Attention Networks", ECCV 2018. Official
code: yulunzhang/RCAN ``RCAN_TrainCode/code/model/rcan.py``; this module follows BasicSR ``basicsr/archs/rcan_arch.py``
(same network, BasicSR keys): 10 residual groups x 20 RCABs, 64 features, channel-attention reduction 16.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from realsr_cli.archs.blocks import Upsample, conv3x3, upsample_scale
from realsr_cli.archs.edsr import DIV2K_RGB_MEAN, with_official_mean


class ChannelAttention(nn.Module):
    def __init__(self, num_feat: int, squeeze_factor: int = 16) -> None:
        super().__init__()
        self.attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(num_feat, num_feat // squeeze_factor, 1, padding=0),
            nn.ReLU(inplace=True),
            nn.Conv2d(num_feat // squeeze_factor, num_feat, 1, padding=0),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention(x)


class RCAB(nn.Module):
    """Residual channel-attention block: x + CA(conv(relu(conv(x))))."""

    def __init__(self, num_feat: int, squeeze_factor: int = 16, res_scale: float = 1.0) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.rcab = nn.Sequential(
            conv3x3(num_feat, num_feat),
            nn.ReLU(True),
            conv3x3(num_feat, num_feat),
            ChannelAttention(num_feat, squeeze_factor),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rcab(x) * self.res_scale + x


class ResidualGroup(nn.Module):
    def __init__(self, num_feat: int, num_block: int, squeeze_factor: int = 16, res_scale: float = 1.0) -> None:
        super().__init__()
        self.residual_group = nn.Sequential(*[RCAB(num_feat, squeeze_factor, res_scale) for _ in range(num_block)])
        self.conv = conv3x3(num_feat, num_feat)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.residual_group(x)) + x


class RCAN(nn.Module):
    mean: torch.Tensor  # buffer: the RGB mean subtracted before the body

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 64,
        num_group: int = 10,
        num_block: int = 20,
        squeeze_factor: int = 16,
        scale: int = 4,
        res_scale: float = 1.0,
        img_range: float = 255.0,
        rgb_mean: tuple[float, float, float] = DIV2K_RGB_MEAN,
    ) -> None:
        super().__init__()
        self.img_range = img_range
        self.register_buffer("mean", torch.tensor(rgb_mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.conv_first = conv3x3(num_in_ch, num_feat)
        self.body = nn.Sequential(
            *[ResidualGroup(num_feat, num_block, squeeze_factor, res_scale) for _ in range(num_group)]
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


def convert_rcan_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official RCAN keys (yulunzhang/RCAN, also EDSR-PyTorch's rcan.py) -> BasicSR keys; BasicSR keys unchanged.

    ``body.g.body.b.body.{0,2}`` -> ``body.g.residual_group.b.rcab.{0,2}``, ``...body.3.conv_du.{0,2}`` ->
    ``...rcab.3.attention.{1,3}``, ``body.g.body.{n_block}`` -> ``body.g.conv``, ``body.{n_group}`` ->
    ``conv_after_body``, ``head``/``tail`` as EDSR.
    """
    import re

    from realsr_cli.archs.edsr import convert_official_state_dict

    if "head.0.weight" not in state:
        return dict(state)
    n_group = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"^body\.(\d+)\.body\.0\.body\.0\.weight$", k)))
    n_block = sum(1 for k in state if re.match(r"^body\.0\.body\.\d+\.body\.0\.weight$", k))
    out = {}
    for key, value in convert_official_state_dict(state, n_group).items():
        if m := re.match(r"^body\.(\d+)\.body\.(\d+)\.body\.3\.conv_du\.(\d)\.(weight|bias)$", key):
            key = f"body.{m[1]}.residual_group.{m[2]}.rcab.3.attention.{int(m[3]) + 1}.{m[4]}"
        elif m := re.match(r"^body\.(\d+)\.body\.(\d+)\.body\.(\d)\.(weight|bias)$", key):
            key = f"body.{m[1]}.residual_group.{m[2]}.rcab.{m[3]}.{m[4]}"
        elif (m := re.match(r"^body\.(\d+)\.body\.(\d+)\.(weight|bias)$", key)) and int(m[2]) == n_block:
            key = f"body.{m[1]}.conv.{m[3]}"
        out[key] = value
    return out


def is_rcan_state_dict(state: dict[str, torch.Tensor]) -> bool:
    """True for RCAN weights: the official layout (``body.G.body.B.body.3.conv_du``) or BasicSR keys."""
    official = "head.0.weight" in state and "body.0.body.0.body.3.conv_du.0.weight" in state
    return official or "conv_first.weight" in state and "body.0.residual_group.0.rcab.0.weight" in state


def infer_rcan_args(
    state: dict[str, torch.Tensor], original: dict[str, torch.Tensor], scale: int | None
) -> tuple[dict[str, Any], int]:
    """(constructor arguments, scale) of a BasicSR-keyed RCAN state dict (``res_scale`` is not in the weights: 1)."""
    num_feat, num_in = (int(d) for d in state["conv_first.weight"].shape[:2])
    args: dict[str, Any] = {"num_in_ch": num_in, "num_out_ch": int(state["conv_last.weight"].shape[0])}
    args["num_feat"] = num_feat
    groups = [int(k.split(".")[1]) for k in state if k.startswith("body.") and k.endswith(".conv.weight")]
    args["num_group"] = 1 + max(groups)
    args["num_block"] = sum(1 for k in state if k.startswith("body.0.residual_group.") and k.endswith("rcab.0.weight"))
    squeezed = int(state["body.0.residual_group.0.rcab.3.attention.1.weight"].shape[0])
    args["squeeze_factor"] = num_feat // squeezed
    return with_official_mean(args, original), upsample_scale(state, num_feat)
