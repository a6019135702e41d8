"""``upscale --backend``: PyTorch, or the cached ONNX export run by OpenVINO / ONNX Runtime, behind one engine."""

from __future__ import annotations

import json
import re
import sys

import pytest
import torch

from realsr_cli.errors import InputError
from realsr_cli.models import onnx_cache
from realsr_cli.models.loading import SRModel
from realsr_cli.upscale import backends
from realsr_cli.upscale.backends import TOLERANCE, Backend, channels_last_helps, select_backend
from realsr_cli.upscale.pipeline import UpscaleOptions, Upscaler
from tests.conftest import synthetic_image
from tests.upscale_helpers import ConvUp, NearestUp, sr_model

CPU = torch.device("cpu")
RUNTIMES = ["openvino", "onnxruntime"]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Exports go to a fresh models cache, not the user's."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


def _toy() -> SRModel:
    return sr_model(ConvUp(scale=2, depth=3), 2)


def _block(monkeypatch, *packages: str) -> None:
    for package in packages:
        monkeypatch.setitem(sys.modules, package, None)  # ``import package`` now raises ImportError


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_missing_runtime_names_the_extra(monkeypatch, runtime) -> None:
    _block(monkeypatch, runtime)
    with pytest.raises(InputError, match=re.escape(f"--backend {runtime} needs the {runtime} package")) as info:
        select_backend(_toy(), runtime, CPU, 1)
    assert "pip install 'realsr-cli[fast]'" in str(info.value) and "--backend torch" in str(info.value)


def test_missing_onnx_exporter_is_named(monkeypatch) -> None:
    _block(monkeypatch, "onnx")
    with pytest.raises(InputError, match="needs the onnx package"):
        select_backend(_toy(), "onnxruntime", CPU, 1)


def test_cli_missing_runtime_is_one_line(cli, tmp_path, monkeypatch) -> None:
    from realsr_cli.io.images import write_image

    _block(monkeypatch, "openvino")
    write_image(tmp_path / "a.png", synthetic_image(16, 16))
    result = cli("upscale", tmp_path / "a.png", tmp_path / "out", "--backend", "openvino")
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1 and "realsr-cli[fast]" in lines[0]
    assert not (tmp_path / "out").exists()


def test_auto_without_runtimes_is_torch_silently(monkeypatch) -> None:
    _block(monkeypatch, *RUNTIMES)
    notes: list[str] = []
    assert select_backend(_toy(), "auto", CPU, 1, note=notes.append).name == "torch"
    assert notes == []


def _fake_runtimes(monkeypatch, tmp_path, difference: float, speeds: dict[str, float]) -> list[str]:
    """Both runtimes "installed", opening with ``difference``, timed at ``speeds`` x PyTorch; returns the probes."""
    timed: list[str] = []
    tmp_path.mkdir(parents=True, exist_ok=True)
    monkeypatch.setattr(backends, "installed", lambda runtime: True)
    monkeypatch.setattr(backends, "choice_key", lambda threads: f"{threads} thread(s); fake runtimes")
    monkeypatch.setattr(onnx_cache, "exported_onnx", lambda model: tmp_path / "model.onnx")
    monkeypatch.setattr(backends, "open_runtime", lambda m, runtime, t, onnx: Backend(runtime, lambda x: x, difference))

    def speedups(model, runtimes, threads):
        timed.extend(b.name for b in runtimes)
        return {b.name: speeds[b.name] for b in runtimes}

    monkeypatch.setattr(backends, "speedups", speedups)
    return timed


def test_auto_skips_a_runtime_that_differs(monkeypatch, tmp_path) -> None:
    _fake_runtimes(monkeypatch, tmp_path, 3 / 255, {"openvino": 2.0, "onnxruntime": 2.0})
    notes: list[str] = []
    assert select_backend(_toy(), "auto", CPU, 1, note=notes.append).name == "torch"
    assert len(notes) == 2 and all("3.00/255" in n and "not used" in n for n in notes)


def test_auto_takes_the_first_runtime_not_slower_than_pytorch(monkeypatch, tmp_path) -> None:
    _fake_runtimes(monkeypatch, tmp_path, 0.0, {"openvino": 1.3, "onnxruntime": 1.6})
    notes: list[str] = []
    assert select_backend(_toy(), "auto", CPU, 1, note=notes.append).name == "openvino"
    assert notes == []
    _fake_runtimes(monkeypatch, tmp_path / "other", 0.0, {"openvino": 0.5, "onnxruntime": 0.95})
    assert select_backend(_toy(), "auto", CPU, 1, note=notes.append).name == "onnxruntime"  # within timing noise
    assert notes == ["openvino runs toy at 0.50x PyTorch's speed here; not used"]


def test_auto_keeps_pytorch_when_the_runtimes_are_slower(monkeypatch, tmp_path) -> None:
    """A runtime clearly slower than PyTorch on this machine (ONNX Runtime ran the default x4 model at 0.50x
    PyTorch in one benchmark run) must not slow a run down because it is installed."""
    _fake_runtimes(monkeypatch, tmp_path, 0.0, {"openvino": 0.85, "onnxruntime": 0.5})
    notes: list[str] = []
    assert select_backend(_toy(), "auto", CPU, 1, note=notes.append).name == "torch"
    assert any("0.50x PyTorch's speed" in n for n in notes) and any("0.85x" in n for n in notes)
    assert len(notes) == 2


def test_auto_measures_once_per_thread_count(monkeypatch, tmp_path) -> None:
    timed = _fake_runtimes(monkeypatch, tmp_path, 0.0, {"openvino": 1.5, "onnxruntime": 1.7})
    assert select_backend(_toy(), "auto", CPU, 2).name == "openvino"
    assert timed == ["openvino", "onnxruntime"]
    assert select_backend(_toy(), "auto", CPU, 2).name == "openvino" and len(timed) == 2  # the recorded choice
    assert select_backend(_toy(), "auto", CPU, 1).name == "openvino" and len(timed) == 4  # another thread count


def test_speedup_times_the_runtime_against_pytorch() -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = _toy()
    ratios = backends.speedups(model, [select_backend(model, "onnxruntime", CPU, 1)], 1)
    assert list(ratios) == ["onnxruntime"] and 0.01 < ratios["onnxruntime"] < 100


def test_auto_is_torch_where_runtimes_do_not_apply(monkeypatch) -> None:
    monkeypatch.setattr(backends, "installed", lambda runtime: pytest.fail("no runtime should be looked at"))
    assert select_backend(_toy(), "auto", torch.device("cuda"), 1).name == "torch"
    assert select_backend(_toy(), "auto", CPU, 1, compiled=True).name == "torch"
    gray = SRModel(module=ConvUp(2), scale=2, name="gray", arch="toy", source="", in_channels=1, out_channels=1)
    assert select_backend(gray, "auto", CPU, 1).name == "torch"


def test_explicit_runtime_refuses_cuda_and_compile() -> None:
    with pytest.raises(InputError, match="runs on the CPU"):
        select_backend(_toy(), "openvino", torch.device("cuda"), 1)
    with pytest.raises(InputError, match="--compile is for --backend torch"):
        select_backend(_toy(), "onnxruntime", CPU, 1, compiled=True)
    with pytest.raises(InputError, match="expected one of auto, torch"):
        select_backend(_toy(), "tensorrt", CPU, 1)


def test_channels_last_where_it_helps() -> None:
    assert channels_last_helps(_toy(), CPU)
    assert not channels_last_helps(sr_model(NearestUp(2), 2), CPU)  # no convolution
    community = SRModel(module=ConvUp(2), scale=2, name="swinir", arch="spandrel:SwinIR", source="")
    assert not channels_last_helps(community, CPU) and channels_last_helps(community, torch.device("cuda"))


def test_weights_key_follows_the_weights() -> None:
    first, same, other = _toy(), _toy(), sr_model(ConvUp(scale=2, depth=3, seed=1), 2)
    assert onnx_cache.weights_key(first) == onnx_cache.weights_key(same) != onnx_cache.weights_key(other)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_runtime_matches_torch_through_the_tiled_engine(runtime) -> None:
    pytest.importorskip(runtime)
    pytest.importorskip("onnx")
    pixels = synthetic_image(40, 52)
    model = _toy()
    options = dict(tile=16, tile_pad=4, batch=2)
    reference, _ = Upscaler([model], CPU, UpscaleOptions(**options)).upscale_pixels(pixels)
    engine = Upscaler([model], CPU, UpscaleOptions(backend=runtime, threads=1, **options))
    assert engine.backends[0].name == runtime and engine.backends[0].difference <= TOLERANCE
    assert engine.backend == f"{runtime}, 1 thread"
    out, stats = engine.upscale_pixels(pixels)
    assert out.shape == reference.shape and stats["tiles"] > 1
    assert int(abs(out.astype(int) - reference.astype(int)).max()) <= 1


def test_export_and_check_happen_once(monkeypatch) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = _toy()
    first = select_backend(model, "onnxruntime", CPU, 1)
    onnx = onnx_cache.exported_onnx(model)
    record = json.loads(onnx.with_suffix(".json").read_text())
    assert list(record) == [backends.runtime_version("onnxruntime")]
    monkeypatch.setattr(onnx_cache, "trace_onnx", lambda *a, **k: pytest.fail("exported twice"))
    monkeypatch.setattr(backends, "max_difference", lambda *a: pytest.fail("checked twice"))
    again = select_backend(model, "onnxruntime", CPU, 1)
    assert again.difference == first.difference


def test_auto_with_openvino_measures_and_records_its_choice() -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("onnx")
    from realsr_cli.models.onnx_index import recorded_choice

    model = _toy()
    chosen = select_backend(model, "auto", CPU, 1).name
    key = backends.choice_key(1)
    assert key is not None and recorded_choice(onnx_cache.exported_onnx(model), key) == chosen


def test_cli_backend_in_report(cli, tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from realsr_cli.io.images import write_image

    write_image(tmp_path / "a.png", synthetic_image(24, 20))
    args = ("upscale", tmp_path / "a.png", tmp_path / "out", "-s", "4", "--threads", "1")
    result = cli(*args, "--backend", "onnxruntime", "--json", tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["backend"] == "onnxruntime, 1 thread"
    assert "(onnxruntime, 1 thread)" in result.output


def _openvino_model(monkeypatch, min_pixels: int = 20 * 20):
    pytest.importorskip("openvino")
    pytest.importorskip("onnx")
    from realsr_cli.upscale import runtimes

    monkeypatch.setattr(runtimes, "STATIC_MIN_PIXELS", min_pixels)
    model = _toy()
    return model, runtimes.OpenVinoModel(onnx_cache.exported_onnx(model), 1, scale=2)


def _torch_out(model: SRModel, x) -> torch.Tensor:
    with torch.inference_mode():
        return model.module(torch.from_numpy(x))


def test_openvino_compiles_the_first_large_shape_statically(monkeypatch) -> None:
    model, ov_model = _openvino_model(monkeypatch)
    gen = torch.Generator().manual_seed(0)
    small, large, other = (torch.rand(1, 3, h, w, generator=gen).numpy() for h, w in ((8, 10), (24, 20), (20, 28)))
    for x in (small, large, large):
        assert torch.allclose(torch.from_numpy(ov_model(x)), _torch_out(model, x), atol=1e-5)
    assert ov_model.static_shape == (1, 3, 24, 20)  # a small input first leaves the static compile to a large one
    ov_model(small)
    assert ov_model.static_shape == (1, 3, 24, 20)  # small inputs run on the any-shape model beside it
    assert torch.allclose(torch.from_numpy(ov_model(other)), _torch_out(model, other), atol=1e-5)
    assert ov_model.static_shape is None  # a second large shape: the any-shape model for good
    ov_model(large)
    assert ov_model.static_shape is None


def test_openvino_static_and_any_shape_models_agree(monkeypatch) -> None:
    model, static = _openvino_model(monkeypatch)
    _, dynamic = _openvino_model(monkeypatch, min_pixels=10**9)
    x = torch.rand(2, 3, 24, 20, generator=torch.Generator().manual_seed(1)).numpy()
    a, b = static(x), dynamic(x)
    assert static.static_shape == (2, 3, 24, 20) and dynamic.static_shape is None
    assert float(abs(a - b).max()) <= 1e-6


def test_openvino_large_exports_stay_on_the_any_shape_model(monkeypatch) -> None:
    from realsr_cli.upscale import runtimes

    _, ov_model = _openvino_model(monkeypatch)
    monkeypatch.setattr(runtimes, "STATIC_MAX_BYTES", 0)
    _, big = _openvino_model(monkeypatch)
    x = torch.rand(1, 3, 24, 20).numpy()
    ov_model(x), big(x)
    assert ov_model.static_shape == (1, 3, 24, 20) and big.static_shape is None


def test_openvino_release_frees_and_recompiles(monkeypatch) -> None:
    model, ov_model = _openvino_model(monkeypatch)
    x = torch.rand(1, 3, 24, 20).numpy()
    ov_model(x)
    ov_model.release()
    assert ov_model.static_shape is None
    assert torch.allclose(torch.from_numpy(ov_model(x)), _torch_out(model, x), atol=1e-5)
    assert ov_model.static_shape == (1, 3, 24, 20)  # as after construction: a large input compiles its shape


def test_the_torch_engine_releases_its_runtime(monkeypatch) -> None:
    pytest.importorskip("openvino")
    pytest.importorskip("onnx")
    released = []
    engine = Upscaler([_toy()], CPU, UpscaleOptions(backend="openvino", threads=1))
    monkeypatch.setattr(engine.backends[0].fn, "release", lambda: released.append(1))
    engine.release()
    assert released == [1]


def _signal_stack() -> tuple[int | None, int]:
    import ctypes

    class StackT(ctypes.Structure):
        _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int), ("ss_size", ctypes.c_size_t)]

    found = StackT()
    assert ctypes.CDLL(None).sigaltstack(None, ctypes.byref(found)) == 0
    return found.ss_sp, found.ss_size


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sigaltstack layout of Linux")
def test_openvino_models_freed_out_of_order_leave_the_signal_stack(monkeypatch) -> None:
    """Freed in another order than compiled, OpenVINO's models once left the thread on a freed signal stack (the
    next handled signal then crashed the process); the thread keeps its own."""
    before = _signal_stack()
    _, first = _openvino_model(monkeypatch)
    _, second = _openvino_model(monkeypatch)
    x = torch.rand(1, 3, 24, 20).numpy()
    first(x), second(x)  # each also compiles its static-shape model
    first.release()
    second.release()
    assert _signal_stack() == before
