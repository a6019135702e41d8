"""Learned degradation models: the generator that maps bicubic-downscaled clean images to the source domain.

Files: ``OUT/degradation.pt``, a ``torch.load(weights_only=True)``-loadable dict
``{"format": "realsr-degradation", "format_version": 1, "method": "dsgan"|"cyclegan"|"cyclesr",
"arch": "dsgan-generator", "arch_args": {...}, "params": state_dict, "scale": s, "meta": {...}}``; CycleSR's
``RUN/translator.pt`` (train-sr) has ``meta.input_noise_sigma``, the noise its input had (make-pairs adds it).

Generator: DSGAN's (Fritsche, Gu, Timofte, "Frequency Separation for Real-World Super-Resolution", ICCVW 2019;
https://github.com/ManuelFritsche/real-world-sr dsgan/model.py): 3x3 conv + PReLU, residual blocks
(conv, PReLU, conv, skip), 3x3 conv, sigmoid; same size in and out.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from realsr_cli.errors import InputError
from realsr_cli.io.atomic import atomic_write_torch

FORMAT = "realsr-degradation"


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.prelu = nn.PReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv2(self.prelu(self.conv1(x)))


class DSGANGenerator(nn.Module):
    """DSGAN generator (8 residual blocks of 64 channels by default)."""

    def __init__(self, n_res_blocks: int = 8, channels: int = 64) -> None:
        super().__init__()
        self.block_input = nn.Sequential(nn.Conv2d(3, channels, 3, padding=1), nn.PReLU())
        self.res_blocks = nn.Sequential(*[ResidualBlock(channels) for _ in range(n_res_blocks)])
        self.block_output = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.block_output(self.res_blocks(self.block_input(x))))


def build_generator(arch_args: dict) -> DSGANGenerator:
    return DSGANGenerator(int(arch_args.get("n_res_blocks", 8)), int(arch_args.get("channels", 64)))


class DegradationModel(nn.Module):
    """A loaded degradation generator: ``degrade(lr_bicubic)`` -> same-size image in the source domain."""

    def __init__(self, generator: nn.Module, method: str, scale: int, meta: dict | None = None) -> None:
        super().__init__()
        self.generator = generator.eval()
        self.method, self.scale, self.meta = method, int(scale), meta or {}

    @torch.no_grad()
    def degrade(self, lr_bicubic: Tensor) -> Tensor:
        """(B, 3, H, W) in [0, 1] -> (B, 3, H, W) in [0, 1]; gray input is replicated, alpha is ignored."""
        x = lr_bicubic
        if x.dim() == 3:
            x = x.unsqueeze(0)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        device = next(self.generator.parameters()).device
        out = self.generator(x[:, :3].to(device=device, dtype=torch.float32))
        out = out.clamp(0, 1).to(lr_bicubic.device)
        return out if lr_bicubic.dim() == 4 else out[0]


def save_degradation_model(
    path: str | Path,
    generator: nn.Module,
    *,
    method: str,
    arch_args: dict,
    scale: int,
    meta: dict | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``degradation.pt`` atomically; without ``overwrite`` the name is created exclusively."""
    obj = {
        "format": FORMAT,
        "format_version": 1,
        "method": method,
        "arch": "dsgan-generator",
        "arch_args": dict(arch_args),
        "params": {k: v.detach().cpu() for k, v in generator.state_dict().items()},
        "scale": int(scale),
        "meta": meta or {},
    }
    return atomic_write_torch(path, obj, overwrite=overwrite)


def load_degradation_model(path: str | Path, device: torch.device | str = "cpu") -> DegradationModel:
    """Load ``degradation.pt`` (weights_only); clear ``InputError`` for missing or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: degradation model file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling problem is a bad file
        raise InputError(f"{path}: not a readable degradation model ({type(exc).__name__})") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise InputError(f"{path}: not a realsr degradation model (written by `realsr learn-degradation`)")
    generator = build_generator(obj.get("arch_args", {}))
    try:
        generator.load_state_dict(obj["params"])
    except (RuntimeError, KeyError) as exc:
        raise InputError(f"{path}: weights do not match the stored architecture ({exc})") from None
    generator.to(torch.device(device))
    return DegradationModel(generator, obj.get("method", "?"), obj.get("scale", 1), obj.get("meta"))
