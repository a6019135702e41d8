"""KAIR's counting rule (AIM 2020 Efficient SR challenge), evaluated with forward hooks on the meta device.

K. Zhang et al., "AIM 2020 Challenge on Efficient Super-Resolution: Methods and Results", ECCVW 2020; rule of
cszn/KAIR ``utils/utils_modelsummary.py`` (after sovrasov/flops-counter.pytorch):

- MACs ("FLOPs" in the report): per Conv2d/ConvTranspose2d call, k_h*k_w*C_in*C_out/groups per output position
  (bias not counted); +1 per output element of each ReLU/PReLU/ELU/LeakyReLU/ReLU6 *module* call (functional
  activations are not counted); Linear in*out; BatchNorm2d 2 per element when affine (1 otherwise). Nothing else.
- activations: elements of all Conv2d/ConvTranspose2d outputs; conv layers: number of conv calls.
- params: elements of parameters with ``requires_grad``.

A meta-device forward gives shapes without arithmetic, so 256x256 x4 counts take a fraction of a second.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

ACTIVATION_MODULES = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6)
CONV_MODULES = (nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)


@dataclass
class Complexity:
    params: int
    macs: int
    activations: int
    conv_layers: int
    breakdown: dict[str, int] = field(default_factory=dict)  # conv / activation / linear / batchnorm MACs, bias adds

    @property
    def flops(self) -> int:
        """Floating-point operations, counting a multiply-accumulate as two."""
        return 2 * self.macs

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "flops": self.flops}


def _conv_macs(module: nn.Conv2d | nn.Conv3d | nn.ConvTranspose2d, output: torch.Tensor) -> int:
    kernel = 1
    for k in module.kernel_size:
        kernel *= int(k)
    per_position = kernel * module.in_channels * (module.out_channels // module.groups)
    positions = output.shape[0]
    for d in output.shape[2:]:
        positions *= int(d)
    return per_position * positions


def _hook_counts(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    totals = dict.fromkeys(("conv", "activation", "linear", "batchnorm", "bias_adds", "activations", "convs"), 0)

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        if isinstance(module, CONV_MODULES):
            totals["conv"] += _conv_macs(module, output)
            totals["activations"] += output.numel()
            totals["convs"] += 1
            totals["bias_adds"] += output.numel() if module.bias is not None else 0
        elif isinstance(module, ACTIVATION_MODULES):
            totals["activation"] += output.numel()
        elif isinstance(module, nn.Linear):
            inp = inputs[0]
            batch = 1 if inp.dim() == 1 else inp.shape[0]
            totals["linear"] += batch * module.in_features * module.out_features
        elif isinstance(module, nn.BatchNorm2d):
            totals["batchnorm"] += output.numel() * (2 if module.affine else 1)

    kinds = CONV_MODULES + ACTIVATION_MODULES + (nn.Linear, nn.BatchNorm2d)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return totals


def to_meta(model: nn.Module) -> nn.Module:
    """A meta-device copy of ``model`` (the model itself when already on meta)."""
    if all(p.is_meta for p in model.parameters()):
        return model
    return copy.deepcopy(model).to("meta")


def count_complexity(model: nn.Module, height: int = 256, width: int | None = None, channels: int = 3) -> Complexity:
    """Params, MACs, activations and conv layers for one (1, channels, height, width) input, on the meta device."""
    width = height if width is None else width
    meta = to_meta(model).eval()
    params = sum(p.numel() for p in meta.parameters() if p.requires_grad)
    x = torch.empty(1, channels, height, width, device="meta")
    t = _hook_counts(meta, x)
    breakdown = {k: int(t[k]) for k in ("conv", "activation", "linear", "batchnorm", "bias_adds")}
    macs = sum(breakdown[k] for k in ("conv", "activation", "linear", "batchnorm"))
    return Complexity(int(params), int(macs), int(t["activations"]), int(t["convs"]), breakdown)
