"""Rich console objects: messages and progress on stderr, result tables on stdout."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)


def make_progress(quiet: bool = False, transient: bool = True) -> Progress:
    """A progress bar (count, bar, elapsed, ETA) on stderr; disabled when quiet."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        console=err_console,
        transient=transient,
        disable=quiet,
    )


def error_line(message: str) -> None:
    err_console.print(f"[red]error:[/red] {message}", markup=True, soft_wrap=True)


def warn_line(message: str) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {message}", markup=True, soft_wrap=True)


def info_line(message: str, quiet: bool = False) -> None:
    if not quiet:
        err_console.print(message, soft_wrap=True)
