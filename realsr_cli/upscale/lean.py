"""The lean ``upscale`` engine: a CPU runtime on a model's cached ONNX export, without importing torch.

Issue 20: ``import torch`` alone takes 1.2-2.2 s on the 2-core build machines, a third to a half of the default
model's inference on a 1 MP photo, and a one-photo ``upscale`` pays it for nothing when OpenVINO or ONNX Runtime
runs the model. So when a run asks for nothing that needs torch, :func:`lean_upscaler` builds this engine from
the record a PyTorch run left beside the export (:mod:`realsr_cli.models.onnx_index`: which export a model file
has, checked against PyTorch within 1/255 for this runtime version); otherwise, or when no record exists yet (the
first run on a model), the CLI builds the PyTorch engine, which makes the export, checks it and writes the record.

The two engines give the same output files: the pixel handling (:class:`~realsr_cli.upscale.engine.PixelEngine`),
tiling (:mod:`realsr_cli.upscale.windows`), runtime functions (:mod:`realsr_cli.upscale.runtimes`), tile-size
rule and thread rule are the same code; only the model pass is not wrapped in torch tensors.

What needs the PyTorch engine: a GPU (``--device auto`` where a CUDA or ROCm device node exists, or ``cuda``),
``--backend torch``, ``--tta``, ``--ensemble`` / ``--fusion``, ``--denoise`` / ``--interpolate`` (and the
per-photo strength of the built-ins that use it), ``--color-fix``, ``--outscale``, ``--alpha bicubic``,
``--compile``, fp16/bf16, video, and model names that are not a built-in or a local file (zoo names, URLs).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from realsr_cli.errors import RealSRError
from realsr_cli.models.onnx_index import (
    FileExport,
    file_digest,
    find_file_export,
    recorded_choice,
    recorded_difference,
    save_file_export,
)
from realsr_cli.threads import choose_threads
from realsr_cli.upscale.engine import PixelEngine, output_problem
from realsr_cli.upscale.options import UpscaleOptions
from realsr_cli.upscale.runtimes import (
    RUNTIMES,
    TOLERANCE,
    ArrayFn,
    choice_key,
    installed,
    runtime_fn,
    runtime_version,
)
from realsr_cli.upscale.windows import (
    CPU_MEMORY_FRACTION,
    auto_tile,
    host_memory,
    tile_count,
    tile_for_image,
    tiled_forward,
)

GPU_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg", "/dev/kfd")  # NVIDIA, WSL's GPU, ROCm


@dataclass
class LeanModel:
    """The model as the batch driver and the output's metadata see it."""

    name: str
    arch: str
    scale: int
    context: int


class LeanUpscaler(PixelEngine):
    """One model on a CPU runtime, tiled as the PyTorch engine tiles it (see the module docstring)."""

    def __init__(
        self,
        model: LeanModel,
        fn: ArrayFn,
        runtime: str,
        threads: int,
        options: UpscaleOptions,
        bytes_per_pixel: float,
    ) -> None:
        self.models = [model]
        self.scale = model.scale
        self.options = options
        self.device = "cpu"
        self.tile_pad = max(options.tile_pad, model.context)
        self.backend = f"{runtime}, {threads} thread{'s' if threads > 1 else ''}"
        self.on_tile = None
        self._fn = fn
        self._bytes_per_pixel = bytes_per_pixel
        self._tile = options.tile

    def tile_for(self, height: int, width: int) -> int:
        if self._tile is None:
            free = host_memory()
            self._tile = auto_tile(self._bytes_per_pixel, free, self.options.batch, fraction=CPU_MEMORY_FRACTION)
        return tile_for_image(self._tile, height, width)

    def release(self) -> None:
        release = getattr(self._fn, "release", None)
        if release is not None:
            release()

    def upscale_rgb(self, rgb: np.ndarray, luma: float | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        _, _, height, width = rgb.shape
        tile = self.tile_for(height, width)
        out = tiled_forward(
            self._fn, rgb, self.scale, tile=tile, pad=self.tile_pad, batch=self.options.batch, on_tile=self.on_tile
        )
        problem = output_problem(out, rgb)
        if problem:
            raise RealSRError(f"the model produced a {problem} output even in float32")
        np.clip(out, 0.0, 1.0, out=out)
        return out, {"tile": tile, "tiles": tile_count(height, width, tile, self.tile_pad), "precision": "float32"}


def gpu_present() -> bool:
    """Whether PyTorch could see a GPU here, judged without importing it: a CUDA, WSL or ROCm device node exists
    and ``$CUDA_VISIBLE_DEVICES`` does not hide every device."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return any(os.path.exists(node) for node in GPU_NODES) or bool(glob.glob("/dev/nvidia[0-9]*"))


def needs_torch(options: UpscaleOptions, device: str, extra_models: bool) -> bool:
    """True when the run asks for something only the PyTorch engine does (the module docstring's list)."""
    device = (device or "auto").strip().lower()
    return (
        extra_models
        or device not in ("auto", "cpu")
        or (device == "auto" and gpu_present())
        or options.backend not in ("auto", *RUNTIMES)
        or options.tta
        or options.fusion != "mean"
        or options.color_fix
        or options.alpha != "model"
        or options.compile
        or options.precision not in ("auto", "fp32")
    )


def _local_model(spec: str, scale: int | None) -> tuple[Path, str, str | None] | None:
    """(file, display name, built-in key) of a built-in name or a local model file or run folder; None for anything
    else (interpolations, zoo names, URLs) or a missing file. The key (``default@4``, ``+$REALSR_DEFAULT_MODEL``
    when that is set) says in which setting a built-in name ran without a per-photo strength."""
    from realsr_cli.models.specs import DEFAULT_ENV, is_builtin, model_file

    local = is_builtin(spec) or Path(spec).is_file() or (Path(spec) / "model.pt").is_file()
    if not local:
        return None
    try:
        path, name = model_file(spec, scale)
    except RealSRError:
        return None
    key = f"{spec}@{scale or 4}" + (f"+${DEFAULT_ENV}" if os.environ.get(DEFAULT_ENV) else "")
    return path, name, key if is_builtin(spec) else None


def remember_for_lean(spec: str, scale: int | None, engine: Any) -> None:
    """After the PyTorch engine chose a runtime for ``spec`` alone (no strength, ensemble or interpolation), record
    its export for the lean engine (:class:`realsr_cli.models.onnx_index.FileExport`); a cache that cannot be
    written only costs later runs their speed."""
    onnx = engine.backends[0].onnx if len(engine.models) == 1 else None
    local = _local_model(spec, scale) if onnx is not None else None
    if onnx is None or local is None:
        return
    from realsr_cli.upscale.tiling import activation_bytes_per_pixel

    path, _, builtin = local
    model = engine.models[0]
    digest = file_digest(path)
    if digest is None:
        return
    found = find_file_export(digest)
    if found is not None and found.onnx == onnx.name and (builtin is None or builtin in found.plain):
        return
    record = FileExport(
        onnx=onnx.name,
        arch=model.arch,
        scale=model.scale,
        in_channels=model.in_channels,
        out_channels=model.out_channels,
        context=model.context,
        bytes_per_pixel=activation_bytes_per_pixel(model.module, model.in_channels),
        plain=[builtin] if builtin else [],
    )
    try:
        save_file_export(digest, record)
    except OSError:
        pass


def _runtime(record: FileExport, backend: str, threads: int) -> str | None:
    """The runtime ``backend`` means for this export: the one asked for, or ``auto``'s recorded choice for this
    thread count and these installed runtimes (None: PyTorch, or not measured yet); only when its recorded
    difference from PyTorch for the installed version is within 1/255 (else the PyTorch engine decides, with its
    notes)."""
    if backend in RUNTIMES:
        wanted: str | None = backend
    else:
        key = choice_key(threads)
        wanted = recorded_choice(record.onnx_path, key) if key else None
    if wanted not in RUNTIMES or not installed(wanted):
        return None
    try:
        version = runtime_version(wanted)
    except ImportError:
        return None
    difference = recorded_difference(record.onnx_path, version)
    return wanted if difference is not None and difference <= TOLERANCE else None


def lean_upscaler(
    spec: str,
    options: UpscaleOptions,
    device: str = "auto",
    threads: int | None = None,
    *,
    denoise: str | None = None,
    interpolate: str | None = None,
    ensemble: Sequence[str] = (),
) -> LeanUpscaler | None:
    """The lean engine for this run, or None where the PyTorch engine must run it (see the module docstring)."""
    if denoise is not None or needs_torch(options, device, bool(interpolate or ensemble)):
        return None
    local = _local_model(spec, options.scale)
    if local is None:
        return None
    path, name, builtin = local
    digest = file_digest(path)
    record = find_file_export(digest) if digest else None
    if record is None or (builtin is not None and builtin not in record.plain):
        return None
    if record.in_channels != 3 or record.out_channels != 3:
        return None
    if options.scale not in (None, record.scale) or options.outscale not in (None, record.scale):
        return None
    count = choose_threads(threads).threads
    runtime = _runtime(record, options.backend, count)
    if runtime is None:
        return None
    try:
        fn = runtime_fn(runtime, record.onnx_path, count, record.scale)
    except Exception:  # noqa: BLE001 - an export the runtime cannot open: the PyTorch engine decides, with its note
        return None
    model = LeanModel(name, record.arch, record.scale, record.context)
    return LeanUpscaler(model, fn, runtime, count, options, record.bytes_per_pixel)
