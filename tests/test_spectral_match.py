"""``--kernel-floor match`` and ``--sharpen auto`` (realsr_cli.pairs.spectral_match, realsr_cli.degradations.spectrum):
an estimate at KernelGAN's floor is narrowed to the width whose pairs have the camera photos' spectrum, so a sharp
camera gets sharp pairs and a camera as wide as the estimate keeps it; a camera that sharpens gets its unsharp mask;
the band and amount are recorded and the pairs replay."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from realsr_cli.degradations import spectrum
from realsr_cli.degradations.isp import unsharp_mask
from realsr_cli.degradations.kernel_centre import recentre
from realsr_cli.degradations.kernel_floor import is_unresolved, shrink_to_range
from realsr_cli.degradations.kernels import blur_subsample, make_kernel
from realsr_cli.errors import InputError
from realsr_cli.io.images import read_image, write_image
from realsr_cli.learn.kernel_io import write_kernel_pair
from realsr_cli.learn.kernelgan import analytic_kernel
from realsr_cli.learn.noise_model import gray_255
from realsr_cli.pairs import read_manifest, regenerate_pair
from realsr_cli.pairs.modes import Source, build_mode
from realsr_cli.pairs.spectral_match import central_crop, match_sharpness, refine


def natural(size: int, seed: int) -> np.ndarray:
    """(H, W, 3) float image in [0, 1] with a natural 1/f amplitude spectrum (random phases)."""
    rng = np.random.default_rng(seed)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(size), np.fft.fftfreq(size), indexing="ij"))
    field = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((size, size))) / np.maximum(f, 1.0 / size)))
    luma = 0.5 + 0.18 * field / field.std()
    tint = np.array([1.0, 0.95, 0.9])
    return np.clip(luma[..., None] * tint, 0, 1)


def _tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1), dtype=np.float32))[None]


def _kernels(root: Path) -> Path:
    """A camera kernel folder whose x4 estimate (sigma ~2.9 HR px) sits at KernelGAN's floor."""
    k2 = recentre(make_kernel({"type": "iso", "size": 13, "sigma_x": 1.3}), 2)
    write_kernel_pair(root, "camera", k2, analytic_kernel(k2))
    assert is_unresolved(np.load(root / "camera_kernel_x4.npy"), 4)
    return root


def _camera_photos(kernels: Path, amount: float, seeds: range, sharpen: float = 0.0) -> list[np.ndarray]:
    """LR photos of a camera whose true blur is the estimate narrowed by ``amount`` (1: bicubic's width), then
    unsharp-masked by ``sharpen`` (radius 1 px) as an ISP does."""
    k = shrink_to_range(np.load(kernels / "camera_kernel_x4.npy"), 4, amount)
    out = []
    for seed in seeds:
        lr = blur_subsample(_tensor(natural(512, seed)), k, 4).clamp(0, 1)
        lr = unsharp_mask(lr, 1.0, sharpen) if sharpen else lr
        out.append(np.rint(lr[0].permute(1, 2, 0).numpy() * 255) / 255)
    return out


def _signature(photos: list[np.ndarray]) -> np.ndarray:
    sig = spectrum.signature([gray_255(p * 255.0) for p in photos])
    assert sig is not None
    return sig


def test_the_signature_orders_blurs_and_ignores_contrast():
    same = _signature([natural(256, 0)])
    assert spectrum.distance(same, same) == 0
    image = _tensor(natural(512, 1))
    sigs = [
        _signature(
            [
                blur_subsample(image, make_kernel({"type": "iso", "size": 21, "sigma_x": s}), 4)[0]
                .permute(1, 2, 0)
                .numpy()
            ]
        )
        for s in (1.5, 3.0, 4.5)
    ]
    high = [float(s[spectrum.COMPARED_BANDS].mean()) for s in sigs]
    assert high[0] > high[1] > high[2]  # more blur, less fine detail
    dim = _signature([0.3 * natural(256, 2)])
    assert spectrum.distance(dim, _signature([natural(256, 2)])) < 1e-6  # contrast cancels
    assert spectrum.signature([np.zeros((32, 32))]) is None  # smaller than one tile


def test_signature_file_round_trip_and_bad_files(tmp_path):
    sig = _signature([natural(128, 3)])
    path = spectrum.write_signature(tmp_path / spectrum.SPECTRUM_FILE, sig, 1)
    assert np.allclose(spectrum.read_signature(path), sig, atol=1e-5)
    (tmp_path / "bad.json").write_text(json.dumps({"format": "realsr-spectrum", "tile": 32, "bands": 16}))
    with pytest.raises(InputError, match="32-px tiles"):
        spectrum.read_signature(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(InputError, match="not a camera spectrum"):
        spectrum.read_signature(tmp_path / "other.json")


@pytest.mark.parametrize(("truth", "low", "high"), [(1.0, 0.65, 1.0), (0.0, 0.0, 0.3)])
def test_match_finds_the_cameras_width_within_the_range(tmp_path, truth, low, high):
    kernels = _kernels(tmp_path / "kernels")
    spectrum.write_signature(kernels / spectrum.SPECTRUM_FILE, _signature(_camera_photos(kernels, truth, range(4))), 4)
    mode = build_mode(4, kernels=kernels, jpeg="off")
    assert mode.kernel_floor == "match" and mode.sharpen == "auto" and mode.needs_spectral_match()
    hrs = [central_crop(_tensor(natural(512, 10 + i)), 768, 4) for i in range(4)]
    match = match_sharpness(
        mode, spectrum.read_signature(kernels / spectrum.SPECTRUM_FILE), hrs, floor=True, sharpen=True
    )
    assert match is not None and match.floor is not None and match.band is not None
    assert low <= match.floor <= high, match.floor_distances
    assert match.band[0] <= match.floor <= match.band[1] and match.band[1] - match.band[0] <= 0.2 + 1e-9
    assert match.floor_distances and min(match.floor_distances.values()) < 0.1
    assert match.sharpen is None  # not sharper than the pairs: no sharpening matched


def test_a_camera_that_sharpens_gets_its_unsharp_mask(tmp_path):
    kernels = _kernels(tmp_path / "kernels")
    photos = _camera_photos(kernels, 1.0, range(4), sharpen=1.0)
    spectrum.write_signature(kernels / spectrum.SPECTRUM_FILE, _signature(photos), 4)
    mode = build_mode(4, kernels=kernels, jpeg="off")
    hrs = [central_crop(_tensor(natural(512, 10 + i)), 768, 4) for i in range(4)]
    camera = spectrum.read_signature(kernels / spectrum.SPECTRUM_FILE)
    match = match_sharpness(mode, camera, hrs, floor=True, sharpen=True)
    assert match is not None and match.floor == 1.0 and match.excess > 0.1
    assert match.sharpen is not None and 0.5 <= match.sharpen <= 1.6, match.sharpen_distances
    off = match_sharpness(mode, camera, hrs, floor=True, sharpen=False)  # --sharpen off: measured, not matched
    assert off is not None and off.sharpen is None and off.excess == match.excess


def test_refine_is_the_parabolas_minimum_and_keeps_the_ends():
    xs = [0.0, 0.2, 0.4, 0.6]
    assert refine(xs, [(x - 0.3) ** 2 for x in xs]) == pytest.approx(0.3)
    assert refine(xs, [3.0, 2.0, 1.0, 0.5]) == 0.6


def _hr(path: Path, n: int) -> Path:
    path.mkdir(parents=True)
    for i in range(n):
        write_image(path / f"im{i}.png", np.rint(natural(256, 20 + i) * 255).astype(np.uint8))
    return path


def test_make_pairs_matches_by_default_records_the_band_and_replays(tmp_path, cli):
    kernels = _kernels(tmp_path / "kernels")
    hr = _hr(tmp_path / "hr", 2)
    args = ("--kernels", kernels, "--patch-size", "64", "--jpeg", "off", "-q")
    assert cli("make-pairs", hr, "-o", tmp_path / "range", *args).exit_code == 0  # no spectrum: range
    ranged = read_manifest(tmp_path / "range")
    assert ranged[0]["mode_options"]["kernel_floor"] == "range"
    bad = cli("make-pairs", hr, "-o", tmp_path / "x", *args, "--kernel-floor", "match")
    assert bad.exit_code != 0 and "spectrum.json not found" in bad.output
    spectrum.write_signature(kernels / spectrum.SPECTRUM_FILE, _signature(_camera_photos(kernels, 1.0, range(3))), 3)
    result = cli("make-pairs", hr, "-o", tmp_path / "match", *args, "--json", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    records = read_manifest(tmp_path / "match")
    options = records[0]["mode_options"]
    assert options["kernel_floor"] == "match" and options["sharpen"] == "auto" and options["sharpen_amount"] == 0.0
    low, high = options["floor_band"]
    assert high - low <= 0.2 + 1e-9 and low >= 0.6
    draws = [op["floor_draw"] for r in records for op in r["degradation"]["ops"] if "kernel_file" in op]
    assert draws and all(low <= d <= high for d in draws)
    assert json.loads((tmp_path / "m.json").read_text())["spectral_match"]["band"] == [low, high]
    (kernels / spectrum.SPECTRUM_FILE).unlink()  # a line replays from what it recorded
    for record in records:
        lr = read_image(tmp_path / "match" / record["lr"]).pixels
        assert np.array_equal(regenerate_pair(record)[1], lr)


def test_sharpen_option_records_an_op_after_the_kernel_and_replays(tmp_path, cli):
    kernels = _kernels(tmp_path / "kernels")
    hr = _hr(tmp_path / "hr", 1)
    args = ("--kernels", kernels, "--patch-size", "64", "--jpeg", "off", "-q")
    result = cli("make-pairs", hr, "-o", tmp_path / "fixed", *args, "--sharpen", "0.8")
    assert result.exit_code == 0, result.output
    records = read_manifest(tmp_path / "fixed")
    ops = records[0]["degradation"]["ops"]
    assert [op["op"] for op in ops] == ["kernel_downsample", "sharpen"] and ops[1]["amount"] == 0.8
    assert records[0]["mode_options"]["sharpen_amount"] == 0.8
    for record in records:
        lr = read_image(tmp_path / "fixed" / record["lr"]).pixels
        assert np.array_equal(regenerate_pair(record)[1], lr)
    plain = cli("make-pairs", hr, "-o", tmp_path / "plain", *args, "--kernel-floor", "off")
    assert plain.exit_code == 0 and read_manifest(tmp_path / "plain")[0]["mode_options"]["sharpen"] == "off"
    for bad, message in (("-1", "must be a number >= 0"), ("much", "choose auto, off"), ("auto", "not found")):
        out = cli("make-pairs", hr, "-o", tmp_path / "bad", *args, "--sharpen", bad)
        assert out.exit_code != 0 and message in out.output, out.output
    other = cli("make-pairs", hr, "-o", tmp_path / "b", "--preset", "bicubic", "--sharpen", "off", "-q")
    assert other.exit_code != 0 and "--sharpen" in other.output


def test_a_resolved_kernel_matches_only_the_sharpening(tmp_path):
    root = tmp_path / "kernels"
    k2 = recentre(make_kernel({"type": "iso", "size": 13, "sigma_x": 2.0}), 2)
    write_kernel_pair(root, "camera", k2, analytic_kernel(k2))  # x4 sigma ~4.5 HR px: above the floor
    k4 = np.load(root / "camera_kernel_x4.npy")
    assert not is_unresolved(k4, 4)
    photos = []
    for seed in range(3):
        lr = unsharp_mask(blur_subsample(_tensor(natural(512, seed)), k4, 4).clamp(0, 1), 1.0, 1.5)
        photos.append(lr[0].permute(1, 2, 0).numpy())
    spectrum.write_signature(root / spectrum.SPECTRUM_FILE, _signature(photos), 3)
    mode = build_mode(4, kernels=root, jpeg="off")
    assert mode.needs_spectral_match()
    hr = _hr(tmp_path / "hr", 3)
    match = mode.spectral_match([Source(path, path.stem) for path in sorted(hr.iterdir())], 0)
    assert match is not None and match.floor is None and match.band is None
    assert match.sharpen is not None and 0.8 <= match.sharpen <= 2.5, match.sharpen_distances
    assert "kernel floor" not in match.summary() and "unsharp mask" in match.summary()


@pytest.mark.parametrize(("tiles", "uncertain"), [(18, True), (500, False)])
def test_a_spectrum_on_few_tiles_is_reported_as_uncertain(tmp_path, tiles, uncertain):
    kernels = _kernels(tmp_path / "kernels")
    sig = _signature(_camera_photos(kernels, 1.0, range(2)))
    spectrum.write_signature(kernels / spectrum.SPECTRUM_FILE, sig, 2, tiles=tiles)
    assert spectrum.read_signature_and_tiles(kernels / spectrum.SPECTRUM_FILE)[1] == tiles
    mode = build_mode(4, kernels=kernels, jpeg="off")
    hr = _hr(tmp_path / "hr", 2)
    match = mode.spectral_match([Source(path, path.stem) for path in sorted(hr.iterdir())], 0)
    assert match is not None and match.uncertain is uncertain and match.as_dict()["camera_tiles"] == tiles
    assert ("uncertain" in match.summary()) is uncertain
