"""ONNX exports of loaded models for the CPU runtimes of ``upscale --backend``, made once and cached.

An export lives in ``<models cache>/realsr-onnx/<key>.onnx`` (the models cache: :func:`realsr_cli.models.cache.
cache_dir`), ``key`` a hash of the weights (every tensor's name, shape, dtype and bytes), the architecture, scale,
channels and size multiple, the opset and the torch and realsr versions; so any model file, interpolated model or
in-memory network maps to one file, and a changed file to a new one. The graph has dynamic batch, height and width
(:func:`realsr_cli.models.onnx_export.trace_onnx`): one export serves every tile shape. Beside it, ``<key>.json``
records, per runtime and version, the largest difference from PyTorch measured on it (the one-time equivalence
check of :mod:`realsr_cli.upscale.backends`), and ``by-file/`` which export a model file has
(:mod:`realsr_cli.models.onnx_index`).
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import torch

from realsr_cli import __version__
from realsr_cli.io.atomic import atomic_write
from realsr_cli.io.locks import file_lock
from realsr_cli.models.loading import SRModel
from realsr_cli.models.onnx_export import OPSET, random_image, trace_onnx
from realsr_cli.models.onnx_index import (  # noqa: F401 - the records' names, importable from here as before
    SUBDIR,
    onnx_dir,
    record_difference,
    recorded_difference,
)


def weights_key(model: SRModel, opset: int = OPSET) -> str:
    """A hash naming the export of ``model``: its weights and everything else the graph depends on."""
    digest = hashlib.sha256()
    head = (model.arch, model.scale, model.in_channels, model.multiple_of, opset, torch.__version__, __version__)
    digest.update(repr(head).encode())
    for name, tensor in model.module.state_dict().items():
        data = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}".encode())
        digest.update(data.view(torch.uint8).numpy().tobytes() if data.numel() else b"")
    return digest.hexdigest()[:32]


def size_step(model: SRModel) -> int:
    """Input sizes must be multiples of this (x1/x2 RRDBNet pixel-unshuffle; 4 at least)."""
    return math.lcm(4, max(1, model.multiple_of))


def exported_onnx(model: SRModel) -> Path:
    """The cached ONNX export of ``model`` (fp32, CPU), made now when missing (one process at a time)."""
    path = onnx_dir() / f"{weights_key(model)}.onnx"
    if path.is_file():
        return path
    with file_lock(path.with_suffix(".lock")):
        if not path.is_file():
            module = _cpu_fp32(model.module)
            step = size_step(model)
            example = random_image(8 * step, 8 * step, torch.Generator().manual_seed(1))
            atomic_write(path, lambda tmp: trace_onnx(module, example, tmp, OPSET), overwrite=True)
    return path


def _cpu_fp32(module: torch.nn.Module) -> torch.nn.Module:
    param = next(module.parameters(), None)
    if param is None or (param.device.type == "cpu" and param.dtype == torch.float32):
        return module
    import copy

    return copy.deepcopy(module).float().cpu()
