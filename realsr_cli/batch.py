"""The batch loop: process each file, report a failure in one line, go on; the summary and the JSON failure shape.

:func:`run_batch` is the one loop of every subcommand that processes files. Its hooks:

- ``read(item)`` runs on a reader thread one item ahead (I/O overlaps compute); ``process(item, data)`` gets it.
- ``write(item, out)`` runs on a writer thread after ``process``; what it returns is the item's result, and a
  failed write is the item's failure.
- ``pool``: an executor (worker processes) that runs ``process(item)``; results are collected as they complete.

Whatever the hooks, results and failures come back in item order. A failure is a :class:`Failure` (the file and
one line naming it and the problem), printed when it happens; ``--json`` reports hold them as
``{"path": ..., "error": ...}`` (:func:`failures_json`); :func:`summarise_failures` is the end-of-run summary.
``REALSR_DEBUG=1`` lets errors that are not the tool's own through with their traceback (:func:`failure`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from rich.progress import Progress, TaskID

from realsr_cli.console import error_line, make_progress
from realsr_cli.errors import RealSRError, debugging

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """One file that failed: its path and one line naming it and the problem."""

    path: Path
    error: str

    def to_json(self) -> dict[str, str]:
        return {"path": str(self.path), "error": self.error}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Failure:
        return cls(Path(data["path"]), data["error"])


@dataclass
class BatchResult(Generic[T]):
    results: list[T] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def failures_json(failures: Iterable[Failure]) -> list[dict[str, str]]:
    """The ``failures`` of every ``--json`` report: ``[{"path": ..., "error": ...}]``."""
    return [f.to_json() for f in failures]


def summarise_failures(failures: Iterable[Failure], total: int) -> str:
    """The end-of-run summary: ``N of T file(s) failed:`` and one indented line per failure."""
    failures = list(failures)
    lines = [f"{len(failures)} of {total} file(s) failed:"]
    lines += [f"  {f.error}" for f in failures]
    return "\n".join(lines)


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


def failure(path: Path, exc: BaseException) -> Failure:
    """The failure policy: ``exc`` as a :class:`Failure` of ``path``; with ``REALSR_DEBUG=1`` an error that is not
    the tool's own (not a ``RealSRError``) is raised again, with its traceback."""
    if debugging() and not isinstance(exc, RealSRError):
        raise exc
    return Failure(Path(path), describe_error(Path(path), exc))


def isolated(process: Callable[[Any], T], item: Any, path: Path) -> T | Failure:
    """``process(item)`` with its error returned as a :class:`Failure`: how worker processes report (an exception
    might not survive pickling back to the parent)."""
    try:
        return process(item)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
        return failure(path, exc)


def run_batch(
    items: Sequence[Any],
    process: Callable[..., Any],
    *,
    path_of: Callable[[Any], Path],
    label: str = "processing",
    quiet: bool = False,
    read: Callable[[Any], Any] | None = None,
    write: Callable[[Any, Any], Any] | None = None,
    pool: Executor | None = None,
    progress: Progress | None = None,
) -> BatchResult[Any]:
    """Apply ``process`` to every item with a progress bar (on ``progress`` when given); a failing item becomes a
    :class:`Failure` and the rest go on. Hooks ``read``, ``write`` and ``pool``: see the module docstring."""
    if pool is not None and (read is not None or write is not None):
        raise ValueError("run_batch: a worker pool runs process alone (no read or write hook)")
    owned = make_progress(quiet) if progress is None else contextlib.nullcontext(progress)
    with owned as bar:
        loop = _Loop(items, process, path_of, bar, bar.add_task(label, total=len(items), status=""))
        if pool is not None:
            loop.in_pool(pool)
        else:
            loop.here(read, write)
    return loop.result()


class _Loop:
    """One run of :func:`run_batch`: its items, its progress task, and results and failures by item index."""

    def __init__(
        self,
        items: Sequence[Any],
        process: Callable[..., Any],
        path_of: Callable[[Any], Path],
        bar: Progress,
        task: TaskID,
    ) -> None:
        self.items, self.process, self.path_of = items, process, path_of
        self.bar, self.task = bar, task
        self.results: list[tuple[int, Any]] = []
        self.failures: list[tuple[int, Failure]] = []

    def done(self, index: int, out: Any) -> None:
        if isinstance(out, Failure):
            self.failed(index, out)
        else:
            self.results.append((index, out))

    def failed(self, index: int, item_failure: Failure) -> None:
        self.failures.append((index, item_failure))
        error_line(item_failure.error)

    def result(self) -> BatchResult[Any]:
        results = [r for _, r in sorted(self.results, key=lambda entry: entry[0])]
        return BatchResult(results, [f for _, f in sorted(self.failures, key=lambda entry: entry[0])])

    def here(self, read: Callable[[Any], Any] | None, write: Callable[[Any, Any], Any] | None) -> None:
        """``process`` in this thread; ``read`` one item ahead and ``write`` behind, each on its own thread."""
        items = self.items
        with contextlib.ExitStack() as stack:
            reader = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="realsr-read")) if read else None
            writer = stack.enter_context(ThreadPoolExecutor(1, thread_name_prefix="realsr-write")) if write else None
            reads: dict[int, Future] = {0: reader.submit(read, items[0])} if reader and read and items else {}
            writes: list[tuple[int, Path, Future]] = []
            for index, item in enumerate(items):
                path = self.path_of(item)
                if reader is not None and read is not None and index + 1 < len(items):
                    reads[index + 1] = reader.submit(read, items[index + 1])
                self.bar.update(self.task, status=path.name)
                try:
                    out = self.process(item, reads.pop(index).result()) if reader else self.process(item)
                    if writer is not None and write is not None:
                        writes.append((index, path, writer.submit(write, item, out)))
                    else:
                        self.done(index, out)
                except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
                    self.failed(index, failure(path, exc))
                self.bar.advance(self.task)
                self._collect_writes(writes, block=False)
            self._collect_writes(writes, block=True)

    def _collect_writes(self, writes: list[tuple[int, Path, Future]], block: bool) -> None:
        """Finished writes (all when ``block``): what a write returns is its item's result, its error a failure."""
        while writes and (block or writes[0][2].done()):
            index, path, future = writes.pop(0)
            try:
                self.done(index, future.result())
            except Exception as exc:  # noqa: BLE001 - a failed write fails its file only
                self.failed(index, failure(path, exc))

    def in_pool(self, pool: Executor) -> None:
        """``process`` in the pool's workers (through :func:`isolated`); results collected as they complete."""
        futures = {}
        for index, item in enumerate(self.items):
            path = self.path_of(item)
            futures[pool.submit(isolated, self.process, item, path)] = (index, path)
        for future in as_completed(futures):
            index, path = futures[future]
            try:
                self.done(index, future.result())
            except Exception as exc:  # BrokenProcessPool, a result that does not pickle, a bad initializer
                if debugging():
                    raise
                self.failed(index, Failure(path, f"{path}: worker process failed ({error_text(exc)})"))
            self.bar.update(self.task, advance=1, status=path.name)
