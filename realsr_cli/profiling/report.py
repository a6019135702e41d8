"""``realsr profile`` core: one row of AIM 2020 efficiency numbers per architecture or model file.

Counting (params, MACs, activations, conv layers, ptflops) runs on the meta device; fvcore and the timing runs use
real compute on the chosen device. Rows are plain JSON-serialisable dicts; ``--json`` writes exactly these.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from realsr_cli.archs import arch_spec, build_arch
from realsr_cli.errors import ImageReadError, InputError
from realsr_cli.profiling.counting import count_complexity, to_meta
from realsr_cli.profiling.crosscheck import explain, fvcore_macs, ptflops_macs
from realsr_cli.profiling.runtime import measure, prepare

FVCORE_CPU_MAX_MACS = 200e9  # MSRResNet at 256x256 x4 (166 G) included; RRDBNet/EDSR/RCAN (>1 T) skipped on CPU


def load_images(folder: str | Path) -> list[torch.Tensor]:
    """Images of a folder/glob as (1,3,H,W) float tensors in [0,1] (gray -> RGB, alpha dropped)."""
    from realsr_cli.io.paths import collect_inputs
    from realsr_cli.io.tensors import read_tensor

    out = []
    for item in collect_inputs(folder):
        out.append(read_tensor(item.path))
        if out[-1].numel() == 0:
            raise ImageReadError(item.path, "empty image")
    return out


def synthetic_inputs(size: int, count: int = 1, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.rand(1, 3, size, size, generator=g) for _ in range(count)]


def _target_model(target: str, scale: int, real: bool) -> tuple[nn.Module, dict[str, Any]]:
    """An architecture name (built with random weights) or a model file (loaded) -> (model, row header)."""
    from realsr_cli.models.zoo import is_model_spec

    path = Path(target)
    model_file = path.suffix.lower() in (".pt", ".pth", ".safetensors") or path.is_file() or target == "default"
    if model_file or is_model_spec(target):
        from realsr_cli.models.loading import load_sr_model

        loaded = load_sr_model(target, frozen=False)  # counting takes the parameters that require gradients
        return loaded.network, {"name": path.name, "arch": loaded.arch, "scale": loaded.scale, "source": str(path)}
    spec = arch_spec(target)
    if spec.kind != "sr":
        raise InputError(f"{spec.name} is a discriminator; profile takes SR architectures or model files")
    if real:
        model = build_arch(spec.name, scale=scale)
    else:
        with torch.device("meta"):
            model = build_arch(spec.name, scale=scale)
    return model, {"name": spec.display or spec.name, "arch": spec.name, "scale": scale, "source": "arch"}


def profile_one(
    target: str,
    scale: int = 4,
    input_size: int = 256,
    images: list[torch.Tensor] | None = None,
    runs: int = 3,
    device: torch.device | str = "cpu",
    half: bool = False,
    channels_last: bool = False,
    compile: bool = False,
    crosscheck: bool = True,
    fvcore: bool | None = None,
) -> dict[str, Any]:
    """Efficiency numbers for one architecture name or model file; ``runs=0`` skips the timing.

    ``fvcore=None`` (auto) runs fvcore's real forward on CUDA always, on the CPU only up to
    ``FVCORE_CPU_MAX_MACS`` (so ``--arch all`` stays quick); ``True``/``False`` force it on/off.
    """
    device = torch.device(device)
    model, row = _target_model(target, scale, real=False)  # arch names: built on meta; files: loaded on the CPU
    meta_model = to_meta(model)
    c = count_complexity(meta_model, input_size, input_size)
    if fvcore is None:
        fvcore = crosscheck and (device.type == "cuda" or c.macs <= FVCORE_CPU_MAX_MACS)
    if (runs > 0 or fvcore) and model is meta_model:
        model = _target_model(target, scale, real=True)[0]
    row.update(
        input=[input_size, input_size],
        params=c.params,
        macs=c.macs,
        flops=c.flops,
        activations=c.activations,
        conv_layers=c.conv_layers,
        breakdown=c.breakdown,
    )
    row["ptflops_macs"] = ptflops_macs(meta_model, input_size, input_size) if crosscheck else None
    row["fvcore_macs"], row["fvcore_by_operator"] = None, None
    if fvcore:
        fv = fvcore_macs(model.to(device), torch.rand(1, 3, input_size, input_size, device=device))
        if fv is not None:
            row["fvcore_macs"], row["fvcore_by_operator"] = fv
    fv_pair = (row["fvcore_macs"], row["fvcore_by_operator"]) if row["fvcore_macs"] is not None else None
    row["explain"] = explain(c, row["ptflops_macs"], fv_pair)
    if crosscheck and not fvcore:
        row["explain"].append(
            f"fvcore skipped: it needs a real forward ({c.macs / 1e9:.0f} GMACs on {device.type}); use --fvcore to force"
        )
    row.update(runtime_s=None, runs=runs, images=0, memory_bytes=None, memory_increase_bytes=None, memory_kind=None)
    row.update(device=str(device), half=half, channels_last=channels_last, compile=compile)
    if runs > 0:
        inputs = images if images else synthetic_inputs(input_size)
        timed = prepare(model, device, half=half, channels_last=channels_last, compile=compile)
        t = measure(timed, inputs, device, runs=runs, half=half, channels_last=channels_last)
        row.update(runtime_s=t.seconds_per_image, pass_seconds=t.pass_seconds, images=len(inputs))
        row.update(memory_bytes=t.memory_bytes, memory_increase_bytes=t.memory_increase_bytes)
        row["memory_kind"] = t.memory_kind
    return row


def profile_many(
    targets: list[str], on_done: Callable[[dict[str, Any]], None] | None = None, **kwargs: Any
) -> list[dict[str, Any]]:
    rows = []
    for target in targets:
        row = profile_one(target, **kwargs)
        rows.append(row)
        if on_done is not None:
            on_done(row)
    return rows
