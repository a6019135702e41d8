"""``realsr export``: ONNX with dynamic H/W, equivalent to PyTorch under ONNX Runtime (max abs diff <= 1e-4)."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

from realsr_cli.archs import build_arch
from realsr_cli.cli.main import app
from realsr_cli.errors import InputError, OutputExistsError
from realsr_cli.models import onnx_export
from realsr_cli.models.checkpoint import save_model
from realsr_cli.models.loading import load_sr_model
from realsr_cli.models.onnx_export import OPSET, export_onnx, random_image

TINY = {
    "srvggnet-compact": {"num_feat": 8, "num_conv": 2},
    "rrdbnet": {"num_feat": 8, "num_block": 1, "num_grow_ch": 4},
}


@pytest.mark.parametrize("arch", sorted(TINY))
def test_export_matches_pytorch_at_new_sizes(tmp_path, arch) -> None:
    torch.manual_seed(0)
    net = build_arch(arch, scale=2, **TINY[arch])
    src = save_model(tmp_path / "model.pt", net, arch=arch, arch_args=TINY[arch], scale=2)
    result = export_onnx(src, tmp_path / "model.onnx", size=16)
    assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-4
    graph = onnx.load(str(tmp_path / "model.onnx"))
    assert graph.opset_import[0].version == OPSET
    assert {p.key: p.value for p in graph.metadata_props}["realsr:scale"] == "2"
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    module = load_sr_model(src).module
    x = random_image(28, 12, torch.Generator().manual_seed(5)).repeat(2, 1, 1, 1)  # batch 2, sizes never traced
    got = session.run(["output"], {"input": x.numpy()})[0]
    with torch.no_grad():
        expected = module(x).numpy()
    assert got.shape == (2, 3, 56, 24) and np.abs(got - expected).max() <= 1e-4


def test_cli_export_of_the_default_model(tmp_path) -> None:
    out, report = tmp_path / "default.onnx", tmp_path / "export.json"
    result = CliRunner().invoke(app, ["export", "default", "-o", str(out), "--json", str(report), "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["scale"] == 4 and data["opset"] == OPSET and data["max_abs_diff"] <= 1e-4
    again = CliRunner().invoke(app, ["export", "default", "-o", str(out)])
    assert again.exit_code == 1 and "exists" in again.output


def test_export_refuses_other_suffixes(tmp_path) -> None:
    with pytest.raises(InputError, match=r"must end in \.onnx"):
        export_onnx("default", tmp_path / "model.pt")


def _tiny(tmp_path):
    torch.manual_seed(0)
    net = build_arch("srvggnet-compact", scale=2, **TINY["srvggnet-compact"])
    return save_model(tmp_path / "model.pt", net, arch="srvggnet-compact", arch_args=TINY["srvggnet-compact"], scale=2)


@pytest.mark.parametrize("missing", ["onnx", "onnxruntime"])
def test_missing_onnx_packages_name_the_extra(tmp_path, monkeypatch, missing) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # ``import onnx`` now raises ImportError
    src, out = _tiny(tmp_path), tmp_path / "model.onnx"
    with pytest.raises(InputError, match=re.escape("pip install 'realsr-cli[onnx]'")):
        export_onnx(src, out, size=16)
    assert not out.exists()
    result = CliRunner().invoke(app, ["export", str(src), "-o", str(out)])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1 and "realsr-cli[onnx]" in lines[0]


def test_metadata_step_without_onnx_is_an_input_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(InputError, match=r"realsr-cli\[onnx\]"):
        onnx_export._add_metadata(tmp_path / "m.onnx", {})


def test_output_created_meanwhile_is_not_replaced(tmp_path, monkeypatch) -> None:
    out, real = tmp_path / "model.onnx", onnx_export._add_metadata

    def racing(path, meta) -> None:  # another run publishes the output while this one exports
        real(path, meta)
        out.write_bytes(b"theirs")

    monkeypatch.setattr(onnx_export, "_add_metadata", racing)
    with pytest.raises(OutputExistsError):
        export_onnx(_tiny(tmp_path), out, size=16, check=False)
    assert out.read_bytes() == b"theirs"


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_polyphase_skip_is_the_interpolation(mode, scale) -> None:
    """The exported graphs' skip (one grouped convolution before the pixel shuffle) is F.interpolate's, borders
    included, to float rounding."""
    from realsr_cli.archs.srvgg import polyphase_skip, upsample_skip

    gen = torch.Generator().manual_seed(scale)
    for height, width in ((1, 1), (2, 5), (17, 9)):
        x = torch.rand(2, 3, height, width, generator=gen)
        got = torch.nn.functional.pixel_shuffle(polyphase_skip(x, scale, mode), scale)
        assert torch.allclose(got, upsample_skip(x, scale, mode), atol=2e-6, rtol=0)


def test_a_bicubic_skip_exports_as_a_convolution_not_a_resize(tmp_path) -> None:
    torch.manual_seed(0)
    args = {"num_feat": 8, "num_conv": 2}
    net = build_arch("srvgg-bicubic", scale=4, **args)
    with torch.no_grad():
        net.body[-1].weight.normal_(0, 0.1)  # the residual init's zero last conv would hide the body
    src = save_model(tmp_path / "model.pt", net, arch="srvgg-bicubic", arch_args=args, scale=4)
    result = export_onnx(src, tmp_path / "model.onnx", size=16)
    assert result.max_abs_diff is not None and result.max_abs_diff <= 1e-4
    ops = [node.op_type for node in onnx.load(str(tmp_path / "model.onnx")).graph.node]
    assert "Resize" not in ops and ops.count("Conv") == 5  # 4 of the body, 1 for the skip
