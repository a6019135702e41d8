"""Batch processing with per-file failure isolation: a bad file is reported in one line, the rest go on."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from realsr_cli.console import error_line, make_progress
from realsr_cli.errors import RealSRError

T = TypeVar("T")


@dataclass
class Failure:
    path: Path
    message: str


@dataclass
class BatchResult(Generic[T]):
    results: list[T] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


_TRACEBACK_LAST = re.compile(r"^([A-Za-z_][\w.]*): (.+)$")


def worker_error_text(text: str) -> str | None:
    """The original one-line message of an error re-raised from a DataLoader worker (None for other errors).

    PyTorch re-raises a worker's exception with the worker's whole traceback as its message
    ("Caught X in DataLoader worker process N. Original Traceback ..."); the problem is on its last line.
    """
    if not text.startswith("Caught ") or "Original Traceback" not in text:
        return None
    for line in reversed(text.splitlines()):
        match = _TRACEBACK_LAST.match(line)
        if match:
            kind, message = match.groups()
            return message if kind.startswith("realsr_cli.") else f"{kind.rsplit('.', 1)[-1]}: {message}"
    return None


def error_text(exc: BaseException) -> str:
    """One line for any exception: RealSRError messages as they are, OSError as 'file: problem', else 'Type: text'."""
    text = str(exc).strip()
    from_worker = worker_error_text(text)
    if from_worker is not None:
        return from_worker
    if isinstance(exc, RealSRError):
        return text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
        return f"{' -> '.join(names)}: {exc.strerror}" if names else exc.strerror
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def describe_error(path: Path, exc: BaseException) -> str:
    """One line naming the file and the problem (RealSRError messages already name their file)."""
    text = error_text(exc)
    return text if str(path) in text else f"{path}: {text}"


def run_batch(
    items: Sequence[Any],
    process: Callable[[Any], T],
    *,
    path_of: Callable[[Any], Path],
    label: str = "processing",
    quiet: bool = False,
) -> BatchResult[T]:
    """Apply ``process`` to every item with a progress bar; collect failures instead of stopping.

    Set ``REALSR_DEBUG=1`` to let unexpected exceptions propagate with their traceback.
    """
    result: BatchResult[T] = BatchResult()
    debug = os.environ.get("REALSR_DEBUG") == "1"
    with make_progress(quiet) as progress:
        task = progress.add_task(label, total=len(items), status="")
        for item in items:
            path = path_of(item)
            progress.update(task, status=path.name)
            try:
                result.results.append(process(item))
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                if debug and not isinstance(exc, RealSRError):
                    raise
                failure = Failure(path, describe_error(path, exc))
                result.failures.append(failure)
                error_line(failure.message)
            progress.advance(task)
    return result


def summarise_failures(failures: Iterable[Failure], total: int) -> str:
    failures = list(failures)
    lines = [f"{len(failures)} of {total} file(s) failed:"]
    lines += [f"  {f.message}" for f in failures]
    return "\n".join(lines)
