"""``pairs.jsonl``: one JSON object per pair, enough to regenerate the pair from its source image.

Each line holds ``stem``, the ``hr``/``lr`` file names (relative to the pairs folder), the ``source`` image
(and ``source_info``: its size, the clean-up downscale, the multiple-of-``s`` crop), the HR ``box`` and the
``lr_box`` (= ``box / s``) as ``[top, left, height, width]`` in the prepared HR/LR images, ``scale``, ``mode``
with its ``mode_options`` (preset, kernel and noise folders, model files), ``degradation`` (every value sampled for
the whole image: kernel file, preset parameters, noise seeds) and, for the kernel + noise mode, ``pair_degradation``
(the noise patch file and offset drawn for this pair's LR crop).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from realsr_cli.errors import InputError
from realsr_cli.io.atomic import atomic_write_text, dumps_json_line
from realsr_cli.io.tensors import to_pixels
from realsr_cli.pairs.crop import Box
from realsr_cli.pairs.modes import Mode, Source, mode_from_record

MANIFEST_NAME = "pairs.jsonl"


def write_manifest(path: Path, records: list[dict[str, Any]], **guard: Any) -> Path:
    """Write ``pairs.jsonl`` through the output guard (``overwrite=``, ``inputs=``; replaces by default)."""
    return atomic_write_text(path, "".join(dumps_json_line(r) + "\n" for r in records), **guard)


def read_manifest(path: Path) -> list[dict[str, Any]]:
    """All records of a ``pairs.jsonl`` file (a pairs folder is accepted too)."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST_NAME
    if not path.is_file():
        raise InputError(f"{path}: no pairs manifest here")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
    return records


def regenerate_pair(record: dict[str, Any], mode: Mode | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Recompute a pair's (HR, LR) pixels from its source image and the recorded parameters."""
    mode = mode or mode_from_record(record)
    info = record.get("source_info", {})
    source = Source(Path(record["source"]), record["source_key"], info.get("cleanup_scale"))
    loaded = mode.load(source)
    lr = mode.degrade(loaded.hr, record["degradation"], source)
    box, lr_box = Box.from_list(record["box"]), Box.from_list(record["lr_box"])
    rows, cols = lr_box.slices()
    lr_patch = mode.degrade_pair(lr[..., rows, cols], record.get("pair_degradation"))
    return to_pixels(loaded.hr, loaded.dtype)[box.slices()], to_pixels(lr_patch, loaded.dtype)
