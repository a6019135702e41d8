"""The CPU runtimes of ``upscale --backend``: OpenVINO and ONNX Runtime running a model's ONNX export, on host
arrays (no torch: :mod:`realsr_cli.upscale.lean` runs them without it, :mod:`realsr_cli.upscale.backends` wraps
them for the PyTorch engine). Both are optional (the ``fast`` extra: ``pip install 'realsr-cli[fast]'``).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


@contextlib.contextmanager
def kept_signal_stack() -> Iterator[None]:
    """Put the calling thread's alternate signal stack back after the block (Linux; elsewhere a no-op).

    OpenVINO's CPU plugin (2026.4) installs a signal stack of its own on the thread that compiles a model and, when
    the model is freed, reinstates the one it found. Freed in another order than compiled (A, B compiled; A, then
    B freed), the thread is left on A's freed stack, and the next signal with a handler (Ctrl-C's SIGINT, a child's
    SIGCHLD where one is handled) kills the process with SIGSEGV: the test suite crashed this way in a child's
    exit. Restored after every compile, each model finds (and reinstates) the thread's own stack."""
    if not sys.platform.startswith("linux"):
        yield
        return
    import ctypes

    class StackT(ctypes.Structure):
        _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int), ("ss_size", ctypes.c_size_t)]

    libc = ctypes.CDLL(None, use_errno=True)
    found = StackT()
    saved = libc.sigaltstack(None, ctypes.byref(found)) == 0
    try:
        yield
    finally:
        if saved:
            libc.sigaltstack(ctypes.byref(found), None)


STATIC_MIN_PIXELS = 512 * 512  # from this input size on, a model compiled for the input's own shape ...
STATIC_MAX_BYTES = 16 << 20  # ... of an export up to this size (its compile is cheap: 0.07 s for the default model)


class OpenVinoModel:
    """An export on OpenVINO's CPU plugin in fp32 (its default on bf16-capable CPUs is bf16, ~2/255 off), one
    stream, ``threads`` threads, not pinned to cores (a pinned thread cannot move off a core another job is
    using). Called on (B, C, h, w) float32 arrays.

    - The model is compiled for any shape at once (an export the runtime cannot open fails here), cached beside
      the export (``openvino/``: RRDBNet compiles in 0.2 s instead of 1-2 s).
    - The first input of at least ``STATIC_MIN_PIXELS`` pixels on an export of at most ``STATIC_MAX_BYTES`` runs
      on a second compile for exactly its shape (not cached: one entry per photo size would pile up). With static
      shapes OpenVINO plans its buffers ahead and shares them: a 1024 x 1024 photo on the default model faults in
      540 instead of 760 MB on its first call, 0.55 s of a 3.4 s first call on the 2-core EPYC (the warm calls
      and the outputs are the same, bit for bit). Another large shape later goes to the any-shape model for good (the
      static one is released: one compiled model per shape would pay its own first call and memory); smaller
      inputs (probes, small photos) always run on the any-shape model.
    - With the model's ``scale`` (an RGB -> RGB SR model) the output is written straight into a new array (no copy
      of the request's buffer: 0.1 s for a 16 MP output).
    - :meth:`release` frees the compiled models and their buffers (later calls compile again). While they are
      held, other work of the process ran 3-4x slower on the build machine (a PNG of a 16 MP output: 0.4-0.5 s
      against 0.11-0.15 s once released), so the batch driver releases the engine before its last write.
    """

    def __init__(self, onnx: Path, threads: int, scale: int | None = None) -> None:
        import openvino as ov

        self._ov = ov
        self.onnx, self.scale = onnx, scale
        self.config = {
            "INFERENCE_PRECISION_HINT": "f32",
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            "ENABLE_CPU_PINNING": False,
        }
        self._any_shape = self._compile_any_shape()
        self._static: tuple[tuple[int, ...], Any] | None = None
        self._small_export = onnx.stat().st_size <= STATIC_MAX_BYTES
        self._static_allowed = self._small_export
        self.static_min_pixels = STATIC_MIN_PIXELS

    def _compile_any_shape(self) -> Any:
        config = {**self.config, "CACHE_DIR": str(self.onnx.parent / "openvino")}
        with kept_signal_stack():
            return self._ov.Core().compile_model(str(self.onnx), "CPU", config).create_infer_request()

    def _request(self, shape: tuple[int, ...]) -> Any:
        if self._static is not None and self._static[0] == shape:
            return self._static[1]
        large = shape[2] * shape[3] >= self.static_min_pixels
        if large and self._static is None and self._static_allowed:
            core = self._ov.Core()
            model = core.read_model(str(self.onnx))
            model.reshape(list(shape))
            with kept_signal_stack():
                self._static = (shape, core.compile_model(model, "CPU", self.config).create_infer_request())
            return self._static[1]
        if large:  # a second large shape: the any-shape model from now on
            self._static_allowed = False
            with kept_signal_stack():
                self._static = None
        if self._any_shape is None:
            self._any_shape = self._compile_any_shape()
        return self._any_shape

    @property
    def static_shape(self) -> tuple[int, ...] | None:
        """The input shape the static-shape model was compiled for (None when there is none)."""
        return None if self._static is None else self._static[0]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        array = np.ascontiguousarray(x, np.float32)
        request = self._request(tuple(array.shape))
        if self.scale is None:
            request.infer({0: array}, share_inputs=True)
            return request.get_output_tensor(0).data.copy()
        b, c, h, w = array.shape
        out = np.empty((b, c, h * self.scale, w * self.scale), np.float32)
        request.set_output_tensor(0, self._ov.Tensor(out, shared_memory=True))
        request.infer({0: array}, share_inputs=True)
        return out

    def release(self) -> None:
        """Free both compiled models and their buffers; later calls compile again, as after construction."""
        with kept_signal_stack():
            self._any_shape, self._static, self._static_allowed = None, None, self._small_export


def openvino_fn(onnx: Path, threads: int, scale: int | None = None) -> ArrayFn:
    """The model function of ``onnx`` on OpenVINO (see :class:`OpenVinoModel`)."""
    return OpenVinoModel(onnx, threads, scale)


def runtime_fn(runtime: str, onnx: Path, threads: int, scale: int | None = None) -> ArrayFn:
    """The model function of ``runtime`` on ``onnx`` (``scale``: see :func:`openvino_fn`)."""
    return openvino_fn(onnx, threads, scale) if runtime == "openvino" else onnxruntime_fn(onnx, threads)
