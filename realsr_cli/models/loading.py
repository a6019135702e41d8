"""Loading any SR model file for inference: this tool's ``model.pt``, published checkpoints, and ``default``.

- ``model.pt`` (format "realsr-model") and published ESRGAN (old ``model.N`` keys), BasicSR / Real-ESRGAN
  (``params`` / ``params_ema``) ``.pth`` and ``.safetensors`` files whose keys match an architecture of this tool
  (RRDBNet, SRVGGNetCompact, MSRResNet) go through :func:`realsr_cli.models.checkpoint.load_model`;
- anything else is handed to spandrel (github.com/chaiNNer-org/spandrel, ``ModelLoader().load_from_state_dict``),
  which recognises dozens of community architectures (SwinIR, HAT, DAT, OmniSR, SPAN, ...) by their keys;
- a name from ``realsr models list`` or an http(s) URL resolves to a verified file in torch hub's cache
  (:func:`realsr_cli.models.zoo.resolve_model`, shared with ``load_model``);
- ``default`` is the small model shipped in the package at ``realsr_cli/models/default/default_x{2,4}.pt``, or the
  file (or folder holding ``default_x{s}.pt``) named by ``$REALSR_DEFAULT_MODEL``;
- ``bicubic``, ``lanczos``, ``bilinear`` and ``nearest`` are parameter-free interpolations at any integer scale
  (:mod:`realsr_cli.models.classical`).

Every file is read with ``torch.load(..., weights_only=True)`` (or safetensors): no pickled code is executed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from realsr_cli.errors import InputError, WeightsNotFoundError

DEFAULT_ENV = "REALSR_DEFAULT_MODEL"
DEFAULT_DIR = Path(__file__).resolve().parent / "default"
DEFAULT_SCALES = (2, 4)


@dataclass
class SRModel:
    """A ready-to-run SR network (eval mode) and what the pipeline needs to know about it."""

    module: nn.Module
    scale: int
    name: str
    arch: str
    source: str
    in_channels: int = 3
    out_channels: int = 3
    half_ok: bool = True
    bf16_ok: bool = True
    multiple_of: int = 1
    context: int = 0  # LR pixels of tile context an exact tiled output needs (at least; 0: not known)
    meta: dict[str, Any] = field(default_factory=dict)


class _SpandrelModule(nn.Module):
    """nn.Module view of a spandrel descriptor (its call pads to the size requirements and clamps to [0, 1])."""

    def __init__(self, descriptor: Any) -> None:
        super().__init__()
        self.descriptor = descriptor
        self.net = descriptor.model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] == 1:
            return self.descriptor(x)
        return torch.cat([self.descriptor(x[i : i + 1]) for i in range(x.shape[0])])


def default_model_path(scale: int = 4, variant: str = "") -> Path:
    """The shipped ``default_x{scale}[_{variant}].pt`` (or from ``$REALSR_DEFAULT_MODEL``); a clear error if absent.

    ``variant`` ``strong``: the strong end of the denoise knob (``upscale --denoise 1``; the default is its 0 end)."""
    filename = f"default_x{scale}{'_' + variant if variant else ''}.pt"
    env = os.environ.get(DEFAULT_ENV)
    if env:
        path = Path(env).expanduser()
        if path.is_dir():
            path = path / filename
        elif variant:
            path = path.with_name(filename)
        if not path.is_file():
            raise WeightsNotFoundError(f"${DEFAULT_ENV} names {path}, which does not exist")
        return path
    path = DEFAULT_DIR / filename
    if not path.is_file():
        have = sorted(p.name for p in DEFAULT_DIR.glob("default_x*.pt") if re.fullmatch(r"default_x\d+\.pt", p.name))
        extra = (
            f" (installed: {', '.join(have)}; pick one of those scales with -s, and --outscale {scale} for any other"
            " output size)"
            if have
            else ""
        )
        raise WeightsNotFoundError(
            f"the default x{scale} model{' (its ' + variant + ' end)' if variant else ''} is not installed: "
            f"{path} is missing{extra}; "
            f"pass --model FILE or set ${DEFAULT_ENV}=FILE"
        )
    return path


def read_state(path: Path) -> dict[str, Any]:
    """A checkpoint's top-level dict, read safely (weights_only / safetensors)."""
    if not path.is_file():
        raise InputError(f"{path}: model file not found (nor a name from 'realsr models list' or a URL)")
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            obj: Any = load_file(str(path))
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unreadable/unsafe files become one clear line
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(f"{path}: not a readable model file ({type(exc).__name__}: {text[:200]})") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path}: expected a dict of weights, found {type(obj).__name__}")
    return obj


def _state_dict_of(obj: dict[str, Any]) -> dict[str, torch.Tensor]:
    for key in ("params_ema", "params", "state_dict", "model", "net", "generator"):
        inner = obj.get(key)
        if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
            return inner
    return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def _own_arch(obj: dict[str, Any]) -> bool:
    from realsr_cli.models.checkpoint import FORMAT, detect_arch

    return obj.get("format") == FORMAT or detect_arch(_state_dict_of(obj)) is not None


def _load_own(path: Path, device: torch.device, name: str) -> SRModel:
    from realsr_cli.models.checkpoint import load_model

    module, info = load_model(path, device)
    return SRModel(
        module=module,
        scale=int(info.scale),
        name=name,
        arch=info.arch,
        source=str(path),
        in_channels=int(info.arch_args.get("num_in_ch", info.arch_args.get("in_nc", 3))),
        out_channels=int(info.arch_args.get("num_out_ch", info.arch_args.get("out_nc", 3))),
        meta=dict(info.meta),
    )


def _load_spandrel(path: Path, obj: dict[str, Any], device: torch.device, name: str) -> SRModel:
    try:
        from spandrel import ImageModelDescriptor, ModelLoader, UnsupportedModelError
    except ImportError:  # pragma: no cover - spandrel is a declared dependency
        raise InputError(f"{path}: architecture not recognised (install spandrel for community models)") from None
    state = _state_dict_of(obj)
    if not state:
        raise InputError(f"{path}: no weights found in the file (keys: {', '.join(map(str, list(obj)[:6]))})")
    try:
        descriptor = ModelLoader().load_from_state_dict(state)
    except UnsupportedModelError:
        raise InputError(
            f"{path}: unknown model architecture (neither this tool's nor one spandrel recognises; "
            f"first keys: {', '.join(list(state)[:3])})"
        ) from None
    except Exception as exc:  # noqa: BLE001 - malformed weights of a known architecture
        raise InputError(f"{path}: weights could not be loaded ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(descriptor, ImageModelDescriptor) or descriptor.purpose not in ("SR", "Restoration"):
        raise InputError(
            f"{path}: a {descriptor.architecture.name} {descriptor.purpose} model, not a super-resolution one"
        )
    descriptor.eval().to(device)
    return SRModel(
        module=_SpandrelModule(descriptor),
        scale=int(descriptor.scale),
        name=name,
        arch=f"spandrel:{descriptor.architecture.id}",
        source=str(path),
        in_channels=int(descriptor.input_channels),
        out_channels=int(descriptor.output_channels),
        half_ok=bool(descriptor.supports_half),
        bf16_ok=bool(descriptor.supports_bfloat16),
        multiple_of=int(descriptor.size_requirements.multiple_of),
    )


def load_sr_model(spec: str | Path, device: str | torch.device = "cpu", scale: int | None = None) -> SRModel:
    """Load ``spec`` ("default", an interpolation name, a model file, a zoo name or a URL: ``resolve_model``) onto
    ``device`` in eval mode."""
    device = torch.device(device)
    from realsr_cli.models.classical import interpolation_model, is_interpolator

    if is_interpolator(spec):
        return interpolation_model(str(spec), scale or 4)
    if str(spec) == "default":
        path, name = default_model_path(scale or 4), "default"
    else:
        from realsr_cli.models.zoo import resolve_model

        path = resolve_model(spec)
        name = path.name
        if path.is_dir():
            candidate = path / "model.pt"
            if not candidate.is_file():
                raise InputError(f"{path}: a folder without model.pt; pass the model file itself")
            path = candidate
    obj = read_state(path)
    model = _load_own(path, device, name) if _own_arch(obj) else _load_spandrel(path, obj, device, name)
    model.module.eval()
    for param in model.module.parameters():
        param.requires_grad_(False)
    return model
