"""``make-pairs --shard I/N``: several processes fill one pairs folder; the last to finish writes ``pairs.jsonl``.

Each shard writes its sources' pair files into ``OUT/hr`` and ``OUT/lr`` as usual and its records to
``OUT/shards/pairs.IIIII-of-NNNNN.jsonl``. A shard that finds all N shard manifests present (under a lock file)
merges them into ``OUT/pairs.jsonl`` in source order, which is byte for byte the manifest one process writes.
A sharded run refuses only its own existing shard manifest (``--overwrite`` replaces it); it does not delete
stale pair files of earlier runs (an unsharded ``--overwrite`` run does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from realsr_cli.errors import OutputExistsError
from realsr_cli.models.cache import file_lock
from realsr_cli.pairs.manifest import MANIFEST_NAME, read_manifest, write_manifest
from realsr_cli.sharding import Shard

SHARDS_DIR = "shards"


def shard_manifest(out_dir: Path, shard: Shard) -> Path:
    return Path(out_dir) / SHARDS_DIR / f"pairs.{shard.tag}.jsonl"


def check_shard_output(out_dir: Path, shard: Shard, overwrite: bool) -> None:
    path = shard_manifest(out_dir, shard)
    if path.exists() and not overwrite:
        raise OutputExistsError(f"{path}: shard {shard} of this pairs folder was made already; pass --overwrite")


def write_shard(
    out_dir: Path, shard: Shard, records: list[dict[str, Any]], order: dict[str, int], inputs: frozenset[Path]
) -> Path:
    """Write this shard's manifest; when every shard's is there, merge them. Returns the manifest written last."""
    path = write_manifest(shard_manifest(out_dir, shard), records, overwrite=True, inputs=inputs)
    merged = merge_shards(Path(out_dir), shard.count, order, inputs)
    return merged or path


def merge_shards(out_dir: Path, count: int, order: dict[str, int], inputs: frozenset[Path]) -> Path | None:
    """``pairs.jsonl`` from all ``count`` shard manifests (None while some are missing)."""
    paths = [shard_manifest(out_dir, Shard(i, count)) for i in range(count)]
    with file_lock(out_dir / SHARDS_DIR / ".merge.lock"):
        if not all(p.is_file() for p in paths):
            return None
        records = [rec for p in paths for rec in read_manifest(p)]
        records.sort(key=lambda rec: order.get(rec.get("source_key"), len(order)))  # stable: pair order kept
        return write_manifest(out_dir / MANIFEST_NAME, records, overwrite=True, inputs=inputs)
