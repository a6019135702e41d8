"""``realsr compare``: thin CLI over :func:`realsr_cli.figures.compare.compare`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from realsr_cli.cli.common import (
    DeviceOpt,
    JsonOpt,
    OverwriteOpt,
    QuietOpt,
    handle_errors,
    reserve_reports,
    write_json_result,
)
from realsr_cli.console import info_line
from realsr_cli.device import resolve_device
from realsr_cli.figures.compare import CompareOptions, compare, figures_json, parse_crop, parse_method
from realsr_cli.scoring import parse_metrics


@handle_errors
def command(
    reference: Annotated[str, typer.Argument(help="GT (scored against) or LR image, or a folder of them.")],
    methods: Annotated[list[str], typer.Argument(help="Results per method: folders or images, NAME=PATH to label.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Figure .png (one image) or folder (one per image).")],
    crop: Annotated[
        str | None, typer.Option("--crop", help="x,y,w,h of the zoomed box in result pixels (default: centre).")
    ] = None,
    tile: Annotated[int, typer.Option("--tile-size", help="Height of each zoomed crop in the figure.")] = 192,
    columns: Annotated[int | None, typer.Option("--columns", help="Crops per row (default: 1 or 2 rows).")] = None,
    metrics: Annotated[
        str, typer.Option("--metrics", help="Labels' metrics with GT: psnr, ssim, lpips; '' for none.")
    ] = "psnr,lpips",
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained before/after slider page.")
    ] = None,
    lpips_weights: Annotated[
        Path | None, typer.Option("--lpips-weights", help="AlexNet weights for LPIPS (else found offline).")
    ] = None,
    device: DeviceOpt = "auto",
    overwrite: OverwriteOpt = False,
    json_file: JsonOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Comparison figures: the full image with a box, and each method's zoomed crop, labelled with PSNR/LPIPS."""
    reserve_reports(overwrite, json_file)
    options = CompareOptions(
        crop=parse_crop(crop) if crop else None,
        tile=tile,
        columns=columns,
        metrics=parse_metrics(metrics, True) if metrics.strip() else (),
        html=html,
        overwrite=overwrite,
        device=str(resolve_device(device)),
        lpips_weights=lpips_weights,
    )
    figures = compare(reference, [parse_method(m) for m in methods], output, options)
    for figure in figures:
        info_line(f"{figure.output} ({figure.reference} reference)", quiet)
    if html:
        info_line(f"{html}: slider page", quiet)
    write_json_result(json_file, figures_json(figures), overwrite)
