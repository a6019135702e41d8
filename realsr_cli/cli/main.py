"""The ``realsr`` command: one Typer app, one thin module per subcommand under ``realsr_cli.cli``.

Subcommands are imported on first use (:class:`LazyGroup`): ``realsr --help`` imports none of them (it prints the
one-line summaries of :data:`SUBCOMMANDS`) and ``realsr upscale ...`` imports ``upscale``'s module only, so that a
one-photo run pays for nothing it does not use.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import sys
from difflib import get_close_matches
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand

from realsr_cli import __version__, threads
from realsr_cli.cli.grammar import GrammarCommand, GrammarGroup

try:
    from typer._click.exceptions import UsageError  # typer vendors click since 0.2x
except ImportError:  # pragma: no cover - older typer on click
    from click.exceptions import UsageError  # type: ignore[import-not-found, no-redef]  # click: not installed

# Subcommands in pipeline order, each with the first line of its help; each lives in ``realsr_cli/cli/<name>.py``
# and exposes ``command`` (or ``app``, a group of commands). tests/test_startup.py checks the lines match.
SUBCOMMANDS: dict[str, str] = {
    "degrade": "Make realistic low-resolution images: blur, downsample, noise, JPEG by a recipe; writes degradations.jsonl.",
    "learn-degradation": "Learn a camera's degradation from its photos: KernelGAN blur kernels, real noise patches, DSGAN/CycleGAN.",
    "make-pairs": "Make realistic LR/HR training pairs (kernels + noise, a recipe, a learned model, aligned or self pairs).",
    "train-sr": "Train an SR network (L1/L2/Charbonnier/SSIM, VGG perceptual, standard/relativistic/LSGAN) from a preset.",
    "fuse": "Average the parameters (and EMA parameters) of several checkpoints: AIM 2020 \"parameter fusion\".",
    "upscale": "Upscale images with an SR model: tiled, seamless, any size; TTA, ensembles, 16-bit, alpha, metadata kept.",
    "profile": "Params, MACs/FLOPs (AIM 2020 rule), activations, conv layers, runtime and peak memory of SR models.",
    "score": "Score SR images: PSNR / SSIM / LPIPS against GT_DIR, NIQE / BRISQUE / PIQE without; --rank compares methods.",
    "compare": "Comparison figures: the full image with a box, and each method's zoomed crop, labelled with PSNR/LPIPS.",
    "models": "Named published models and ImageNet backbones: list them, fetch them into the cache; blend two models.",
    "export": "Export an SR model to ONNX with dynamic batch/height/width, checked against ONNX Runtime.",
}  # fmt: skip
_SETTINGS: dict[str, Any] = {"add_completion": False, "pretty_exceptions_enable": False, "rich_markup_mode": "rich"}
_LOADED: dict[str, Any] = {}


def load_subcommand(name: str) -> Any:
    """The click command of subcommand ``name``, its module imported now (once)."""
    if name not in _LOADED:
        module = importlib.import_module(f"realsr_cli.cli.{name.replace('-', '_')}")
        if hasattr(module, "app"):  # a command group (``realsr models list|fetch``), without completion options
            command = typer.main.get_command(module.app)
            command.params = [p for p in command.params if p.name not in ("install_completion", "show_completion")]
        else:
            single = typer.Typer(**_SETTINGS)
            single.command(name, cls=GrammarCommand)(module.command)
            command = typer.main.get_command(single)
            assert isinstance(command, GrammarCommand)
            command.aliases = dict(getattr(module, "ALIASES", {}))  # its own hidden old spellings
        command.name = name
        _LOADED[name] = command
    return _LOADED[name]


class LazyGroup(GrammarGroup):
    """The subcommands of :data:`SUBCOMMANDS`, imported when one is run or its own help is asked for."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(SUBCOMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in SUBCOMMANDS:
            return None
        if self._listing:  # ``realsr --help``: the summary line, without importing the module
            return TyperCommand(cmd_name, help=SUBCOMMANDS[cmd_name])
        return load_subcommand(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            matches = get_close_matches(args[0], list(SUBCOMMANDS)) if args else []
            if matches and "Did you mean" not in exc.message:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(map(repr, matches))}?"
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    cls=LazyGroup,
    name="realsr",
    help="Real-world image super-resolution: learn a camera's degradation, make pairs, train, upscale, score.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"realsr {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Real-world image super-resolution toolkit."""


def run() -> None:
    """The console script: the app, then :func:`exit_fast` with its exit code."""
    threads.start_sampling()  # the load is measured over the start-up (imports) instead of an extra sleep
    try:
        app()
    except SystemExit as done:
        exit_fast(done.code)
    exit_fast(0)


def exit_fast(code: str | int | None) -> NoReturn:
    """Exit with ``code`` (``sys.exit``'s meaning) skipping the interpreter's teardown when torch is loaded:
    finalising torch's modules and objects takes 0.5-0.6 s, a tenth of a one-photo ``upscale``. Only once stdout,
    stderr and logging are flushed and no child process runs; a normal exit where anything may still need
    Python's ``atexit`` or the end of the program (a child process, coverage, a profiler or debugger) or with
    ``REALSR_FAST_EXIT=0``."""
    if (
        "torch" not in sys.modules
        or os.environ.get("REALSR_FAST_EXIT", "1") == "0"
        or "coverage" in sys.modules
        or sys.getprofile() is not None  # cProfile, profilers and debuggers write their results at the end
        or sys.gettrace() is not None
        or multiprocessing.active_children()
    ):
        sys.exit(code)
    status = 0 if code is None else code if isinstance(code, int) else 1
    if not isinstance(code, int) and code is not None:
        print(code, file=sys.stderr)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more to write
            pass
    os._exit(status)
