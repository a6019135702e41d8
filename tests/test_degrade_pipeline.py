"""Degradation recipes: sampling ranges per preset, determinism, and exact replay of recorded params."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.io import savemat

from realsr_cli.degradations.kernel_centre import recentre
from realsr_cli.degradations.kernels import blur_subsample, gaussian_kernel
from realsr_cli.degradations.noise import inject_noise, load_noise_patch
from realsr_cli.degradations.pipeline import Degradation
from realsr_cli.degradations.resize import imresize
from realsr_cli.errors import InputError, PresetError
from realsr_cli.io.images import write_image
from tests.conftest import synthetic_image

HR = torch.from_numpy(synthetic_image(32, 48, seed=7)).permute(2, 0, 1)[None].float() / 255


@pytest.fixture
def kernel_noise_dirs(tmp_path):
    kdir, ndir = tmp_path / "kernels", tmp_path / "noise"
    kdir.mkdir()
    ndir.mkdir()
    savemat(kdir / "a_kernel_x4.mat", {"Kernel": gaussian_kernel(13, 1.2, 2.0, 0.3)})
    np.save(kdir / "b_kernel_x4.npy", gaussian_kernel(13, 2.2))
    for i in range(2):
        write_image(ndir / f"n{i}.png", synthetic_image(6, 5, seed=10 + i))
    return kdir, ndir


@pytest.mark.parametrize("name", ["bicubic", "generic", "realesrgan", "mild", "default-mix"])
def test_same_seed_same_output_and_json_replay(name):
    deg = Degradation.from_preset(name)
    for seed in range(4):
        params = deg.sample(np.random.default_rng(seed), HR.shape, 4)
        assert params == deg.sample(np.random.default_rng(seed), HR.shape, 4)
        out = deg.apply(HR, params)
        assert out.shape == (1, 3, 8, 12)
        replay = Degradation.from_preset(name).apply(HR, json.loads(json.dumps(params)))
        assert torch.equal(out, replay)
    a = deg.apply(HR, deg.sample(np.random.default_rng(100), HR.shape, 4))
    b = deg.apply(HR, deg.sample(np.random.default_rng(101), HR.shape, 4))
    assert torch.equal(a, b) == (name == "bicubic")  # only bicubic has nothing random


def test_bicubic_preset_is_matlab_imresize():
    deg = Degradation.from_preset("bicubic")
    params = deg.sample(np.random.default_rng(0), HR.shape, 2)
    assert params["lr_shape"] == [16, 24]
    assert torch.equal(deg.apply(HR, params), imresize(HR, scale=0.5))


def test_generic_preset_ranges():
    deg = Degradation.from_preset("generic")
    methods, noises = set(), set()
    for seed in range(200):
        ops = deg.sample(np.random.default_rng(seed), (64, 64), 4)["ops"]
        blur, down, noise = ops
        k = blur["kernel"]
        assert k["type"] == "iso" and k["size"] == 15 and 0.2 <= k["sigma_x"] <= 3.0
        assert down["size"] == [16, 16]
        methods.add(down["method"])
        noises.add(noise["type"])
        if noise["type"] == "gaussian":
            assert 0 <= noise["sigma"] <= 25
        elif noise["type"] == "poisson":
            assert 50 <= noise["peak"] <= 150
        else:
            assert 0 <= noise["sigma"] <= 5 and noise["alpha"] == 1.0
    assert methods == {"nearest", "bilinear", "bicubic", "lanczos"}
    assert noises == {"gaussian", "poisson", "poisson_gaussian"}


def test_realesrgan_preset_structure():
    deg = Degradation.from_preset("realesrgan")
    kinds, sincs, orders = set(), 0, set()
    for seed in range(300):
        params = deg.sample(np.random.default_rng(seed), (64, 64), 4)
        ops = params["ops"]
        assert ops[0]["op"] == "blur" and ops[-1] == {"op": "quantize", "levels": 255}
        kinds.add(ops[0]["kernel"]["type"])
        k = ops[0]["kernel"]
        assert k["size"] in range(7, 22, 2) and k.get("pad_to") == 21
        if k["type"] != "sinc":
            assert 0.2 <= k["sigma_x"] <= 3
        first_resize = ops[1]
        assert first_resize["op"] == "resize" and first_resize["method"] in ("area", "bilinear", "bicubic")
        assert 64 * 0.15 - 1 <= first_resize["size"][0] <= 64 * 1.5
        jpegs = [o["quality"] for o in ops if o["op"] == "jpeg"]
        assert len(jpegs) == 2 and all(30 <= q <= 95 for q in jpegs)
        assert [o for o in ops if o["op"] == "resize"][-1]["size"] == [16, 16]
        sincs += any(o["op"] == "blur" and o["kernel"]["type"] == "sinc" for o in ops[-4:])
        orders.add(ops[-2]["op"])
    assert kinds == {"iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso", "sinc"}
    assert 0.7 < sincs / 300 < 0.9  # final_sinc_prob 0.8
    assert orders == {"jpeg", "blur", "resize"}
    out = deg.apply(HR, deg.sample(np.random.default_rng(3), HR.shape, 4))
    torch.testing.assert_close(out * 255, (out * 255).round(), atol=1e-4, rtol=0)


def test_kernel_noise_preset_matches_manual_model(kernel_noise_dirs):
    kdir, ndir = kernel_noise_dirs
    deg = Degradation.from_preset("kernel-noise", kernels_dir=kdir, noise_patches_dir=ndir)
    files = set()
    for seed in range(12):
        params = deg.sample(np.random.default_rng(seed), HR.shape, 4)
        down, patch = params["ops"]
        files.add(down["kernel_file"])
        kernel = np.load(down["kernel_file"]) if down["kernel_file"].endswith(".npy") else None
        if kernel is not None:  # pixel-centred: re-centred on the x4-aligned centre (1.5 px away) when loaded
            expected = blur_subsample(HR, recentre(kernel, 4, order=1), 4)
            expected = inject_noise(expected, load_noise_patch(patch["file"]), tuple(patch["offset"]))
            assert torch.equal(deg.apply(HR, params), expected)
    assert len(files) == 2
    with pytest.raises(InputError, match="--kernels"):
        Degradation.from_preset("kernel-noise", noise_patches_dir=ndir)
    with pytest.raises(InputError, match="--noise-patches"):
        Degradation.from_preset("kernel-noise", kernels_dir=kdir)


def test_user_yaml_preset(tmp_path, kernel_noise_dirs):
    kdir, _ = kernel_noise_dirs
    good = tmp_path / "mine.yaml"
    good.write_text(
        "kind: degradation\nsteps:\n  - {op: blur, kernel: file}\n  - {op: resize, size: lr, method: area}\n"
        "  - {op: jpeg, quality: [40, 60], prob: 1.0}\n"
    )
    deg = Degradation.from_preset(good, kernels_dir=kdir)
    params = deg.sample(np.random.default_rng(0), HR.shape, 4)
    assert [o["op"] for o in params["ops"]] == ["blur", "resize", "jpeg"] and params["preset"] == "mine"
    assert 40 <= params["ops"][2]["quality"] <= 60
    assert deg.apply(HR, params).shape == (1, 3, 8, 12)
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: degradation\nsteps:\n  - {op: noise, type: gaussian, sigma: 3}\n")
    with pytest.raises(PresetError, match="resize"):
        Degradation.from_preset(bad).sample(np.random.default_rng(0), HR.shape, 4)
    with pytest.raises(PresetError):
        Degradation.from_preset("no-such-preset")


def test_non_integer_sizes_use_ceil():
    deg = Degradation.from_preset("generic")
    params = deg.sample(np.random.default_rng(0), (33, 50), 4)
    assert params["lr_shape"] == [math.ceil(33 / 4), math.ceil(50 / 4)]
    assert deg.apply(torch.rand(1, 3, 33, 50), params).shape[-2:] == (9, 13)


def test_mixture_draws_components_by_weight_and_replays():
    deg = Degradation.from_preset(
        {"name": "mix", "mixture": [{"preset": "bicubic", "weight": 1}, {"preset": "mild", "weight": 3}]}
    )
    rng = np.random.default_rng(0)
    drawn = [deg.sample(rng, HR.shape, 4) for _ in range(400)]
    share = sum(p["component"] == "mild" for p in drawn) / len(drawn)
    assert 0.68 < share < 0.82, share  # 3/4 expected; binomial sd 0.022
    assert {p["preset"] for p in drawn} == {"mix"}
    bicubic = next(p for p in drawn if p["component"] == "bicubic")
    assert torch.equal(deg.apply(HR, bicubic), imresize(HR[0], scale=0.25)[None])
    from realsr_cli.degradations.pipeline import replay

    for params in drawn[:5]:
        assert torch.equal(deg.apply(HR, params), replay(HR, json.loads(json.dumps(params))))


@pytest.mark.parametrize(
    "mixture, match",
    [([], "non-empty"), ([{"weight": 1}], "needs 'preset:'"), ([{"preset": "bicubic", "weight": 0}], "positive")],
)
def test_bad_mixture_is_a_preset_error(mixture, match):
    with pytest.raises(PresetError, match=match):
        Degradation.from_preset({"name": "bad", "mixture": mixture})


def test_default_mix_spans_clean_mild_and_realesrgan():
    deg = Degradation.from_preset("default-mix")
    rng = np.random.default_rng(1)
    assert {deg.sample(rng, HR.shape, 4)["component"] for _ in range(60)} == {"bicubic", "mild", "realesrgan"}


def test_unknown_kernel_key_is_refused_not_ignored():
    preset = {"name": "cam", "steps": [{"op": "blur", "kernel": {"type": "aniso", "sigma_x": 2, "rotation": 0.6}}]}
    with pytest.raises(PresetError, match="rotation"):
        Degradation.from_preset(preset).sample(np.random.default_rng(0), HR.shape, 1)
