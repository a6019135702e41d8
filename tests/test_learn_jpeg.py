"""Issue 13 item 4: JPEG quality read from quantisation tables, estimated from decoded pixels, none on clean PNGs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from realsr_cli.learn import jpeg_quality as jq


def _photo(h: int = 144, w: int = 176, seed: int = 0) -> np.ndarray:
    """Textured 8-bit RGB: smooth random structure at two scales plus edges (like a downscaled photo)."""
    rng = np.random.default_rng(seed)
    coarse = ndimage.gaussian_filter(rng.random((h, w, 3)), (4, 4, 0))
    fine = ndimage.gaussian_filter(rng.random((h, w, 3)), (1, 1, 0))
    x = 0.7 * (coarse - coarse.mean()) / coarse.std() + 0.3 * (fine - fine.mean()) / fine.std()
    x[:, w // 2 :] += 0.8
    return np.clip(np.rint(128 + 40 * x), 0, 255).astype(np.uint8)


def _save(path: Path, pixels: np.ndarray, quality: int, **kwargs) -> np.ndarray:
    Image.fromarray(pixels).save(path, "JPEG", quality=quality, **kwargs)
    return np.asarray(Image.open(path).convert("RGB"))


def test_ijg_table_matches_libjpeg():
    assert np.array_equal(jq.ijg_table(50), jq.STD_LUMA)
    assert jq.ijg_table(75)[0, 0] == 8 and jq.ijg_table(100).max() == 1 and jq.ijg_table(10)[0, 0] == 80


@pytest.mark.parametrize("quality", [50, 75, 95])
def test_quality_read_exactly_from_jpeg_files(tmp_path, quality):
    _save(tmp_path / "a.jpg", _photo(), quality)
    est = jq.estimate(tmp_path / "a.jpg", np.zeros((8, 8, 3), np.uint8))  # the pixels are not needed
    assert (est.quality, est.exact, est.method, est.quality_range) == (
        quality,
        True,
        "quantization-tables",
        (quality, quality),
    )


def test_non_ijg_tables_give_the_nearest_quality(tmp_path):
    table = [int(v) for v in np.clip(jq.ijg_table(70).ravel() + np.tile([0, 1], 32), 1, 255)]
    Image.fromarray(_photo()).save(tmp_path / "c.jpg", "JPEG", qtables=[table, table])
    est = jq.read_file_quality(tmp_path / "c.jpg")
    assert not est.exact and abs(est.quality - 70) <= 3


@pytest.mark.parametrize("quality", [50, 75, 90])
def test_quality_estimated_from_decoded_jpeg(tmp_path, quality):
    decoded = _save(tmp_path / "a.jpg", _photo(seed=quality), quality)
    est = jq.estimate(tmp_path / "a.png", decoded)  # as if the JPEG had been decoded to PNG
    assert est.jpeg and est.method == "recompression" and abs(est.quality - quality) <= 2
    assert est.quality_range[0] <= quality <= est.quality_range[1] and est.quality_range[1] - est.quality_range[0] <= 6
    cropped = jq.estimate_pixels(np.ascontiguousarray(decoded[3:, 5:]))  # the 8x8 grid no longer at the origin
    assert cropped.grid == (5, 3) and abs(cropped.quality - quality) <= 2


def test_clean_photos_have_no_jpeg():
    for seed in range(3):
        clean = _photo(seed=seed)
        noisy = np.clip(clean + np.random.default_rng(seed).normal(0, 4, clean.shape), 0, 255).astype(np.uint8)
        for pixels in (clean, noisy):
            est = jq.estimate_pixels(pixels)
            assert not est.jpeg and est.quality is None and est.ghost_ratio > 0.9 and est.blockiness < 1.1


def test_camera_summary_and_learn_cli_jpeg_json(tmp_path, cli):
    src = tmp_path / "src"
    src.mkdir()
    for i, q in enumerate((60, 60, 80)):
        _save(src / f"p{i}.jpg", _photo(seed=i), q)
    result = cli("learn-degradation", src, "-o", tmp_path / "out", "--method", "jpeg", "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out/jpeg.json").read_text())
    assert summary["detected"] and summary["make_pairs_qualities"] == [60, 60, 80]
    assert summary["quality_range"] == [60, 80] and summary["method"] == "quantization-tables"
    report = json.loads((tmp_path / "out/report.json").read_text())
    assert report["jpeg"]["quality_median"] == 60 and report["images"][0]["jpeg"]["exact"]
    none = jq.camera_summary({"a": jq.JpegEstimate(False, None, None, "none")})
    assert not none["detected"] and none["make_pairs_qualities"] == []


def test_camera_with_mostly_unknown_quality_jpeg_is_detected(tmp_path):
    from realsr_cli.errors import InputError
    from realsr_cli.pairs.jpeg_step import read_jpeg_file

    unknown = jq.JpegEstimate(True, None, None, "blockiness", blockiness=1.3)
    known = jq.JpegEstimate(True, 70, (68, 72), "recompression")
    clean = jq.JpegEstimate(False, None, None, "none")
    mixed = jq.camera_summary({"a": unknown, "b": unknown, "c": known, "d": clean})
    assert mixed["detected"] and mixed["photos_with_jpeg"] == 3 and mixed["photos_with_quality"] == 1
    assert mixed["make_pairs_qualities"] == [70] and mixed["quality_range"] == [68, 72]
    only_unknown = jq.camera_summary({"a": unknown, "b": unknown, "d": clean})
    assert only_unknown["detected"] and only_unknown["make_pairs_qualities"] == [] and "note" in only_unknown
    path = tmp_path / "jpeg.json"
    path.write_text(json.dumps(only_unknown))
    with pytest.raises(InputError, match="unknown quality.*--jpeg N"):
        read_jpeg_file(path)


def test_grid_blockiness_and_block_boundary_ratio_share_the_gap_phases():
    import torch

    from realsr_cli.learn.noise_model import gray_255
    from realsr_cli.metrics.blockiness import block_boundary_ratio, grid_blockiness

    rng = np.random.default_rng(0)
    blocks = np.kron(rng.integers(0, 255, (12, 12)), np.ones((8, 8)))  # an 8x8 grid at phase 0
    ratio, grids = grid_blockiness(blocks[5:, 3:])  # cropped: boundaries after rows 2, 10, ... and columns 4, 12, ...
    assert ratio > 10 and grids[0] == (3, 5)
    assert float(block_boundary_ratio(torch.from_numpy(blocks)[None, None], 8)) > 10
    rgba = rng.integers(0, 65536, (4, 5, 4)).astype(np.uint16)
    expected = (rgba[..., :3].astype(np.float64) / 257.0) @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(gray_255(rgba), expected, rtol=1e-12)
