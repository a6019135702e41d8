"""``realsr learn-degradation`` end to end: outputs, report, gray / 16-bit / small images, empty folder, overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.io

from realsr_cli.degradations.kernel_floor import is_unresolved
from realsr_cli.degradations.spectrum import read_signature_and_tiles
from realsr_cli.io.images import read_image, write_image
from tests.conftest import synthetic_image


def _folder(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    write_image(src / "tex.png", synthetic_image(80, 96, seed=1))
    flat = np.clip(np.rint(120 + rng.normal(0, 3.0, (140, 150, 3))), 0, 255).astype(np.uint8)
    write_image(src / "flat.png", flat)
    gray16 = np.clip(np.rint((90 + rng.normal(0, 2.0, (70, 72, 1))) * 257), 0, 65535).astype(np.uint16)
    write_image(src / "gray16.png", gray16)
    write_image(src / "tiny.png", synthetic_image(30, 50, seed=2))
    return src


def test_kernels_noise_report_and_clear_messages(tmp_path: Path, cli):
    src, out = _folder(tmp_path), tmp_path / "out"
    args = [
        "-o",
        out,
        "-s",
        "4",
        "--iters",
        "6",
        "--noise-rule",
        "realsr",
        "--noise-window",
        "64",
        "--noise-stride",
        "64",
    ]
    args += ["--device", "cpu"]
    result = cli("learn-degradation", src, *args, "--json", tmp_path / "r.json")
    assert result.exit_code == 1  # tiny.png cannot be used by KernelGAN; the others are done
    assert "tiny.png" in result.output and "smaller than the 64x64" in result.output
    assert "gray16.png: gray image" in result.output and "16-bit" in result.output
    for s in (2, 4):  # default: one camera kernel from all usable photos, no per-photo files
        k = np.load(out / "kernels" / f"camera_kernel_x{s}.npy")
        assert k.shape[0] >= (13 if s == 2 else 25) and k.shape[0] % 2 == 1 and abs(k.sum() - 1) < 1e-9
        np.testing.assert_allclose(scipy.io.loadmat(out / "kernels" / f"camera_kernel_x{s}.mat")["Kernel"], k)
    assert sorted(p.name for p in (out / "kernels").glob("*.npy")) == ["camera_kernel_x2.npy", "camera_kernel_x4.npy"]
    assert (out / "kernels" / "previews" / "camera_x4.png").is_file()
    assert (out / "kernels" / "previews" / "contact_sheet.png").is_file()
    report = json.loads((out / "report.json").read_text())
    assert report == json.loads((tmp_path / "r.json").read_text())
    entries = {e["name"]: e for e in report["images"]}
    assert entries["flat"]["noise"]["patches"] == 4  # range(0, 140 - 64, 64) x range(0, 150 - 64, 64): 2 x 2
    assert abs(entries["flat"]["noise"]["sigma_patches"] - 3.0) < 0.45
    assert entries["gray16"]["bit_depth"] == 16 and entries["gray16"]["gray"]
    patches = sorted((out / "noise").glob("gray16_*.png"))
    assert patches and read_image(patches[0]).pixels.dtype == np.uint16
    assert entries["tex"]["noise"]["patches"] == 0 and "--noise-max-var" in entries["tex"]["noise"]["suggestion"]
    cam = report["camera_kernel"]
    assert cam["photos"] == 3 and cam["restarts"] == 6 and cam["iterations"] == 6 and len(cam["estimates"]) == 6
    assert cam["spread"]["x4"]["estimates"] == sum(e["inlier"] for e in cam["estimates"])
    assert isinstance(cam["reliable"], bool) and cam["x4"]["size"][0] >= 25
    camera_x4 = np.load(out / "kernels" / "camera_kernel_x4.npy")
    assert cam["at_floor"] is is_unresolved(camera_x4, 4)
    assert cam["spectrum"] == str(out / "kernels" / "spectrum.json")  # the photos' signature, for make-pairs
    sig, tiles = read_signature_and_tiles(out / "kernels" / "spectrum.json")
    assert np.isfinite(sig).all() and tiles is not None and tiles >= 3  # every usable photo has a tile
    assert "kernel" not in entries["tex"]
    assert report["jpeg"]["detected"] is False and (out / "jpeg.json").is_file()  # PNGs never compressed
    assert report["failures"] and "tiny.png" in report["failures"][0]["error"]
    again = cli("learn-degradation", src, *args)
    assert again.exit_code == 1 and "--overwrite" in again.output
    # a stricter rerun replaces the patches: none of the earlier ones may stay in the bank
    stricter = cli("learn-degradation", src, *args, "--method", "noise", "--noise-max-var", "0.5", "--overwrite")
    assert stricter.exit_code == 0, stricter.output
    assert not list((out / "noise").glob("*.png"))


def test_empty_folder_and_bad_options(tmp_path: Path, cli):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("learn-degradation", empty, "-o", tmp_path / "o")
    assert result.exit_code == 1 and "holds no images" in result.output
    src = _folder(tmp_path)
    result = cli("learn-degradation", src, "-o", tmp_path / "o", "--method", "dsgan")
    assert result.exit_code == 1 and "--clean-dir" in result.output
    result = cli("learn-degradation", src, "-o", tmp_path / "o", "-s", "3")
    assert result.exit_code == 1 and "x2 and x4" in result.output
    result = cli("learn-degradation", src, "-o", tmp_path / "o", "--method", "kernelgan,magic")
    assert result.exit_code == 1 and "expected a comma list" in result.output


def test_overwrite_removes_stale_patches_and_camera_files_and_report_records_options(tmp_path: Path):
    from realsr_cli.learn.noise_patches import AdaptiveRule
    from realsr_cli.learn.pipeline import LearnOptions, learn_degradation

    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    rng = np.random.default_rng(0)
    write_image(src / "flat.png", np.clip(np.rint(120 + rng.normal(0, 3.0, (96, 96, 3))), 0, 255).astype(np.uint8))
    (out / "noise").mkdir(parents=True)
    stale = [out / "noise" / n for n in ("gone_0_0.png", "gone_32_64.png", "flat_1_2.png", "model.json")]
    kept = [out / "noise" / "notes_a_b.png", out / "noise" / "readme.txt"]
    for path in [*stale, *kept, out / "jpeg.json"]:
        path.write_bytes(b"old")
    opts = LearnOptions(methods=("jpeg",), overwrite=True, quiet=True, seed=5, noise=AdaptiveRule(tolerance=1.4))
    report = learn_degradation(src, out, opts)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)
    assert (out / "jpeg.json").read_bytes() != b"old"  # jpeg ran: rewritten
    assert report["seed"] == 5 and report["kernel_batch"] == 8 and report["per_photo_kernels"] is False
    assert report["noise_rule"] == {**report["noise_rule"], "rule": "adaptive", "window": 64, "tolerance": 1.4}
    learn_degradation(src, out, LearnOptions(methods=("noise",), overwrite=True, quiet=True))
    assert not (out / "jpeg.json").exists() and (out / "noise" / "model.json").is_file()
