"""RRDBNet, the ESRGAN generator (Residual-in-Residual Dense Blocks).

X. Wang et al., "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks", ECCVW 2018; Real-ESRGAN (ICCVW
2021) reuses it. Official code: xinntao/ESRGAN ``RRDBNet_arch.py`` and BasicSR ``basicsr/archs/rrdbnet_arch.py``:
23 RRDB blocks, 64 features, growth 32, residual scaling 0.2, nearest x2 upsampling + conv (twice for x4), LeakyReLU 0.2.
x2 and x1 follow BasicSR/Real-ESRGAN (pixel-unshuffle the input, then the x4 body), so the published
``RealESRGAN_x2plus.pth`` loads; x3 (not in the papers) uses a single nearest x3 upsampling + ``conv_up1``.

State-dict keys are BasicSR's; :func:`convert_rrdbnet_state_dict` also reads the original ESRGAN files
(``model.0`` ... ``model.10``, ``model.1.sub.N.RDB1.conv1.0``) and the later ESRGAN repo names (``RRDB_trunk``,
``trunk_conv``, ``upconv1``, ``HRconv``).
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from realsr_cli.archs.blocks import default_init_weights


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs; output = x + 0.2 * conv5(...)."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)
        default_init_weights([self.conv1, self.conv2, self.conv3, self.conv4, self.conv5], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    """Residual in Residual Dense Block: three RDBs, residual scaling 0.2."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
    ) -> None:
        super().__init__()
        if scale not in (1, 2, 3, 4):
            raise ValueError(f"RRDBNet supports x1, x2, x3, x4 (got x{scale})")
        self.scale = scale
        in_ch = num_in_ch * {1: 16, 2: 4}.get(scale, 1)
        self.conv_first = nn.Conv2d(in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        if scale != 3:
            self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 2:
            x = F.pixel_unshuffle(x, 2)
        elif self.scale == 1:
            x = F.pixel_unshuffle(x, 4)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        if self.scale == 3:
            feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=3, mode="nearest")))
        else:
            feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
            feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))


_OLD_TOP = {
    "model.0": "conv_first",
    "model.3": "conv_up1",
    "model.6": "conv_up2",
    "model.8": "conv_hr",
    "model.10": "conv_last",
}
_MID_TOP = {"trunk_conv": "conv_body", "upconv1": "conv_up1", "upconv2": "conv_up2", "HRconv": "conv_hr"}
_OLD_BODY = re.compile(r"^model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias)$")
_OLD_TRUNK = re.compile(r"^model\.1\.sub\.(\d+)\.(weight|bias)$")
_MID_BODY = re.compile(r"^RRDB_trunk\.(\d+)\.RDB(\d)\.conv(\d)\.(weight|bias)$")


def is_esrgan_state_dict(state: dict[str, torch.Tensor]) -> bool:
    """True for RRDBNet weights in any of the three published key layouts."""
    keys = set(state)
    return (
        "model.0.weight" in keys
        and any(_OLD_BODY.match(k) for k in keys)
        or "RRDB_trunk.0.RDB1.conv1.weight" in keys
        or "body.0.rdb1.conv1.weight" in keys
    )


def convert_rrdbnet_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Any published ESRGAN / BasicSR / Real-ESRGAN RRDBNet state dict -> BasicSR keys (unchanged when already so)."""
    if "model.0.weight" in state:
        trunk_idx = max(int(m.group(1)) for k in state if (m := _OLD_TRUNK.match(k)))
        out = {}
        for key, value in state.items():
            if m := _OLD_BODY.match(key):
                out[f"body.{m.group(1)}.rdb{m.group(2)}.conv{m.group(3)}.{m.group(4)}"] = value
            elif (m := _OLD_TRUNK.match(key)) and int(m.group(1)) == trunk_idx:
                out[f"conv_body.{m.group(2)}"] = value
            else:
                prefix, _, leaf = key.rpartition(".")
                if prefix not in _OLD_TOP:
                    raise KeyError(f"unexpected key in an ESRGAN state dict: {key}")
                out[f"{_OLD_TOP[prefix]}.{leaf}"] = value
        return out
    if any(k.startswith("RRDB_trunk.") for k in state):
        out = {}
        for key, value in state.items():
            if m := _MID_BODY.match(key):
                out[f"body.{m.group(1)}.rdb{m.group(2)}.conv{m.group(3)}.{m.group(4)}"] = value
            else:
                prefix, _, leaf = key.rpartition(".")
                out[f"{_MID_TOP.get(prefix, prefix)}.{leaf}"] = value
        return out
    return dict(state)


def infer_rrdbnet_args(
    state: dict[str, torch.Tensor], original: dict[str, torch.Tensor], scale: int | None
) -> tuple[dict[str, int], int]:
    """(num_in_ch / num_out_ch / num_feat / num_block / num_grow_ch, scale) of a BasicSR-keyed RRDBNet state dict."""
    num_feat, in_ch = state["conv_first.weight"].shape[:2]
    num_block = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("body."))
    num_grow_ch = state["body.0.rdb1.conv1.weight"].shape[0]
    num_out_ch = state["conv_last.weight"].shape[0]
    unshuffle = {48: 1, 12: 2}.get(int(in_ch)) if in_ch % 3 == 0 and in_ch > 4 else None
    if unshuffle is not None and "conv_up2.weight" in state:
        inferred, num_in_ch = unshuffle, int(in_ch) // {1: 16, 2: 4}[unshuffle]
    else:
        inferred, num_in_ch = (4 if "conv_up2.weight" in state else 3), int(in_ch)
    args = {"num_in_ch": num_in_ch, "num_out_ch": int(num_out_ch), "num_feat": int(num_feat)}
    return {**args, "num_block": num_block, "num_grow_ch": int(num_grow_ch)}, inferred
