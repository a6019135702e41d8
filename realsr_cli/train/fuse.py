"""Parameter fusion: the element-wise mean of several checkpoints of one network (``realsr fuse``).

The OPPO entry of the AIM 2020 Real Image SR challenge (Wei et al., "AIM 2020 Challenge on Real Image
Super-Resolution: Methods and Results", ECCVW 2020) averaged the parameters of its last checkpoints ("parameter
fusion"); ``train.keep_snapshots: K`` keeps the last K of a run as ``RUN_DIR/snapshots/iter_NNNNNNN.pt``.

Reads (``torch.load(weights_only=True)``, or safetensors) realsr ``model.pt`` files, training checkpoints
(``checkpoints/latest.pt``: ``net_g``, ``ema``), BasicSR ``{"params", "params_ema"}`` files and bare state dicts.
Every group of weights (``params``, and ``params_ema`` when present) is averaged in float64 and cast back; other
tensors (integer buffers) are the first file's. The result has the first file's layout (a training checkpoint gives
a ``model.pt``), so BasicSR files stay BasicSR files. Files whose groups, keys, shapes or architecture differ from
the first one's are refused, naming the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from realsr_cli.errors import InputError

SNAPSHOT_DIR = "snapshots"


@dataclass
class Weights:
    """One checkpoint: its tensor groups (``params``, ``params_ema``; ``""`` for a bare state dict) and header."""

    path: Path
    layout: str  # "realsr", "basicsr" or "state-dict"
    groups: dict[str, dict[str, Tensor]]
    header: dict[str, Any] | None = None  # realsr: arch, arch_args, scale
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class FuseResult:
    output: Path
    inputs: list[Path]
    layout: str
    groups: list[str]
    tensors: int

    def to_json(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "inputs": [str(p) for p in self.inputs],
            "layout": self.layout,
            "groups": self.groups,
            "tensors": self.tensors,
        }


def _is_state(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(v, Tensor) for v in obj.values())


def _load(path: Path) -> Any:
    if not path.is_file():
        raise InputError(f"{path}: checkpoint not found")
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one line naming it
        raise InputError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None


def _header_of_state(path: Path, state: dict[str, Any]) -> dict[str, Any]:
    from realsr_cli.archs import arch_args, arch_spec

    cfg = state.get("config") or {}
    try:
        name = arch_spec(cfg["arch"]).name
        args = arch_args(name, int(cfg["scale"]), **dict(cfg.get("arch_args") or {}))
    except Exception as exc:  # noqa: BLE001 - a damaged configuration is one line naming the file
        raise InputError(f"{path}: training checkpoint without a usable architecture ({exc})") from None
    return {"arch": name, "arch_args": args, "scale": int(cfg["scale"])}


def read_weights(path: str | Path) -> Weights:
    """The tensor groups of one checkpoint file; ``InputError`` naming it when it holds none."""
    path = Path(path)
    obj = _load(path)
    fmt = obj.get("format") if isinstance(obj, dict) else None
    if fmt == "realsr-model":
        groups = {k: obj[k] for k in ("params", "params_ema") if _is_state(obj.get(k))}
        header = {"arch": obj.get("arch"), "arch_args": obj.get("arch_args"), "scale": obj.get("scale")}
        return Weights(path, "realsr", groups, header, dict(obj.get("meta") or {}))
    if fmt == "realsr-train-state" and _is_state(obj.get("net_g")):
        groups = {"params": obj["net_g"]} | ({"params_ema": obj["ema"]} if _is_state(obj.get("ema")) else {})
        meta = {"config": obj.get("config"), "iters": obj.get("iter"), "seed": obj.get("seed")}
        return Weights(path, "realsr", groups, _header_of_state(path, obj), meta)
    if isinstance(obj, dict) and any(_is_state(obj.get(k)) for k in ("params", "params_ema")):
        return Weights(path, "basicsr", {k: obj[k] for k in ("params", "params_ema") if _is_state(obj.get(k))})
    if _is_state(obj):
        return Weights(path, "state-dict", {"": obj})
    raise InputError(
        f"{path}: holds no network weights (expected a realsr model.pt or training checkpoint, "
        "a BasicSR params/params_ema file or a state dict)"
    )


def check_compatible(first: Weights, other: Weights) -> None:
    """Same groups, keys, shapes and dtypes (and architecture, when both files name one) as ``first``."""
    where = f"{other.path}: cannot be fused with {first.path}"
    if set(first.groups) != set(other.groups):
        raise InputError(f"{where}: it holds {_group_names(other)}, the first holds {_group_names(first)}")
    if first.header and other.header and first.header != other.header:
        raise InputError(f"{where}: {_describe(other.header)} vs {_describe(first.header)}")
    for group, state in first.groups.items():
        theirs = other.groups[group]
        missing, extra = sorted(set(state) - set(theirs)), sorted(set(theirs) - set(state))
        if missing or extra:
            raise InputError(f"{where}: different keys (missing {missing[:3]}, unexpected {extra[:3]})")
        for key, tensor in state.items():
            if theirs[key].shape != tensor.shape or theirs[key].dtype != tensor.dtype:
                got = f"{tuple(theirs[key].shape)} {theirs[key].dtype}"
                raise InputError(f"{where}: {group}.{key} is {got}, not {tuple(tensor.shape)} {tensor.dtype}")


def _group_names(weights: Weights) -> str:
    return ", ".join(sorted(g or "a bare state dict" for g in weights.groups))


def _describe(header: dict[str, Any]) -> str:
    return f"{header['arch']} x{header['scale']} {header['arch_args']}"


def average_states(states: Sequence[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Element-wise mean of floating tensors (summed in float64 in file order); other tensors from the first."""
    out = {}
    for key, first in states[0].items():
        if not first.is_floating_point():
            out[key] = first.clone()
            continue
        total = first.to(torch.float64).clone()
        for state in states[1:]:
            total += state[key].to(torch.float64)
        out[key] = (total / len(states)).to(first.dtype)
    return out


def _payload(first: Weights, fused: dict[str, dict[str, Tensor]], inputs: list[Path]) -> Any:
    if first.layout == "state-dict":
        return fused[""]
    if first.layout == "basicsr":
        return fused
    from realsr_cli import __version__
    from realsr_cli.models.checkpoint import FORMAT, FORMAT_VERSION

    meta = {**first.meta, "tool": "realsr", "version": __version__, "fused_from": [str(p) for p in inputs]}
    return {"format": FORMAT, "format_version": FORMAT_VERSION, **(first.header or {}), **fused, "meta": meta}


def fuse_checkpoints(paths: Sequence[str | Path], output: str | Path, *, overwrite: bool = False) -> FuseResult:
    """Average the weights of ``paths`` into ``output`` (atomic; exclusive unless ``overwrite``; never an input)."""
    from realsr_cli.io.atomic import atomic_write_torch
    from realsr_cli.io.guard import register_inputs

    inputs = [Path(p) for p in paths]
    if len(inputs) < 2:
        raise InputError("fuse: give at least two checkpoints to average")
    seen: dict[Path, Path] = {}
    for path in inputs:
        if path.resolve() in seen:
            raise InputError(f"{path}: given twice (it would count double in the mean)")
        seen[path.resolve()] = path
    register_inputs(inputs)
    weights = [read_weights(p) for p in inputs]
    for other in weights[1:]:
        check_compatible(weights[0], other)
    fused = {g: average_states([w.groups[g] for w in weights]) for g in weights[0].groups}
    written = atomic_write_torch(output, _payload(weights[0], fused, inputs), overwrite=overwrite)
    groups = sorted(g or "state dict" for g in fused)
    return FuseResult(written, inputs, weights[0].layout, groups, sum(len(s) for s in fused.values()))


def snapshot_path(run_dir: Path, iteration: int) -> Path:
    return Path(run_dir) / SNAPSHOT_DIR / f"iter_{int(iteration):07d}.pt"


def prune_snapshots(run_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` snapshots of a run."""
    if keep < 1:
        return
    for old in sorted((Path(run_dir) / SNAPSHOT_DIR).glob("iter_*.pt"))[:-keep]:
        old.unlink(missing_ok=True)
