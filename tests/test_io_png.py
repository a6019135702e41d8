"""The parallel PNG encoder: lossless for every layout, one valid zlib stream whatever the bands, libpng's size."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from realsr_cli.io import png
from realsr_cli.io.images import encode_image, read_image, write_image
from realsr_cli.io.metadata import ImageMeta


@pytest.fixture(params=["isal", "zlib"], autouse=True)
def library(request, monkeypatch):
    """Every test with each deflate library (ISA-L where installed, and zlib)."""
    if request.param == "isal":
        pytest.importorskip("isal")
    monkeypatch.setenv(png.ZLIB_ENV, "1" if request.param == "zlib" else "0")
    return request.param


LAYOUTS = [((37, 53), np.uint8), ((37, 53, 2), np.uint8), ((29, 41, 3), np.uint8), ((5, 3, 4), np.uint8)]
LAYOUTS += [((31, 17, 1), np.uint16), ((37, 53, 2), np.uint16), ((64, 70, 3), np.uint16), ((9, 11, 4), np.uint16)]


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == png.SIGNATURE
    out, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, payload = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + payload)
        out.append((kind, payload))
        at += 12 + length
    return out


@pytest.mark.parametrize(("shape", "dtype"), LAYOUTS)
@pytest.mark.parametrize("bands", [1, 3])
def test_every_layout_decodes_to_the_same_pixels(shape, dtype, bands, monkeypatch):
    monkeypatch.setattr(png, "MIN_BAND_BYTES", 1)  # several bands even for a small image
    pixels = np.random.default_rng(0).integers(0, np.iinfo(dtype).max + 1, shape, dtype=dtype)
    data = png.encode_png(pixels, threads=bands)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    expected = pixels[:, :, 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels
    if decoded.ndim == 3 and decoded.shape[2] == 4 and (expected.ndim == 2 or expected.shape[2] == 2):
        decoded = decoded[:, :, [0, 3]]  # OpenCV reads gray + alpha as BGRA with B = G = R
    elif decoded.ndim == 3:
        decoded = decoded[:, :, [2, 1, 0, 3][: decoded.shape[2]]]  # BGR(A) -> RGB(A)
    np.testing.assert_array_equal(decoded, expected)
    header = _chunks(data)[0][1]
    depth, colour = header[8], header[9]
    assert depth == 8 * np.dtype(dtype).itemsize and colour == png.COLOR_TYPES[1 if pixels.ndim == 2 else shape[2]]


def test_one_zlib_stream_of_sub_filtered_rows_with_its_adler32(monkeypatch):
    monkeypatch.setattr(png, "MIN_BAND_BYTES", 64)
    pixels = np.random.default_rng(1).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    kinds = [kind for kind, _ in _chunks(png.encode_png(pixels, threads=4))]
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
    idat = b"".join(p for k, p in _chunks(png.encode_png(pixels, threads=4)) if k == b"IDAT")
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(40, 1 + 30 * 3)  # checks the Adler-32 too
    assert (rows[:, 0] == png.SUB).all()
    unfiltered = np.cumsum(rows[:, 1:].reshape(40, 30, 3), axis=1, dtype=np.uint8)  # Sub undone: running sums
    np.testing.assert_array_equal(unfiltered, pixels)


def test_pillow_reads_it_and_the_threads_change_only_the_bands(monkeypatch):
    monkeypatch.setattr(png, "MIN_BAND_BYTES", 256)
    pixels = np.random.default_rng(2).integers(0, 256, (64, 64, 4), dtype=np.uint8)
    one, four = png.encode_png(pixels, threads=1), png.encode_png(pixels, threads=4)
    assert one != four  # four bands, each flushed
    for data in (one, four):
        np.testing.assert_array_equal(np.asarray(PILImage.open(io.BytesIO(data))), pixels)


def test_size_close_to_libpng_on_a_photo_like_image():
    yy, xx = np.mgrid[0:256, 0:384].astype(np.float32)
    smooth = np.stack([128 + 100 * np.sin(xx / 23 + c) * np.cos(yy / 31 - c) for c in range(3)], axis=-1)
    noise = np.random.default_rng(3).normal(0, 2, smooth.shape)
    pixels = np.clip(smooth + noise, 0, 255).astype(np.uint8)
    ours = len(png.encode_png(pixels, threads=2))
    ok, libpng = cv2.imencode(".png", pixels[:, :, ::-1], [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok and ours <= 1.1 * len(libpng)


def test_write_image_uses_it_with_metadata(tmp_path):
    pixels = np.random.default_rng(4).integers(0, 65536, (20, 24, 3), dtype=np.uint16)
    path = write_image(tmp_path / "out.png", pixels, meta=ImageMeta(dpi=(300.0, 300.0), text={"realsr:model": "x"}))
    back = read_image(path)
    np.testing.assert_array_equal(back.pixels, pixels)
    assert back.meta.dpi is not None and round(back.meta.dpi[0]) == 300
    assert encode_image(pixels, ".png") == png.encode_png(pixels, threads=png_threads())


def png_threads() -> int:
    from realsr_cli.threads import affinity_cores

    return affinity_cores()


def test_refuses_what_png_cannot_hold():
    with pytest.raises(ValueError, match="float32"):
        png.encode_png(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="5 channels"):
        png.encode_png(np.zeros((2, 2, 5), np.uint8))


def test_adler32_of_joined_bands_from_the_bands_checksums():
    rng = np.random.default_rng(5)
    pieces = [b"", b"x", rng.bytes(70_001), b"\xff" * 900_000, rng.bytes(3)]
    for first in pieces:
        for second in pieces:
            joined = png.adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
            assert joined == zlib.adler32(first + second)


def test_the_deflate_library_chosen(library):
    engine, _ = png.deflater()
    assert engine.__name__.endswith("isal_zlib" if library == "isal" else "zlib")


def test_a_stream_over_the_chunk_limit_is_split_into_idat_chunks(monkeypatch):
    monkeypatch.setattr(png, "MIN_BAND_BYTES", 64)
    monkeypatch.setattr(png, "MAX_CHUNK", 100)
    pixels = np.random.default_rng(2).integers(0, 256, (30, 20, 3), dtype=np.uint8)
    data = png.encode_png(pixels, threads=3)
    chunks = _chunks(data)
    idat = [payload for kind, payload in chunks if kind == b"IDAT"]
    assert len(idat) > 3 and all(len(p) <= 100 for p in idat)
    for kind, payload in chunks:  # every chunk's CRC-32 covers its type and data
        at = data.index(kind + payload) + len(kind) + len(payload)
        assert int.from_bytes(data[at : at + 4], "big") == zlib.crc32(kind + payload)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    np.testing.assert_array_equal(decoded, pixels)
