"""Pixel handling, sizes, metadata and batch failure rules of the upscale pipeline."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from realsr_cli.errors import InputError
from realsr_cli.io.images import read_image, write_image
from realsr_cli.upscale.pipeline import UpscaleOptions, Upscaler, upscale_files
from tests.conftest import synthetic_image
from tests.upscale_helpers import ConvUp, NearestUp, sr_model

CPU = torch.device("cpu")


def _nearest(scale: int, **opts) -> Upscaler:
    return Upscaler([sr_model(NearestUp(scale), scale)], CPU, UpscaleOptions(**opts))


def _repeat(pixels: np.ndarray, s: int) -> np.ndarray:
    return np.repeat(np.repeat(pixels, s, axis=0), s, axis=1)


@pytest.mark.parametrize("scale", [1, 2, 3, 4])
def test_output_is_scale_times_input(scale):
    up = Upscaler([sr_model(ConvUp(scale=scale, depth=2), scale)], CPU, UpscaleOptions(tile=16, tile_pad=2))
    out, stats = up.upscale_pixels(synthetic_image(21, 34))
    assert out.shape == (21 * scale, 34 * scale, 3) and out.dtype == np.uint8
    assert stats["tiles"] == 3  # 1 row (21 <= 16 + 2 * (pad 2 + blend 1)) x ceil(34 / 16) columns


def test_16bit_rgb_round_trip_is_not_quantised():
    pixels = synthetic_image(16, 20, 3, np.uint16, seed=3)
    assert len(np.unique(pixels)) > 256
    out, _ = _nearest(2, tile=0).upscale_pixels(pixels)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, _repeat(pixels, 2))


def test_gray_round_trip_8_and_16_bit():
    for dtype in (np.uint8, np.uint16):
        pixels = synthetic_image(12, 18, 1, dtype, seed=4)
        out, _ = _nearest(3).upscale_pixels(pixels)
        assert out.shape == (36, 54, 1) and out.dtype == dtype
        np.testing.assert_array_equal(out, _repeat(pixels, 3))


def test_rgba_alpha_by_model_constant_and_bicubic():
    rgba = synthetic_image(10, 14, 4, seed=5)
    out, _ = _nearest(2, alpha="model").upscale_pixels(rgba)
    np.testing.assert_array_equal(out, _repeat(rgba, 2))
    constant = rgba.copy()
    constant[:, :, 3] = 77
    out, _ = _nearest(2, alpha="bicubic").upscale_pixels(constant)
    assert (out[:, :, 3] == 77).all()
    np.testing.assert_array_equal(out[:, :, :3], _repeat(rgba[:, :, :3], 2))
    ga = synthetic_image(10, 14, 2, np.uint16, seed=6)
    out, _ = _nearest(2, alpha="bicubic").upscale_pixels(ga)
    assert out.shape == (20, 28, 2) and out.dtype == np.uint16
    np.testing.assert_array_equal(out[:, :, 0], _repeat(ga, 2)[:, :, 0])
    assert np.abs(out[:, :, 1].astype(float) - _repeat(ga, 2)[:, :, 1]).mean() < 0.05 * 65535  # smooth, not a copy


def test_outscale_resizes_to_the_requested_size():
    out, _ = _nearest(2, outscale=1.5).upscale_pixels(synthetic_image(20, 30))
    assert out.shape == (30, 45, 3)


def test_scale_mismatch_is_a_clear_error():
    with pytest.raises(InputError, match="x2, not x4"):
        Upscaler([sr_model(NearestUp(2), 2)], CPU, UpscaleOptions(scale=4))


def _png_text(path) -> dict[str, str]:
    data, pos, out = path.read_bytes(), 8, {}
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"tEXt":
            key, _, value = body.partition(b"\x00")
            out[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
    return out


def test_files_batch_metadata_and_failures(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    icc = b"\x00" * 128 + b"fake-icc-profile"
    buf = io.BytesIO()
    PILImage.fromarray(synthetic_image(12, 16)).save(buf, format="PNG", icc_profile=icc, dpi=(300, 300))
    (src / "photo.png").write_bytes(buf.getvalue())
    write_image(src / "sub" / "deep16.png", synthetic_image(8, 8, 3, np.uint16))
    write_image(src / "pic.jpg", synthetic_image(8, 10))
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = tmp_path / "out"
    up = _nearest(2, suffix="_x2")
    report = upscale_files(src, out, up, recursive=True, quiet=True)
    assert {p.name for p in out.rglob("*") if p.is_file()} == {
        "photo_x2.png",
        "deep16_x2.png",
        "pic_x2.jpg",
        "pic_x2.jpg.json",
    }
    assert [f.path.name for f in report.failures] == ["broken.png"]
    assert "broken.png" in report.failures[0].error
    photo = read_image(out / "photo_x2.png")
    assert photo.pixels.shape == (24, 32, 3)
    assert photo.meta.icc_profile == icc and photo.meta.dpi == pytest.approx((300, 300), abs=0.5)
    text = _png_text(out / "photo_x2.png")
    assert text["realsr:model"] == "toy" and text["realsr:scale"] == "2" and text["Software"].startswith("realsr ")
    assert read_image(out / "sub" / "deep16_x2.png").pixels.dtype == np.uint16
    sidecar = json.loads((out / "pic_x2.jpg.json").read_text())
    assert sidecar["realsr:model"] == "toy" and sidecar["out_size"] == [16, 20]
    # second run: every output exists -> refused per file, nothing overwritten
    before = (out / "photo_x2.png").read_bytes()
    again = upscale_files(src, out, up, recursive=True, quiet=True)
    assert len(again.failures) == 4 and not again.results
    assert any("--overwrite" in f.error for f in again.failures)
    assert (out / "photo_x2.png").read_bytes() == before


def test_16bit_to_jpeg_is_refused_not_quantised(tmp_path):
    write_image(tmp_path / "deep.png", synthetic_image(8, 8, 3, np.uint16))
    report = upscale_files(tmp_path / "deep.png", tmp_path / "o", _nearest(2, ext="jpg"), quiet=True)
    assert len(report.failures) == 1 and "16-bit" in report.failures[0].error
    assert not (tmp_path / "o" / "deep.jpg").exists()


def test_single_file_to_file_path(tmp_path):
    write_image(tmp_path / "a.png", synthetic_image(8, 12))
    report = upscale_files(tmp_path / "a.png", tmp_path / "big.webp", _nearest(4), quiet=True)
    assert report.results[0].out_size == (32, 48)
    assert read_image(tmp_path / "big.webp").pixels.shape == (32, 48, 3)


def test_palette_png_with_transparency(tmp_path):
    from PIL import Image as PILImage

    rgb = synthetic_image(8, 10, seed=7)
    pal = PILImage.fromarray(rgb).convert("P", palette=PILImage.ADAPTIVE, colors=16)
    pal.save(tmp_path / "pal.png", transparency=0)
    with PILImage.open(tmp_path / "pal.png") as saved:
        expected = np.asarray(saved.convert("RGBA"))
    assert (expected[:, :, 3] == 0).any() and (expected[:, :, 3] == 255).any()
    report = upscale_files(tmp_path / "pal.png", tmp_path / "out", _nearest(2), quiet=True)
    assert not report.failures
    out = read_image(tmp_path / "out" / "pal.png").pixels
    assert out.shape == (16, 20, 4)
    np.testing.assert_array_equal(out, _repeat(expected, 2))


class _Const(torch.nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((x.shape[0], 3, x.shape[2] * 2, x.shape[3] * 2), self.value)


@pytest.mark.parametrize(
    ("rel", "level", "expected"), [(40, 200, 0.6 * 40 + 0.4 * 100), (120, 40, 120), (200, 30, 200)]
)
def test_luminance_ensemble_through_the_pipeline(rel, level, expected):
    """The fusion follows the median luma of the relativistic model's SR output, not the input's (Ren et al.)."""
    models = [sr_model(_Const(rel / 255), 2, "rel"), sr_model(_Const(100 / 255), 2, "std")]
    up = Upscaler(models, CPU, UpscaleOptions(fusion="luminance", tile=0))
    out, stats = up.upscale_pixels(np.full((6, 6, 3), level, np.uint8))
    assert stats["median_luma"] == pytest.approx(rel, abs=0.01)
    assert np.abs(out.astype(float) - expected).max() <= 0.5


def test_tiled_tta_equals_untiled_tta():
    pixels = synthetic_image(30, 26, seed=8)
    model = sr_model(ConvUp(scale=2, depth=3, seed=2), 2)
    whole, _ = Upscaler([model], CPU, UpscaleOptions(tile=0, tta=True)).upscale_pixels(pixels)
    tiled, stats = Upscaler([model], CPU, UpscaleOptions(tile=8, tile_pad=3, tta=True, batch=2)).upscale_pixels(pixels)
    assert stats["tiles"] > 1
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


def test_exif_orientation_is_applied_and_exif_kept(tmp_path):
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    exif[0x010F] = "TestCam"
    PILImage.fromarray(synthetic_image(8, 12)).save(tmp_path / "cam.jpg", exif=exif.tobytes(), quality=95)
    report = upscale_files(tmp_path / "cam.jpg", tmp_path / "out", _nearest(2), quiet=True)
    assert report.results[0].out_size == (24, 16)  # portrait after applying the orientation
    with PILImage.open(tmp_path / "out" / "cam.jpg") as out:
        tags = out.getexif()
        assert out.size == (16, 24) and tags.get(0x010F) == "TestCam" and tags.get(0x0112, 1) == 1


def test_tile_size_follows_free_memory(monkeypatch):
    import realsr_cli.upscale.pipeline as pipeline

    pixels = synthetic_image(70, 90, seed=9)
    model = sr_model(ConvUp(scale=2, depth=3, width=8), 2)
    plenty, _ = Upscaler([model], CPU, UpscaleOptions(tile=0)).upscale_pixels(pixels)
    monkeypatch.setattr(pipeline, "available_memory", lambda device: 2_000_000)  # 2 MB free -> small tiles
    out, stats = Upscaler([model], CPU, UpscaleOptions(tile=None, tile_pad=3)).upscale_pixels(pixels)
    assert stats["tile"] == 32 and stats["tiles"] > 1
    assert np.abs(out.astype(int) - plenty.astype(int)).max() <= 1
    monkeypatch.setattr(pipeline, "available_memory", lambda device: 64 << 30)
    _, stats = Upscaler([model], CPU, UpscaleOptions(tile=None)).upscale_pixels(pixels)
    assert stats["tiles"] == 1  # fits: run whole


def test_an_engine_is_freed_when_dropped_not_at_the_next_gc() -> None:
    """No reference cycle through the engine's model functions: a dropped engine (and a runtime's compiled model
    and buffers with it) is freed at once, in a defined order, not whenever the cyclic GC runs."""
    import gc
    import weakref

    gc.collect()
    gc.disable()
    try:
        engine = Upscaler([sr_model(ConvUp(scale=2, depth=2), 2)], torch.device("cpu"), UpscaleOptions(tile=0))
        engine.upscale_pixels(synthetic_image(12, 10))
        engine.upscale_pixels(synthetic_image(12, 10)[:, :, :1])  # the gray model path too
        ref = weakref.ref(engine)
        del engine
        assert ref() is None
    finally:
        gc.enable()
