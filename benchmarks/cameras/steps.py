"""Cached benchmark steps: ``realsr`` subcommands run in this process, skipped when their output is already there.

Each step writes its outputs, then a marker file holding its fingerprint (the command line, plus the content hash
of the files it depends on). A rerun skips a step whose marker holds the same fingerprint, so an interrupted run
resumes where it stopped and a changed camera, preset or (for the learned chain) ``realsr_cli`` source redoes
exactly what depends on it. Subcommands run in-process (``realsr_cli.cli.main.app``): the benchmark pays torch's
import once instead of ~4 s per call, with the same code path as the ``realsr`` command line.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

from realsr_cli.errors import RealSRError

from .plan import REPO


class StepFailed(RuntimeError):
    """A ``realsr`` subcommand exited non-zero or raised; the message says which and why."""


def realsr(*args: str | Path) -> None:
    """``realsr ARGS`` in this process; raises ``StepFailed`` with the tool's own error message on failure."""
    from realsr_cli.cli.main import app

    argv = [str(a) for a in args]
    threads, env = torch.get_num_threads(), dict(os.environ)
    os.environ["REALSR_DEBUG"] = "1"  # let RealSRError propagate, so its message reaches the report
    try:
        code = app(args=argv, prog_name="realsr", standalone_mode=False)
    except RealSRError as exc:
        raise StepFailed(f"realsr {argv[0]}: {exc}") from None
    except SystemExit as exc:
        code = exc.code
    finally:  # a subcommand may pin threads or environment variables (make-pairs' workers do)
        torch.set_num_threads(threads)
        _restore_environ(env)
    if code not in (None, 0):
        raise StepFailed(f"realsr {' '.join(argv)}: exited {code}")


def _restore_environ(env: dict[str, str]) -> None:
    for key in set(os.environ) - set(env):
        del os.environ[key]
    for key, value in env.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def file_hash(paths: Iterable[Path]) -> str:
    """SHA-256 (first 16 hex digits) over the names and bytes of ``paths`` (folders: every file below them)."""
    digest = hashlib.sha256()
    for path in paths:
        files = sorted(p for p in Path(path).rglob("*") if p.is_file()) if Path(path).is_dir() else [Path(path)]
        for f in files:
            if f.suffix == ".pyc" or "__pycache__" in f.parts:
                continue
            digest.update(str(f.relative_to(REPO) if f.is_relative_to(REPO) else f).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def code_hash() -> str:
    """Fingerprint of the tool itself (``realsr_cli`` and ``presets``): the learned chain is redone when it changes."""
    return file_hash([REPO / "realsr_cli", REPO / "presets"])


class Steps:
    """Runs and times cached steps; ``timings`` maps each step's name to its wall-clock seconds (0 when skipped)."""

    def __init__(self, log: Callable[[str], None] = print) -> None:
        self.log = log
        self.timings: dict[str, float] = {}

    def run(self, name: str, out: Path, key: dict[str, Any], action: Callable[[], None]) -> Path:
        """Make ``out`` with ``action`` unless ``out/.step.json`` already holds ``key``; returns ``out``."""
        marker = out / ".step.json"
        if marker.is_file() and json.loads(marker.read_text()) == key:
            self.timings.setdefault(name, 0.0)
            return out
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        self.log(f"  {name} ...")
        start = time.perf_counter()
        action()
        self.timings[name] = round(time.perf_counter() - start, 2)
        out.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(key, sort_keys=True))
        self.log(f"  {name}: {self.timings[name]:.1f} s")
        return out

    def realsr(self, name: str, out: Path, args: list[str | Path], deps: Iterable[Path] = (), **extra: Any) -> Path:
        """A cached ``realsr ARGS`` step producing ``out``; its key is the arguments and the hashes of ``deps``."""
        key = {"args": [str(a) for a in args], "deps": file_hash(deps), **extra}
        return self.run(name, out, key, lambda: realsr(*args))
