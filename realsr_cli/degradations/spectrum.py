"""A camera's sharpness signature: the radially averaged power spectrum of its photos' luma.

Frequency matching after Ji et al., "Frequency Consistent Adaptation for Real World Super Resolution" (AAAI 2021,
the NTIRE 2020 RealSR winners' follow-up): a degradation is right when the LR images it makes have the frequency
content of the camera's own photos. ``learn-degradation`` writes the signature of the camera's photos
(``kernels/spectrum.json``); ``make-pairs --kernel-floor match`` / ``--sharpen auto`` degrade its own HR images
with candidate kernel widths and unsharp-mask amounts (with the pairs' noise and JPEG, so like is compared with
like) and keep the candidate whose LR matches it (``realsr_cli.pairs.spectral_match``).

The signature: Hann-windowed 64-pixel tiles of the luma (BT.601, 0-255: ``noise_model.gray_255``), ``|FFT|^2`` averaged over all tiles of
all photos in 16 radial bands up to Nyquist, as log10 power relative to the mean of bands 1-2 (so exposure and
contrast cancel). Two signatures are compared by the RMS of their difference over bands 4-12 (0.125-0.41
cycles/pixel: above the scene's low-frequency content, below the bands that only JPEG and noise shape).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from realsr_cli.errors import InputError
from realsr_cli.io.atomic import atomic_write_json

TILE = 64
BANDS = 16
REFERENCE_BANDS = slice(1, 3)  # the low-frequency bands every signature is normalised to
COMPARED_BANDS = slice(4, 13)
MAX_TILES = 2048  # per photo: a regular subset of the tiles of a large photo
FEW_TILES = 100  # a camera spectrum on fewer tiles than this is noisy: make-pairs says the match is uncertain
SPECTRUM_FILE = "spectrum.json"
FORMAT = "realsr-spectrum"
FORMAT_VERSION = 1


@lru_cache(maxsize=2)
def _geometry(tile: int, bands: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(2-D Hann window, radial band of each FFT bin (``bands`` = beyond Nyquist), bins per band)."""
    window = np.outer(np.hanning(tile), np.hanning(tile))
    fy, fx = np.meshgrid(np.fft.fftfreq(tile), np.fft.fftfreq(tile), indexing="ij")
    band = np.minimum((np.hypot(fy, fx) / 0.5 * bands).astype(np.int64), bands)
    return window, band.ravel(), np.bincount(band.ravel(), minlength=bands + 1)[:bands]


def band_power(luma: np.ndarray, tile: int = TILE, bands: int = BANDS) -> tuple[np.ndarray, int]:
    """(summed power per radial band, tiles) over the tiles of one luma plane (stride ``tile``, at most
    ``MAX_TILES``, evenly spread); (zeros, 0) for a plane smaller than one tile."""
    window, band, _ = _geometry(tile, bands)
    h, w = luma.shape
    rows, cols = np.arange(0, h - tile + 1, tile), np.arange(0, w - tile + 1, tile)
    if not len(rows) or not len(cols):
        return np.zeros(bands), 0
    corners = np.array([(r, c) for r in rows for c in cols])
    if len(corners) > MAX_TILES:
        corners = corners[np.linspace(0, len(corners) - 1, MAX_TILES).astype(np.int64)]
    total = np.zeros(bands)
    for start in range(0, len(corners), 256):
        chunk = np.stack([luma[r : r + tile, c : c + tile] for r, c in corners[start : start + 256]])
        chunk = (chunk - chunk.mean(axis=(1, 2), keepdims=True)) * window
        power = (np.abs(np.fft.fft2(chunk)) ** 2).reshape(len(chunk), -1).sum(axis=0)
        total += np.bincount(band, power, bands + 1)[:bands]
    return total, len(corners)


def signature(planes: list[np.ndarray]) -> np.ndarray | None:
    """The normalised log spectrum of a set of luma planes (see the module docstring); None without any tile."""
    return signature_and_tiles(planes)[0]


def signature_and_tiles(planes: list[np.ndarray]) -> tuple[np.ndarray | None, int]:
    """(signature, number of tiles it was measured on)."""
    total, tiles = np.zeros(BANDS), 0
    for plane in planes:
        power, n = band_power(plane)
        total, tiles = total + power, tiles + n
    if tiles == 0:
        return None, 0
    _, _, per_band = _geometry(TILE, BANDS)
    log_power = np.log10(np.maximum(total / per_band / tiles, 1e-12))
    return log_power - log_power[REFERENCE_BANDS].mean(), tiles


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """RMS difference (log10 units) of two signatures over the compared bands."""
    diff = np.asarray(a, dtype=np.float64)[COMPARED_BANDS] - np.asarray(b, dtype=np.float64)[COMPARED_BANDS]
    return float(np.sqrt(np.mean(diff**2)))


def write_signature(
    path: Path, sig: np.ndarray, photos: int, overwrite: bool = False, tiles: int | None = None
) -> Path:
    """``spectrum.json``: the camera photos' signature (format in docs/learn-degradation.md)."""
    obj = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tile": TILE,
        "bands": BANDS,
        "photos": int(photos),
        "tiles": None if tiles is None else int(tiles),
        "log_power": [round(float(v), 5) for v in sig],
    }
    return atomic_write_json(path, obj, overwrite=overwrite)


def read_signature(path: Path) -> np.ndarray:
    """A ``spectrum.json``'s signature; a file that is not one (or was made with another tiling) is an InputError."""
    return read_signature_and_tiles(path)[0]


def read_signature_and_tiles(path: Path) -> tuple[np.ndarray, int | None]:
    """(signature, tiles it was measured on: None when the file does not say)."""
    try:
        obj: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the camera spectrum ({exc})") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise InputError(f'{path}: not a camera spectrum (expected "format": "{FORMAT}")')
    sig = np.asarray(obj.get("log_power", []), dtype=np.float64)
    if obj.get("tile") != TILE or obj.get("bands") != BANDS or sig.shape != (BANDS,):
        raise InputError(
            f"{path}: a spectrum of {obj.get('bands')} bands on {obj.get('tile')}-px tiles; need {BANDS} on {TILE}"
        )
    tiles = obj.get("tiles")
    return sig, int(tiles) if isinstance(tiles, (int, float)) else None
