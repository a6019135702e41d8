"""The segments folder of a video upscale (``.<output>.parts/``) and the fingerprint that makes reusing it safe.

Finished segments are reused by a re-run only when they were made from the same input file (path, size, mtime),
the same model weights (a sha256 over every tensor of every model, so ``--denoise`` / ``--interpolate`` count),
the same scale, ``--crf``, tiling, TTA, fusion, precision and segment length. The fingerprint is written to
``fingerprint.json`` in the folder; a folder whose fingerprint differs (or is missing) is emptied, and
``--overwrite`` always starts from an empty folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realsr_cli import __version__
from realsr_cli.io.atomic import atomic_write_json

if TYPE_CHECKING:
    import torch

FINGERPRINT_NAME = "fingerprint.json"
# Upscaler options that change the pixels of a frame (the others name or encode image files).
PIXEL_OPTIONS = ("scale", "outscale", "tile", "tile_pad", "tta", "fusion", "luminance", "alpha", "precision",
                 "color_fix")  # fmt: skip


def parts_dir(output: Path) -> Path:
    return output.parent / f".{output.name}.parts"


def weights_sha256(module: torch.nn.Module) -> str:
    """sha256 over the names, dtypes, shapes and bytes of ``module``'s state dict."""
    import torch

    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        data = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{data.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(data.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def video_fingerprint(source: Path, upscaler: Any, crf: int, per_segment: int) -> dict[str, Any]:
    """What the segments depend on: the input file, the models' weights, the pixel options and the encoding."""
    stat = source.stat()
    options = dataclasses.asdict(upscaler.options)
    return {
        "version": __version__,
        "source": {"path": str(source.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns},
        "models": [
            {"source": str(m.source), "arch": m.arch, "scale": m.scale, "weights": weights_sha256(m.module)}
            for m in upscaler.models
        ],
        "options": {key: options[key] for key in PIXEL_OPTIONS},
        "dtype": str(upscaler.dtype),
        "crf": crf,
        "frames_per_segment": per_segment,
    }


def _recorded(parts: Path) -> Any:
    try:
        return json.loads((parts / FINGERPRINT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def prepare_parts(parts: Path, fingerprint: dict[str, Any], overwrite: bool) -> bool:
    """Make ``parts`` hold only segments of ``fingerprint``; True when earlier segments were kept for reuse."""
    # Round-trip through JSON so that tuples compare equal to the lists read back.
    fingerprint = json.loads(json.dumps(fingerprint))
    kept = parts.is_dir() and not overwrite and _recorded(parts) == fingerprint
    if parts.is_dir() and not kept:
        shutil.rmtree(parts)
    parts.mkdir(parents=True, exist_ok=True)
    if not kept:
        atomic_write_json(parts / FINGERPRINT_NAME, fingerprint)
    return kept
