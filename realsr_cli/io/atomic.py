"""Atomic, exclusive file writes: write a temporary file beside the target, then publish it under the final name.

Every file the tool writes goes through :func:`atomic_write` and so through the output guard
(:mod:`realsr_cli.io.guard`): an input is never replaced, and without ``overwrite`` the final name is created
exclusively (``os.link`` of the temporary file, which fails when another process created the name first), so two
runs writing into one folder never both "write" the same output. With ``overwrite`` the temporary file is renamed
over the target (``os.replace``). A reader never sees a half-written file; a write that fails (read-only folder,
full disk) leaves no temporary file behind and raises :class:`~realsr_cli.errors.OutputError` naming the target.
"""

from __future__ import annotations

import errno
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realsr_cli.errors import OutputError, OutputExistsError
from realsr_cli.io.guard import ensure_writable

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "atomic_write_torch",
    "dumps_json_line",
    "ensure_writable",
]

# os.link errors of file systems without hard links: fall back to an exclusive placeholder, then a rename over it.
_NO_LINK = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EACCES}


def _process_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which is not thread-safe later on.
_UMASK = _process_umask()


def atomic_write(
    path: str | Path,
    write: Callable[[Path], object],  # its return value is ignored
    *,
    overwrite: bool = True,
    inputs: frozenset[Path] = frozenset(),
) -> Path:
    """Call ``write(tmp_path)`` then publish ``tmp_path`` as ``path``; the target is never half-written.

    ``overwrite=False`` creates ``path`` exclusively (``OutputExistsError`` when it exists, also when another process
    created it a moment ago); ``overwrite=True`` replaces it (run-internal files: checkpoints, logs). Inputs are
    refused either way. The file gets the permissions a plain ``open(path, "w")`` would give it (0666 less the umask;
    a replaced file keeps its own), not the private 0600 of the temporary file.
    """
    path = Path(path)
    ensure_writable(path, overwrite, inputs)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = path.stat().st_mode & 0o7777 if path.is_file() else 0o666 & ~_UMASK
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix + ".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            write(tmp_path)
            os.chmod(tmp_path, mode)
            _publish(tmp_path, path, overwrite)
        finally:
            tmp_path.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    return path


def _publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Give ``tmp`` its final name: replace, or create exclusively (a hard link; placeholder + rename without links)."""
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        raise _exists(path) from None
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        raise _exists(path) from None
    os.replace(tmp, path)


def _exists(path: Path) -> OutputExistsError:
    return OutputExistsError(
        f"{path}: output exists (created meanwhile by another run); pass --overwrite to replace it"
    )


def atomic_write_bytes(path: str | Path, data: bytes, **guard: Any) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data), **guard)


def atomic_write_text(path: str | Path, text: str, **guard: Any) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), **guard)


def atomic_write_json(path: str | Path, obj: Any, **guard: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n", **guard)


def atomic_write_torch(path: str | Path, obj: Any, **guard: Any) -> Path:
    """``torch.save`` into memory, then :func:`atomic_write_bytes` (a full disk is an ``OutputError``, not a torch one)."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return atomic_write_bytes(path, buffer.getvalue(), **guard)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps_json_line(obj: Any) -> str:
    """One compact JSON line (for ``.jsonl`` manifests), with stable key order."""
    return json.dumps(obj, sort_keys=True, default=_json_default)
