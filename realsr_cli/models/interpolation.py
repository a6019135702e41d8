"""Network interpolation between two compatible SR models, and the default models' denoise knob.

Deep network interpolation (DNI): X. Wang, K. Yu, C. Dong, X. Tang, C. C. Loy, "Deep Network Interpolation for
Continuous Imagery Effect Transition", CVPR 2019 (first shown in ESRGAN, Wang et al., ECCVW 2018,
``net_interp.py``): every parameter is ``(1 - w) * theta_A + w * theta_B`` for two networks of one architecture,
ideally fine-tuned from one parent. Real-ESRGAN's ``-dn`` option interpolates ``realesr-general-wdn-x4v3`` (weak
denoise) and ``realesr-general-x4v3`` the same way; ``upscale --denoise S`` does it with the shipped default
models' two ends: ``default_xS.pt`` itself (the mild end, 0: what ``upscale`` runs without ``--denoise``) and
``default_xS_strong.pt`` (1). ``realsr models interpolate`` writes such a blend as a model file.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch

from realsr_cli.errors import InputError
from realsr_cli.models.loading import SRModel, builtin_variant, default_model_path, load_model, load_sr_model

STRONG_END = "strong"  # the default_model_path variant of --denoise 1 (0 is the chosen built-in model itself)


def interpolate_state(
    first: dict[str, torch.Tensor], second: dict[str, torch.Tensor], weight: float
) -> dict[str, torch.Tensor]:
    """``(1 - weight) * first + weight * second`` per floating-point tensor; others (counters) from ``first``."""
    if set(first) != set(second):
        missing = sorted(set(first) ^ set(second))[:3]
        raise InputError(f"the two models have different layers (e.g. {', '.join(missing)}): cannot interpolate")
    out = {}
    for key, a in first.items():
        b = second[key]
        if a.shape != b.shape:
            raise InputError(f"layer {key}: shapes {tuple(a.shape)} and {tuple(b.shape)} differ: cannot interpolate")
        out[key] = torch.lerp(a, b.to(a.dtype), float(weight)) if a.is_floating_point() else a.clone()
    return out


def interpolate_models(first: SRModel, second: SRModel, weight: float) -> SRModel:
    """A new model whose weights are DNI of ``first`` (weight 0) and ``second`` (weight 1)."""
    if not 0.0 <= weight <= 1.0:
        raise InputError(f"interpolation weight {weight}: must be between 0 and 1")
    if first.arch != second.arch or first.scale != second.scale:
        raise InputError(
            f"cannot interpolate {first.name} ({first.arch} x{first.scale}) with {second.name} "
            f"({second.arch} x{second.scale}): the architectures and scales must match"
        )
    module = copy.deepcopy(first.module)
    module.load_state_dict(interpolate_state(first.module.state_dict(), second.module.state_dict(), weight))
    for param in module.parameters():
        param.requires_grad_(False)
    name = f"{first.name}~{second.name}@{weight:g}"
    return SRModel(
        module=module.eval(),
        scale=first.scale,
        name=name,
        arch=first.arch,
        source=f"{first.source} (1-w) + {second.source} (w), w={weight:g}",
        in_channels=first.in_channels,
        out_channels=first.out_channels,
        half_ok=first.half_ok and second.half_ok,
        bf16_ok=first.bf16_ok and second.bf16_ok,
        multiple_of=max(first.multiple_of, second.multiple_of),
        meta={"interpolation": {"first": first.source, "second": second.source, "weight": weight}},
    )


def default_denoise_model(
    strength: float, device: str | torch.device = "cpu", scale: int = 4, base: str = "default"
) -> SRModel:
    """The built-in xS model ``base`` (``default``, ``default-psnr``, ``default-gan``) at denoise ``strength``: its
    network interpolation with the strong end (0 = ``base`` itself, keeps detail; 1 = the strong end)."""
    if not 0.0 <= strength <= 1.0:
        raise InputError(f"--denoise {strength}: must be between 0 (keep detail) and 1 (strongest restoration)")
    first = load_sr_model(default_model_path(scale, builtin_variant(base, scale)), device, scale)
    strong = load_sr_model(default_model_path(scale, STRONG_END), device, scale)
    model = interpolate_models(first, strong, strength)
    model.name = f"{base} (denoise {strength:g})"
    return model


def write_interpolated(first: str | Path, second: str | Path, weight: float, out: str | Path, overwrite: bool) -> Path:
    """Write the DNI blend of two model files of one architecture as a ``model.pt`` (their EMA weights, if any)."""
    from realsr_cli.models.checkpoint import save_model

    if not 0.0 <= weight <= 1.0:
        raise InputError(f"--weight {weight}: must be between 0 and 1")
    purpose = "models interpolate (it writes a model.pt)"
    (net_a, info_a), (net_b, info_b) = load_model(first, purpose=purpose), load_model(second, purpose=purpose)
    if (info_a.arch, info_a.arch_args, info_a.scale) != (info_b.arch, info_b.arch_args, info_b.scale):
        raise InputError(
            f"{second}: {info_b.arch} {info_b.arch_args} x{info_b.scale} does not match {first}: "
            f"{info_a.arch} {info_a.arch_args} x{info_a.scale}; cannot interpolate"
        )
    net_a.load_state_dict(interpolate_state(net_a.state_dict(), net_b.state_dict(), weight))
    meta = {"interpolation": {"first": str(first), "second": str(second), "weight": weight}}
    return save_model(
        out, net_a, arch=info_a.arch, arch_args=info_a.arch_args, scale=info_a.scale, meta=meta, overwrite=overwrite
    )
