"""The lean ``upscale`` engine: a CPU runtime on a model file's recorded export, without torch, giving the PyTorch
engine's exact output; and every case where it must leave the run to the PyTorch engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from realsr_cli.archs import build_arch
from realsr_cli.io.images import read_image, write_image
from realsr_cli.models.cache import sha256_of
from realsr_cli.models.checkpoint import save_model
from realsr_cli.models.onnx_index import FileExport, find_file_export, record_difference, save_file_export
from realsr_cli.models.specs import DEFAULT_ENV, default_model_path
from realsr_cli.upscale import lean
from realsr_cli.upscale.auto_denoise import build_upscaler
from realsr_cli.upscale.engine import output_problem
from realsr_cli.upscale.lean import LeanUpscaler, lean_upscaler
from realsr_cli.upscale.options import UpscaleOptions
from realsr_cli.upscale.runtimes import runtime_version
from realsr_cli.upscale.tiling import activation_bytes_per_pixel
from tests.conftest import REPO, synthetic_image

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")
CPU = torch.device("cpu")
TORCH_IMPORT = re.compile(r"\|\s+torch$", re.MULTILINE)  # `python -X importtime`'s line for `import torch`
RUNTIME = "onnxruntime"  # in the dev install (OpenVINO is the `fast` extra's first choice, tested where installed)


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Exports and their records go to a fresh models cache, not the user's; no GPU in sight."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv(DEFAULT_ENV, raising=False)
    monkeypatch.setattr(lean, "gpu_present", lambda: False)


def _model_file(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    net = build_arch("srvggnet-compact", scale=2, num_feat=8, num_conv=2).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))  # a non-trivial model: its output depends on every weight
    path = folder / f"model{seed}.pt"
    save_model(path, net, arch="srvggnet-compact", arch_args={"num_feat": 8, "num_conv": 2}, scale=2)
    return path


def _options(**kw) -> UpscaleOptions:
    return UpscaleOptions(backend=RUNTIME, **kw)


def _recorded(path: Path, **kw):
    """The PyTorch engine on the runtime (its first run on a model records the export), for ``path``."""
    return build_upscaler(str(path), CPU, _options(**kw))


IMAGES = {
    "rgb": synthetic_image(21, 34),
    "gray": synthetic_image(20, 18, channels=1),
    "gray+alpha": synthetic_image(17, 22, channels=2),
    "rgba": synthetic_image(19, 25, channels=4),
    "rgb16": synthetic_image(18, 20, dtype=np.uint16),
}


@pytest.mark.parametrize("kind", IMAGES)
@pytest.mark.parametrize("tiling", [{}, {"tile": 8, "tile_pad": 3}, {"tile": 8, "tile_pad": 3, "batch": 3}])
def test_lean_engine_equals_the_pytorch_engine(tmp_path, kind, tiling) -> None:
    path = _model_file(tmp_path)
    torch_engine = _recorded(path, **tiling)
    assert torch_engine.backends[0].name == RUNTIME
    engine = lean_upscaler(str(path), _options(**tiling), "cpu", 1)
    assert isinstance(engine, LeanUpscaler) and engine.backend == f"{RUNTIME}, 1 thread"
    pixels = IMAGES[kind]
    expected, expected_stats = torch_engine.upscale_pixels(pixels)
    got, stats = engine.upscale_pixels(pixels)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got, expected)
    assert {k: stats[k] for k in ("tile", "tiles", "precision")} == {
        k: expected_stats[k] for k in ("tile", "tiles", "precision")
    }
    assert stats["color_shift"] == pytest.approx(expected_stats["color_shift"], abs=1e-3)
    assert engine.expected_tiles(pixels) == torch_engine.expected_tiles(pixels)


def test_the_record_names_the_export_and_follows_the_file(tmp_path) -> None:
    path = _model_file(tmp_path)
    assert lean_upscaler(str(path), _options(), "cpu", 1) is None  # no PyTorch run on this model yet
    engine = _recorded(path)
    record = find_file_export(sha256_of(path))
    assert record is not None and record.onnx_path.is_file()
    assert (record.arch, record.scale, record.in_channels, record.context) == ("srvggnet-compact", 2, 3, 0)
    assert record.bytes_per_pixel == pytest.approx(activation_bytes_per_pixel(engine.models[0].module, 3))
    assert lean_upscaler(str(path), _options(), "cpu", 1) is not None
    assert lean_upscaler(str(tmp_path), _options(), "cpu", 1) is None  # a folder without model.pt
    path.write_bytes(_model_file(tmp_path, seed=1).read_bytes())  # the same file name, other weights
    assert lean_upscaler(str(path), _options(), "cpu", 1) is None


@pytest.mark.parametrize(
    "change",
    [
        {"options": {"tta": True}},
        {"options": {"color_fix": True}},
        {"options": {"outscale": 3.0}},
        {"options": {"alpha": "bicubic"}},
        {"options": {"fusion": "luminance"}},
        {"options": {"precision": "fp16"}},
        {"options": {"compile": True}},
        {"options": {"scale": 4}},
        {"backend": "torch"},
        {"device": "cuda"},
        {"gpu": True},
        {"denoise": "0.5"},
        {"interpolate": "other.pt"},
        {"ensemble": ("other.pt",)},
    ],
)
def test_what_needs_torch_goes_to_the_pytorch_engine(tmp_path, monkeypatch, change) -> None:
    path = _model_file(tmp_path)
    _recorded(path)
    options = UpscaleOptions(backend=change.get("backend", RUNTIME), **change.get("options", {}))
    if change.get("gpu"):
        monkeypatch.setattr(lean, "gpu_present", lambda: True)
    extra = {k: change[k] for k in ("denoise", "interpolate", "ensemble") if k in change}
    assert lean_upscaler(str(path), options, change.get("device", "auto"), 1, **extra) is None
    assert lean_upscaler(str(path), _options(outscale=2.0), "cpu", 1) is not None  # --outscale = the model's


def test_a_runtime_off_by_more_than_1_255_is_left_to_the_pytorch_engine(tmp_path) -> None:
    path = _model_file(tmp_path)
    _recorded(path)
    record = find_file_export(sha256_of(path))
    assert record is not None
    record_difference(record.onnx_path, runtime_version(RUNTIME), 2.0 / 255.0)
    assert lean_upscaler(str(path), _options(), "cpu", 1) is None


def test_a_builtin_name_is_lean_only_where_it_ran_without_a_per_photo_strength(tmp_path, monkeypatch) -> None:
    """x2's ``default`` estimates each photo's strength (``--denoise auto``); with ``$REALSR_DEFAULT_MODEL`` set it
    does not. A record made in that setting must not make the same file lean without it."""
    shipped = default_model_path(2)
    onnx = tmp_path / "torch" / "hub" / "checkpoints" / "realsr-onnx" / "x.onnx"
    onnx.parent.mkdir(parents=True)
    onnx.write_bytes(b"not read here")
    record = FileExport("x.onnx", "srvggnet-compact", 2, 3, 3, 0, 100.0, plain=[f"default@2+${DEFAULT_ENV}"])
    save_file_export(sha256_of(shipped), record)
    record_difference(onnx, runtime_version(RUNTIME), 0.0)
    assert lean_upscaler("default", _options(scale=2), "cpu", 1) is None
    monkeypatch.setattr(lean, "runtime_fn", lambda *a: lambda x: x)
    monkeypatch.setenv(DEFAULT_ENV, str(shipped))
    assert lean_upscaler("default", _options(scale=2), "cpu", 1) is not None


def test_x2_default_with_its_per_photo_strength_records_nothing(tmp_path) -> None:
    engine = build_upscaler("default", CPU, _options(scale=2))
    assert type(engine).__name__ == "AutoDenoiseUpscaler"
    assert find_file_export(sha256_of(default_model_path(2))) is None


def test_unusable_outputs_are_named() -> None:
    bright = np.full((1, 3, 4, 4), 0.5, np.float32)
    assert output_problem(np.full((1, 3, 8, 8), np.nan, np.float32), bright) == "NaN/inf"
    assert output_problem(np.zeros((1, 3, 8, 8), np.float32), bright) == "black"
    assert output_problem(np.zeros((1, 3, 8, 8), np.float32), np.zeros_like(bright)) is None
    assert output_problem(bright, bright) is None


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-X", "importtime", "-m", "realsr_cli", "upscale", *args, "-q"]
    return subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, check=False)


def test_a_one_photo_upscale_does_not_import_torch_once_the_export_is_recorded(tmp_path) -> None:
    path = _model_file(tmp_path)
    photo = tmp_path / "photo.png"
    write_image(photo, synthetic_image(24, 30))
    env = {**os.environ, "TORCH_HOME": str(tmp_path / "torch"), "REALSR_BACKEND": RUNTIME, "REALSR_THREADS": "1"}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    first = _run([str(photo), str(tmp_path / "first.png"), "-m", str(path), "--device", "cpu"], env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert TORCH_IMPORT.search(first.stderr)  # the first run on a model: the PyTorch engine exports and records it
    report = tmp_path / "lean.json"
    second = _run(
        [str(photo), str(tmp_path / "lean.png"), "-m", str(path), "--device", "cpu", "--json", str(report)], env
    )
    assert second.returncode == 0, second.stderr[-2000:]
    assert not TORCH_IMPORT.search(second.stderr)
    assert np.array_equal(read_image(tmp_path / "lean.png").pixels, read_image(tmp_path / "first.png").pixels)
    assert read_image(tmp_path / "lean.png").meta.text == read_image(tmp_path / "first.png").meta.text
    assert json.loads(report.read_text())["backend"] == f"{RUNTIME}, 1 thread"


def test_an_export_the_runtime_cannot_open_is_left_to_the_pytorch_engine(tmp_path) -> None:
    path = _model_file(tmp_path)
    _recorded(path)
    record = find_file_export(sha256_of(path))
    assert record is not None
    record.onnx_path.write_bytes(b"not an onnx file")
    assert lean_upscaler(str(path), _options(), "cpu", 1) is None


def test_auto_follows_the_recorded_choice(tmp_path) -> None:
    """``--backend auto`` is lean only where the PyTorch engine measured a runtime faster than PyTorch (for this
    thread count and these installed runtimes); where PyTorch won, the PyTorch engine runs."""
    from realsr_cli.models.onnx_index import record_choice
    from realsr_cli.upscale.runtimes import choice_key

    path = _model_file(tmp_path)
    _recorded(path)
    record = find_file_export(sha256_of(path))
    key = choice_key(1)
    assert record is not None and key is not None
    auto = UpscaleOptions(backend="auto")
    assert lean_upscaler(str(path), auto, "cpu", 1) is None  # not measured yet
    record_choice(record.onnx_path, key, "torch")
    assert lean_upscaler(str(path), auto, "cpu", 1) is None
    record_choice(record.onnx_path, key, RUNTIME)
    engine = lean_upscaler(str(path), auto, "cpu", 1)
    assert engine is not None and engine.backend == f"{RUNTIME}, 1 thread"
    assert lean_upscaler(str(path), auto, "cpu", 2) is None  # another thread count: not measured


def test_the_batch_releases_the_engine_before_its_last_write(tmp_path, monkeypatch) -> None:
    """The runtime's memory is freed after the last model pass, before the last output is written."""
    from realsr_cli.upscale import files

    events: list[str] = []

    class Fn:
        def __call__(self, x):
            events.append("pass")
            return x.repeat(2, axis=2).repeat(2, axis=3)

        def release(self):
            events.append("release")

    for name in ("a", "b"):
        write_image(tmp_path / "in" / f"{name}.png", synthetic_image(12, 10))
    model = lean.LeanModel("toy", "toy", 2, 0)
    engine = lean.LeanUpscaler(model, Fn(), "openvino", 1, UpscaleOptions(), 100.0)
    written = files.write_image

    def write(path, *args, **kwargs):
        events.append(f"write {Path(path).name}")
        return written(path, *args, **kwargs)

    monkeypatch.setattr(files, "write_image", write)
    report = files.upscale_files(tmp_path / "in", tmp_path / "out", engine, quiet=True)
    assert not report.failures and len(report.results) == 2
    assert events.count("release") == 1
    assert events.index("release") > max(i for i, e in enumerate(events) if e == "pass")
    assert events.index("release") < events.index("write b.png")
