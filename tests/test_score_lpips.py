"""LPIPS wrapper: equals the lpips package run its own way, and the official values of the calibration pairs."""

from __future__ import annotations

import warnings

import pytest
import torch

from realsr_cli.errors import WeightsNotFoundError
from realsr_cli.metrics import LPIPS
from realsr_cli.metrics.perceptual import _load_backbone, find_backbone
from realsr_cli.scoring import load_unit
from tests.conftest import synthetic_image

OFFICIAL = {"I03": 0.7237, "I04": 0.2572, "I06": 0.0508, "I08": 0.0521, "I19": 0.4253}  # VALUES.md, LPIPS-alex v0.1


@pytest.fixture(scope="module")
def alex_weights():
    from tests.conftest import SHARED

    path = SHARED / "weights" / "alexnet-features.pth"
    if not path.is_file():
        pytest.skip("../shared/weights/alexnet-features.pth missing")
    return path


@pytest.fixture(scope="module")
def metric(alex_weights):
    return LPIPS("alex", weights=alex_weights)


def _reference_lpips(alex_weights):
    """The lpips package with a torchvision AlexNet whose modules replace its slices; it scales [0,1] itself."""
    import lpips
    import torchvision

    tv = torchvision.models.alexnet(weights=None)
    tv.load_state_dict(torch.load(alex_weights, map_location="cpu", weights_only=True), strict=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
    for slice_ in (model.net.slice1, model.net.slice2, model.net.slice3, model.net.slice4, model.net.slice5):
        for name in list(slice_._modules):
            slice_._modules[name] = tv.features[int(name)]
    return model.eval()


def test_equals_lpips_package(metric, alex_weights):
    ref = _reference_lpips(alex_weights)
    a = torch.from_numpy(synthetic_image(48, 64, seed=1)).permute(2, 0, 1)[None].float() / 255
    b = torch.from_numpy(synthetic_image(48, 64, seed=2)).permute(2, 0, 1)[None].float() / 255
    x, y = torch.cat([a, b]), torch.cat([b, b * 0.9])
    with torch.no_grad():
        expected = ref(x, y, normalize=True).flatten()
    got = metric(x, y)
    assert got.shape == (2,)
    assert torch.allclose(got.float(), expected, atol=1e-6)
    assert metric(a, a).item() == pytest.approx(0.0, abs=1e-7)


def test_official_calibration_values(metric, shared_dir):
    cal = shared_dir / "data" / "calibration"
    for name, value in OFFICIAL.items():
        d, r = load_unit(cal / "dist" / f"{name}.bmp"), load_unit(cal / "ref" / f"{name}.bmp")
        assert metric(d, r).item() == pytest.approx(value, abs=1e-4), name


def test_missing_or_wrong_backbone_is_clear(tmp_path, monkeypatch, metric):
    monkeypatch.setenv("REALSR_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("REALSR_LPIPS_BACKBONE", raising=False)
    with pytest.raises(WeightsNotFoundError, match=r"alexnet-owt-7be5be79\.pth.*--lpips-weights"):
        LPIPS("alex")
    bad = tmp_path / "bad.pth"
    torch.save({"x": torch.zeros(1)}, bad)
    with pytest.raises(WeightsNotFoundError, match="not a torchvision backbone"):
        _load_backbone(metric.model, bad)


def test_backbone_from_environment_variable(alex_weights, monkeypatch):
    monkeypatch.setenv("REALSR_LPIPS_BACKBONE", str(alex_weights))
    assert find_backbone("alex") == alex_weights
