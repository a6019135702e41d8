"""``realsr degrade``: thin CLI over :func:`realsr_cli.degradations.run.degrade_files`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from realsr_cli.batch import failures_json
from realsr_cli.cli.common import (
    DeviceOpt,
    JsonOpt,
    OutputOpt,
    OverwriteOpt,
    QuietOpt,
    SeedOpt,
    finish_batch,
    handle_errors,
    pick_output,
    reserve_reports,
    write_json_result,
)
from realsr_cli.console import info_line, out_console
from realsr_cli.degradations.run import DegradeOptions, degrade_files
from realsr_cli.device import resolve_device
from realsr_cli.presets import list_presets

MAX_ROWS = 30


def _summary(params: dict) -> str:
    parts = []
    for op in params["ops"]:
        kind = op["op"]
        if kind == "blur":
            k = op.get("kernel", {})
            parts.append(f"blur {Path(op['kernel_file']).name}" if "kernel_file" in op else f"blur {k.get('type')}")
        elif kind == "resize":
            parts.append(f"{op['method']}→{op['size'][0]}x{op['size'][1]}")
        elif kind == "kernel_downsample":
            parts.append(f"(I*k)↓{op['scale']} {Path(op['kernel_file']).name}")
        elif kind == "noise":
            level = op.get("sigma", op.get("peak", op.get("scale")))
            parts.append(f"{op['type']} {level:.3g}")
        elif kind == "noise_patch":
            parts.append(f"patch {Path(op['file']).name}")
        elif kind == "noise_model":
            parts.append(f"camera noise {Path(op['file']).name}")
        elif kind == "jpeg":
            parts.append(f"jpeg q{op['quality']}")
        elif kind == "denoise":
            parts.append(f"denoise {op['method']}")
        elif kind == "sharpen":
            parts.append(f"sharpen r{op['radius']:.3g} x{op['amount']:.3g}")
        elif kind == "learned":
            parts.append("learned model")
    return ", ".join(parts)


@handle_errors
def command(
    input: Annotated[str, typer.Argument(help="An image file, a folder of images or a glob pattern (clean HR).")],
    output: Annotated[
        Path | None,
        typer.Argument(
            help="Output folder: degraded images + degradations.jsonl (or -o/--output).", show_default=False
        ),
    ] = None,
    output_opt: OutputOpt = None,
    scale: Annotated[int, typer.Option("--scale", "-s", help="Downscaling factor.")] = 4,
    preset: Annotated[
        str | None,
        typer.Option(
            "--preset",
            "-p",
            help=f"Recipe: {', '.join(list_presets('degradation'))} or a .yaml file (default: generic).",
        ),
    ] = None,
    kernels: Annotated[
        Path | None,
        typer.Option("--kernels", help="Folder of blur kernels (KernelGAN .mat/.npy/.png) for kernel-noise."),
    ] = None,
    noise_patches: Annotated[
        Path | None, typer.Option("--noise-patches", help="Folder of real-noise patches (images) for kernel-noise.")
    ] = None,
    noise_model: Annotated[
        Path | None,
        typer.Option("--noise-model", help="Camera noise model.json (learn-degradation) for noise_patch/noise_model."),
    ] = None,
    degradation_model: Annotated[
        Path | None,
        typer.Option(
            "--degradation-model", help="Learned model (learn-degradation's degradation.pt) applied to bicubic LR."
        ),
    ] = None,
    ext: Annotated[str, typer.Option("--ext", help="Output format: png, tif, webp, jpg, bmp.")] = "png",
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-folders (mirrored).")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    overwrite: OverwriteOpt = False,
    json_file: JsonOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Make realistic low-resolution images: blur, downsample, noise, JPEG by a recipe; writes degradations.jsonl."""
    output = pick_output(output, output_opt)
    reserve_reports(overwrite, json_file)
    opts = DegradeOptions(
        scale=scale,
        preset=preset,
        kernels=kernels,
        noise_patches=noise_patches,
        noise_model=noise_model,
        degradation_model=degradation_model,
        seed=seed,
        ext=ext,
        overwrite=overwrite,
        recursive=recursive,
    )
    batch, manifest, total = degrade_files(input, output, opts, resolve_device(device), quiet=quiet)
    if not quiet and batch.results:
        table = Table(title=f"degrade x{scale} ({len(batch.results)} of {total})")
        for col in ("input", "HR", "LR", "degradation"):
            table.add_column(col)
        for r in batch.results[:MAX_ROWS]:
            table.add_row(
                r.input.name, f"{r.hr_shape[1]}x{r.hr_shape[0]}", f"{r.lr_shape[1]}x{r.lr_shape[0]}", _summary(r.params)
            )
        out_console.print(table)
        if len(batch.results) > MAX_ROWS:
            info_line(f"... and {len(batch.results) - MAX_ROWS} more (see {manifest})")
        info_line(f"manifest: {manifest}")
    write_json_result(
        json_file,
        {
            "command": "degrade",
            "scale": scale,
            "seed": seed,
            "manifest": str(manifest) if batch.results else None,
            "outputs": [{"input": str(r.input), "output": str(r.output), "params": r.params} for r in batch.results],
            "failures": failures_json(batch.failures),
        },
        overwrite,
    )
    finish_batch(batch.failures, total)
