"""The camera noise model: the fitted noise-level curve and colour correlation against synthetic cameras with known
parameters, model.json, synthesis from it (curve reproduced, exact replay), and its use by make-pairs / degrade."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import ndimage

from realsr_cli.degradations.noise import MIN_PATCHES, NoiseModel, add_model_noise, load_noise_model, model_noise_params
from realsr_cli.degradations.pipeline import Degradation, replay
from realsr_cli.errors import InputError
from realsr_cli.io.images import read_image, to_float, write_image
from realsr_cli.learn.noise_model import block_stats, fit_camera_model, write_model
from realsr_cli.pairs.core import PairsConfig, make_pairs
from realsr_cli.pairs.manifest import read_manifest, regenerate_pair
from tests.noise_cameras import Camera, photos

MIDTONES = (64.0, 96.0, 128.0, 160.0, 192.0)
CORR = ((1.0, 0.6, 0.3), (0.6, 1.0, 0.5), (0.3, 0.5, 1.0))


def _model(camera: Camera, n: int = 3) -> NoiseModel:
    model = fit_camera_model([block_stats(p) for p in photos(camera, n=n, size=320, seed=10)], n)
    assert model is not None
    return model


@pytest.mark.parametrize(
    "camera",
    [Camera(sigma=8.0), Camera(sigma=3.0, a=1.5), Camera(sigma=2.0, a=0.6, corr=CORR), Camera(sigma=12.0, jpeg=90)],
    ids=["gauss8", "poisson-gauss", "poisson-gauss-correlated", "gauss12-jpeg90"],
)
def test_fitted_curve_within_15_percent_of_the_truth_over_midtones(camera):
    model = _model(camera)
    for mu in MIDTONES:
        truth = camera.flat_variance(mu)  # JPEG: the post-JPEG noise of a flat card
        fitted = np.array([model.variance(mu, c) for c in range(3)])
        np.testing.assert_allclose(fitted, truth, rtol=0.15, err_msg=f"variance at mu={mu}")
    assert model.kind == ("poisson-gaussian" if camera.a else "gaussian")
    if camera.a:
        np.testing.assert_allclose(model.a, camera.a, rtol=0.15)


def test_poisson_gaussian_after_jpeg_noise_level_within_15_percent():
    """After JPEG (4:2:0 chroma) a channel's noise also depends on the others: the mean over channels is checked."""
    camera = Camera(sigma=4.0, a=1.0, jpeg=85)
    model = _model(camera)
    for mu in MIDTONES[1:]:
        fitted = np.sqrt(np.mean([model.variance(mu, c) for c in range(3)]))
        assert fitted == pytest.approx(np.sqrt(camera.flat_variance(mu).mean()), rel=0.15), mu


def test_colour_correlation_recovered():
    model = _model(Camera(sigma=6.0, a=0.5, corr=CORR))
    np.testing.assert_allclose(model.correlation, CORR, atol=0.08)
    assert np.allclose(_model(Camera(sigma=6.0)).correlation, np.eye(3), atol=0.08)


def test_negative_intercept_of_a_camera_that_cleans_its_dark_tones():
    """Foi et al.'s ``b`` may be negative (a pedestal, or a denoiser that leaves the dark tones clean): a line held
    at ``b >= 0`` through these bins is too flat and misses the bright tones."""
    camera = Camera(a=1.5, offset=-60.0)
    model = _model(camera, n=4)
    assert min(model.b) < 0
    for mu in (96.0, 128.0, 160.0, 192.0):
        np.testing.assert_allclose([model.variance(mu, c) for c in range(3)], camera.variance(mu), rtol=0.15)


def test_model_json_round_trip_and_bad_files(tmp_path):
    model = _model(Camera(sigma=3.0, a=1.0))
    summary = write_model(tmp_path / "noise" / "model.json", model, overwrite=False)
    obj = json.loads((tmp_path / "noise" / "model.json").read_text())
    assert obj["format"] == "realsr-noise-model" and obj["format_version"] == 2 and obj["units"] == "0-255"
    assert obj["signal"] == model.signal
    assert summary["sigma_at_128"] == pytest.approx([np.sqrt(model.variance(128, c)) for c in range(3)], rel=1e-3)
    again = load_noise_model(tmp_path / "noise" / "model.json")
    assert again.a == model.a and again.b == model.b and again.correlation == model.correlation
    assert again.signal == model.signal
    old = {k: v for k, v in obj.items() if k != "signal"} | {"format_version": 1}  # written before "signal"
    (tmp_path / "v1.json").write_text(json.dumps(old))
    assert load_noise_model(tmp_path / "v1.json").signal == "channel"
    (tmp_path / "sig.json").write_text(json.dumps(obj | {"signal": "red"}))
    with pytest.raises(InputError, match='sig.json: noise model "signal" must be one of channel, luma'):
        load_noise_model(tmp_path / "sig.json")
    (tmp_path / "bad.json").write_text('{"format": "something-else"}')
    with pytest.raises(InputError, match="bad.json: not a noise model"):
        load_noise_model(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(InputError, match="broken.json: cannot read"):
        load_noise_model(tmp_path / "broken.json")


def test_shared_noise_follows_the_luma_and_independent_noise_its_own_channel():
    """A JPEG camera's channels share their noise (correlation ~0.9): its level is fitted against the blocks' luma
    (``signal: luma``), which on coloured blocks predicts each channel's noise better than the channel's own
    mean; independent sensor noise keeps ``signal: channel``."""
    jpeg = Camera(sigma=4.0, a=1.0, jpeg=85)
    model = _model(jpeg)
    assert model.signal == "luma" and np.mean(np.asarray(model.correlation)[np.triu_indices(3, 1)]) > 0.5
    for mu in MIDTONES[1:]:
        np.testing.assert_allclose([model.variance(mu, c) for c in range(3)], jpeg.flat_variance(mu), rtol=0.2)
    colour = np.array([200.0, 60.0, 90.0])  # a saturated card: the files' noise follows its luma, not its red
    luma = float(colour @ np.array([0.299, 0.587, 0.114]))
    truth = jpeg.flat_variance(colour)
    by_luma = np.array([model.variance(luma, c) for c in range(3)])
    by_own = np.array([model.variance(colour[c], c) for c in range(3)])
    assert np.max(np.abs(by_luma / truth - 1)) < np.max(np.abs(by_own / truth - 1))
    assert _model(Camera(sigma=3.0, a=1.5)).signal == "channel"
    assert _model(Camera(sigma=2.0, a=0.6, corr=CORR)).signal == "channel"


def test_luma_signal_synthesis_follows_the_pixel_luma():
    model = NoiseModel(a=[1.0, 1.0, 1.0], b=[4.0, 4.0, 4.0], correlation=np.eye(3).tolist(), signal="luma")
    colour = torch.tensor([200.0, 60.0, 90.0]) / 255.0
    x = colour.view(1, 3, 1, 1).expand(1, 3, 256, 256).contiguous()
    gen = torch.Generator().manual_seed(0)
    for signal, mu in (
        ("luma", np.full(3, float(colour @ torch.tensor([0.299, 0.587, 0.114])) * 255)),
        ("channel", colour.numpy() * 255),
    ):
        n = (add_model_noise(x, model.a, model.b, model.correlation, gen, signal=signal, clip=False) - x)[0]
        np.testing.assert_allclose(n.reshape(3, -1).double().var(1).numpy() * 255**2, mu + 4.0, rtol=0.05)
    assert model_noise_params(model)["signal"] == "luma" and "signal" not in model_noise_params(_flat_field_model())


def _flat_field_model() -> NoiseModel:
    return NoiseModel(a=[1.2, 0.8, 1.5], b=[6.0, 4.0, 9.0], correlation=[list(r) for r in CORR])


def test_synthesis_reproduces_the_curve_and_correlation(tmp_path):
    model = _flat_field_model()
    path = tmp_path / "model.json"
    write_model(path, model, overwrite=False)
    deg = Degradation({"name": "cam", "steps": [{"op": "noise_model"}]}, noise_model=path)
    for mu in (48.0, 128.0, 208.0):
        x = torch.full((1, 3, 256, 256), mu / 255.0)
        params = deg.sample(np.random.default_rng(int(mu)), (256, 256), 1)
        (op,) = params["ops"]
        assert op["op"] == "noise_model" and isinstance(op["seed"], int) and op["a"] == model.a
        n = (deg.apply(x, params) - x)[0].reshape(3, -1).double().numpy() * 255
        truth = np.array([a * mu + b for a, b in zip(model.a, model.b, strict=True)])
        np.testing.assert_allclose(n.var(axis=1), truth, rtol=0.05)
        np.testing.assert_allclose(np.corrcoef(n), CORR, atol=0.03)


@pytest.mark.parametrize("signal", ["channel", "luma"])
def test_noise_model_op_replays_byte_exactly_from_a_manifest_line(tmp_path, cli, signal):
    model_file = tmp_path / "model.json"
    model = _flat_field_model()
    model.signal = signal
    write_model(model_file, model, overwrite=False)
    recipe = tmp_path / "cam.yaml"
    recipe.write_text("kind: degradation\nsteps:\n  - {op: resize, size: lr, method: matlab}\n  - {op: noise_model}\n")
    src = tmp_path / "hr"
    src.mkdir()
    for i in range(2):
        write_image(src / f"im{i}.png", photos(Camera(), n=1, size=64, seed=i)[0])
    out = tmp_path / "lr"
    result = cli("degrade", src, out, "-s", "2", "--preset", recipe, "--noise-model", model_file, "--seed", "3", "-q")
    assert result.exit_code == 0, result.output
    lines = [json.loads(s) for s in (out / "degradations.jsonl").read_text().splitlines()]
    seeds = set()
    for line in lines:
        op = line["params"]["ops"][-1]
        assert op["op"] == "noise_model" and op["file"] == str(model_file.resolve())
        assert op.get("signal", "channel") == signal
        seeds.add(op["seed"])
        hr = torch.from_numpy(to_float(read_image(line["input"]).pixels)).permute(2, 0, 1)[None]
        again = replay(hr, json.loads(json.dumps(line["params"])))  # no model file needed
        lr = read_image(out / line["output"]).pixels
        assert np.array_equal(np.rint(again[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8), lr)
    assert len(seeds) == 2
    generic = cli("degrade", src, tmp_path / "g", "--noise-model", model_file, "-q")
    assert generic.exit_code == 1 and "no noise_patch or noise_model step" in generic.output


def _pairs_setup(tmp_path: Path, patches: int) -> tuple[Path, Path, Path]:
    hr = tmp_path / "hr"
    hr.mkdir()
    write_image(hr / "flat.png", np.full((64, 64, 3), 128, np.uint8))
    kernels = tmp_path / "k"
    kernels.mkdir()
    delta = np.zeros((5, 5))
    delta[2, 2] = 1.0
    np.save(kernels / "d_kernel_x4.npy", delta)
    noise = tmp_path / "noise"
    noise.mkdir()
    rng = np.random.default_rng(0)
    for i in range(patches):
        write_image(noise / f"p{i}.png", np.clip(np.rint(128 + rng.normal(0, 2, (16, 16, 3))), 0, 255).astype(np.uint8))
    write_model(noise / "model.json", NoiseModel(a=[0.0] * 3, b=[144.0] * 3, correlation=np.eye(3).tolist()), False)
    return hr, kernels, noise


@pytest.mark.parametrize("patches", [0, MIN_PATCHES - 1, MIN_PATCHES])
def test_make_pairs_uses_the_model_when_the_patch_bank_is_small(tmp_path, patches):
    hr, kernels, noise = _pairs_setup(tmp_path, patches)
    config = PairsConfig(hr, tmp_path / "out", scale=4, kernels=kernels, noise_patches=noise, patch_size=32)
    config.quiet = True
    records = make_pairs(config).records
    assert len(records) == 4
    use_model = patches < MIN_PATCHES
    for record in records:
        (op,) = record["pair_degradation"]["ops"]
        assert op["op"] == ("noise_model" if use_model else "noise_patch")
        assert record["mode_options"]["noise_model"] == (str((noise / "model.json").resolve()) if use_model else None)
        lr = read_image(tmp_path / "out" / record["lr"]).pixels.astype(np.float64)
        assert lr.std() == pytest.approx(12.0 if use_model else 2.0, rel=0.3)  # the model's sigma is 12
    for record in read_manifest(tmp_path / "out"):
        _, lr = regenerate_pair(record)
        assert np.array_equal(lr, read_image(tmp_path / "out" / record["lr"]).pixels)


def test_make_pairs_noise_model_option_forces_the_model(tmp_path, cli):
    hr, kernels, noise = _pairs_setup(tmp_path, MIN_PATCHES + 2)
    out = tmp_path / "out"
    args = ["-s", "4", "--kernels", kernels, "--noise-patches", noise, "--noise-model", noise / "model.json", "-q"]
    result = cli("make-pairs", hr, "-o", out, *args)
    assert result.exit_code == 0, result.output
    (record,) = read_manifest(out)
    assert record["pair_degradation"]["ops"][0]["op"] == "noise_model"
    assert np.array_equal(regenerate_pair(record)[1], read_image(out / record["lr"]).pixels)
    missing = cli("make-pairs", hr, "-o", tmp_path / "o2", "-s", "4", "--kernels", kernels, "--noise-model", "no.json")
    assert missing.exit_code == 1 and "--noise-model no.json: no such file" in missing.output
    alone = cli("make-pairs", hr, "-o", tmp_path / "o3", "-s", "4", "--noise-model", noise / "model.json")
    assert alone.exit_code == 1 and "--noise-model needs --kernels" in alone.output


def test_learn_degradation_noise_defaults_on_a_noisy_camera(tmp_path, cli):
    camera = Camera(sigma=4.0, a=1.5)
    src = tmp_path / "src"
    src.mkdir()
    for i, pixels in enumerate(photos(camera, n=3, size=288, seed=20)):
        write_image(src / f"p{i}.png", pixels)
    out = tmp_path / "out"
    result = cli("learn-degradation", src, "-o", out, "--method", "noise", "-q")
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    for entry in report["images"]:
        noise = entry["noise"]
        assert noise["rule"] == "adaptive" and noise["window"] == 64 and noise["stride"] == 32
        assert noise["sigma"] == pytest.approx(np.sqrt(camera.variance(noise["brightness"])), rel=0.15)
        assert noise["patches"] > 0 or "reason" in noise
    assert sum(e["noise"]["patches"] for e in report["images"]) == report["noise_patches"] > 0
    model = load_noise_model(out / "noise" / "model.json")
    assert report["noise_model"]["file"] == str(out / "noise" / "model.json")
    assert report["noise_model"]["signal"] == model.signal == "channel"  # independent channels
    for mu in MIDTONES:
        np.testing.assert_allclose([model.variance(mu, c) for c in range(3)], camera.variance(mu), rtol=0.15)
    shown = cli("learn-degradation", src, "-o", tmp_path / "shown", "--method", "noise")
    assert "level following each channel's own value" in shown.output
    realsr = cli("learn-degradation", src, "-o", out, "--method", "noise", "--noise-rule", "realsr", "--overwrite")
    assert realsr.exit_code == 0, realsr.output
    report = json.loads((out / "report.json").read_text())
    assert report["noise_patches"] == 0 and all("--noise-max-var" in e["noise"]["reason"] for e in report["images"])
    assert not list((out / "noise").glob("*.png")) and (out / "noise" / "model.json").is_file()
    wrong = cli("learn-degradation", src, "-o", out, "--method", "noise", "--noise-max-var", "30", "--overwrite")
    assert wrong.exit_code == 1 and "--noise-rule realsr" in wrong.output


def test_photos_mostly_textured_still_give_the_noise_of_their_few_flat_blocks():
    """Ordinary scenes: in every intensity bin textured blocks outnumber flat ones (a line through the bins holding
    the most blocks follows the texture: the fault that read dslr- and webcam-like cameras' texture as noise 3-4x
    their level). The near-flat blocks' mode and a line that no bin lies
    clearly below recover the camera; a photo with no flat block at all adds nothing misleading to the camera."""
    camera = Camera(sigma=6.0)
    rng = np.random.default_rng(5)
    ramp = np.linspace(30, 225, 384)[None, :, None] * np.ones((256, 1, 3))
    texture = ndimage.gaussian_filter(rng.normal(0, 250, (256, 384, 3)), (2.5, 2.5, 0))
    scene = ramp + texture * (np.arange(256)[:, None, None] >= 40)  # a flat strip, textured below it
    mostly_textured = [block_stats(camera.shoot(np.clip(scene, 0, 255), seed)) for seed in (1, 2)]
    assert all(np.mean(s.var[:, 1] > 4 * 36.0) > 0.7 for s in mostly_textured)  # most blocks are texture
    textured = block_stats(camera.shoot(np.clip(128 + texture, 0, 255), 3))
    model = fit_camera_model([*mostly_textured, textured], 3)
    for mu in (64.0, 128.0, 192.0):
        np.testing.assert_allclose([model.variance(mu, c) for c in range(3)], 36.0, rtol=0.15)
    assert model.hf_ratio == pytest.approx(1.0, abs=0.2)  # white noise, measured on the near-flat blocks
