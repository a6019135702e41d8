"""Build the weighted generator losses of a train preset's ``losses:`` section.

```yaml
losses:
  pixel: {type: l1, weight: 1.0}          # l1 | l2 | charbonnier
  ssim: {weight: 0}                        # 1 - SSIM
  ms_ssim: {weight: 0}                     # 1 - MS-SSIM
  perceptual: {weight: 1.0, layers: {conv5_4: 1.0}, backbone: vgg19, criterion: l1}
  gan: {type: relativistic, weight: 0.005} # standard | relativistic | lsgan
  gt_usm: false                            # Real-ESRGAN: sharpen the target of pixel/perceptual terms
```
A term with weight 0 (or absent) is not built, so presets without a perceptual loss never need VGG weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from realsr_cli.errors import PresetError
from realsr_cli.losses.adversarial import AdversarialLoss
from realsr_cli.losses.perceptual import PerceptualLoss
from realsr_cli.losses.pixel import pixel_loss
from realsr_cli.losses.ssim import MSSSIMLoss, SSIMLoss


@dataclass
class LossSet:
    """Weighted reconstruction terms plus the optional adversarial loss."""

    terms: dict[str, tuple[nn.Module, float]] = field(default_factory=dict)
    gan: AdversarialLoss | None = None

    def to(self, device: Any) -> LossSet:
        for module, _ in self.terms.values():
            module.to(device)
        return self

    def reconstruction(self, pred: Tensor, target: Tensor) -> dict[str, Tensor]:
        """Each weighted term, keyed ``l_pix``, ``l_ssim``, ``l_ms_ssim``, ``l_percep``."""
        return {f"l_{name}": weight * module(pred, target) for name, (module, weight) in self.terms.items()}


def _weight(section: Any, name: str) -> float:
    if section is None:
        return 0.0
    if not isinstance(section, dict):
        raise PresetError(f"losses.{name}: expected a mapping like {{weight: 1.0}}")
    return float(section.get("weight", 1.0))


def build_losses(
    cfg: dict[str, Any], vgg_weights: str | Path | None = None, pixel_override: str | None = None
) -> LossSet:
    """LossSet for ``cfg`` (the ``losses`` mapping); ``vgg_weights`` overrides the VGG weights file."""
    cfg = cfg or {}
    known = {"pixel", "ssim", "ms_ssim", "perceptual", "gan", "gt_usm"}
    unknown = set(cfg) - known
    if unknown:
        raise PresetError(f"losses: unknown key(s) {sorted(unknown)} (known: {sorted(known)})")
    losses = LossSet()
    pix = cfg.get("pixel")
    if _weight(pix, "pixel") > 0:
        kind = pixel_override or pix.get("type", "l1")
        extra = {"eps": float(pix["eps"])} if kind == "charbonnier" and "eps" in pix else {}
        try:
            losses.terms["pix"] = (pixel_loss(kind, **extra), _weight(pix, "pixel"))
        except ValueError as exc:
            raise PresetError(f"losses.pixel: {exc}") from None
    if _weight(cfg.get("ssim"), "ssim") > 0:
        losses.terms["ssim"] = (SSIMLoss(), _weight(cfg["ssim"], "ssim"))
    if _weight(cfg.get("ms_ssim"), "ms_ssim") > 0:
        losses.terms["ms_ssim"] = (MSSSIMLoss(), _weight(cfg["ms_ssim"], "ms_ssim"))
    per = cfg.get("perceptual")
    if _weight(per, "perceptual") > 0:
        try:
            module = PerceptualLoss(
                layer_weights=per.get("layers") or {"conv5_4": 1.0},
                backbone=per.get("backbone", "vgg19"),
                weights=vgg_weights or per.get("weights_file"),
                criterion=per.get("criterion", "l1"),
                use_input_norm=bool(per.get("use_input_norm", True)),
                range_norm=bool(per.get("range_norm", False)),
            )
        except ValueError as exc:
            raise PresetError(f"losses.perceptual: {exc}") from None
        losses.terms["percep"] = (module, _weight(per, "perceptual"))
    gan = cfg.get("gan")
    if _weight(gan, "gan") > 0:
        try:
            losses.gan = AdversarialLoss(gan.get("type", "standard"), _weight(gan, "gan"))
        except ValueError as exc:
            raise PresetError(f"losses.gan: {exc}") from None
    if not losses.terms and losses.gan is None:
        raise PresetError("losses: every loss weight is zero; nothing to train")
    return losses
