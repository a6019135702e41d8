"""This tool's model file, ``model.pt``: writing it, and checking its header when it is read.

``model.pt`` is a ``torch.save``'d dict readable with ``torch.load(weights_only=True)``::

    {"format": "realsr-model", "format_version": 1, "arch": "rrdbnet", "arch_args": {...}, "scale": 4,
     "params": state_dict, "params_ema": state_dict (optional), "meta": {...}}

Reading any model file (this one, published weights, community architectures) is
:func:`realsr_cli.models.loading.load_sr_model`'s job; it prefers ``params_ema`` as BasicSR/Real-ESRGAN inference does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from realsr_cli.archs import arch_spec
from realsr_cli.batch import error_text
from realsr_cli.errors import InputError
from realsr_cli.io.atomic import atomic_write_torch

FORMAT = "realsr-model"
FORMAT_VERSION = 1


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


def read_header(path: Path, obj: dict[str, Any]) -> tuple[str, dict[str, Any], int, dict[str, Any]]:
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


def own_state(obj: dict[str, Any], prefer_ema: bool = True) -> dict[str, torch.Tensor]:
    """The weights of a ``model.pt`` dict: ``params_ema`` when present and preferred, else ``params``."""
    return obj["params_ema"] if prefer_ema and obj.get("params_ema") is not None else obj["params"]
