"""LPIPS v0.1 (Zhang, Isola, Efros, Shechtman, Wang, "The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric", CVPR 2018; official code and linear heads: the ``lpips`` package, github.com/richzhang/PerceptualSimilarity).

The learned linear heads (v0.1) ship inside the ``lpips`` package. The backbone (torchvision's ImageNet AlexNet or
VGG16 conv layers) is never downloaded: it is built untrained (``pnet_rand=True``) and its ``features.*`` weights are
loaded from a local file found by ``realsr_cli.weights.find_weights``: ``--lpips-weights FILE``, the environment
variable ``REALSR_LPIPS_BACKBONE``, ``$REALSR_WEIGHTS_DIR`` or torch hub's cache (torchvision's own file names,
``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth``, or the conv-only ``alexnet-features.pth`` /
``vgg16-features.pth``). Images in [0, 1] are scaled to [-1, 1] as the official code expects.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from realsr_cli.errors import InputError, WeightsNotFoundError
from realsr_cli.weights import find_weights

LPIPS_NETS = ("alex", "vgg")
BACKBONE_FILES = {
    "alex": ["alexnet-owt-7be5be79.pth", "alexnet-features.pth"],
    "vgg": ["vgg16-397923af.pth", "vgg16-features.pth"],
}
BACKBONE_ENV = "REALSR_LPIPS_BACKBONE"


def find_backbone(net: str, weights: str | Path | None = None) -> Path:
    """Locate the ImageNet backbone weights for ``net`` (explicit path, env var, caches)."""
    if net not in LPIPS_NETS:
        raise InputError(f"unknown LPIPS network '{net}' (choose from {', '.join(LPIPS_NETS)})")
    return find_weights(
        BACKBONE_FILES[net],
        purpose=f"LPIPS ({net} backbone)",
        explicit=weights,
        env_var=BACKBONE_ENV,
        option="--lpips-weights",
    )


def _load_backbone(model: Any, path: Path) -> None:
    """Copy torchvision ``features.<i>.*`` tensors into the lpips slices (which keep torchvision's indices) of
    ``model``, an ``lpips.LPIPS`` (an untyped package)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets one clear line
        raise WeightsNotFoundError(f"{path}: cannot read LPIPS backbone weights ({exc})") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    targets = {}
    for slice_name, block in model.net.named_children():
        for key in block.state_dict():
            targets[f"features.{key}"] = f"{slice_name}.{key}"
    missing = [k for k in targets if k not in state]
    if missing:
        raise WeightsNotFoundError(f"{path}: not a torchvision backbone for this LPIPS network (no '{missing[0]}')")
    own = model.net.state_dict()
    for src, dst in targets.items():
        if tuple(state[src].shape) != tuple(own[dst].shape):
            raise WeightsNotFoundError(
                f"{path}: '{src}' has shape {tuple(state[src].shape)}, expected {own[dst].shape}"
            )
    model.net.load_state_dict({dst: state[src] for src, dst in targets.items()}, strict=True)


class LPIPS:
    """Callable LPIPS distance: ``LPIPS()(sr, gt) -> Tensor(B)`` for (B, 3, H, W) tensors in [0, 1]."""

    def __init__(self, net: str = "alex", device: str | torch.device = "cpu", weights: str | Path | None = None):
        import lpips as lpips_pkg  # heavy import, only when LPIPS is asked for

        self.net = net
        self.backbone_path = find_backbone(net, weights)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torchvision's 'pretrained' deprecation inside lpips
            model = lpips_pkg.LPIPS(net=net, version="0.1", pretrained=True, pnet_rand=True, verbose=False)
        _load_backbone(model, self.backbone_path)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval().requires_grad_(False)

    @torch.no_grad()
    def __call__(self, sr: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
        sr, gt = sr if sr.dim() == 4 else sr.unsqueeze(0), gt if gt.dim() == 4 else gt.unsqueeze(0)
        if sr.shape[-2:] != gt.shape[-2:]:
            raise InputError(f"size mismatch: SR is {sr.shape[-1]}x{sr.shape[-2]}, GT is {gt.shape[-1]}x{gt.shape[-2]}")
        sr, gt = _three_channels(sr), _three_channels(gt)
        sr = sr.to(self.device, torch.float32) * 2 - 1
        gt = gt.to(self.device, torch.float32) * 2 - 1
        return self.model(sr, gt).flatten().double().cpu()


def _three_channels(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 3:
        return x
    if x.shape[1] == 1:
        return x.expand(-1, 3, -1, -1)
    raise InputError(f"LPIPS needs RGB or gray images, got {x.shape[1]} channels")
