"""The CPU runtimes of ``upscale --backend``: OpenVINO and ONNX Runtime running a model's ONNX export, on host
arrays (no torch: :mod:`realsr_cli.upscale.lean` runs them without it, :mod:`realsr_cli.upscale.backends` wraps
them for the PyTorch engine). Both are optional (the ``fast`` extra: ``pip install 'realsr-cli[fast]'``).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

from realsr_cli.errors import InputError

BACKENDS = ("auto", "torch", "openvino", "onnxruntime")
RUNTIMES = ("openvino", "onnxruntime")  # auto's order of preference
TOLERANCE = 1.0 / 255.0  # the largest difference from PyTorch a runtime may have to be auto's choice
EXTRA = "pip install 'realsr-cli[fast]'"
_PACKAGES = {"openvino": ("openvino", "onnx"), "onnxruntime": ("onnxruntime", "onnx")}
ArrayFn = Callable[[np.ndarray], np.ndarray]


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


def runtime_version(runtime: str) -> str:
    return f"{runtime} {importlib.import_module(runtime).__version__}"


def installed_versions() -> str | None:
    """The installed runtimes and their distributions' versions (``openvino 2026.4.0, onnxruntime 1.32.0``), read
    without importing them: part of the key under which ``auto``'s choice is recorded; None when an installed
    runtime's distribution cannot be named (then nothing recorded can be trusted to be about it)."""
    from importlib import metadata

    found = []
    for runtime in RUNTIMES:
        if not installed(runtime):
            continue
        try:
            found.append(f"{runtime} {metadata.version(runtime)}")
        except metadata.PackageNotFoundError:  # e.g. onnxruntime-gpu provides the module under another name
            return None
    return ", ".join(found)


def choice_key(threads: int) -> str | None:
    """The key of ``auto``'s recorded choice: the thread count and the installed runtimes' versions."""
    versions = installed_versions()
    return None if versions is None else f"{threads} thread(s); {versions or 'no runtime'}"


def onnxruntime_fn(onnx: Path, threads: int) -> ArrayFn:
    """ONNX Runtime (CPU execution provider) on ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"input": np.ascontiguousarray(x, np.float32)})[0]

    return run


def openvino_fn(onnx: Path, threads: int, scale: int | None = None) -> ArrayFn:
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

    def run(x: np.ndarray) -> np.ndarray:
        array = np.ascontiguousarray(x, np.float32)
        if scale is None:
            request.infer({0: array}, share_inputs=True)
            return request.get_output_tensor(0).data.copy()
        b, c, h, w = array.shape
        out = np.empty((b, c, h * scale, w * scale), np.float32)
        request.set_output_tensor(0, ov.Tensor(out, shared_memory=True))
        request.infer({0: array}, share_inputs=True)
        return out

    return run


def runtime_fn(runtime: str, onnx: Path, threads: int, scale: int | None = None) -> ArrayFn:
    """The model function of ``runtime`` on ``onnx`` (``scale``: see :func:`openvino_fn`)."""
    return openvino_fn(onnx, threads, scale) if runtime == "openvino" else onnxruntime_fn(onnx, threads)
