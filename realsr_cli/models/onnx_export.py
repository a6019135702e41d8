"""Export an SR model to ONNX (dynamic batch, height and width) and check it against ONNX Runtime.

The graph is traced with PyTorch's TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``) at
opset :data:`OPSET` (17: ONNX Runtime >= 1.11, TensorRT >= 8.6, OpenVINO and ncnn's pnnx read it). Input
``input``: float32 (N, 3, H, W) RGB in [0, 1]; output ``output``: (N, 3, sH, sW), not clamped (clamp to [0, 1]
as ``upscale`` does). The file's metadata records the scale, architecture and source. Models that need a size
multiple (x2 / x1 RRDBNet: H and W divisible by 2 / 4, pixel-unshuffle) need it in ONNX too. Before the file is
renamed into place, ONNX Runtime (CPU) runs it at two input sizes on random images and the largest absolute
difference from PyTorch must be at most ``tolerance`` (1e-4), else nothing is written.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from realsr_cli import __version__
from realsr_cli.errors import InputError, RealSRError
from realsr_cli.io.atomic import atomic_write, ensure_writable

OPSET = 17
TOLERANCE = 1e-4
_EXTRA = "pip install 'realsr-cli[onnx]'"


@dataclass
class ExportResult:
    output: Path
    model: str
    arch: str
    scale: int
    opset: int
    checked_sizes: list[tuple[int, int]]
    max_abs_diff: float | None

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "output": str(self.output)}


def _onnx() -> Any:
    """The ``onnx`` package (the ``onnx`` extra), else an ``InputError`` naming the install command."""
    try:
        import onnx
    except ImportError:
        raise InputError(f"ONNX export needs the onnx package: {_EXTRA} (or pip install onnx onnxruntime)") from None
    return onnx


def _ort() -> Any:
    """``onnxruntime`` (the ``onnx`` extra; for the check), else an ``InputError`` naming the install command."""
    try:
        import onnxruntime
    except ImportError:
        raise InputError(f"the ONNX Runtime check needs onnxruntime: {_EXTRA} (or pass --no-check)") from None
    return onnxruntime


def trace_onnx(module: torch.nn.Module, example: torch.Tensor, path: Path, opset: int = OPSET) -> None:
    """Write ``module`` traced on ``example`` to ``path`` (ONNX, dynamic batch/height/width; no metadata)."""
    axes = {"input": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "out_height", 3: "out_width"}}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            module, (example,), str(path), dynamo=False, opset_version=opset,
            input_names=["input"], output_names=["output"], dynamic_axes=axes,
        )  # fmt: skip


def _add_metadata(path: Path, meta: dict[str, str]) -> None:
    onnx = _onnx()
    graph = onnx.load(str(path))
    for key, value in meta.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(graph, str(path))


def random_image(height: int, width: int, gen: torch.Generator) -> torch.Tensor:
    """Random (1, 3, H, W) in [0, 1] with image-like structure: a coarse random grid, enlarged, plus fine noise.

    (White noise over the whole range drives some trained networks (PAN) to outputs of ~1e21, where no absolute
    tolerance means anything.)"""
    coarse = torch.rand(1, 3, max(2, height // 4), max(2, width // 4), generator=gen)
    smooth = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bilinear", align_corners=False)
    return (smooth + 0.05 * torch.randn(1, 3, height, width, generator=gen)).clamp(0, 1)


def max_difference(module: torch.nn.Module, path: Path, sizes: list[tuple[int, int]], seed: int = 0) -> float:
    """Largest |PyTorch - ONNX Runtime| over random (1, 3, H, W) images of each size."""
    session = _ort().InferenceSession(str(path), providers=["CPUExecutionProvider"])
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    for height, width in sizes:
        x = random_image(height, width, gen)
        with torch.no_grad():
            expected = module(x).numpy()
        got = session.run(["output"], {"input": x.numpy()})[0]
        if got.shape != expected.shape:
            raise RealSRError(f"{path}: ONNX output {got.shape} differs from PyTorch's {expected.shape}")
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def export_onnx(
    spec: str | Path,
    output: str | Path,
    *,
    opset: int = OPSET,
    check: bool = True,
    size: int = 32,
    tolerance: float = TOLERANCE,
    overwrite: bool = False,
) -> ExportResult:
    """Write ``output`` (.onnx) from ``spec`` (anything ``--model`` takes), verified by ONNX Runtime when ``check``."""
    from realsr_cli.models.loading import load_sr_model

    out = Path(output)
    if out.suffix.lower() != ".onnx":
        raise InputError(f"{out}: the output must end in .onnx")
    if size < 8:
        raise InputError(f"--check-size {size}: must be at least 8 pixels")
    ensure_writable(out, overwrite)
    _onnx()  # torch.onnx.export needs it too: say how to install it before any work
    if check:
        _ort()
    model = load_sr_model(spec, "cpu")
    if model.in_channels != 3:
        raise InputError(f"{model.source}: a {model.in_channels}-channel model; export takes RGB models")
    module = model.module.float().eval()
    step = math.lcm(4, max(1, model.multiple_of))  # x1/x2 RRDBNet pixel-unshuffles by 4/2
    size = step * max(2, size // step)
    sizes = [(size, size + step), (size + 3 * step, size - step)]  # two sizes: the height/width axes are dynamic
    result = ExportResult(out, model.name, model.arch, model.scale, opset, sizes if check else [], None)
    meta = {"realsr:scale": str(model.scale), "realsr:arch": model.arch, "realsr:source": model.source}
    meta["realsr:version"] = __version__

    def write(tmp: Path) -> None:
        try:
            trace_onnx(module, random_image(*sizes[0], torch.Generator().manual_seed(1)), tmp, opset)
        except Exception as exc:  # noqa: BLE001 - the exporter's many failure types become one line
            raise RealSRError(f"{model.source}: ONNX export failed ({type(exc).__name__}: {str(exc)[:200]})") from None
        _add_metadata(tmp, meta)
        if check:
            result.max_abs_diff = max_difference(module, tmp, sizes)
            if result.max_abs_diff > tolerance:
                raise RealSRError(
                    f"{out}: ONNX Runtime differs from PyTorch by {result.max_abs_diff:.3g} (> {tolerance:g}); not written"
                )

    atomic_write(out, write, overwrite=overwrite)
    return result
