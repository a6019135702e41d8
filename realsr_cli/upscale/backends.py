"""Inference backends of ``upscale``: the function that runs a (B, C, H, W) float tensor through one model.

``torch`` is the model itself (PyTorch eager; channels-last where it helps, see :func:`channels_last_helps`).
``openvino`` and ``onnxruntime`` run the model's cached ONNX export (:mod:`realsr_cli.models.onnx_cache`) with
that runtime on the CPU, in fp32, on the thread count PyTorch was given (:mod:`realsr_cli.threads`). Both are
optional (the ``fast`` extra: ``pip install 'realsr-cli[fast]'``). ``auto``, the CLI default: PyTorch on CUDA; on
the CPU the first of openvino, onnxruntime that is installed, whose output matches PyTorch's within 1/255 on
small random images (measured once per export and runtime version) and that is not clearly slower than PyTorch
(``FLOOR``; timed once per export, thread count and installed versions), both recorded in the cache; else
PyTorch, with a one-line note, when it is decided, for a runtime installed but not used. The tiling/upscale engine is the same whatever
the backend: it only swaps the model function.
"""

from __future__ import annotations

import copy
import functools
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from realsr_cli.errors import InputError, RealSRError
from realsr_cli.models.loading import SRModel
from realsr_cli.upscale.runtimes import (  # noqa: F401 - the runtime names, importable from here as before
    BACKENDS,
    EXTRA,
    RUNTIMES,
    TOLERANCE,
    ArrayFn,
    check_backend_name,
    choice_key,
    installed,
    onnxruntime_fn,
    openvino_fn,
    require,
    runtime_fn,
    runtime_version,
)

ModelFn = Callable[[torch.Tensor], torch.Tensor]
FLOOR = 0.9  # auto leaves a runtime measured below this x PyTorch's speed (a margin for the timing's noise)
SPEED_ROUNDS = 5
SPEED_PASS_S = 0.2  # the PyTorch pass the speed probe is sized for (speedups)


@dataclass
class Backend:
    """The backend a model runs on: its name and, for a runtime, the model function (None: the torch module)."""

    name: str
    fn: ModelFn | None = None
    difference: float = 0.0  # largest |runtime - PyTorch| measured on the check images (torch itself: 0)
    onnx: Path | None = None  # the export a runtime runs


def channels_last_helps(model: SRModel, device: torch.device) -> bool:
    """Channels-last memory: on CUDA always; on the CPU for this tool's convolutional networks (oneDNN's fast
    path; 1.3-1.6x in bench_backends), not for community architectures (attention, reshapes)."""
    if device.type == "cuda":
        return True
    own = not model.arch.startswith("spandrel:")
    return own and any(isinstance(m, torch.nn.Conv2d) for m in model.module.modules())


def torch_fn(fn: ArrayFn) -> ModelFn:
    """A runtime's host-array function as a PyTorch model function (CPU tensors; no copies); its ``release`` (see
    :meth:`realsr_cli.upscale.runtimes.OpenVinoModel.release`) is kept as the function's attribute."""

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(fn(np.ascontiguousarray(x.detach().cpu().float().numpy())))

    run.release = getattr(fn, "release", lambda: None)  # type: ignore[attr-defined]
    return run


def max_difference(model: SRModel, fn: ModelFn) -> float:
    """Largest |fn - PyTorch| on two small random images (two sizes, the second a batch of 2), clamped to [0, 1]."""
    from realsr_cli.models.onnx_cache import size_step
    from realsr_cli.models.onnx_export import random_image

    step = size_step(model)
    gen = torch.Generator().manual_seed(0)
    worst = 0.0
    for batch, height, width in ((1, 8 * step, 10 * step), (2, 6 * step, 5 * step)):
        x = torch.cat([random_image(height, width, gen) for _ in range(batch)])
        with torch.inference_mode():
            expected = model.module(x.to(next(model.module.parameters()).device)).float().cpu()
        got = fn(x)
        if got.shape != expected.shape:
            return float("inf")
        worst = max(worst, float((got.clamp(0, 1) - expected.clamp(0, 1)).abs().max()))
    return worst


def open_runtime(model: SRModel, runtime: str, threads: int, onnx: Path | None = None) -> Backend:
    """``model`` on ``runtime``: its cached export opened, checked against PyTorch (once per export and version)."""
    from realsr_cli.models.onnx_cache import exported_onnx, record_difference, recorded_difference

    require(runtime)
    onnx = onnx or exported_onnx(model)
    fn = torch_fn(runtime_fn(runtime, onnx, threads, model.scale if model.out_channels == model.in_channels else None))
    version = runtime_version(runtime)
    difference = recorded_difference(onnx, version)
    if difference is None:
        difference = max_difference(model, fn)
        record_difference(onnx, version, difference)
    return Backend(runtime, fn, difference, onnx)


def runtime_ok(model: SRModel) -> str | None:
    """Why ``model`` cannot run on an ONNX runtime (None when it can)."""
    if model.in_channels != 3:
        return f"a {model.in_channels}-channel model (the ONNX export takes RGB)"
    if next(model.module.parameters(), None) is None:
        return "no weights (nothing for a runtime to speed up)"
    return None


def select_backend(
    model: SRModel,
    requested: str,
    device: torch.device,
    threads: int,
    compiled: bool = False,
    note: Callable[[str], None] | None = None,
) -> Backend:
    """The backend ``model`` runs on for ``requested`` (see the module docstring); ``note`` gets auto's fallbacks."""
    check_backend_name(requested)
    if requested == "torch":
        return Backend("torch")
    if requested != "auto":
        return _explicit(model, requested, device, threads, compiled, note)
    if device.type != "cpu" or compiled or runtime_ok(model):
        return Backend("torch")
    available = [runtime for runtime in RUNTIMES if installed(runtime)]
    return _auto_runtime(model, available, threads, note) if available else Backend("torch")


def _explicit(
    model: SRModel, runtime: str, device: torch.device, threads: int, compiled: bool, note: Callable | None
) -> Backend:
    """``--backend RUNTIME``: that runtime or a clear error; a difference above 1/255 is noted, not refused."""
    if device.type != "cpu":
        raise InputError(f"--backend {runtime} runs on the CPU: use --device cpu, or --backend torch on {device}")
    if compiled:
        raise InputError(f"--compile is for --backend torch, not {runtime}")
    problem = runtime_ok(model)
    if problem:
        raise InputError(f"--backend {runtime}: {model.name} is {problem}; use --backend torch")
    require(runtime)
    try:
        backend = open_runtime(model, runtime, threads)
    except RealSRError:
        raise
    except Exception as exc:  # noqa: BLE001 - the exporter's and runtimes' many failure types become one line
        problem = f"{model.name} cannot run on it ({_brief(exc)})"
        raise RealSRError(f"--backend {runtime}: {problem}; use --backend torch") from None
    if backend.difference > TOLERANCE and note:
        note(f"{runtime} differs from PyTorch by {backend.difference * 255:.2f}/255 on {model.name}")
    return backend


def _auto_runtime(model: SRModel, runtimes: list[str], threads: int, note: Callable | None) -> Backend:
    """``auto`` on the CPU: the first of ``runtimes`` (``RUNTIMES``' order) within 1/255 of PyTorch and not clearly
    slower than it (``FLOOR``), else PyTorch; decided once per export, thread count and installed runtime versions
    and recorded; a note names each runtime not used and why, when it is decided."""
    from realsr_cli.models.onnx_cache import exported_onnx
    from realsr_cli.models.onnx_index import record_choice, recorded_choice

    try:
        onnx = exported_onnx(model)
    except Exception as exc:  # noqa: BLE001 - a model the exporter cannot take runs on torch
        if note:
            note(f"{model.name} cannot be exported to ONNX ({_brief(exc)}); running it on torch")
        return Backend("torch")
    key = choice_key(threads)
    choice = recorded_choice(onnx, key) if key else None
    if choice == "torch":
        return Backend("torch")
    if choice in runtimes:
        backend = _opened(model, choice, threads, onnx, note)
        if backend is not None and backend.difference <= TOLERANCE:
            return backend
    matching: list[Backend] = []
    for runtime in runtimes:
        backend = _opened(model, runtime, threads, onnx, note)
        if backend is None:
            continue
        if backend.difference > TOLERANCE:
            if note:
                note(f"{runtime} differs from PyTorch by {backend.difference * 255:.2f}/255 on {model.name}; not used")
            continue
        matching.append(backend)
    ratios = speedups(model, matching, threads) if matching else {}
    best = next((b for b in matching if ratios[b.name] >= FLOOR), Backend("torch"))
    for backend in matching:
        if ratios[backend.name] < FLOOR and note:
            note(f"{backend.name} runs {model.name} at {ratios[backend.name]:.2f}x PyTorch's speed here; not used")
    if key:
        record_choice(onnx, key, best.name)
    return best


def _opened(model: SRModel, runtime: str, threads: int, onnx: Path, note: Callable | None) -> Backend | None:
    try:
        return open_runtime(model, runtime, threads, onnx)
    except Exception as exc:  # noqa: BLE001 - a graph the runtime cannot take: the next one, or torch
        if note:
            note(f"{runtime} cannot run {model.name} ({_brief(exc)}); not used")
        return None


def speedups(model: SRModel, runtimes: list[Backend], threads: int) -> dict[str, float]:
    """Per runtime, PyTorch's time over the runtime's on one probe image, as ``upscale`` would run each (PyTorch in
    channels-last where that helps): all of them interleaved, a warm-up each, then the median of ``SPEED_ROUNDS``
    passes (what a batch of photos sees: on the 2-core machine PyTorch's passes at 256 px ranged 185-330 ms, its
    allocator faulting in fresh memory every pass, while the runtimes, reusing theirs, stayed within 10 %). The
    probe is the largest of 256, 128 and 64 px a side whose PyTorch pass stays near ``SPEED_PASS_S`` (judged on a
    64-px pass): photos are large, and at 64-128 px the runtimes' fixed costs weigh more (ONNX Runtime: 0.79x
    PyTorch at 64 px, 1.21x at 128, 0.67x at 256 on the default model); an RRDBNet is timed at 64 px, so the
    measurement stays a few seconds, once per model."""
    from realsr_cli.models.onnx_cache import size_step
    from realsr_cli.models.onnx_export import random_image

    step = size_step(model)
    module = model.module
    last = channels_last_helps(model, torch.device("cpu"))
    if last:
        module = copy.deepcopy(module).to(memory_format=torch.channels_last)
    gen = torch.Generator().manual_seed(0)

    def eager(x: torch.Tensor) -> Callable[[], object]:
        x = x.contiguous(memory_format=torch.channels_last) if last else x

        def run() -> object:
            with torch.inference_mode():
                return module(x)

        return run

    small = random_image(16 * step, 16 * step, gen)
    start = time.perf_counter()
    eager(small)()
    pass_64 = time.perf_counter() - start
    side = next((s for s in (64, 32) if pass_64 * (s / 16) ** 2 <= SPEED_PASS_S), 16)
    x = small if side == 16 else random_image(side * step, side * step, gen)
    contenders: dict[str, Callable[[], object]] = {"torch": eager(x)}
    for backend in runtimes:
        assert backend.fn is not None
        contenders[backend.name] = functools.partial(backend.fn, x)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for run in contenders.values():
        run()
    for _ in range(SPEED_ROUNDS):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    typical = {name: statistics.median(values) for name, values in times.items()}
    return {b.name: typical["torch"] / max(typical[b.name], 1e-9) for b in runtimes}


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:120]}"
