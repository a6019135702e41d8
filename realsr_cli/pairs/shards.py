"""``make-pairs --shard I/N``: several processes fill one pairs folder; the last to finish writes ``pairs.jsonl``.

Each shard writes its sources' pair files into ``OUT/hr`` and ``OUT/lr`` as usual and its records to
``OUT/shards/pairs.RUN.IIIII-of-NNNNN.jsonl``, where ``RUN`` is the run fingerprint (:func:`run_fingerprint`: the
options every shard shares and every source's path, size and mtime). A shard that finds all N manifests of its
run present (under a lock file) merges them into ``OUT/pairs.jsonl`` in source order, which is byte for byte the
manifest one process writes; manifests of earlier runs with other options or inputs are never merged (a re-run
with the same options and inputs makes the same records, so its manifests may be merged with the earlier ones).
A sharded run refuses only its own existing shard manifest (``--overwrite`` replaces it); it does not delete
stale pair files of earlier runs (an unsharded ``--overwrite`` run does).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from realsr_cli.errors import OutputExistsError
from realsr_cli.io.locks import file_lock
from realsr_cli.pairs.manifest import MANIFEST_NAME, read_manifest, write_manifest
from realsr_cli.sharding import Shard

SHARDS_DIR = "shards"
# PairsConfig fields that the shards of one run may give differently (the output folder is the shards' own).
PER_PROCESS = ("shard", "overwrite", "quiet", "workers", "device", "out_dir")


def run_fingerprint(options: dict[str, Any], sources: list[Path]) -> str:
    """12 hex digits naming a sharded run: ``options`` (less :data:`PER_PROCESS`) and each source's path and stat."""
    shared = {k: str(Path(v).resolve()) if isinstance(v, Path) else v for k, v in options.items()}
    stats = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in sources]
    key = {"options": {k: v for k, v in shared.items() if k not in PER_PROCESS}, "sources": stats}
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]


def shard_manifest(out_dir: Path, shard: Shard, run: str) -> Path:
    return Path(out_dir) / SHARDS_DIR / f"pairs.{run}.{shard.tag}.jsonl"


def check_shard_output(out_dir: Path, shard: Shard, run: str, overwrite: bool) -> None:
    path = shard_manifest(out_dir, shard, run)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: shard {shard} of this pairs folder was made already; pass --overwrite")


def write_shard(
    out_dir: Path,
    shard: Shard,
    run: str,
    records: list[dict[str, Any]],
    order: dict[str, int],
    inputs: frozenset[Path],
) -> Path:
    """Write this shard's manifest; when every shard's of ``run`` is there, merge them. The manifest written last."""
    path = write_manifest(shard_manifest(out_dir, shard, run), records, overwrite=True, inputs=inputs)
    merged = merge_shards(Path(out_dir), shard.count, run, order, inputs)
    return merged or path


def merge_shards(out_dir: Path, count: int, run: str, order: dict[str, int], inputs: frozenset[Path]) -> Path | None:
    """``pairs.jsonl`` from all ``count`` shard manifests of ``run`` (None while some are missing)."""
    paths = [shard_manifest(out_dir, Shard(i, count), run) for i in range(count)]
    with file_lock(out_dir / SHARDS_DIR / ".merge.lock"):
        if not all(p.is_file() for p in paths):
            return None
        records = [rec for p in paths for rec in read_manifest(p)]
        records.sort(key=lambda rec: order.get(rec.get("source_key") or "", len(order)))  # stable: pair order kept
        return write_manifest(out_dir / MANIFEST_NAME, records, overwrite=True, inputs=inputs)
