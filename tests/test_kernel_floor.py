"""KernelGAN's floor (realsr_cli.degradations.kernel_floor): estimates at the floor are narrowed towards bicubic's
width by a drawn amount, keeping their orientation, centre and the axes above the floor; make-pairs records the
draw per image (replayable) and ``--kernel-floor off`` uses the estimate as it is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from realsr_cli.degradations.kernel_centre import centre_offset, recentre
from realsr_cli.degradations.kernel_floor import bicubic_sigma, is_unresolved, principal_axes, shrink_to_range
from realsr_cli.degradations.kernels import make_kernel
from realsr_cli.io.images import read_image, write_image
from realsr_cli.learn.kernel_io import kernel_stats, write_kernel_pair
from realsr_cli.learn.kernelgan import analytic_kernel
from realsr_cli.pairs import read_manifest, regenerate_pair
from tests.conftest import synthetic_image


def _kernel(major: float, minor: float, theta: float = 0.6, size: int = 25, scale: int = 4) -> np.ndarray:
    k = make_kernel({"type": "aniso", "size": size, "sigma_x": major, "sigma_y": minor, "theta": theta})
    return recentre(k, scale)


def test_bicubic_sigma_is_matlabs_kernel_measured_like_every_kernel():
    # MATLAB's x4 bicubic weights (negative lobes clipped, as kernel_stats measures kernels): sigma ~1.57 HR px
    assert bicubic_sigma(4) == pytest.approx(1.569, abs=0.01)
    assert bicubic_sigma(2) == pytest.approx(bicubic_sigma(4) / 2, rel=1e-6)


@pytest.mark.parametrize("draw", [0.0, 0.5, 1.0])
def test_an_unresolved_kernel_is_narrowed_the_drawn_way_towards_bicubic(draw):
    k = _kernel(2.9, 2.2)
    before = principal_axes(k)[0]
    out = shrink_to_range(k, 4, draw)
    sigmas = principal_axes(out)[0]
    expected = before - draw * (before - bicubic_sigma(4))
    assert np.allclose(sigmas, expected, atol=0.08), (sigmas, expected)
    assert abs(out.sum() - 1) < 1e-9 and out.min() >= 0
    assert np.abs(centre_offset(out, 4)).max() < 0.05
    if draw < 1:  # orientation kept (undefined once both axes reach bicubic's width)
        assert abs(kernel_stats(out)["angle_deg"] - kernel_stats(k)["angle_deg"]) < 5


def test_an_axis_above_the_floor_is_kept():
    k = _kernel(4.6, 2.0)
    assert is_unresolved(k, 4)
    major, minor = np.sort(principal_axes(shrink_to_range(k, 4, 1.0))[0])[::-1]
    assert major == pytest.approx(principal_axes(k)[0].max(), abs=0.15)
    assert minor == pytest.approx(bicubic_sigma(4), abs=0.1)


def test_a_resolved_kernel_is_a_measurement_and_is_left_alone():
    k = _kernel(4.2, 3.6)
    assert not is_unresolved(k, 4)
    assert shrink_to_range(k, 4, 0.7) is k


def _camera_folder(root: Path, sigma_x2: float) -> Path:
    k = make_kernel({"type": "iso", "size": 13, "sigma_x": sigma_x2})
    write_kernel_pair(root, "camera", recentre(k, 2), analytic_kernel(recentre(k, 2)))
    return root


def _hr(path: Path, n: int) -> Path:
    path.mkdir(parents=True)
    for i in range(n):
        write_image(path / f"im{i}.png", synthetic_image(64, 64, seed=i))
    return path


def _draws(out: Path) -> list[float | None]:
    return [op.get("floor_draw") for r in read_manifest(out) for op in r["degradation"]["ops"] if "kernel_file" in op]


def test_make_pairs_draws_a_width_per_image_and_replays_it(tmp_path, cli):
    kernels = _camera_folder(tmp_path / "kernels", 0.9)  # x4 sigma ~2.0 HR px: at the floor
    hr = _hr(tmp_path / "hr", 3)
    result = cli("make-pairs", hr, "-o", tmp_path / "range", "--kernels", kernels, "--patch-size", "32", "-q")
    assert result.exit_code == 0, result.output
    draws = _draws(tmp_path / "range")
    assert all(d is not None and 0 <= d <= 1 for d in draws) and len(set(draws)) > 1
    for record in read_manifest(tmp_path / "range"):
        lr = read_image(tmp_path / "range" / record["lr"]).pixels
        assert np.array_equal(regenerate_pair(record)[1], lr)
    args = ("--kernels", kernels, "--patch-size", "32", "--kernel-floor", "off", "-q")
    assert cli("make-pairs", hr, "-o", tmp_path / "off", *args).exit_code == 0
    assert _draws(tmp_path / "off") == [None] * len(draws)
    assert read_manifest(tmp_path / "off")[0]["mode_options"]["kernel_floor"] == "off"


def test_a_resolved_camera_kernel_gives_the_same_pairs_either_way(tmp_path, cli):
    kernels = _camera_folder(tmp_path / "kernels", 2.0)  # x4 sigma ~4.5 HR px: above the floor
    hr = _hr(tmp_path / "hr", 2)
    for floor in ("range", "off"):
        args = ("--kernels", kernels, "--kernel-floor", floor, "--patch-size", "32", "--seed", "3", "-q")
        assert cli("make-pairs", hr, "-o", tmp_path / floor, *args).exit_code == 0
    names = sorted(p.name for p in (tmp_path / "off" / "lr").iterdir())
    for name in names:
        a, b = (read_image(tmp_path / f / "lr" / name).pixels for f in ("range", "off"))
        assert np.array_equal(a, b), name


def test_kernel_floor_is_checked_and_belongs_to_the_kernel_mode(tmp_path, cli):
    kernels = _camera_folder(tmp_path / "kernels", 0.9)
    hr = _hr(tmp_path / "hr", 1)
    bad = cli("make-pairs", hr, "-o", tmp_path / "a", "--kernels", kernels, "--kernel-floor", "wide", "-q")
    assert bad.exit_code != 0 and "--kernel-floor 'wide'" in bad.output
    other = cli("make-pairs", hr, "-o", tmp_path / "b", "--preset", "bicubic", "--kernel-floor", "off", "-q")
    assert other.exit_code != 0 and "--kernel-floor" in other.output
