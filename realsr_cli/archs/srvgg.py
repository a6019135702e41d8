"""SRVGGNetCompact: Real-ESRGAN's compact VGG-style SR network (all work at LR, one PixelShuffle at the end).

X. Wang et al., "Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure Synthetic Data", ICCVW 2021.
Official code: xinntao/Real-ESRGAN ``realesrgan/archs/srvgg_arch.py`` (``body`` ModuleList of conv/act pairs, PReLU
with one slope per channel by default, nearest-upsampled input added to the output). Defaults follow BasicSR
(num_feat 64, num_conv 16); ``realesr-general-x4v3`` uses num_conv 32.

``skip="nearest"`` with PyTorch's default initialisation is the published network, bit-exact with Real-ESRGAN
checkpoints. The registry's ``srvgg-bicubic`` variant (this tool's default models) adds the body to a
*bicubic*-upsampled input instead (as EDSR/RCAN-style residual learning on an interpolated base, e.g. VDSR, Kim et
al., CVPR 2016) and initialises residually: He-normal body convs for the PReLU slope (variance-preserving through
the plain conv chain: He et al., ICCV 2015) and a zero last conv (zero-init of the residual branch's last layer:
Goyal et al. 2017; Zhang et al., Fixup, ICLR 2019), so the untrained network *is* bicubic upsampling (no
nearest-neighbour staircase, ever) and deep bodies train from the first step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SRVGGNetCompact(nn.Module):
    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 64,
        num_conv: int = 16,
        upscale: int = 4,
        act_type: str = "prelu",
        skip: str = "nearest",
        init: str = "default",
    ) -> None:
        super().__init__()
        if skip not in SKIP_MODES:
            raise ValueError(f"unknown skip {skip!r} ({', '.join(SKIP_MODES)})")
        if init not in ("default", "residual"):
            raise ValueError(f"unknown init {init!r} (default, residual)")
        self.upscale = upscale
        self.skip = skip
        self.body = nn.ModuleList([nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), _act(act_type, num_feat)])
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(_act(act_type, num_feat))
        self.body.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.upsampler = nn.PixelShuffle(upscale)
        if init == "residual":
            self._residual_init()

    def _residual_init(self) -> None:
        """He-normal body convs (PReLU's initial slope 0.25), zero biases, zero last conv: the net starts as its skip.

        No down-scaling of the body convs: they form one plain chain, not residual blocks, so any per-layer factor
        compounds over the depth and starves the last conv of signal (and every earlier conv of gradient)."""
        convs = [m for m in self.body if isinstance(m, nn.Conv2d)]
        for conv in convs[:-1]:
            nn.init.kaiming_normal_(conv.weight, a=0.25, nonlinearity="leaky_relu")
        nn.init.zeros_(convs[-1].weight)
        for conv in convs:
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        out = self.upsampler(out)
        return out + upsample_skip(x, self.upscale, self.skip)


SKIP_MODES = ("nearest", "bilinear", "bicubic")


def upsample_skip(x: torch.Tensor, scale: int, mode: str) -> torch.Tensor:
    """The image-space skip: nearest (Real-ESRGAN), or bilinear/bicubic (half-pixel centres, no corner alignment)."""
    if mode == "nearest":
        return F.interpolate(x, scale_factor=scale, mode="nearest")
    return F.interpolate(x, scale_factor=scale, mode=mode, align_corners=False)


def _act(act_type: str, num_feat: int) -> nn.Module:
    if act_type == "relu":
        return nn.ReLU(inplace=True)
    if act_type == "prelu":
        return nn.PReLU(num_parameters=num_feat)
    if act_type == "leakyrelu":
        return nn.LeakyReLU(negative_slope=0.1, inplace=True)
    raise ValueError(f"unknown act_type {act_type!r} (relu, prelu, leakyrelu)")


def is_srvgg_state_dict(state: dict[str, torch.Tensor]) -> bool:
    """True for SRVGGNetCompact weights (Real-ESRGAN's ``body.N`` ModuleList; no ``conv_first``)."""
    first = state.get("body.0.weight")
    return first is not None and first.ndim == 4 and "conv_first.weight" not in state


def infer_srvgg_args(
    state: dict[str, torch.Tensor], original: dict[str, torch.Tensor], scale: int | None
) -> tuple[dict[str, int | str], int]:
    """(num_in_ch / num_out_ch / num_feat / num_conv / act_type, upscale) of an SRVGGNetCompact state dict."""
    conv_idx = sorted({int(k.split(".")[1]) for k in state if k.startswith("body.") and k.endswith(".weight")})
    convs = [i for i in conv_idx if state[f"body.{i}.weight"].ndim == 4]
    num_feat, num_in_ch = state["body.0.weight"].shape[:2]
    last = state[f"body.{convs[-1]}.weight"]
    has_prelu = "body.1.weight" in state and state["body.1.weight"].ndim == 1
    num_out_ch = 3 if num_in_ch == 3 else int(num_in_ch)
    args: dict[str, int | str] = {"num_in_ch": int(num_in_ch), "num_out_ch": num_out_ch, "num_feat": int(num_feat)}
    args |= {"num_conv": len(convs) - 2, "act_type": "prelu" if has_prelu else "leakyrelu"}
    return args, int(round((last.shape[0] / num_out_ch) ** 0.5))
