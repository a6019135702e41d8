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

import math

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
        if self.skip in POLYPHASE and torch.jit.is_tracing():  # an export: the skip as a convolution, see below
            return self.upsampler(out + polyphase_skip(x, self.upscale, self.skip))
        out = self.upsampler(out)
        return out + upsample_skip(x, self.upscale, self.skip)


SKIP_MODES = ("nearest", "bilinear", "bicubic")
POLYPHASE = ("bilinear", "bicubic")
CUBIC_A = -0.75  # PyTorch's (and OpenCV's) bicubic coefficient


def _cubic(x: float) -> float:
    """The cubic convolution kernel at distance ``x`` (Keys 1981, ``a = -0.75``: PyTorch's upsample_bicubic2d)."""
    x = abs(x)
    if x <= 1:
        return ((CUBIC_A + 2) * x - (CUBIC_A + 3)) * x * x + 1
    return ((CUBIC_A * x - 5 * CUBIC_A) * x + 8 * CUBIC_A) * x - 4 * CUBIC_A if x < 2 else 0.0


def phase_taps(scale: int, mode: str) -> list[list[float]]:
    """Per output phase ``p`` (output pixel ``s k + p``), the weights of input pixels ``k - 2 .. k + 2`` that
    ``F.interpolate(mode, align_corners=False)`` gives it: source position ``k + (p + 0.5) / s - 0.5``, its two
    (bilinear) or four (bicubic) neighbours."""
    rows = []
    for p in range(scale):
        d = (p + 0.5) / scale - 0.5
        f = math.floor(d)
        t = d - f
        if mode == "bicubic":
            offsets, weights = range(f - 1, f + 3), [_cubic(t + 1), _cubic(t), _cubic(1 - t), _cubic(2 - t)]
        else:
            offsets, weights = range(f, f + 2), [1 - t, t]
        row = [0.0] * 5
        for offset, weight in zip(offsets, weights, strict=True):
            row[offset + 2] += weight
        rows.append(row)
    return rows


def polyphase_skip(x: torch.Tensor, scale: int, mode: str) -> torch.Tensor:
    """The bilinear/bicubic skip before the pixel shuffle: (N, C, H, W) -> (N, C s^2, H, W), one grouped 5x5
    convolution over the edge-padded input whose output channel ``c s^2 + i s + j`` is output phase (i, j) of
    channel ``c`` (the :class:`~torch.nn.PixelShuffle` order; edge padding is PyTorch's clamping of border
    indices). So ``shuffle(body + polyphase_skip(x)) == shuffle(body) + upsample_skip(x)`` to float rounding. The
    exported graph uses it: OpenVINO's cubic Interpolate took 19 % of the default x4 model's time at 256 x 256
    (32 of 170 ms; the convolutions run near the CPU's peak), this convolution about 1 %."""
    taps = torch.tensor(phase_taps(scale, mode), dtype=x.dtype, device=x.device)  # (s, 5)
    kernel = (taps[:, None, :, None] * taps[None, :, None, :]).reshape(scale * scale, 1, 5, 5)
    channels = int(x.shape[1])  # a constant of the graph (the exports' dynamic axes are batch, height, width)
    weight = kernel.repeat(channels, 1, 1, 1)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), weight, groups=channels)


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
