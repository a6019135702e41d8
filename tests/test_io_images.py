"""Image I/O core: formats, bit depths, channels, EXIF orientation, corrupt files, atomic/no-overwrite rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageOps

from realsr_cli.errors import ImageReadError, InputError, OutputExistsError, RealSRError
from realsr_cli.io.images import from_float, read_image, to_float, write_image
from realsr_cli.io.metadata import ImageMeta
from realsr_cli.io.paths import collect_inputs, plan_outputs
from tests.conftest import synthetic_image


@pytest.mark.parametrize("ext", [".png", ".tif", ".bmp", ".webp"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_lossless_round_trip_8bit(tmp_path: Path, ext: str, channels: int) -> None:
    if ext == ".bmp" and channels == 4:
        pytest.skip("BMP has no standard alpha")
    pixels = synthetic_image(20, 24, channels)
    path = write_image(tmp_path / f"a{ext}", pixels, quality=100)
    image = read_image(path)
    if ext == ".webp" and channels == 1:  # WebP stores gray as RGB
        assert np.array_equal(image.pixels[:, :, 0], pixels[:, :, 0])
        return
    assert image.pixels.dtype == np.uint8
    assert np.array_equal(image.pixels, pixels)


@pytest.mark.parametrize("ext", [".png", ".tif"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_16bit_round_trip_keeps_all_bits(tmp_path: Path, ext: str, channels: int) -> None:
    pixels = synthetic_image(16, 18, channels, dtype=np.uint16)
    assert np.any(pixels % 256 != 0)  # values that 8 bits could not hold
    image = read_image(write_image(tmp_path / f"a{ext}", pixels))
    assert image.pixels.dtype == np.uint16 and image.bit_depth == 16
    assert np.array_equal(image.pixels, pixels)


def test_jpeg_round_trip_is_close(tmp_path: Path) -> None:
    pixels = synthetic_image(32, 32, 3)
    image = read_image(write_image(tmp_path / "a.jpg", pixels, quality=95))
    assert image.pixels.shape == pixels.shape
    assert np.abs(image.pixels.astype(int) - pixels).mean() < 8  # 4:2:0 chroma subsampling on a busy image


def test_16bit_to_jpeg_is_refused_not_quantised(tmp_path: Path) -> None:
    with pytest.raises(RealSRError, match="8 bits"):
        write_image(tmp_path / "a.jpg", synthetic_image(8, 8, 3, dtype=np.uint16))


def test_rgb_channel_order_is_rgb(tmp_path: Path) -> None:
    pixels = np.zeros((4, 4, 3), np.uint8)
    pixels[..., 0] = 200  # red
    PILImage.fromarray(pixels).save(tmp_path / "red.png")
    assert read_image(tmp_path / "red.png").pixels[0, 0].tolist() == [200, 0, 0]


def test_palette_image_is_expanded(tmp_path: Path) -> None:
    pil = PILImage.fromarray(synthetic_image(10, 12, 3)).convert("P", palette=PILImage.ADAPTIVE, colors=16)
    pil.save(tmp_path / "p.png")
    image = read_image(tmp_path / "p.png")
    assert image.was_palette
    assert np.array_equal(image.pixels, np.asarray(pil.convert("RGB")))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path: Path, orientation: int) -> None:
    pil = PILImage.fromarray(synthetic_image(12, 20, 3))
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    pil.save(tmp_path / "o.png", exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(PILImage.open(tmp_path / "o.png")).convert("RGB"))
    image = read_image(tmp_path / "o.png")
    assert np.array_equal(image.pixels, expected)
    if orientation != 1:  # the orientation has been applied, so the carried EXIF must say "upright"
        carried = PILImage.Exif()
        carried.load(image.meta.exif)
        assert carried[0x0112] == 1


def test_metadata_carried_to_png_and_jpeg(tmp_path: Path) -> None:
    icc = bytes(range(256)) * 4
    exif = PILImage.Exif()
    exif[0x010F] = "TestCam"
    meta = ImageMeta(icc_profile=icc, exif=exif.tobytes(), dpi=(300.0, 300.0))
    for ext in (".png", ".jpg", ".webp"):
        path = write_image(tmp_path / f"m{ext}", synthetic_image(8, 8, 3), meta=meta)
        with PILImage.open(path) as im:
            assert im.info.get("icc_profile") == icc, ext
            assert im.getexif().get(0x010F) == "TestCam", ext
            if ext != ".webp":
                assert round(im.info["dpi"][0]) == 300, ext
        assert np.asarray(read_image(path).pixels).shape == (8, 8, 3)


@pytest.mark.parametrize(
    "name, data, problem",
    [
        ("empty.png", b"", "empty file"),
        ("junk.png", b"this is not an image at all", "cannot decode"),
        ("cut.jpg", None, "truncated"),
        ("note.txt", b"hello", "unsupported file type"),
    ],
)
def test_corrupt_files_give_one_clear_line(tmp_path: Path, name: str, data: bytes | None, problem: str) -> None:
    path = tmp_path / name
    if data is None:
        write_image(tmp_path / "full.jpg", synthetic_image(64, 64, 3))
        data = (tmp_path / "full.jpg").read_bytes()[:-400]
    path.write_bytes(data)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    message = str(info.value)
    assert str(path) in message and problem in message and "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="file not found"):
        read_image(tmp_path / "nope.png")


def test_write_refuses_existing_output_and_inputs(tmp_path: Path) -> None:
    pixels = synthetic_image(8, 8, 3)
    out = write_image(tmp_path / "a.png", pixels)
    with pytest.raises(OutputExistsError, match="--overwrite"):
        write_image(out, pixels)
    write_image(out, pixels, overwrite=True)
    with pytest.raises(OutputExistsError, match="input"):
        write_image(out, pixels, overwrite=True, inputs=frozenset({out.resolve()}))
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temp files left behind


def test_float_conversions_by_dtype() -> None:
    assert to_float(np.array([255], np.uint8))[0] == 1.0
    assert to_float(np.array([65535], np.uint16))[0] == 1.0
    assert from_float(np.array([0.5]), np.uint16)[0] == 32768
    assert from_float(np.array([1.7, -0.2]), np.uint8).tolist() == [255, 0]


def test_collect_inputs_folder_file_glob(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("b.png", "a.jpg", "sub/c.png", "notes.txt", ".hidden.png"):
        (tmp_path / name).write_bytes(b"x")
    assert [i.path.name for i in collect_inputs(tmp_path)] == ["a.jpg", "b.png"]
    recursive = collect_inputs(tmp_path, recursive=True)
    assert [str(i.relative) for i in recursive] == ["a.jpg", "b.png", "sub/c.png"]
    assert [i.path.name for i in collect_inputs(str(tmp_path / "*.png"))] == ["b.png"]
    assert collect_inputs(tmp_path / "b.png")[0].stem == "b"
    with pytest.raises(InputError, match="no such file"):
        collect_inputs(tmp_path / "missing")
    with pytest.raises(InputError, match="no files match"):
        collect_inputs(str(tmp_path / "*.webp"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no images"):
        collect_inputs(tmp_path / "empty")


def test_plan_outputs_detects_stem_collisions(tmp_path: Path) -> None:
    for name in ("a.png", "a.jpg"):
        (tmp_path / name).write_bytes(b"x")
    items = collect_inputs(tmp_path)
    with pytest.raises(InputError, match="both be written"):
        plan_outputs(items, tmp_path / "out", ext="png")
    plan = plan_outputs(items, tmp_path / "out", suffix="_x4")
    assert sorted(p.name for _, p in plan) == ["a_x4.jpg", "a_x4.png"]
