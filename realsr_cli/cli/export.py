"""``realsr export``: thin CLI over :func:`realsr_cli.models.onnx_export.export_onnx`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from realsr_cli.cli.common import JsonOpt, OverwriteOpt, QuietOpt, handle_errors, reserve_reports, write_json_result
from realsr_cli.console import info_line
from realsr_cli.models.onnx_export import OPSET, TOLERANCE, export_onnx


@handle_errors
def command(
    model: Annotated[str, typer.Argument(help="model.pt, published weights, a name from 'realsr models list', a URL.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The .onnx file to write.")],
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset version.")] = OPSET,
    check: Annotated[
        bool, typer.Option("--check/--no-check", help=f"Compare with ONNX Runtime (max abs diff <= {TOLERANCE:g}).")
    ] = True,
    check_size: Annotated[int, typer.Option("--check-size", help="Input size (pixels) of the check.")] = 32,
    overwrite: OverwriteOpt = False,
    json_file: JsonOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Export an SR model to ONNX with dynamic batch/height/width, checked against ONNX Runtime."""
    reserve_reports(overwrite, json_file)
    result = export_onnx(model, output, opset=opset, check=check, size=check_size, overwrite=overwrite)
    diff = "" if result.max_abs_diff is None else f"; ONNX Runtime max abs diff {result.max_abs_diff:.2e}"
    sizes = ", ".join(f"{w}x{h}" for h, w in result.checked_sizes)
    info_line(
        f"{result.output}: {result.arch} x{result.scale}, opset {result.opset}{diff}"
        + (f" (inputs {sizes})" if sizes else ""),
        quiet,
    )
    write_json_result(json_file, result.to_json(), overwrite)
