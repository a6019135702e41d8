"""The camera zoo benchmark: fixed-camera presets, the ISP ops (denoise, sharpening halos), and its verdict logic."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch

from benchmarks.cameras.plan import CAMERA_DIR, HELD_OUT, cameras
from benchmarks.cameras.summary import WIN_KEYS, camera_result, lpips_fraction, read_scores, summaries
from realsr_cli.degradations.isp import unsharp_mask
from realsr_cli.degradations.pipeline import Degradation, replay
from realsr_cli.errors import PresetError

ZOO = cameras()


def _ops(name: str, seed: int, shape: tuple[int, int] = (64, 96)) -> list[dict]:
    return Degradation.from_preset(str(ZOO[name])).sample(np.random.default_rng(seed), shape, 4)["ops"]


def _step(ops: list[dict], name: str) -> dict:
    """The camera's first ``name`` step (blur, resize, noise, ...)."""
    return next(op for op in ops if op["op"] == name)


def _without_seed(op: dict) -> dict:
    return {k: v for k, v in op.items() if k not in ("seed", "quality")}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_camera_is_one_fixed_camera(name):
    """One lens, one noise law, one ISP: only noise seeds and the JPEG quality (within its range) vary per photo."""
    draws = [_ops(name, seed) for seed in range(6)]
    kinds = [op["op"] for op in draws[0]]
    assert kinds[0] == "blur" and "resize" in kinds and "noise" in kinds
    for ops in draws[1:]:
        assert [op["op"] for op in ops] == kinds  # no step is optional or a random choice
        assert [_without_seed(op) for op in ops] == [_without_seed(op) for op in draws[0]]
    blur = draws[0][0]["kernel"]
    shapes = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")
    assert "kernel_file" not in draws[0][0] and blur["type"] in shapes
    if blur["type"].endswith("aniso"):  # a fixed angle: theta given (the sampler draws it at random otherwise)
        assert "theta" in ZOO[name].read_text()
    if blur["type"].startswith(("generalized", "plateau")):  # a fixed shape: beta given
        assert "beta" in ZOO[name].read_text()
    assert _step(draws[0], "resize")["method"] in ("matlab", "area")
    qualities = {op["quality"] for ops in draws for op in ops if op["op"] == "jpeg"}
    assert qualities and min(qualities) >= 50 and max(qualities) <= 95


def _mid_sigma(op: dict) -> float:
    """Noise std at mid-grey, 0-255 scale (Poisson-Gaussian: sqrt(alpha * 255 * 0.5 + sigma^2))."""
    if op["type"] == "gaussian":
        return op["sigma"]
    return math.sqrt(op["alpha"] * 127.5 + op["sigma"] ** 2)


def test_zoo_spans_the_issue():
    ops = {name: _ops(name, 0) for name in ZOO}
    noise = {n: _step(o, "noise") for n, o in ops.items()}
    sigmas = [_mid_sigma(op) for op in noise.values()]
    kernels = [o[0]["kernel"] for o in ops.values()]
    assert len(ZOO) >= 7
    assert min(sigmas) <= 2.5 and max(sigmas) >= 25
    assert {op["type"] for op in noise.values()} >= {"gaussian", "poisson_gaussian"}
    assert any(10 <= _mid_sigma(op) <= 20 for op in noise.values() if op["type"] == "poisson_gaussian")
    assert {k["type"] for k in kernels} >= {"iso", "aniso"}
    assert any(k["type"] not in ("iso", "aniso") for k in kernels)  # a lens that is not a Gaussian
    assert {_step(o, "resize")["method"] for o in ops.values()} >= {"matlab", "area"}
    assert len({k["sigma_x"] for k in kernels if k["type"] == "iso"}) >= 3
    ranges = [re.search(r"op: jpeg, quality: \[(\d+), (\d+)\]", ZOO[n].read_text()) for n in ZOO]
    assert all(ranges)
    assert min(int(m.group(1)) for m in ranges) <= 50 and max(int(m.group(2)) for m in ranges) >= 95
    isp = [n for n, o in ops.items() if {"denoise", "sharpen"} <= {op["op"] for op in o}]
    assert isp and any(n in HELD_OUT for n in isp) and any(n not in HELD_OUT for n in isp)


def test_readme_marks_tuning_and_held_out():
    text = (CAMERA_DIR / "README.md").read_text()
    marks = dict(re.findall(r"^\| `([\w-]+)` \| (tuning|held-out) \|", text, flags=re.M))
    assert set(marks) == set(ZOO)
    assert {n for n, m in marks.items() if m == "held-out"} == set(HELD_OUT)
    assert len(HELD_OUT) >= 3 and len(ZOO) - len(HELD_OUT) >= 3
    assert list(cameras(["held-out"])) == sorted(HELD_OUT) and set(cameras(["tuning"])) == set(ZOO) - set(HELD_OUT)
    with pytest.raises(SystemExit, match="unknown camera"):
        cameras(["no-such-camera"])


def _edge(h: int = 16, w: int = 32, lo: float = 0.2, hi: float = 0.8) -> torch.Tensor:
    x = torch.full((1, 3, h, w), lo)
    x[..., w // 2 :] = hi
    return x


def test_sharpen_makes_halos_at_an_edge():
    x = _edge()
    y = Degradation({"name": "t", "steps": []}).apply_op(x, {"op": "sharpen", "radius": 1.0, "amount": 1.0})
    row = y[0, 0, 8]
    assert row[15] < 0.2 - 0.05 and row[16] > 0.8 + 0.05  # dark and light overshoot on either side
    assert torch.allclose(row[:10], torch.tensor(0.2)) and torch.allclose(row[-10:], torch.tensor(0.8))
    assert torch.equal(unsharp_mask(x, 1.0, 1.0, threshold=200.0), x)  # nothing exceeds a huge threshold


@pytest.mark.parametrize(
    "op",
    [
        {"op": "denoise", "method": "bilateral", "sigma_color": 40.0, "sigma_space": 1.5, "diameter": 7},
        {"op": "denoise", "method": "nlm", "h": 15.0, "h_color": 15.0},
        {"op": "denoise", "method": "gaussian", "sigma": 1.5},
    ],
)
def test_denoise_reduces_noise(op):
    gen = torch.Generator().manual_seed(0)
    noisy = (0.5 + torch.randn((1, 3, 48, 48), generator=gen) * 10 / 255).clamp(0, 1)
    out = Degradation({"name": "t", "steps": []}).apply_op(noisy, op)
    assert out.shape == noisy.shape
    assert float(out.std()) < 0.5 * float(noisy.std())
    assert abs(float(out.mean()) - 0.5) < 0.01


def test_bilateral_keeps_edges_that_gaussian_smears():
    x = _edge(lo=0.1, hi=0.9)
    d = Degradation({"name": "t", "steps": []})
    bil = d.apply_op(x, {"op": "denoise", "method": "bilateral", "sigma_color": 20, "sigma_space": 2, "diameter": 9})
    gau = d.apply_op(x, {"op": "denoise", "method": "gaussian", "sigma": 2.0})
    assert float((bil - x).abs().max()) < 0.02 < float((gau - x).abs().max())


def test_isp_steps_are_recorded_and_replay(tmp_path):
    preset = {
        "name": "isp",
        "steps": [
            {"op": "resize", "size": "lr", "method": "matlab"},
            {"op": "noise", "type": "gaussian", "sigma": 8.0},
            {"op": "denoise", "method": "bilateral", "sigma_color": [20, 30], "sigma_space": 1.2},
            {"op": "sharpen", "radius": 1.0, "amount": [0.5, 1.0]},
        ],
    }
    x = _edge(64, 64)
    deg = Degradation.from_preset(preset)
    params = json.loads(json.dumps(deg.sample(np.random.default_rng(3), x.shape, 2)))
    den, sharp = params["ops"][2], params["ops"][3]
    assert den["method"] == "bilateral" and 20 <= den["sigma_color"] <= 30 and den["diameter"] == 7
    assert 0.5 <= sharp["amount"] <= 1.0 and sharp["threshold"] == 0.0
    assert torch.equal(replay(x, params), deg.apply(x, params))
    with pytest.raises(PresetError, match="unknown denoise method"):
        Degradation.from_preset({"name": "bad", "steps": [{"op": "denoise", "method": "median"}]}).sample(
            np.random.default_rng(0), (8, 8), 1
        )


def _score_file(tmp_path, name: str, psnr: float, ssim: float, lpips: float | None):
    images = [
        {"name": f"{i}.png", "psnr": psnr + d, "ssim": ssim, "lpips": None if lpips is None else lpips + d / 10}
        for i, d in enumerate((-0.5, 0.5))
    ]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"images": images}))
    return path


def _rows(tmp_path, learned: tuple[float, float] | None, camera_lpips: float = 0.30) -> dict:
    values = {
        "bicubic": (24.0, 0.60, 0.70),
        "bicubic-trained": (23.5, 0.55, 0.60),
        "generic-trained": (24.5, 0.65, 0.45),
        "realesrgan-trained": (24.8, 0.66, 0.40),
        "camera": (26.0, 0.75, camera_lpips),
    }
    if learned is not None:
        values["learned"] = (learned[0], 0.7, learned[1])
    rows = {way: read_scores(_score_file(tmp_path, way, *v)) for way, v in values.items()}
    return {**rows, "learned": rows.get("learned")}


def test_summary_fraction_and_wins(tmp_path):
    good = camera_result("phone", _rows(tmp_path, (25.0, 0.36)))
    assert good["rows"]["learned"]["psnr"] == pytest.approx(25.0)
    assert good["lpips_fraction"] == pytest.approx((0.60 - 0.36) / (0.60 - 0.30))
    assert all(good["wins"][k] for k in WIN_KEYS)
    meh = camera_result("webcam", _rows(tmp_path, (23.9, 0.42)))  # below bicubic PSNR, above the best recipe LPIPS
    assert meh["held_out"] and meh["lpips_fraction"] == pytest.approx(0.6)
    assert meh["wins"] == {
        "psnr>bicubic": False,
        "lpips<bicubic": True,
        "psnr>bicubic-trained": True,
        "lpips<bicubic-trained": True,
        "lpips<best-recipe": False,
    }
    failed = camera_result("night", _rows(tmp_path, None), error="realsr make-pairs: no noise patches")
    assert failed["lpips_fraction"] == 0.0 and not any(failed["wins"].values())
    tiny_gap = camera_result("studio", _rows(tmp_path, (25.0, 0.55), camera_lpips=0.598))
    assert tiny_gap["lpips_fraction"] is None

    groups = summaries([good, meh, failed, tiny_gap])
    assert groups["all"]["cameras"] == 4 and groups["all"]["learned_failed"] == 1
    assert groups["all"]["wins"]["lpips<best-recipe"] == 1  # only "good" beats realesrgan's 0.40
    assert groups["all"]["mean_lpips_fraction"] == pytest.approx((0.8 + 0.6 + 0.0) / 3)
    assert groups["all"]["fraction_cameras"] == 3
    assert groups["held-out"]["cameras"] == 1 and groups["tuning"]["beats_bicubic_and_b_in_psnr_and_lpips"] == 2


def test_lpips_fraction_edge_cases():
    assert lpips_fraction(0.6, 0.6, 0.3) == 0.0
    assert lpips_fraction(0.6, 0.7, 0.3) == pytest.approx(-1 / 3)
    assert lpips_fraction(0.6, 0.3, 0.3) == 1.0
    assert lpips_fraction(None, 0.3, 0.3) is None and lpips_fraction(0.3, 0.2, 0.31) is None


def test_zoo_truth_follows_the_camera_downscale():
    """A zoo camera's true x4 kernel is its lens convolved with *its* downscale: a box sensor is not bicubic."""
    from benchmarks.bench_camera_kernel import downscale_x4_weights, x4_kernel_of, zoo_truth
    from realsr_cli.degradations import kernel_centre
    from realsr_cli.degradations.kernels import make_kernel

    box, bicubic = downscale_x4_weights("area"), downscale_x4_weights("matlab")
    assert box.sum() == pytest.approx(1) and bicubic.sum() == pytest.approx(1)
    assert np.count_nonzero(box > 1e-12) == 16 and np.allclose(box[box > 1e-12], 1 / 16)
    assert np.count_nonzero(np.abs(bicubic) > 1e-12) == 16 * 16 and bicubic.min() < 0  # the cubic's negative lobes
    cameras_ = {name: Degradation.from_preset(str(path)) for name, path in ZOO.items()}
    for camera in cameras_.values():
        truth = zoo_truth(camera)
        assert truth.sum() == pytest.approx(1, abs=1e-3) and np.abs(kernel_centre.centre_offset(truth, 4)).max() < 0.01
    area = next(n for n in ZOO if _step(_ops(n, 0), "resize")["method"] == "area")
    lens = make_kernel(cameras_[area].config["steps"][0]["kernel"])
    assert np.allclose(zoo_truth(cameras_[area]), x4_kernel_of(lens, "area"))
    assert not np.allclose(x4_kernel_of(lens, "area"), x4_kernel_of(lens), atol=1e-3)
