"""Options every subcommand shares, the one error path, and the glue that turns core results into exit codes and JSON."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from realsr_cli.batch import Failure, error_text, summarise_failures, worker_error_text
from realsr_cli.console import err_console, error_line
from realsr_cli.errors import DEBUG_ENV, InputError, RealSRError, debugging
from realsr_cli.io.atomic import atomic_write_json
from realsr_cli.io.guard import command_scope, reserve_output

DeviceOpt = Annotated[
    str, typer.Option("--device", help="auto (CUDA when present), cpu, cuda or cuda:N.", show_default=True)
]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        "--threads",
        help="CPU threads for the network (default: $REALSR_THREADS, else the cores free now: affinity minus load).",
        show_default=False,
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same bytes.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs (never inputs).")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Also write the machine-readable result to this file.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only; no progress or tables.")]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="The output (as the OUTPUT argument; give one of them).", show_default=False),
]
ShardOpt = Annotated[
    str | None,
    typer.Option(
        "--shard",
        help="I/N: process every N-th input from the I-th (0-based), for N processes on one folder; "
        "auto: from RANK/WORLD_SIZE or SLURM_ARRAY_TASK_ID/COUNT.",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def pick_output(positional: Path | None, option: Path | None) -> Path:
    """The output of ``degrade``/``upscale``: the OUTPUT argument or ``-o/--output``, exactly one of them."""
    if positional is not None and option is not None and positional != option:
        raise InputError(f"two outputs: OUTPUT {positional} and -o/--output {option}; give one")
    output = positional if positional is not None else option
    if output is None:
        raise InputError("missing the output: give OUTPUT after the input, or -o/--output")
    return output


def handle_errors(func: F) -> F:
    """The CLI's one error path: any error becomes one red line naming the file and the problem, and exit 1.

    ``RealSRError``, ``OSError``, errors re-raised from worker processes, and anything unexpected alike;
    Ctrl-C exits 130. ``REALSR_DEBUG=1`` lets the exception (and its traceback) through instead. The command runs
    in an output-guard scope (:func:`realsr_cli.io.guard.command_scope`): nothing it writes replaces its inputs.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with command_scope():
                return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except KeyboardInterrupt:
            if debugging():
                raise
            error_line("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:  # the one place every error becomes one line
            if debugging():
                raise
            error_line(_one_line(exc))
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _one_line(exc: Exception) -> str:
    """The error's line; errors that are neither the tool's own nor the system's say how to see more."""
    text = error_text(exc)
    expected = isinstance(exc, (RealSRError, OSError)) or worker_error_text(str(exc).strip()) is not None
    return text if expected else f"{text} (unexpected; {DEBUG_ENV}=1 shows the traceback)"


def reserve_reports(overwrite: bool, *paths: Path | None) -> None:
    """Check report files (``--json``, ``--csv``) before any work: refused when they exist or name an input."""
    for path in paths:
        reserve_output(path, overwrite)


def write_json_result(path: Path | None, result: Any, overwrite: bool = False) -> None:
    """Write a ``--json`` report through the output guard (exclusive unless ``overwrite``)."""
    if path is not None:
        atomic_write_json(path, result, overwrite=overwrite)


def finish_batch(failures: Sequence[Failure], total: int) -> None:
    """Every subcommand's end of a batch: when any of the ``total`` files failed, the summary and exit 1."""
    if failures:
        err_console.print(summarise_failures(failures, total), markup=False, soft_wrap=True)
        raise typer.Exit(1)
