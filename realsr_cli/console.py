"""Rich console objects: messages and progress on stderr, result tables on stdout.

Both consoles print text literally (``markup=False``): file names such as ``shots [raw]`` or ``x] broken.png`` are
never read as rich markup, in messages, tables or progress bars. Only the coloured ``error:`` / ``warning:``
prefixes are styled, as rich ``Text`` (never parsed as markup).
"""

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
from rich.text import Text

err_console = Console(stderr=True, highlight=False, markup=False)
out_console = Console(highlight=False, markup=False)


def make_progress(quiet: bool = False, transient: bool = True) -> Progress:
    """A progress bar (count, bar, elapsed, ETA) on stderr; disabled when quiet."""
    return Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}", markup=False),
        console=err_console,
        transient=transient,
        disable=quiet,
    )


def error_line(message: str) -> None:
    err_console.print(Text.assemble(("error:", "red"), " ", str(message)), soft_wrap=True)


def warn_line(message: str) -> None:
    err_console.print(Text.assemble(("warning:", "yellow"), " ", str(message)), soft_wrap=True)


def info_line(message: str, quiet: bool = False) -> None:
    if not quiet:
        err_console.print(message, markup=False, soft_wrap=True)
