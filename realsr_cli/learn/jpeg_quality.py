"""JPEG quality of a camera's photos: read from the quantisation tables, or estimated from decoded pixels.

* JPEG files: the luminance table is matched against the IJG scaling of the standard table (ITU-T T.81 Annex K,
  libjpeg ``jpeg_quality_scaling``: ``s = 5000 / q`` below 50, ``200 - 2 q`` above; ``(T * s + 50) // 100``
  clipped to 1..255); an exact match gives the quality, otherwise the nearest in log-step (a non-IJG encoder).
* Decoded photos (PNG etc.): the 8x8 grid is found from blockiness, the ratio of the mean absolute difference
  across block boundaries to that at the other seven phases (boundary vs interior gradients: Wang, Bovik & Evans,
  "Blind measurement of blocking artifacts in images", ICIP 2000; ``realsr_cli.metrics.blockiness``). The quality
  is estimated by re-compression ("JPEG ghosts", Farid, IEEE TIFS 2009): re-encoding a decoded JPEG at its own quality changes it almost
  nothing, so the luma error curve over candidate qualities has a sharp dip there that a never-compressed image
  (a smoothly decreasing curve) lacks. The qualities whose error lies in the dip form the reported range.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from realsr_cli.degradations.jpeg import jpeg_roundtrip_uint8
from realsr_cli.io.tensors import select_channels
from realsr_cli.learn.noise_model import gray_255
from realsr_cli.metrics.blockiness import grid_blockiness

STD_LUMA = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ]
)
JPEG_FILE = "jpeg.json"  # OUT/jpeg.json: the camera summary make-pairs reads (realsr_cli.pairs.jpeg_step)
JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")
GHOST_QUALITIES = range(10, 101)
GHOST_DIP = 0.6  # e(q) / min(e(q+1..q+3)) below this: a re-compression dip (clean images stay > 1)
BLOCKY = 1.15  # boundary / interior difference ratio above this: visible 8x8 blocking
CLEAR_DIP = 0.2  # a dip this deep ends the search over grid phases
CROP = 256  # pixels: the central crop the re-compression curve is measured on


@dataclass
class JpegEstimate:
    """One photo: whether it carries JPEG compression, its quality (point and range) and how it was found."""

    jpeg: bool
    quality: int | None
    quality_range: tuple[int, int] | None
    method: str  # "quantization-tables", "recompression" or "none"
    exact: bool = False
    blockiness: float | None = None
    grid: tuple[int, int] | None = None
    ghost_ratio: float | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["quality_range"] = list(self.quality_range) if self.quality_range else None
        d["grid"] = list(self.grid) if self.grid else None
        return d


def ijg_table(quality: int, base: np.ndarray = STD_LUMA) -> np.ndarray:
    """libjpeg's quantisation table for ``quality`` (1..100) from a base table (baseline: steps 1..255)."""
    q = min(max(int(quality), 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return np.clip((base * scale + 50) // 100, 1, 255)


def quality_from_table(table: np.ndarray) -> tuple[int, bool]:
    """The IJG quality whose luminance table equals ``table`` (natural 8x8 order), or the nearest one (False)."""
    t = np.asarray(table, dtype=np.float64).reshape(8, 8)
    errs = [np.abs(np.log(ijg_table(q)) - np.log(t)).sum() for q in range(1, 101)]
    best = int(np.argmin(errs)) + 1
    return best, bool(errs[best - 1] == 0)


def read_file_quality(path: Path) -> JpegEstimate | None:
    """A JPEG file's quality from its luminance quantisation table (None when the file is not a JPEG)."""
    from PIL import Image

    with Image.open(path) as im:
        if im.format != "JPEG" or not getattr(im, "quantization", None):
            return None
        table = np.asarray(im.quantization[0], dtype=np.int64)
    quality, exact = quality_from_table(table)
    return JpegEstimate(True, quality, (quality, quality), "quantization-tables", exact)


def ghost_curve(pixels: np.ndarray, grid: tuple[int, int]) -> dict[int, float]:
    """Mean squared luma change when the grid-aligned central crop is re-encoded at each candidate quality."""
    h, w = pixels.shape[:2]
    top, left = _aligned_start(h, grid[0]), _aligned_start(w, grid[1])
    rows, cols = (h - top) // 8 * 8, (w - left) // 8 * 8
    ch, cw = min(rows, CROP), min(cols, CROP)
    top += (rows - ch) // 16 * 8
    left += (cols - cw) // 16 * 8
    crop = np.ascontiguousarray(pixels[top : top + ch, left : left + cw])
    y = gray_255(crop)
    return {q: float(np.mean((gray_255(jpeg_roundtrip_uint8(crop, q)) - y) ** 2)) for q in GHOST_QUALITIES}


def _aligned_start(size: int, phase: int) -> int:
    return phase % 8 if size - phase % 8 >= 16 else 0


def ghost_dip(curve: dict[int, float]) -> tuple[int, float, tuple[int, int]]:
    """(quality, dip ratio, range): the deepest dip of the curve below its next three qualities."""
    qs = sorted(curve)
    best, best_ratio = qs[0], np.inf
    for q in qs[:-3]:
        right = min(curve[q + 1], curve[q + 2], curve[q + 3])
        ratio = curve[q] / max(right, 1e-12)
        if ratio < best_ratio:
            best, best_ratio = q, ratio
    floor = min(curve[q] for q in range(max(qs[0], best - 5), best + 1))
    point = min(range(max(qs[0], best - 5), best + 1), key=lambda q: curve[q])
    limit = floor + 0.25 * (min(curve[best + 1], curve[best + 2], curve[best + 3]) - floor)
    inside = [q for q in range(max(qs[0], point - 5), min(qs[-1], point + 5) + 1) if curve[q] <= limit]
    return point, float(best_ratio), (min(inside), max(inside))


def estimate_pixels(pixels: np.ndarray) -> JpegEstimate:
    """Blockiness and a re-compression quality estimate of decoded 8-bit pixels (H, W, C)."""
    px = pixels if pixels.dtype == np.uint8 else np.rint(pixels.astype(np.float64) / 257.0).astype(np.uint8)
    px = select_channels(px, "color")
    if min(px.shape[:2]) < 16:
        return JpegEstimate(False, None, None, "none")
    block, grids = grid_blockiness(gray_255(px))
    found = None
    for phase in dict.fromkeys([*grids, (0, 0)]):
        q, ratio, span = ghost_dip(ghost_curve(px, phase))
        if found is None or ratio < found[1]:
            found = (q, ratio, span, phase)
        if ratio < CLEAR_DIP:
            break
    assert found is not None, "the loop runs at least once: (0, 0) is always a phase"
    q, ratio, span, phase = found
    if ratio < GHOST_DIP:
        return JpegEstimate(True, q, span, "recompression", False, round(block, 4), phase, round(ratio, 4))
    if block > BLOCKY:  # blocking without an IJG ghost: another encoder; quality unknown
        return JpegEstimate(True, None, None, "blockiness", False, round(block, 4), grids[0], round(ratio, 4))
    return JpegEstimate(False, None, None, "none", False, round(block, 4), None, round(ratio, 4))


def estimate(path: Path, pixels: np.ndarray) -> JpegEstimate:
    """A photo's JPEG quality: exact from a JPEG file's tables, else estimated from its pixels."""
    from_file = read_file_quality(path) if Path(path).suffix.lower() in JPEG_SUFFIXES else None
    return from_file or estimate_pixels(pixels)


def camera_summary(estimates: dict[str, JpegEstimate]) -> dict:
    """The camera's JPEG: detected when most photos carry it (of known quality or not); ``make_pairs_qualities``
    (one drawn per pair) are the known qualities, ``quality_range`` spans their ranges. Detected with no known
    quality: empty qualities and a ``note`` (make-pairs then asks for ``--jpeg N``)."""
    compressed = {n: e for n, e in estimates.items() if e.jpeg}
    known = {n: e for n, e in compressed.items() if e.quality is not None}
    qualities = [q for e in known.values() if (q := e.quality) is not None]
    detected = len(compressed) * 2 > len(estimates)
    methods = sorted({e.method for e in compressed.values()})
    summary = {
        "format": "realsr-jpeg",
        "detected": detected,
        "photos": len(estimates),
        "photos_with_jpeg": len(compressed),
        "photos_with_quality": len(known),
        "method": ", ".join(methods) if methods else "none",
        "quality_median": int(np.median(qualities)) if qualities else None,
        "quality_range": None,
        "make_pairs_qualities": [],
    }
    if detected and known:
        ranges = [e.quality_range or (q, q) for e in known.values() if (q := e.quality) is not None]
        summary["quality_range"] = [int(min(r[0] for r in ranges)), int(max(r[1] for r in ranges))]
        summary["make_pairs_qualities"] = sorted(int(q) for q in qualities)
    elif detected:
        summary["note"] = "JPEG of unknown quality (blocking without a re-compression dip): give make-pairs --jpeg N"
    return summary
