"""The output guard: which paths a command may write.

A path is refused when it is one of the command's inputs, or when it exists and ``--overwrite`` was not given.
Inputs are passed explicitly (``inputs=``) and, while a CLI command runs (:func:`command_scope`), every input file
that :func:`realsr_cli.io.paths.collect_inputs` found is registered here too, so that reports (``--json``,
``--csv``) and every other output are checked against all of them. Report paths are reserved before any work
(:func:`reserve_output`), so a report that names an input is refused as soon as that input is collected.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from realsr_cli.errors import OutputExistsError

_lock = threading.Lock()
_scope: dict[str, set[Path]] | None = None


@contextlib.contextmanager
def command_scope() -> Iterator[None]:
    """Collect the inputs (and reserved reports) of one command while it runs; nested scopes share the outer one."""
    global _scope
    if _scope is not None:
        yield
        return
    _scope = {"inputs": set(), "reserved": set()}
    try:
        yield
    finally:
        _scope = None


def _resolved(path: str | Path) -> Path:
    return Path(path).resolve()


def register_inputs(paths: Iterable[str | Path]) -> None:
    """Record input files of the running command; an input that a report was reserved for is refused."""
    if _scope is None:
        return
    with _lock:
        for path in paths:
            resolved = _resolved(path)
            if resolved in _scope["reserved"]:
                raise OutputExistsError(f"{path}: is both an input and a report output; choose another report file")
            _scope["inputs"].add(resolved)


def reserve_output(path: str | Path | None, overwrite: bool) -> None:
    """Check a report path before any work (exists / an input) and reserve it against later-collected inputs."""
    if path is None:
        return
    ensure_writable(Path(path), overwrite)
    if _scope is not None:
        with _lock:
            _scope["reserved"].add(_resolved(path))


def is_input(path: str | Path, inputs: frozenset[Path] = frozenset()) -> bool:
    """Whether ``path`` resolves to an input given explicitly or registered by the running command."""
    resolved = _resolved(path)
    if resolved in inputs:
        return True
    if _scope is None:
        return False
    with _lock:
        return resolved in _scope["inputs"]


def ensure_writable(path: Path, overwrite: bool, inputs: frozenset[Path] = frozenset()) -> None:
    """Refuse to write ``path`` over an input, or over an existing file (a dangling link too) unless ``overwrite``."""
    if is_input(path, inputs):
        raise OutputExistsError(f"{path}: refusing to overwrite an input file; choose another output")
    if os.path.lexists(path) and not overwrite:
        raise OutputExistsError(f"{path}: output exists; pass --overwrite to replace it")
