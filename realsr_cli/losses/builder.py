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
from realsr_cli.schema import ANY, Schema, check_keys

# The keys of the ``losses:`` section and of each term (``realsr_cli.train.schema`` checks a whole train config).
LOSS_SCHEMA: Schema = {
    "pixel": {"type": ANY, "weight": ANY, "eps": ANY},
    "ssim": {"weight": ANY},
    "ms_ssim": {"weight": ANY},
    "perceptual": {
        "weight": ANY,
        "layers": ANY,
        "backbone": ANY,
        "weights_file": ANY,
        "criterion": ANY,
        "use_input_norm": ANY,
        "range_norm": ANY,
    },
    "gan": {"type": ANY, "weight": ANY},
    "gt_usm": ANY,
}


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


def _term(cfg: dict[str, Any], name: str) -> tuple[dict[str, Any], float] | None:
    """``losses.<name>`` and its weight when the weight is positive (the term is built), else None."""
    section = cfg.get(name)
    weight = _weight(section, name)
    return (section, weight) if section is not None and weight > 0 else None


def _pixel(pix: dict[str, Any], override: str | None) -> nn.Module:
    kind = override or pix.get("type", "l1")
    extra = {"eps": float(pix["eps"])} if kind == "charbonnier" and "eps" in pix else {}
    try:
        return pixel_loss(kind, **extra)
    except ValueError as exc:
        raise PresetError(f"losses.pixel: {exc}") from None


def _perceptual(per: dict[str, Any], vgg_weights: str | Path | None) -> PerceptualLoss:
    try:
        return PerceptualLoss(
            layer_weights=per.get("layers") or {"conv5_4": 1.0},
            backbone=per.get("backbone", "vgg19"),
            weights=vgg_weights or per.get("weights_file"),
            criterion=per.get("criterion", "l1"),
            use_input_norm=bool(per.get("use_input_norm", True)),
            range_norm=bool(per.get("range_norm", False)),
        )
    except ValueError as exc:
        raise PresetError(f"losses.perceptual: {exc}") from None


def build_losses(
    cfg: dict[str, Any], vgg_weights: str | Path | None = None, pixel_override: str | None = None
) -> LossSet:
    """LossSet for ``cfg`` (the ``losses`` mapping); ``vgg_weights`` overrides the VGG weights file."""
    cfg = cfg or {}
    check_keys(cfg, dict.fromkeys(LOSS_SCHEMA, ANY), "losses")
    losses = LossSet()
    if (pix := _term(cfg, "pixel")) is not None:
        losses.terms["pix"] = (_pixel(pix[0], pixel_override), pix[1])
    if (term := _term(cfg, "ssim")) is not None:
        losses.terms["ssim"] = (SSIMLoss(), term[1])
    if (term := _term(cfg, "ms_ssim")) is not None:
        losses.terms["ms_ssim"] = (MSSSIMLoss(), term[1])
    if (per := _term(cfg, "perceptual")) is not None:
        losses.terms["percep"] = (_perceptual(per[0], vgg_weights), per[1])
    if (gan := _term(cfg, "gan")) is not None:
        try:
            losses.gan = AdversarialLoss(gan[0].get("type", "standard"), gan[1])
        except ValueError as exc:
            raise PresetError(f"losses.gan: {exc}") from None
    if not losses.terms and losses.gan is None:
        raise PresetError("losses: every loss weight is zero; nothing to train")
    return losses
