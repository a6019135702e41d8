"""The ``realsr`` command: one Typer app, one thin module per subcommand under ``realsr_cli.cli``."""

from __future__ import annotations

from typing import Annotated

import typer

from realsr_cli import __version__

app = typer.Typer(
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


# Subcommands in pipeline order; each lives in ``realsr_cli/cli/<name>.py`` and exposes ``command``.
SUBCOMMANDS: list[str] = [
    "degrade", "learn-degradation", "make-pairs", "train-sr", "upscale", "profile", "score", "compare", "models", "export",
]  # fmt: skip


def _register() -> None:
    """Subcommands, in pipeline order. Each module exposes ``command`` (or ``app``, a group of commands)."""
    import importlib

    for name in SUBCOMMANDS:
        module = importlib.import_module(f"realsr_cli.cli.{name.replace('-', '_')}")
        if hasattr(module, "app"):  # a command group (``realsr models list|fetch``)
            app.add_typer(module.app, name=name)
        else:
            app.command(name)(module.command)


_register()


def run() -> None:
    app()
