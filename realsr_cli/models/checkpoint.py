"""This tool's model file (``model.pt``) and loading of published BasicSR / ESRGAN / Real-ESRGAN weights.

``model.pt`` is a ``torch.save``'d dict readable with ``torch.load(weights_only=True)``::

    {"format": "realsr-model", "format_version": 1, "arch": "rrdbnet", "arch_args": {...}, "scale": 4,
     "params": state_dict, "params_ema": state_dict (optional), "meta": {...}}

``load_model`` prefers ``params_ema`` (as BasicSR/Real-ESRGAN inference does), and also reads foreign files: BasicSR
``{"params": ..., "params_ema": ...}`` dicts, bare state dicts (original ESRGAN ``RRDB_ESRGAN_x4.pth``), and
``.safetensors``. For foreign files the architecture is given by the caller or recognised from the keys (RRDBNet in
its three key layouts, SRVGGNetCompact, MSRResNet, official EDSR-PyTorch / RCAN / RFDN / PAN / KAIR-IMDN files) and its
hyper-parameters are inferred from tensor shapes. PAN x3 files cannot be told from x2 by shape: pass ``scale=3``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from realsr_cli.archs import arch_args as full_arch_args
from realsr_cli.archs import arch_spec, build_arch
from realsr_cli.batch import error_text
from realsr_cli.errors import InputError
from realsr_cli.io.atomic import atomic_write_torch

FORMAT = "realsr-model"
FORMAT_VERSION = 1


@dataclass
class ModelInfo:
    arch: str
    arch_args: dict[str, Any]
    scale: int
    meta: dict[str, Any] = field(default_factory=dict)


def _cpu_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu").clone() for k, v in state.items()}


def save_model(
    path: str | Path,
    model: nn.Module,
    *,
    arch: str,
    arch_args: dict[str, Any],
    scale: int,
    meta: dict[str, Any] | None = None,
    ema_state: dict[str, torch.Tensor] | None = None,
    overwrite: bool = True,
) -> Path:
    """Write ``model.pt`` atomically through the output guard (exclusive unless ``overwrite``); tensors on the CPU."""
    spec = arch_spec(arch)
    payload: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": spec.name,
        "arch_args": dict(arch_args),
        "scale": int(scale),
        "params": _cpu_state(model.state_dict()),
        "meta": dict(meta or {}),
    }
    if ema_state is not None:
        payload["params_ema"] = _cpu_state(ema_state)
    return atomic_write_torch(path, payload, overwrite=overwrite)


def _read(path: Path) -> Any:
    if not path.is_file():
        raise InputError(f"{path}: model file not found (nor a name from 'realsr models list' or a URL)")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes one clear line
        raise InputError(
            f"{path}: not a readable PyTorch/safetensors model file ({type(exc).__name__}: {exc})"
        ) from None


def _strip_module(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the ``module.`` prefix of weights saved from ``nn.DataParallel``."""
    if state and all(k.startswith("module.") for k in state):
        return {k[len("module.") :]: v for k, v in state.items()}
    return state


def detect_arch(state: dict[str, torch.Tensor]) -> str | None:
    """Recognise RRDBNet, SRVGGNetCompact or MSRResNet from state-dict keys (None when unknown)."""
    from realsr_cli.archs.rrdbnet import is_esrgan_state_dict

    state = _strip_module(state)
    if is_esrgan_state_dict(state):
        return "rrdbnet"
    if "body.0.weight" in state and "conv_first.weight" not in state and state["body.0.weight"].ndim == 4:
        return "srvggnet-compact"
    if "conv_first.weight" in state and ("recon_trunk.0.conv1.weight" in state or "body.0.conv1.weight" in state):
        if "upconv1.weight" in state:
            return "msrresnet"
    if "head.0.weight" in state and "tail.1.weight" in state:  # EDSR-PyTorch / official RCAN layouts
        if "body.0.body.0.body.3.conv_du.0.weight" in state:
            return "rcan"
        if "body.0.body.0.weight" in state:
            return "edsr"
    if "B1.c1_d.weight" in state and "upsampler.0.weight" in state:
        return "rfdn"
    if "SCPA_trunk.0.conv1_a.weight" in state:
        return "pan"
    if "model.1.sub.0.conv1.0.weight" in state and "model.1.sub.0.conv1x1.weight" in state:
        return "imdn"
    return None


def _convert(arch: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if arch == "rrdbnet":
        from realsr_cli.archs.rrdbnet import convert_rrdbnet_state_dict

        return convert_rrdbnet_state_dict(state)
    if arch == "msrresnet":
        from realsr_cli.archs.msrresnet import convert_msrresnet_state_dict

        return convert_msrresnet_state_dict(state)
    if arch == "edsr":
        from realsr_cli.archs.edsr import convert_edsr_state_dict

        return convert_edsr_state_dict(state)
    if arch == "rcan":
        from realsr_cli.archs.rcan import convert_rcan_state_dict

        return convert_rcan_state_dict(state)
    return state


def _infer_args(
    arch: str, state: dict[str, torch.Tensor], scale: int | None, original: dict[str, torch.Tensor] | None = None
) -> tuple[dict[str, Any], int]:
    """Constructor arguments and scale from the (converted) ``state``; ``original``: the keys as published."""
    original = state if original is None else original
    if arch == "rrdbnet":
        from realsr_cli.archs.rrdbnet import infer_rrdbnet_args

        args = infer_rrdbnet_args(state)
        inferred = args.pop("scale")
        return args, int(scale or inferred)
    if arch == "srvggnet-compact":
        from realsr_cli.archs.srvgg import infer_srvgg_args

        args = infer_srvgg_args(state)
        inferred = args.pop("upscale")
        return args, int(scale or inferred)
    if arch == "msrresnet":
        num_feat, num_in = state["conv_first.weight"].shape[:2]
        num_block = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("body.") and k.endswith("conv1.weight"))
        inferred = 4 if "upconv2.weight" in state else int(round((state["upconv1.weight"].shape[0] / num_feat) ** 0.5))
        args = {"num_in_ch": int(num_in), "num_out_ch": int(state["conv_last.weight"].shape[0])}
        return {**args, "num_feat": int(num_feat), "num_block": num_block}, int(scale or inferred)
    if arch in ("edsr", "rcan") and "head.0.weight" in original:
        from realsr_cli.archs.edsr import official_mean, official_scale

        num_feat, num_in = (int(d) for d in original["head.0.weight"].shape[:2])
        args: dict[str, Any] = {"num_in_ch": num_in, "num_out_ch": int(original["tail.1.weight"].shape[0])}
        args["num_feat"] = num_feat
        if arch == "edsr":
            args["num_block"] = 1 + max(int(k.split(".")[1]) for k in state if k.endswith(".conv1.weight"))
            args["res_scale"] = 0.1 if num_feat == 256 else 1.0  # EDSR-PyTorch: EDSR 0.1, EDSR-baseline 1
        else:
            args["num_group"] = 1 + max(int(k.split(".")[1]) for k in state if k.endswith(".conv.weight"))
            args["num_block"] = sum(
                1 for k in state if k.startswith("body.0.residual_group.") and k.endswith("rcab.0.weight")
            )
            args["squeeze_factor"] = num_feat // int(
                state["body.0.residual_group.0.rcab.3.attention.1.weight"].shape[0]
            )
        mean = official_mean(original)
        if mean is not None:
            args["rgb_mean"] = mean
        return args, int(scale or official_scale(original, num_feat))
    if arch == "rfdn":
        nf, in_nc = state["fea_conv.weight"].shape[:2]
        num_modules = sum(1 for k in state if k.endswith(".c1_d.weight"))
        up = state["upsampler.0.weight"].shape[0]
        args = {"in_nc": int(in_nc), "out_nc": 3, "nf": int(nf), "num_modules": num_modules}
        return args, int(scale or round((up / 3) ** 0.5))
    if arch == "pan":
        nf, in_nc = state["conv_first.weight"].shape[:2]
        nb = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("SCPA_trunk."))
        args = {"in_nc": int(in_nc), "out_nc": int(state["conv_last.weight"].shape[0]), "nf": int(nf)}
        args |= {"unf": int(state["upconv1.weight"].shape[0]), "nb": nb}
        return args, int(scale or (4 if "upconv2.weight" in state else 2))
    if arch == "imdn":
        nf, in_nc = state["model.0.weight"].shape[:2]
        num_modules = sum(1 for k in state if k.startswith("model.1.sub.") and k.endswith(".conv1x1.weight"))
        up = state["model.2.weight"].shape[0]
        args = {"in_nc": int(in_nc), "out_nc": 3, "nf": int(nf), "num_modules": num_modules}
        return args, int(scale or round((up / 3) ** 0.5))
    return full_arch_args(arch), int(scale or 4)


def _own_metadata(path: Path, obj: dict[str, Any]) -> tuple[str, dict[str, Any], int, dict[str, Any]]:
    """(arch, arch_args, scale, meta) of a ``model.pt``; incomplete or wrong metadata is an ``InputError``."""
    version = obj.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputError(f"{path}: model format version {version!r} is not one this tool reads (<= {FORMAT_VERSION})")
    missing = [k for k in ("arch", "arch_args", "scale", "params") if obj.get(k) is None]
    if missing:
        raise InputError(f"{path}: incomplete model file (no {', '.join(missing)})")
    arch, args, scale = obj["arch"], obj["arch_args"], obj["scale"]
    if not isinstance(arch, str) or not isinstance(args, dict) or not isinstance(obj["params"], dict):
        raise InputError(f"{path}: malformed model metadata (arch {arch!r}, arch_args {args!r})")
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise InputError(f"{path}: malformed model metadata (scale {scale!r})")
    try:
        arch = arch_spec(arch).name
    except Exception as exc:  # noqa: BLE001 - an architecture this version does not know
        raise InputError(f"{path}: unknown architecture {arch!r} ({error_text(exc)[:160]})") from None
    return arch, dict(args), int(scale), dict(obj.get("meta") or {})


def load_model(
    path: str | Path,
    device: str | torch.device = "cpu",
    *,
    arch: str | None = None,
    arch_args: dict[str, Any] | None = None,
    scale: int | None = None,
    prefer_ema: bool = True,
) -> tuple[nn.Module, ModelInfo]:
    """Load ``model.pt`` (or a published BasicSR/ESRGAN weights file, a zoo name or a URL) -> (model, ModelInfo)."""
    from realsr_cli.models.zoo import resolve_model

    path = resolve_model(path)
    obj = _read(path)
    if not isinstance(obj, dict):
        raise InputError(f"{path}: expected a dict of weights, found {type(obj).__name__}")
    meta: dict[str, Any] = {}
    if obj.get("format") == FORMAT:
        arch, args, scale, meta = _own_metadata(path, obj)
        state = obj["params_ema"] if prefer_ema and obj.get("params_ema") is not None else obj["params"]
    else:
        order = ("params_ema", "params") if prefer_ema else ("params", "params_ema")
        key = next(
            (k for k in (*order, "state_dict", "model", "net", "generator") if isinstance(obj.get(k), dict)), None
        )
        state = obj[key] if key else obj
        if not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise InputError(f"{path}: no state dict found (keys: {', '.join(list(map(str, obj))[:6])})")
        state = _strip_module(state)
        arch = arch or detect_arch(state)
        if arch is None:
            raise InputError(f"{path}: unknown architecture; give it explicitly (e.g. --arch rrdbnet)")
        arch = arch_spec(arch).name
        original, state = state, _convert(arch, state)
        if arch_args is None:
            args, scale = _infer_args(arch, state, scale, original)
        else:
            args, scale = dict(arch_args), int(scale or 4)
        meta = {"source": str(path), "foreign": True}
    try:
        model = build_arch(arch, scale=scale, **args)
    except Exception as exc:  # noqa: BLE001 - impossible arguments (num_feat: -4, unknown keys) from the file
        problem = error_text(exc)[:200]
        raise InputError(f"{path}: cannot build {arch} x{scale} from the file's arguments {args} ({problem})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InputError(f"{path}: weights do not fit {arch} {args} x{scale}: {' '.join(first[:2])[:300]}") from None
    model.eval().to(device)
    return model, ModelInfo(arch=arch, arch_args=args, scale=scale, meta=meta)
