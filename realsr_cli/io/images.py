"""Reading and writing images: PNG, JPEG, WebP, BMP, TIFF; 8/16-bit; gray, RGB, RGBA; EXIF orientation.

Pixels are numpy arrays of shape (H, W, C) in RGB(A) channel order (C = 1 for gray), with the file's own
dtype (uint8 or uint16) so that 16-bit images are never silently quantised. Decoding is done by OpenCV;
Pillow reads only the header (size, EXIF orientation, ICC profile, DPI, palette mode). An image whose header
claims more pixels than the pixel budget (:func:`pixel_budget`) is refused before anything is decoded (the size
comes from :mod:`realsr_cli.io.header_size` when Pillow cannot open the file). A JPEG is decoded up to its
end-of-image marker (data appended after it, as in phone motion photos, is ignored). Pillow's and OpenCV's
process-wide settings are changed only during a read (:mod:`realsr_cli.io.decoder_scope`).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage

from realsr_cli.errors import ImageReadError, InputError, RealSRError
from realsr_cli.io.atomic import atomic_write_bytes, ensure_writable
from realsr_cli.io.decoder_scope import opencv_quiet, pillow_unlimited
from realsr_cli.io.header_size import header_size
from realsr_cli.io.jpeg_stream import jpeg_end
from realsr_cli.io.metadata import ImageMeta, embed_metadata, encode_webp_with_metadata
from realsr_cli.io.png import encode_png
from realsr_cli.threads import affinity_cores

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
EIGHT_BIT_ONLY = (".jpg", ".jpeg", ".webp", ".bmp")
EXIF_ORIENTATION_TAG = 0x0112
# Pixel budget: Pillow's decompression-bomb limit (2 x MAX_IMAGE_PIXELS = 178,956,970 pixels, e.g. 13377 x 13377);
# $REALSR_MAX_PIXELS (or ``upscale --max-pixels``) changes it, 0 removes it. Pillow's own check is lifted while a
# header is opened: this one applies to every decoder, with a message naming the file.
DEFAULT_MAX_PIXELS = 178_956_970
MAX_PIXELS_ENV = "REALSR_MAX_PIXELS"


@dataclass
class Image:
    """Decoded pixels plus what must travel with them to the output."""

    pixels: np.ndarray
    path: Path | None = None
    meta: ImageMeta = field(default_factory=ImageMeta)
    was_palette: bool = False

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])

    @property
    def has_alpha(self) -> bool:
        return self.channels in (2, 4)

    @property
    def is_gray(self) -> bool:
        return self.channels in (1, 2)

    @property
    def bit_depth(self) -> int:
        return 16 if self.pixels.dtype == np.uint16 else 8 if self.pixels.dtype == np.uint8 else 32


def pixel_budget(max_pixels: int | None = None) -> int:
    """The most pixels an input image may have (0 = no limit): ``max_pixels``, else ``$REALSR_MAX_PIXELS``."""
    if max_pixels is not None:
        if max_pixels < 0:
            raise InputError(f"--max-pixels {max_pixels}: must be 0 (no limit) or more")
        return max_pixels
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(raw))
    except ValueError:
        raise InputError(f"${MAX_PIXELS_ENV}={raw}: expected a number of pixels (0 = no limit)") from None
    if value < 0:
        raise InputError(f"${MAX_PIXELS_ENV}={raw}: must be 0 (no limit) or more")
    return value


def check_pixel_budget(path: Path, width: int, height: int, max_pixels: int | None = None) -> None:
    """Refuse an image whose header claims more pixels than the budget, before it is decoded."""
    budget = pixel_budget(max_pixels)
    if budget and width * height > budget:
        raise ImageReadError(
            path,
            f"{width}x{height} = {width * height / 1e6:.1f} MP is over the pixel budget of {budget / 1e6:.1f} MP "
            f"(raise it with ${MAX_PIXELS_ENV}=N or upscale --max-pixels N; 0 = no limit)",
        )


def read_image(path: str | Path, max_pixels: int | None = None) -> Image:
    """Decode an image file; raise ``ImageReadError`` naming the file when it cannot be used.

    ``max_pixels``: the pixel budget (default :func:`pixel_budget`; 0 = no limit)."""
    path = Path(path)
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        raise ImageReadError(path, f"unsupported file type '{path.suffix}' (expected {', '.join(IMAGE_EXTENSIONS)})")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a folder, not an image file") from None
    except OSError as exc:
        raise ImageReadError(path, f"cannot read file ({exc.strerror or exc})") from None
    return decode_image(data, path, max_pixels)


def decode_image(data: bytes, path: Path, max_pixels: int | None = None) -> Image:
    if not data:
        raise ImageReadError(path, "empty file")
    if data[:2] == b"\xff\xd8":
        end = jpeg_end(data)
        if end is None:
            raise ImageReadError(path, "truncated JPEG (no end-of-image marker)")
        data = data[:end]
    meta, orientation, was_palette = _read_header(data, path, max_pixels)
    with opencv_quiet():
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise ImageReadError(path, "cannot decode image (corrupt, truncated or not really this format)")
    check_pixel_budget(path, pixels.shape[1], pixels.shape[0], max_pixels)  # a header neither reader understood
    pixels = _to_rgb_layout(pixels, path)
    pixels = apply_exif_orientation(pixels, orientation)
    return Image(pixels=np.ascontiguousarray(pixels), path=path, meta=meta, was_palette=was_palette)


def _to_rgb_layout(pixels: np.ndarray, path: Path) -> np.ndarray:
    if pixels.dtype not in (np.uint8, np.uint16, np.float32):
        raise ImageReadError(path, f"unsupported sample type {pixels.dtype} (expected 8- or 16-bit integers)")
    if pixels.ndim == 2:
        return pixels[:, :, None]
    if pixels.shape[2] == 3:
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    if pixels.shape[2] == 4:
        return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA)
    if pixels.shape[2] in (1, 2):
        return pixels
    raise ImageReadError(path, f"unsupported number of channels: {pixels.shape[2]}")


def _read_header(data: bytes, path: Path, max_pixels: int | None) -> tuple[ImageMeta, int, bool]:
    """EXIF orientation, ICC profile, EXIF block and DPI via Pillow (best effort), after the pixel-budget check.

    The budget is checked on the header's size first: Pillow's ``getexif`` decodes a whole PNG to find its eXIf
    chunk, which must not happen for a file claiming billions of pixels."""
    try:
        with pillow_unlimited():  # lazy: reads the header only
            im = PILImage.open(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - metadata is optional; OpenCV decodes (or refuses) the pixels
        size = header_size(data)
        if size is not None:
            check_pixel_budget(path, *size, max_pixels)
        return ImageMeta(), 1, False
    with im:
        check_pixel_budget(path, int(im.size[0]), int(im.size[1]), max_pixels)
        try:
            exif = im.getexif()
            orientation = int(exif.get(EXIF_ORIENTATION_TAG, 1) or 1)
            exif_bytes = None
            if len(exif):
                if orientation != 1:
                    exif[EXIF_ORIENTATION_TAG] = 1
                exif_bytes = exif.tobytes()
            dpi = im.info.get("dpi")
            meta = ImageMeta(
                icc_profile=im.info.get("icc_profile") or None,
                exif=exif_bytes,
                dpi=(float(dpi[0]), float(dpi[1])) if dpi else None,
            )
            return meta, orientation, im.mode in ("P", "PA")
        except Exception:  # noqa: BLE001 - metadata is optional
            return ImageMeta(), 1, False


def apply_exif_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip so that the array shows the image as a viewer honouring EXIF would (tags 1-8)."""
    ops = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: np.rot90(a, k=-1)[::-1],
        8: lambda a: np.rot90(a, k=1),
    }
    return ops.get(orientation, ops[1])(pixels)


def write_image(
    path: str | Path,
    pixels: np.ndarray,
    *,
    overwrite: bool = False,
    inputs: frozenset[Path] = frozenset(),
    meta: ImageMeta | None = None,
    quality: int = 95,
) -> Path:
    """Encode (H, W, C) RGB(A)/gray pixels and write them atomically and exclusively (the output guard)."""
    path = Path(path)
    ensure_writable(path, overwrite, inputs)
    ext = path.suffix.lower()
    data = encode_image(pixels, ext, quality=quality)
    if meta is not None and not meta.is_empty():
        if ext == ".webp":
            data = encode_webp_with_metadata(pixels if pixels.ndim == 3 else pixels[:, :, None], quality, meta)
        else:
            data = embed_metadata(data, ext, meta)
    return atomic_write_bytes(path, data, overwrite=overwrite, inputs=inputs)


def encode_image(pixels: np.ndarray, ext: str, quality: int = 95) -> bytes:
    ext = ext.lower()
    if ext not in IMAGE_EXTENSIONS:
        raise RealSRError(f"cannot write '{ext}' files (use one of {', '.join(IMAGE_EXTENSIONS)})")
    if pixels.dtype not in (np.uint8, np.uint16):
        raise RealSRError(f"cannot encode {pixels.dtype} pixels; convert with from_float() first")
    if pixels.dtype == np.uint16 and ext in EIGHT_BIT_ONLY:
        raise RealSRError(f"'{ext}' stores 8 bits per channel only; write 16-bit images as .png or .tif")
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if ext == ".png":
        return encode_png(pixels, threads=affinity_cores())
    bgr = _to_bgr_layout(pixels)
    params: list[int] = []
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    elif ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101 if quality >= 100 else int(quality)]
    ok, buf = cv2.imencode(ext, bgr, params)
    if not ok:
        raise RealSRError(f"OpenCV could not encode a {pixels.shape} {pixels.dtype} image as '{ext}'")
    return buf.tobytes()


def _to_bgr_layout(pixels: np.ndarray) -> np.ndarray:
    channels = pixels.shape[2]
    if channels == 1:
        return pixels[:, :, 0]
    if channels == 2:  # gray + alpha: OpenCV writes BGRA
        gray, alpha = pixels[:, :, 0], pixels[:, :, 1]
        return np.dstack([gray, gray, gray, alpha])
    if channels == 3:
        return cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2BGR)
    if channels == 4:
        return cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGBA2BGRA)
    raise RealSRError(f"cannot write an image with {channels} channels")


def to_float(pixels: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """Integer pixels to float (float32 unless ``dtype``) in [0, 1] (by dtype: /255 for uint8, /65535 for uint16,
    computed in ``dtype``); float pixels are clipped to [0, 1]."""
    if pixels.dtype == np.uint8:
        return pixels.astype(dtype) / 255.0
    if pixels.dtype == np.uint16:
        return pixels.astype(dtype) / 65535.0
    return np.clip(pixels.astype(dtype), 0.0, 1.0)


def from_float(pixels: np.ndarray, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """Float pixels in [0, 1] to uint8/uint16 with rounding and clipping."""
    peak = 65535.0 if np.dtype(dtype) == np.uint16 else 255.0
    return np.clip(np.rint(np.asarray(pixels, np.float32) * peak), 0, peak).astype(dtype)
