"""A PNG encoder that deflates in parallel: 8/16-bit gray, gray+alpha, RGB and RGBA (PNG 1.2, ISO/IEC 15948).

An x4 output of a 1 MP photo is a 16 MP PNG; OpenCV's encoder (libpng, zlib level 1, one thread) spends about a
second on it, a quarter of a one-photo ``upscale``. Here every row gets the Sub filter (vectorised in NumPy, one
filter for the whole image: within 2 % of libpng's per-row heuristic in size on photos and SR outputs), and the
image is filtered and deflated at level 1 in horizontal bands on threads, as pigz does: each band but the last ends
in a full flush, so the bands' raw deflate streams concatenate into one zlib stream (one header; the bands'
Adler-32s combined into the stream's). The deflater is ISA-L where the ``isal`` package is installed (4x zlib's
speed, and smaller), else zlib with the Z_RLE strategy (smaller than its default strategy on such images, and
faster). NumPy and both libraries release the GIL on large buffers, so the bands use all the threads given. Any
PNG decoder reads the result; the pixels are exactly the input's (lossless). The pieces (bands, chunk headers and
CRCs) are joined once into the file's bytes: a 16 MP output's tens of MB are copied once, not once per layer.
"""

from __future__ import annotations

import os
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (gray, gray+alpha, RGB, RGBA)
LEVEL = 1  # zlib level: OpenCV's and Real-ESRGAN's default
SUB = 1  # PNG filter type 1: each byte minus the byte one pixel to its left
MIN_BAND_BYTES = 1 << 20  # smaller bands lose compression to the flushes and gain no speed
ZLIB_ENV = "REALSR_PNG_ZLIB"  # "1": deflate with zlib even where ISA-L is installed
MAX_CHUNK = 1 << 30  # IDAT chunk size (a chunk's length must stay below 2**31)


def encode_png(pixels: np.ndarray, threads: int = 1) -> bytes:
    """(H, W) or (H, W, C) uint8/uint16 pixels, channels in RGB(A) order, -> the bytes of a PNG file."""
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG stores 8- or 16-bit integers, not {pixels.dtype}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    if channels not in COLOR_TYPES or height < 1 or width < 1:
        raise ValueError(f"cannot write a {height}x{width} image with {channels} channels as PNG")
    depth = 8 * pixels.dtype.itemsize
    header = struct.pack(">IIBBBBB", width, height, depth, COLOR_TYPES[channels], 0, 0, 0)
    return b"".join(
        [SIGNATURE, chunk(b"IHDR", header), *idat_parts(deflate_parts(pixels, threads)), chunk(b"IEND", b"")]
    )


def idat_parts(stream: list[bytes]) -> list[bytes | memoryview]:
    """The IDAT chunk(s) of a zlib stream given in pieces, as parts for one join of the whole file; chunks of at
    most ``MAX_CHUNK`` bytes (one for any stream under 1 GiB: its pieces are not joined before the file is)."""
    total = sum(len(piece) for piece in stream)
    if total <= MAX_CHUNK:
        crc = zlib.crc32(b"IDAT")
        for piece in stream:
            crc = zlib.crc32(piece, crc)
        return [struct.pack(">I", total), b"IDAT", *stream, struct.pack(">I", crc)]
    data = memoryview(b"".join(stream))
    return [part for i in range(0, total, MAX_CHUNK) for part in chunk_parts(b"IDAT", data[i : i + MAX_CHUNK])]


def filtered_rows(pixels: np.ndarray) -> np.ndarray:
    """(H, 1 + W * C * bytes) uint8: each row's filter-type byte, then its Sub-filtered bytes (big-endian
    samples, as PNG stores 16-bit ones)."""
    height, width, channels = pixels.shape
    if pixels.dtype == np.uint16:
        pixels = pixels.astype(">u2", copy=False)
    raw = np.ascontiguousarray(pixels).view(np.uint8).reshape(height, -1)
    step = channels * pixels.dtype.itemsize  # bytes per pixel
    out = np.empty((height, raw.shape[1] + 1), np.uint8)
    out[:, 0] = SUB
    out[:, 1 : step + 1] = raw[:, :step]
    np.subtract(raw[:, step:], raw[:, :-step], out=out[:, step + 1 :])  # modulo 256, as the filter is defined
    return out


def deflate_parts(pixels: np.ndarray, threads: int = 1) -> list[bytes]:
    """The zlib stream of ``pixels``' filtered rows in pieces (header, each band's deflate output, Adler-32),
    filtered and deflated in up to ``threads`` bands at once (each band's Adler-32 is computed beside it and the
    checksums combined)."""
    row_bytes = pixels.shape[1] * pixels.shape[2] * pixels.dtype.itemsize + 1
    bands = max(1, min(threads, pixels.shape[0] * row_bytes // MIN_BAND_BYTES, pixels.shape[0]))
    edges = np.linspace(0, pixels.shape[0], bands + 1).astype(int)
    library, strategy = deflater()

    def band(i: int) -> tuple[list[bytes], int, int]:
        rows = filtered_rows(pixels[edges[i] : edges[i + 1]])
        engine = library.compressobj(LEVEL, zlib.DEFLATED, -15, 9, strategy)
        flush = zlib.Z_FINISH if i == bands - 1 else zlib.Z_FULL_FLUSH
        return [engine.compress(rows), engine.flush(flush)], zlib.adler32(rows.data), rows.nbytes

    if bands == 1:
        parts = [band(0)]
    else:
        with ThreadPoolExecutor(bands) as pool:
            parts = list(pool.map(band, range(bands)))
    checksum = parts[0][1]
    for _, adler, length in parts[1:]:
        checksum = adler32_combine(checksum, adler, length)
    return [b"\x78\x01", *(piece for body, _, _ in parts for piece in body), struct.pack(">I", checksum)]


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of two byte strings joined, from theirs and the second's length (zlib's adler32_combine)."""
    base = 65521
    rem = second_length % base
    low = first & 0xFFFF
    high = (rem * low) % base
    low += (second & 0xFFFF) + base - 1
    high += ((first >> 16) & 0xFFFF) + ((second >> 16) & 0xFFFF) + base - rem
    return (low % base) | ((high % base) << 16)


def deflater() -> tuple[ModuleType, int]:
    """The deflate library and strategy: ISA-L (``isal``, the ``fast`` extra) where installed, at its level 1
    4x faster than zlib's and 4 % smaller on SR outputs; else zlib with Z_RLE. Both write standard deflate."""
    if os.environ.get(ZLIB_ENV) != "1":
        try:
            from isal import isal_zlib

            return isal_zlib, zlib.Z_DEFAULT_STRATEGY
        except ImportError:
            pass
    return zlib, zlib.Z_RLE


def chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 of type and data."""
    return b"".join(chunk_parts(kind, payload))


def chunk_parts(kind: bytes, payload: bytes | memoryview) -> list[bytes | memoryview]:
    """A PNG chunk as its four parts (length, type, ``payload`` itself, CRC-32), for one join of the whole file."""
    crc = zlib.crc32(payload, zlib.crc32(kind))
    return [struct.pack(">I", len(payload)), kind, payload, struct.pack(">I", crc)]
