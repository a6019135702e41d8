"""The one model loader: :func:`load_sr_model` reads every model file for every subcommand (``upscale``,
``profile --model``, ``make-pairs --hr-upscaler``, ``train-sr --init`` and ``--export``, ``models interpolate``).

- ``model.pt`` (format "realsr-model", :mod:`realsr_cli.models.checkpoint`), and the ``.safetensors`` that
  ``train-sr --export`` writes (its header records the architecture), load as written;
- published ESRGAN (old ``model.N`` keys), BasicSR / Real-ESRGAN (``params`` / ``params_ema``), KAIR and official
  EDSR / RCAN / RFDN / PAN files, as ``.pth`` or ``.safetensors``, whose keys one of this tool's architectures
  recognises, load as that architecture (:func:`realsr_cli.archs.detect_arch`: each registry entry names its
  detection, key conversion and hyper-parameter inference, beside the arch);
- anything else is handed to spandrel (github.com/chaiNNer-org/spandrel, ``ModelLoader().load_from_state_dict``),
  which recognises dozens of community architectures (SwinIR, HAT, DAT, OmniSR, SPAN, ...) by their keys;
- a name from ``realsr models list`` or an http(s) URL resolves to a verified file in torch hub's cache
  (:func:`realsr_cli.models.zoo.resolve_model`);
- ``default`` is the recommended built-in model of the scale: the GAN-fine-tuned ``default-gan``
  (``realsr_cli/models/default/default_x{s}_gan.pt``) where one is shipped (x4), else the PSNR-oriented
  ``default-psnr`` (``default_x{s}.pt``); or the file (or folder holding them) named by ``$REALSR_DEFAULT_MODEL``;
- ``bicubic``, ``lanczos``, ``bilinear`` and ``nearest`` are parameter-free interpolations at any integer scale
  (:mod:`realsr_cli.models.classical`).

Every file is read with ``torch.load(..., weights_only=True)`` (or safetensors): no pickled code is executed.
:func:`load_model` is the view for uses that need a network of this tool's own architectures (training from it,
interpolating into a ``model.pt``): other models are refused there, naming the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from realsr_cli.archs import REGISTRY, arch_spec, build_arch, detect_arch, list_archs
from realsr_cli.batch import error_text
from realsr_cli.errors import InputError
from realsr_cli.models.checkpoint import FORMAT, FORMAT_VERSION, own_state, read_header
from realsr_cli.models.specs import (  # noqa: F401 - the model names' resolution, importable from here as before
    BUILTIN_NAMES,
    DEFAULT_DIR,
    DEFAULT_ENV,
    DEFAULT_SCALES,
    GAN_VARIANT,
    builtin_variant,
    default_model_path,
    is_builtin,
    model_file,
)

WRAPPER_KEYS = ("state_dict", "model", "net", "generator")  # after params_ema / params (BasicSR)


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
    arch_args: dict[str, Any] = field(default_factory=dict)  # constructor arguments (this tool's architectures)

    @property
    def network(self) -> nn.Module:
        """The bare network (spandrel's own module for community models), for profiling and exporting weights."""
        return self.module.net if isinstance(self.module, _SpandrelModule) else self.module


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


def read_model_file(path: Path) -> dict[str, Any]:
    """A model file's top-level dict, read safely (``torch.load(weights_only=True)`` or safetensors)."""
    if not path.is_file():
        raise InputError(f"{path}: model file not found (nor a name from 'realsr models list' or a URL)")
    try:
        obj: Any = _read_safetensors(path) if path.suffix.lower() == ".safetensors" else _read_torch(path)
    except Exception as exc:  # noqa: BLE001 - unreadable/unsafe files become one clear line
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(f"{path}: not a readable model file ({type(exc).__name__}: {text[:200]})") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path}: expected a dict of weights, found {type(obj).__name__}")
    return obj


def _read_torch(path: Path) -> Any:
    return torch.load(path, map_location="cpu", weights_only=True)


def _read_safetensors(path: Path) -> dict[str, Any]:
    """The tensors; as a ``model.pt`` dict when the header is one ``train-sr --export`` wrote for its own arch."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    with safe_open(str(path), "pt") as handle:
        header = handle.metadata() or {}
    if header.get("format") != "realsr" or header.get("arch") not in REGISTRY:
        return tensors
    args = json.loads(header.get("arch_args") or "{}")
    scale = int(header["scale"]) if str(header.get("scale", "")).isdigit() else None
    meta = {"source": str(path), "exported": True}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "arch": header["arch"], "arch_args": args,
            "scale": scale, "params": tensors, "meta": meta}  # fmt: skip


def state_dict_of(path: Path, obj: dict[str, Any], prefer_ema: bool = True) -> dict[str, torch.Tensor]:
    """The weights in a published file: ``params_ema`` / ``params`` (BasicSR), a wrapper (``state_dict``, ``model``,
    ``net``, ``generator``), or the file's own tensors; ``module.`` prefixes (``nn.DataParallel``) dropped."""
    order = ("params_ema", "params") if prefer_ema else ("params", "params_ema")
    for key in (*order, *WRAPPER_KEYS):
        inner = obj.get(key)
        if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
            return _strip_module(inner)
    state = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise InputError(f"{path}: no weights found in the file (keys: {', '.join(map(str, list(obj)[:6]))})")
    return _strip_module(state)


def _strip_module(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    if all(k.startswith("module.") for k in state):
        return {k[len("module.") :]: v for k, v in state.items()}
    return state


def _build(path: Path, arch: str, args: dict[str, Any], scale: int, state: dict[str, torch.Tensor]) -> nn.Module:
    """``arch`` x``scale`` built from ``args`` with ``state`` loaded strictly; impossible files are one line."""
    try:
        module = build_arch(arch, scale=scale, **args)
    except Exception as exc:  # noqa: BLE001 - impossible arguments (num_feat: -4, unknown keys) from the file
        problem = error_text(exc)[:200]
        raise InputError(f"{path}: cannot build {arch} x{scale} from the file's arguments {args} ({problem})") from None
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InputError(f"{path}: weights do not fit {arch} {args} x{scale}: {' '.join(first[:2])[:300]}") from None
    return module


def _registered(
    path: Path, arch: str, args: dict[str, Any], scale: int, state: dict[str, torch.Tensor], meta: dict[str, Any]
) -> SRModel:
    return SRModel(
        module=_build(path, arch, args, scale, state),
        scale=scale,
        name=path.name,
        arch=arch,
        source=str(path),
        in_channels=int(args.get("num_in_ch", args.get("in_nc", 3))),
        out_channels=int(args.get("num_out_ch", args.get("out_nc", 3))),
        meta=meta,
        arch_args=args,
    )


def _from_header(path: Path, obj: dict[str, Any], prefer_ema: bool) -> SRModel:
    arch, args, scale, meta = read_header(path, obj)
    return _registered(path, arch, args, scale, own_state(obj, prefer_ema), meta)


def _from_published(
    path: Path, state: dict[str, torch.Tensor], arch: str, arch_args: dict[str, Any] | None, scale: int | None
) -> SRModel:
    """Published weights of registered ``arch``: keys converted, arguments and scale inferred unless given."""
    spec = arch_spec(arch)
    try:
        converted = spec.convert_state(state)
        if arch_args is None:
            args, scale = spec.infer_args(converted, state, scale)
        else:
            args, scale = dict(arch_args), int(scale or 4)
    except (KeyError, ValueError, IndexError) as exc:  # weights of another layout than the named arch's
        raise InputError(f"{path}: cannot read the weights as {spec.name} ({error_text(exc)[:200]})") from None
    return _registered(path, spec.name, args, int(scale), converted, {"source": str(path), "foreign": True})


def _from_spandrel(path: Path, state: dict[str, torch.Tensor]) -> SRModel:
    """A community architecture spandrel recognises by its keys."""
    try:
        from spandrel import ImageModelDescriptor, ModelLoader, UnsupportedModelError
    except ImportError:  # pragma: no cover - spandrel is a declared dependency
        raise InputError(f"{path}: architecture not recognised (install spandrel for community models)") from None
    try:
        descriptor = ModelLoader().load_from_state_dict(state)
    except UnsupportedModelError:
        raise InputError(
            f"{path}: unknown model architecture (first keys: {', '.join(list(state)[:3])}; "
            f"an unknown architecture to both this tool and spandrel)"
        ) from None
    except Exception as exc:  # noqa: BLE001 - malformed weights of a known architecture
        raise InputError(f"{path}: weights could not be loaded ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(descriptor, ImageModelDescriptor) or descriptor.purpose not in ("SR", "Restoration"):
        raise InputError(
            f"{path}: a {descriptor.architecture.name} {descriptor.purpose} model, not a super-resolution one"
        )
    return SRModel(
        module=_SpandrelModule(descriptor),
        scale=int(descriptor.scale),
        name=path.name,
        arch=f"spandrel:{descriptor.architecture.id}",
        source=str(path),
        in_channels=int(descriptor.input_channels),
        out_channels=int(descriptor.output_channels),
        half_ok=bool(descriptor.supports_half),
        bf16_ok=bool(descriptor.supports_bfloat16),
        multiple_of=int(descriptor.size_requirements.multiple_of),
    )


def load_sr_model(
    spec: str | Path,
    device: str | torch.device = "cpu",
    scale: int | None = None,
    *,
    arch: str | None = None,
    arch_args: dict[str, Any] | None = None,
    prefer_ema: bool = True,
    frozen: bool = True,
) -> SRModel:
    """Load ``spec`` ("default", an interpolation name, a model file or run folder, a zoo name or a URL) onto
    ``device`` in eval mode (parameters frozen unless ``frozen=False``).

    ``scale``: the wanted scale, for "default" and interpolations, and for published weights whose shapes leave it
    open (PAN x2 / x3); a file's own scale otherwise wins (callers compare). ``arch`` / ``arch_args``: read a
    published file as that registered architecture (with those arguments) instead of recognising it."""
    from realsr_cli.models.classical import interpolation_model, is_interpolator

    if is_interpolator(spec):
        return interpolation_model(str(spec), scale or 4)
    path, name = model_file(spec, scale)
    obj = read_model_file(path)
    if obj.get("format") == FORMAT:
        model = _from_header(path, obj, prefer_ema)
    else:
        state = state_dict_of(path, obj, prefer_ema)
        arch = arch or detect_arch(state)
        model = _from_published(path, state, arch, arch_args, scale) if arch else _from_spandrel(path, state)
    model.name = name
    model.module.eval().to(torch.device(device))
    model.module.requires_grad_(not frozen)
    return model


def load_model(
    spec: str | Path,
    device: str | torch.device = "cpu",
    *,
    arch: str | None = None,
    arch_args: dict[str, Any] | None = None,
    scale: int | None = None,
    prefer_ema: bool = True,
    purpose: str = "this",
) -> tuple[nn.Module, SRModel]:
    """(network, its SRModel) for uses that need one of this tool's architectures (``purpose``: train-sr --init,
    models interpolate, ...): :func:`load_sr_model` with gradients on; any other model is refused naming the file."""
    model = load_sr_model(spec, device, scale, arch=arch, arch_args=arch_args, prefer_ema=prefer_ema, frozen=False)
    if model.arch not in REGISTRY:
        raise InputError(
            f"{model.source}: a {model.arch} model; {purpose} needs one of this tool's architectures "
            f"({', '.join(list_archs('sr'))})"
        )
    return model.module, model
