"""The ONNX export cache's records, readable without torch: per export the runtimes' measured difference from
PyTorch, and per model *file* which export it has and what the ``upscale`` engine needs to know of it.

Per export, also ``auto``'s choice: the first runtime within 1/255 that is not clearly slower than PyTorch, or
PyTorch (:func:`realsr_cli.upscale.backends.select_backend`), decided once per thread count and installed runtime
versions. The exports themselves (``<models cache>/realsr-onnx/<key>.onnx``) are made by :mod:`realsr_cli.models.onnx_cache`
from a loaded model, and named by a hash of its weights (which needs torch). So that a one-photo ``upscale`` can
find the export of a model file without loading it (the lean engine, :mod:`realsr_cli.upscale.lean`), a run of the
PyTorch engine that chose a runtime records ``by-file/<sha256 of the file>.json``: the export's name, the model's
scale, channels and tile context, its activation bytes per pixel (the tile size rule), its architecture (for the
output's metadata), and the built-in names (``default@4``) it was loaded as with no per-photo strength. A
changed file has another hash and so no record; a record of another realsr version is not used.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from realsr_cli import __version__
from realsr_cli.io.atomic import atomic_write_json
from realsr_cli.io.locks import file_lock
from realsr_cli.models.cache import cache_dir, sha256_of

SUBDIR = "realsr-onnx"
BY_FILE = "by-file"


def onnx_dir() -> Path:
    return cache_dir() / SUBDIR


# ---- per export: the runtimes' difference from PyTorch ----------------------------------------------------------
def _difference_path(onnx: Path) -> Path:
    return onnx.with_suffix(".json")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def recorded_difference(onnx: Path, runtime: str) -> float | None:
    """The difference from PyTorch recorded for ``runtime`` (name and version) on this export, if measured."""
    value = _read_json(_difference_path(onnx)).get(runtime)
    return float(value) if isinstance(value, (int, float)) else None


def record_difference(onnx: Path, runtime: str, difference: float) -> None:
    """Remember ``runtime``'s measured difference from PyTorch on this export."""
    with file_lock(onnx.with_suffix(".lock")):
        record = _read_json(_difference_path(onnx))
        record[runtime] = difference
        atomic_write_json(_difference_path(onnx), record, overwrite=True)


def recorded_choice(onnx: Path, key: str) -> str | None:
    """``auto``'s recorded choice for this export under ``key`` (:func:`realsr_cli.upscale.runtimes.choice_key`):
    a runtime's name or ``torch``."""
    choices = _read_json(_difference_path(onnx)).get("auto")
    value = choices.get(key) if isinstance(choices, dict) else None
    return value if isinstance(value, str) else None


def record_choice(onnx: Path, key: str, choice: str) -> None:
    """Remember ``auto``'s choice for this export under ``key`` (decided once: see the module docstring)."""
    with file_lock(onnx.with_suffix(".lock")):
        record = _read_json(_difference_path(onnx))
        choices = record.get("auto")
        record["auto"] = {**(choices if isinstance(choices, dict) else {}), key: choice}
        atomic_write_json(_difference_path(onnx), record, overwrite=True)


# ---- per model file: its export and what the engine needs -------------------------------------------------------
@dataclass
class FileExport:
    """What a run of the PyTorch engine recorded of one model file's export."""

    onnx: str  # the export's file name in onnx_dir()
    arch: str
    scale: int
    in_channels: int
    out_channels: int
    context: int
    bytes_per_pixel: float
    plain: list[str] = field(default_factory=list)  # built-in names ("default@4") loaded as this file, no strength
    realsr: str = __version__

    @property
    def onnx_path(self) -> Path:
        return onnx_dir() / self.onnx


def _file_record_path(digest: str) -> Path:
    return onnx_dir() / BY_FILE / f"{digest}.json"


def file_digest(model_path: Path) -> str | None:
    """The key of a model file's record: its sha256 (None when it cannot be read)."""
    try:
        return sha256_of(model_path)
    except OSError:
        return None


def find_file_export(digest: str) -> FileExport | None:
    """The record of the model file with sha256 ``digest`` (:func:`file_digest`), when one of this version exists
    and its export is still there; else None."""
    raw = _read_json(_file_record_path(digest))
    try:
        record = FileExport(**raw)
    except TypeError:
        return None
    if record.realsr != __version__ or not record.onnx_path.is_file():
        return None
    return record


def save_file_export(digest: str, record: FileExport) -> None:
    """Record the export of the model file with sha256 ``digest`` (merging the built-in names of an existing record
    of the same export)."""
    path = _file_record_path(digest)
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.with_suffix(".lock")):
        old = _read_json(path)
        if old.get("onnx") == record.onnx and old.get("realsr") == record.realsr:
            record.plain = sorted(set(record.plain) | set(old.get("plain") or []))
        if old != asdict(record):
            atomic_write_json(path, asdict(record), overwrite=True)
