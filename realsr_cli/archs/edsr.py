"""EDSR: Enhanced Deep Residual Networks for Single Image Super-Resolution.

B. Lim et al., CVPRW 2017 (NTIRE 2017 winner). Official code: sanghyun-son/EDSR-PyTorch ``src/model/edsr.py``; this
module follows BasicSR ``basicsr/archs/edsr_arch.py`` (same network, BasicSR keys). Defaults are the paper's EDSR
(256 features, 32 residual blocks, residual scaling 0.1); ``num_feat=64, num_block=16, res_scale=1`` gives EDSR-baseline.
Inputs in [0, 1] are mean-shifted by the DIV2K RGB mean and scaled to [0, 255] inside, as the original.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from realsr_cli.archs.blocks import ResidualBlockNoBN, Upsample, conv3x3, upsample_scale

DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


class EDSR(nn.Module):
    mean: torch.Tensor  # buffer: the RGB mean subtracted before the body

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


def convert_official_state_dict(state: dict[str, torch.Tensor], n_body: int) -> dict[str, torch.Tensor]:
    """EDSR-PyTorch / RCAN official layout -> this module's: ``head.0`` -> ``conv_first``, ``body.{n_body}`` ->
    ``conv_after_body``, ``tail.0.*`` -> ``upsample.*``, ``tail.1`` -> ``conv_last``; MeanShift convs are dropped
    (their fixed mean is passed as ``rgb_mean``). ``body.{i}.*`` keys below ``n_body`` are returned unchanged."""
    out = {}
    for key, value in state.items():
        if key.startswith(("sub_mean.", "add_mean.")):
            continue
        if key.startswith("head.0."):
            out["conv_first." + key[len("head.0.") :]] = value
        elif key.startswith(f"body.{n_body}."):
            out["conv_after_body." + key[len(f"body.{n_body}.") :]] = value
        elif key.startswith("tail.0."):
            out["upsample." + key[len("tail.0.") :]] = value
        elif key.startswith("tail.1."):
            out["conv_last." + key[len("tail.1.") :]] = value
        else:
            out[key] = value
    return out


def convert_edsr_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official EDSR-PyTorch keys (``body.N.body.0``) -> BasicSR keys (``body.N.conv1``); BasicSR keys unchanged."""
    if "head.0.weight" not in state:
        return dict(state)
    n_body = official_body_count(state)
    out = convert_official_state_dict(state, n_body)
    return {k.replace(".body.0.", ".conv1.").replace(".body.2.", ".conv2."): v for k, v in out.items()}


def official_body_count(state: dict[str, torch.Tensor]) -> int:
    return sum(1 for k in state if k.startswith("body.") and k.count(".") >= 3 and k.endswith(".body.0.weight"))


def official_mean(state: dict[str, torch.Tensor], rgb_range: float = 255.0) -> list[float] | None:
    """The RGB mean of a MeanShift ``sub_mean`` conv (bias = -rgb_range * mean / std, std 1), if present."""
    if "sub_mean.bias" not in state:
        return None
    return [float(v) for v in (-state["sub_mean.bias"].float() / rgb_range)]


def is_edsr_state_dict(state: dict[str, torch.Tensor]) -> bool:
    """True for EDSR weights: the official EDSR-PyTorch layout (``head.0``, ``body.N.body.0``) or BasicSR keys."""
    official = "head.0.weight" in state and "tail.1.weight" in state and "body.0.body.0.weight" in state
    basicsr = "conv_first.weight" in state and "conv_after_body.weight" in state and "body.0.conv1.weight" in state
    return official or basicsr and "upsample.0.weight" in state


def infer_edsr_args(
    state: dict[str, torch.Tensor], original: dict[str, torch.Tensor], scale: int | None
) -> tuple[dict[str, Any], int]:
    """(constructor arguments, scale) of a BasicSR-keyed EDSR state dict; ``original`` may hold the MeanShift mean.

    ``res_scale`` is not in the weights: 0.1 for 256 features, else 1.0 (EDSR-PyTorch's EDSR / EDSR-baseline)."""
    num_feat, num_in = (int(d) for d in state["conv_first.weight"].shape[:2])
    args: dict[str, Any] = {"num_in_ch": num_in, "num_out_ch": int(state["conv_last.weight"].shape[0])}
    args["num_feat"] = num_feat
    blocks = [int(k.split(".")[1]) for k in state if k.startswith("body.") and k.endswith(".conv1.weight")]
    args["num_block"] = 1 + max(blocks)
    args["res_scale"] = 0.1 if num_feat == 256 else 1.0
    return with_official_mean(args, original), upsample_scale(state, num_feat)


def with_official_mean(args: dict[str, Any], original: dict[str, torch.Tensor]) -> dict[str, Any]:
    """``args`` plus ``rgb_mean`` when the published file holds a MeanShift conv."""
    mean = official_mean(original)
    return args if mean is None else {**args, "rgb_mean": mean}
