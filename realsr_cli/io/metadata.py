"""Carry ICC profile, EXIF and DPI into encoded PNG / JPEG / WebP bytes.

OpenCV encodes the pixels (it handles 16-bit); this module splices the metadata in afterwards:
PNG ``iCCP``/``pHYs``/``eXIf`` chunks (PNG 1.2 + Extensions 1.5) and JPEG ``APP1 Exif``/``APP2 ICC_PROFILE``
segments plus the JFIF density. BMP and TIFF outputs keep pixels only.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from realsr_cli.io.png import chunk

EXIF_HEADER = b"Exif\x00\x00"
ICC_MARKER = b"ICC_PROFILE\x00"
ICC_CHUNK = 65519


@dataclass
class ImageMeta:
    icc_profile: bytes | None = None
    exif: bytes | None = None  # TIFF-structured EXIF, as Pillow's ``Exif.tobytes()`` returns it
    dpi: tuple[float, float] | None = None
    text: dict[str, str] | None = None  # PNG tEXt entries (e.g. the model used); ignored elsewhere

    def is_empty(self) -> bool:
        return not (self.icc_profile or self.exif or self.dpi or self.text)


def embed_metadata(data: bytes, ext: str, meta: ImageMeta) -> bytes:
    if meta.is_empty():
        return data
    if ext == ".png":
        return _embed_png(data, meta)
    if ext in (".jpg", ".jpeg"):
        return _embed_jpeg(data, meta)
    return data


def _embed_png(data: bytes, meta: ImageMeta) -> bytes:
    ihdr_end = 8 + 4 + 4 + 13 + 4
    chunks = []
    if meta.icc_profile:
        chunks.append(chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(meta.icc_profile)))
    if meta.dpi:
        ppm = [round(d / 0.0254) for d in meta.dpi]
        chunks.append(chunk(b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1)))
    if meta.exif:
        exif = meta.exif[len(EXIF_HEADER) :] if meta.exif.startswith(EXIF_HEADER) else meta.exif
        chunks.append(chunk(b"eXIf", exif))
    for key, value in (meta.text or {}).items():
        chunks.append(chunk(b"tEXt", key.encode("latin-1")[:79] + b"\x00" + value.encode("latin-1", "replace")))
    view = memoryview(data)
    return b"".join([view[:ihdr_end], *chunks, view[ihdr_end:]])  # one copy of the image data


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _embed_jpeg(data: bytes, meta: ImageMeta) -> bytes:
    pos = 2  # after SOI
    head = bytearray(data[:2])
    if data[2:4] == b"\xff\xe0":  # JFIF APP0: patch the density in place
        length = struct.unpack(">H", data[4:6])[0]
        app0 = bytearray(data[2 : 4 + length])
        if meta.dpi and app0[4:9] == b"JFIF\x00":
            app0[11] = 1
            app0[12:16] = struct.pack(">HH", *(min(65535, round(d)) for d in meta.dpi))
        head += app0
        pos = 4 + length
    segments = b""
    if meta.exif:
        exif = meta.exif if meta.exif.startswith(EXIF_HEADER) else EXIF_HEADER + meta.exif
        segments += _jpeg_segment(0xE1, exif)
    if meta.icc_profile:
        parts = [meta.icc_profile[i : i + ICC_CHUNK] for i in range(0, len(meta.icc_profile), ICC_CHUNK)]
        for index, part in enumerate(parts, start=1):
            segments += _jpeg_segment(0xE2, ICC_MARKER + bytes([index, len(parts)]) + part)
    return bytes(head) + segments + data[pos:]


def encode_webp_with_metadata(pixels, quality: int, meta: ImageMeta) -> bytes:
    """WebP through Pillow, which writes ICC and EXIF chunks (WebP holds 8-bit pixels only)."""
    from PIL import Image as PILImage

    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[pixels.shape[2]]
    image = PILImage.fromarray(pixels[:, :, 0] if mode == "L" else pixels, mode=mode)
    if mode in ("L", "LA"):
        image = image.convert("RGBA" if mode == "LA" else "RGB")
    kwargs: dict = {"quality": int(quality), "lossless": quality >= 100, "exact": True}
    if meta.icc_profile:
        kwargs["icc_profile"] = meta.icc_profile
    if meta.exif:
        kwargs["exif"] = meta.exif if meta.exif.startswith(EXIF_HEADER) else EXIF_HEADER + meta.exif
    out = io.BytesIO()
    image.save(out, format="WEBP", **kwargs)
    return out.getvalue()
