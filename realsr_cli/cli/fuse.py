"""``realsr fuse``: thin CLI over :func:`realsr_cli.train.fuse.fuse_checkpoints`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from realsr_cli.cli.common import JsonOpt, OverwriteOpt, QuietOpt, handle_errors, reserve_reports, write_json_result
from realsr_cli.console import info_line


@handle_errors
def command(
    checkpoints: Annotated[
        list[Path],
        typer.Argument(help="Checkpoints of one network: model.pt, snapshots, checkpoints/latest.pt, BasicSR .pth."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="The fused file to write.")],
    overwrite: OverwriteOpt = False,
    json_file: JsonOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Average the parameters (and EMA parameters) of several checkpoints: AIM 2020 "parameter fusion"."""
    from realsr_cli.train.fuse import fuse_checkpoints

    reserve_reports(overwrite, json_file)
    result = fuse_checkpoints(checkpoints, output, overwrite=overwrite)
    info_line(
        f"{result.output}: mean of {len(result.inputs)} checkpoints ({', '.join(result.groups)}; "
        f"{result.tensors} tensors, {result.layout} layout)",
        quiet,
    )
    write_json_result(json_file, result.to_json(), overwrite)
