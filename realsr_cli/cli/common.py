"""Options every subcommand shares, and the glue that turns core results into exit codes and JSON."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from realsr_cli.batch import BatchResult, summarise_failures
from realsr_cli.console import err_console, error_line
from realsr_cli.errors import RealSRError
from realsr_cli.io.atomic import atomic_write_json

DeviceOpt = Annotated[
    str, typer.Option("--device", help="auto (CUDA when present), cpu, cuda or cuda:N.", show_default=True)
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same bytes.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs (never inputs).")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Also write the machine-readable result to this file.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only; no progress or tables.")]

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """Report ``RealSRError`` as one red line and exit 1 (``REALSR_DEBUG=1`` shows the traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RealSRError as exc:
            if os.environ.get("REALSR_DEBUG") == "1":
                raise
            error_line(str(exc))
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def write_json_result(path: Path | None, result: Any) -> None:
    if path is not None:
        atomic_write_json(path, result)


def finish_batch(batch: BatchResult, total: int, quiet: bool = False) -> None:
    """Exit non-zero with a summary when any file failed."""
    if batch.failures:
        err_console.print(summarise_failures(batch.failures, total), markup=False, soft_wrap=True)
        raise typer.Exit(1)
