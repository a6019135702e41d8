"""The last step of a camera chain in ``make-pairs --kernels``: JPEG at the quality ``learn-degradation`` measured.

``learn-degradation`` writes ``OUT/jpeg.json`` (:mod:`realsr_cli.learn.jpeg_quality`); ``--jpeg auto`` (default)
finds it beside the ``--kernels`` (or ``--noise-patches``) folder and, when the camera's photos carry JPEG,
compresses every LR pair after the kernel and the noise (kernel -> noise -> JPEG, the order of a camera), at a
quality drawn per pair from the photos' measured qualities. ``--jpeg off`` disables it, ``--jpeg N`` fixes the
quality, ``--jpeg FILE`` reads another ``jpeg.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from realsr_cli.errors import InputError
from realsr_cli.learn.jpeg_quality import JPEG_FILE


@dataclass(frozen=True)
class JpegStep:
    """Qualities to draw from (uniformly, one per pair) and where they came from."""

    qualities: tuple[int, ...]
    source: str

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {"op": "jpeg", "quality": int(self.qualities[int(rng.integers(len(self.qualities)))])}


def read_jpeg_file(path: Path) -> JpegStep | None:
    """A ``jpeg.json``'s step, or None when it says the photos carry no JPEG."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the JPEG measurement ({exc})") from None
    if not isinstance(data, dict) or "detected" not in data:
        raise InputError(f"{path}: not a learn-degradation jpeg.json (no 'detected' field)")
    if not data["detected"]:
        return None
    qualities = data.get("make_pairs_qualities")
    if not qualities or not all(isinstance(q, int) and 1 <= q <= 100 for q in qualities):
        raise InputError(f"{path}: 'make_pairs_qualities' must be a non-empty list of integers 1..100")
    return JpegStep(tuple(qualities), str(Path(path).resolve()))


def resolve_jpeg(spec: str | int | None, kernels: Path | None, noise: Path | None = None) -> JpegStep | None:
    """``--jpeg``: auto | off | a quality 1..100 | a jpeg.json file."""
    text = "off" if spec is None else str(spec).strip()
    if text.lower() in ("off", "none", "no", "0"):
        return None
    if text.isdigit():
        quality = int(text)
        if not 1 <= quality <= 100:
            raise InputError(f"--jpeg {text}: a JPEG quality is 1..100")
        return JpegStep((quality,), f"--jpeg {quality}")
    if text.lower() == "auto":
        folders = [f for f in (kernels, noise) if f is not None]
        for candidate in [f.parent / JPEG_FILE for f in folders] + [f / JPEG_FILE for f in folders]:
            if candidate.is_file():
                return read_jpeg_file(candidate)
        return None
    path = Path(text)
    if not path.is_file():
        raise InputError(f"--jpeg {text}: expected auto, off, a quality 1..100 or a jpeg.json file")
    return read_jpeg_file(path)


def jpeg_option(step: JpegStep | None) -> str:
    """What a manifest records (and ``mode_from_record`` passes back to :func:`resolve_jpeg`)."""
    if step is None:
        return "off"
    return str(step.qualities[0]) if step.source.startswith("--jpeg") else step.source
