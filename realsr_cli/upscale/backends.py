"""Inference backends of ``upscale``: the function that runs a (B, C, H, W) float tensor through one model.

``torch`` is the model itself (PyTorch eager; channels-last where it helps, see :func:`channels_last_helps`).
``openvino`` and ``onnxruntime`` run the model's cached ONNX export (:mod:`realsr_cli.models.onnx_cache`) with
that runtime on the CPU, in fp32, on the thread count PyTorch was given (:mod:`realsr_cli.threads`). Both are
optional (the ``fast`` extra: ``pip install 'realsr-cli[fast]'``). ``auto``, the CLI default: PyTorch on CUDA; on
the CPU the first of openvino, onnxruntime that is installed and whose output matches PyTorch's within 1/255 on
small random images (measured once per export and runtime version, then recorded in the cache), else PyTorch,
with a one-line note when a runtime was installed but not used. The tiling/upscale engine is the same whatever
the backend: it only swaps the model function.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from realsr_cli.errors import InputError, RealSRError
from realsr_cli.models.loading import SRModel

BACKENDS = ("auto", "torch", "openvino", "onnxruntime")
RUNTIMES = ("openvino", "onnxruntime")  # auto's order of preference
TOLERANCE = 1.0 / 255.0
EXTRA = "pip install 'realsr-cli[fast]'"
_PACKAGES = {"openvino": ("openvino", "onnx"), "onnxruntime": ("onnxruntime", "onnx")}
ModelFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Backend:
    """The backend a model runs on: its name and, for a runtime, the model function (None: the torch module)."""

    name: str
    fn: ModelFn | None = None
    difference: float = 0.0  # largest |runtime - PyTorch| measured on the check images (torch itself: 0)


def check_backend_name(name: str) -> None:
    if name not in BACKENDS:
        raise InputError(f"--backend {name}: expected one of {', '.join(BACKENDS)}")


def installed(runtime: str) -> bool:
    """True when the runtime and ``onnx`` (the exporter's) are importable; nothing is imported."""
    return all(_findable(package) for package in _PACKAGES[runtime])


def _findable(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):  # a None entry in sys.modules (blocked), or a module without a spec
        return False


def require(runtime: str) -> None:
    """Import the runtime (``onnx``, for the exporter, is only looked for: importing it takes 0.5 s), else an
    ``InputError`` naming what to install."""
    for package in _PACKAGES[runtime]:
        try:
            if package == "onnx":
                if not _findable(package):
                    raise ImportError(package)
            else:
                importlib.import_module(package)
        except ImportError:
            needed = " ".join(_PACKAGES[runtime])
            raise InputError(
                f"--backend {runtime} needs the {package} package, which is not installed: {EXTRA} "
                f"(or pip install {needed}), or use --backend torch"
            ) from None


def channels_last_helps(model: SRModel, device: torch.device) -> bool:
    """Channels-last memory: on CUDA always; on the CPU for this tool's convolutional networks (oneDNN's fast
    path; 1.3-1.6x in bench_backends), not for community architectures (attention, reshapes)."""
    if device.type == "cuda":
        return True
    own = not model.arch.startswith("spandrel:")
    return own and any(isinstance(m, torch.nn.Conv2d) for m in model.module.modules())


def onnxruntime_fn(onnx: Path, threads: int) -> ModelFn:
    """ONNX Runtime (CPU execution provider) on ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])

    def run(x: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(x.detach().cpu().float().numpy())
        return torch.from_numpy(session.run(None, {"input": array})[0])

    return run


def openvino_fn(onnx: Path, threads: int, scale: int | None = None) -> ModelFn:
    """OpenVINO (CPU plugin) in fp32 (its default on bf16-capable CPUs is bf16, ~2/255 off), one stream,
    ``threads`` threads, not pinned to cores (a pinned thread cannot move off a core another job is using); the
    compiled model is cached beside the export (``openvino/``: RRDBNet compiles in 0.2 s instead of 1-2 s). With
    the model's ``scale`` (an RGB -> RGB SR model) the output is written straight into a new array (no copy of
    the request's buffer: 0.1 s for a 16 MP output)."""
    import openvino as ov

    config = {
        "CACHE_DIR": str(onnx.parent / "openvino"),
        "INFERENCE_PRECISION_HINT": "f32",
        "INFERENCE_NUM_THREADS": threads,
        "NUM_STREAMS": 1,
        "PERFORMANCE_HINT": "LATENCY",
        "ENABLE_CPU_PINNING": False,
    }
    compiled = ov.Core().compile_model(str(onnx), "CPU", config)
    request = compiled.create_infer_request()

    def run(x: torch.Tensor) -> torch.Tensor:
        array = np.ascontiguousarray(x.detach().cpu().float().numpy())
        if scale is None:
            request.infer({0: array}, share_inputs=True)
            return torch.from_numpy(request.get_output_tensor(0).data.copy())
        b, c, h, w = array.shape
        out = np.empty((b, c, h * scale, w * scale), np.float32)
        request.set_output_tensor(0, ov.Tensor(out, shared_memory=True))
        request.infer({0: array}, share_inputs=True)
        return torch.from_numpy(out)

    return run


def runtime_version(runtime: str) -> str:
    return f"{runtime} {importlib.import_module(runtime).__version__}"


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
    if runtime == "openvino":
        fn = openvino_fn(onnx, threads, model.scale if model.out_channels == model.in_channels else None)
    else:
        fn = onnxruntime_fn(onnx, threads)
    version = runtime_version(runtime)
    difference = recorded_difference(onnx, version)
    if difference is None:
        difference = max_difference(model, fn)
        record_difference(onnx, version, difference)
    return Backend(runtime, fn, difference)


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
    return _first_matching(model, available, threads, note) if available else Backend("torch")


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


def _first_matching(model: SRModel, runtimes: list[str], threads: int, note: Callable | None) -> Backend:
    """``auto`` on the CPU: the first of ``runtimes`` within 1/255 of PyTorch, else torch (with a note)."""
    from realsr_cli.models.onnx_cache import exported_onnx

    try:
        onnx = exported_onnx(model)
    except Exception as exc:  # noqa: BLE001 - a model the exporter cannot take runs on torch
        if note:
            note(f"{model.name} cannot be exported to ONNX ({_brief(exc)}); running it on torch")
        return Backend("torch")
    for runtime in runtimes:
        try:
            backend = open_runtime(model, runtime, threads, onnx)
        except Exception as exc:  # noqa: BLE001 - a graph the runtime cannot take: the next one, or torch
            if note:
                note(f"{runtime} cannot run {model.name} ({_brief(exc)}); not used")
            continue
        if backend.difference <= TOLERANCE:
            return backend
        if note:
            note(f"{runtime} differs from PyTorch by {backend.difference * 255:.2f}/255 on {model.name}; not used")
    return Backend("torch")


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:120]}"
