"""``realsr make-pairs``: thin CLI over :func:`realsr_cli.pairs.make_pairs`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from realsr_cli.cli.common import (
    DeviceOpt,
    JsonOpt,
    OverwriteOpt,
    QuietOpt,
    SeedOpt,
    ShardOpt,
    ThreadsOpt,
    finish_batch,
    handle_errors,
    reserve_reports,
    write_json_result,
)
from realsr_cli.console import out_console, warn_line
from realsr_cli.device import resolve_device
from realsr_cli.pairs.core import PairsConfig, PairsResult, make_pairs
from realsr_cli.sharding import parse_shard
from realsr_cli.threads import use_threads


@handle_errors
def command(
    hr_dir: Annotated[Path, typer.Argument(help="Clean HR images (or, for --self, the LR photos themselves).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Pairs folder: hr/, lr/ and pairs.jsonl.")],
    scale: Annotated[int, typer.Option("--scale", "-s", help="Scale factor s: LR = HR / s.")] = 4,
    kernels: Annotated[
        Path | None, typer.Option("--kernels", help="Mode 1: KernelGAN kernels (this tool's or KernelGAN results/).")
    ] = None,
    noise_patches: Annotated[
        Path | None, typer.Option("--noise-patches", help="Mode 1: real noise patches added to the LR images.")
    ] = None,
    noise_model: Annotated[
        Path | None,
        typer.Option(
            "--noise-model", help="Synthesise the noise from this camera model.json instead of noise patches."
        ),
    ] = None,
    per_photo_kernels: Annotated[
        bool,
        typer.Option(
            "--per-photo-kernels", help="Mode 1: one per-photo kernel per image, not the folder's camera kernel."
        ),
    ] = False,
    kernel_floor: Annotated[
        str | None,
        typer.Option(
            "--kernel-floor",
            help="Mode 1: match (default with the learned spectrum.json): a kernel axis at KernelGAN's floor is "
            "narrowed to the width whose pairs have the camera photos' spectrum | range (default without it): by a "
            "random amount per image, down to bicubic's width | off: the estimate as is.",
        ),
    ] = None,
    sharpen: Annotated[
        str | None,
        typer.Option(
            "--sharpen",
            help="Mode 1: auto (default with the learned spectrum.json): unsharp-mask the LR as much as the camera's "
            "ISP does, when its photos are sharper than the pairs | off | an amount (radius 1 LR px).",
        ),
    ] = None,
    jpeg: Annotated[
        str | None,
        typer.Option(
            "--jpeg", help="Mode 1, last step: auto (default: the learned jpeg.json) | off | a quality | FILE."
        ),
    ] = None,
    add_source: Annotated[
        Path | None, typer.Option("--add-source", help="Also use these real photos, downscaled, as extra HR images.")
    ] = None,
    cleanup_scale: Annotated[
        float, typer.Option("--cleanup-scale", help="Bicubic downscale of --add-source photos (removes noise).")
    ] = 2.0,
    preset: Annotated[
        str | None,
        typer.Option("--preset", "-p", help="Mode 2: degradation recipe generic|realesrgan|bicubic|FILE.yaml."),
    ] = None,
    degradation_model: Annotated[
        Path | None, typer.Option("--degradation-model", help="Mode 3: degradation.pt from learn-degradation.")
    ] = None,
    aligned_lr: Annotated[
        Path | None, typer.Option("--aligned-lr", help="Mode 4: registered same-scale LR images (same names).")
    ] = None,
    hr_upscaler: Annotated[
        str, typer.Option("--hr-upscaler", help="Mode 4: enlarge the HR side with bicubic (T1) or a model.pt (T2/T3).")
    ] = "bicubic",
    downscale_lr: Annotated[
        bool, typer.Option("--downscale-lr", help="Mode 4 (T4): downscale the LR side instead of enlarging HR.")
    ] = False,
    self_pairs: Annotated[
        bool, typer.Option("--self", help="Mode 5: the images are HR, their bicubic 1/s versions LR.")
    ] = False,
    patch_size: Annotated[
        int, typer.Option("--patch-size", help="HR patch size in pixels (multiple of s); 0 keeps whole images.")
    ] = 0,
    stride: Annotated[int, typer.Option("--stride", help="HR patch stride (multiple of s); 0 = patch size.")] = 0,
    border: Annotated[
        str, typer.Option("--border", help="shift: one more patch flush with the edge; drop: discard the remainder.")
    ] = "shift",
    min_variance: Annotated[
        float, typer.Option("--min-variance", help="Skip HR patches whose variance ([0,1] units) is lower; 0 = off.")
    ] = 0.0,
    seed: SeedOpt = 0,
    workers: Annotated[int, typer.Option("--workers", "-j", help="Parallel worker processes.")] = 1,
    shard: ShardOpt = None,
    threads: ThreadsOpt = None,
    device: DeviceOpt = "auto",
    overwrite: OverwriteOpt = False,
    json_file: JsonOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Make realistic LR/HR training pairs (kernels + noise, a recipe, a learned model, aligned or self pairs)."""
    reserve_reports(overwrite, json_file)
    use_threads(threads)
    config = PairsConfig(
        hr_dir=hr_dir,
        out_dir=output,
        scale=scale,
        kernels=kernels,
        noise_patches=noise_patches,
        noise_model=noise_model,
        per_photo_kernels=per_photo_kernels,
        kernel_floor=kernel_floor,
        sharpen=sharpen,
        jpeg=jpeg,
        preset=preset,
        degradation_model=degradation_model,
        aligned_lr=aligned_lr,
        hr_upscaler=hr_upscaler,
        downscale_lr=downscale_lr,
        self_pairs=self_pairs,
        add_source=add_source,
        cleanup_scale=cleanup_scale,
        patch_size=patch_size,
        stride=stride,
        border=border,
        min_variance=min_variance,
        seed=seed,
        workers=workers,
        shard=parse_shard(shard),
        overwrite=overwrite,
        device=str(resolve_device(device)),
        quiet=quiet,
    )
    result = make_pairs(config)
    _report(result, scale, quiet)
    write_json_result(json_file, result.summary(), overwrite)
    finish_batch(result.failures, result.sources)


def _report(result: PairsResult, scale: int, quiet: bool) -> None:
    if result.cropped:
        path, (h, w), (ch, cw) = result.cropped[0]
        more = f" and {len(result.cropped) - 1} more" if len(result.cropped) > 1 else ""
        warn_line(f"{path}{more}: size not divisible by {scale}; cropped {w}x{h} -> {cw}x{ch} (bottom/right)")
    if quiet:
        return
    table = Table(title="make-pairs")
    for column in ("mode", "sources", "pairs", "flat skipped", "failed", "manifest"):
        table.add_column(column)
    table.add_row(
        result.mode,
        str(result.sources),
        str(len(result.records)),
        str(result.flat_skipped),
        str(len(result.failures)),
        str(result.manifest),
    )
    out_console.print(table)
