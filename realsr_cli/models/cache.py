"""The weights cache: torch hub's ``$TORCH_HOME/hub/checkpoints`` and the sha256 record of what it holds.

The record (``realsr-sha256.json`` in the cache folder) maps a file name to its sha256, size and mtime. A file whose
publisher gives a hash is checked against that hash; any other file is trusted on first use (its hash is recorded
when it is first downloaded or first seen) and checked against the record from then on. A file whose size and mtime
match its record is not hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from realsr_cli.errors import InputError
from realsr_cli.io.atomic import atomic_write_json
from realsr_cli.io.locks import file_lock

RECORD_NAME = "realsr-sha256.json"
CHUNK = 1 << 20


def cache_dir() -> Path:
    """torch hub's checkpoint folder (``$TORCH_HOME/hub/checkpoints``), where torchvision downloads to: torch's own
    answer once torch is imported (it honours ``torch.hub.set_dir``), else :func:`hub_checkpoints` (no import)."""
    if "torch" in sys.modules:
        import torch.hub

        return Path(torch.hub.get_dir()) / "checkpoints"
    return hub_checkpoints()


def hub_checkpoints() -> Path:
    """torch hub's rule without torch: ``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``, else ``~/.cache/torch``;
    then ``hub/checkpoints``."""
    cache = os.environ.get("XDG_CACHE_HOME", os.path.join("~", ".cache"))
    home = os.path.expanduser(os.environ.get("TORCH_HOME", os.path.join(cache, "torch")))
    return Path(home) / "hub" / "checkpoints"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def read_record(folder: Path) -> dict[str, Any]:
    path = folder / RECORD_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _stamp(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def remember(path: Path, sha256: str, url: str | None = None) -> None:
    """Record ``path``'s hash (and where it came from) in its folder's record."""
    with file_lock(path.parent / (RECORD_NAME + ".lock")):
        record = read_record(path.parent)
        record[path.name] = {"sha256": sha256, "url": url, **_stamp(path)}
        atomic_write_json(path.parent / RECORD_NAME, record)


def recorded_hash(path: Path) -> str | None:
    entry = read_record(path.parent).get(path.name)
    return entry.get("sha256") if isinstance(entry, dict) else None


def hash_matches(digest: str, expected: str) -> bool:
    """A full sha256, or a prefix of one (torchvision's file names carry the first 8 hex digits)."""
    return digest.lower().startswith(expected.lower())


def verify_cached(path: Path, expected: str | None, url: str | None = None) -> str:
    """Check ``path`` against ``expected`` (publisher's hash) or its record; record it on first use. Its sha256."""
    entry = read_record(path.parent).get(path.name)
    record = entry if isinstance(entry, dict) else {}
    fresh = bool(record) and all(record.get(k) == v for k, v in _stamp(path).items())
    digest = record["sha256"] if fresh else sha256_of(path)
    known = expected or record.get("sha256")
    if known and not hash_matches(digest, known):
        source = "the published hash" if expected else "the hash recorded at first use"
        raise InputError(
            f"{path}: sha256 {digest[:16]}... does not match {source} {known[:16]}...: "
            "the file is corrupt or was replaced; delete it and fetch it again"
        )
    if not fresh:
        remember(path, digest, url or record.get("url"))
    return digest


def environ_offline() -> bool:
    """``REALSR_OFFLINE=1``: never touch the network."""
    return os.environ.get("REALSR_OFFLINE", "") not in ("", "0")
