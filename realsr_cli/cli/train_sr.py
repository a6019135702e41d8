"""``realsr train-sr``: thin wrapper over :func:`realsr_cli.train.train_sr`."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from realsr_cli.cli.common import (
    DeviceOpt,
    JsonOpt,
    OverwriteOpt,
    QuietOpt,
    SeedOpt,
    ThreadsOpt,
    handle_errors,
    reserve_reports,
    write_json_result,
)
from realsr_cli.console import out_console
from realsr_cli.threads import use_threads


@handle_errors
def command(
    pairs_dir: Annotated[
        Path,
        typer.Argument(help="make-pairs folder (hr/ + lr/), or HR images with --degrade-preset or a cyclesr preset."),
    ],
    out: Annotated[Path, typer.Option("--output", "-o", help="Run folder: model.pt, checkpoints/, log.jsonl.")],
    preset: Annotated[str, typer.Option("--preset", "-p", help="Train preset name or YAML file.")] = "msrresnet",
    arch: Annotated[str | None, typer.Option("--arch", help="Generator architecture (overrides the preset).")] = None,
    scale: Annotated[int | None, typer.Option("--scale", "-s", help="Upscaling factor.")] = None,
    iters: Annotated[
        int | None,
        typer.Option(
            "--iters",
            help="Total training iterations; the preset's LR schedule is stretched to fit "
            "(with --resume: the new total; default: the interrupted run's).",
        ),
    ] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Batch size (per process).")] = None,
    patch_size: Annotated[int | None, typer.Option("--patch-size", help="HR patch size.")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="DataLoader worker processes.")] = None,
    degrade_preset: Annotated[
        str | None, typer.Option("--degrade-preset", help="Degrade HR images on the fly with this degradation preset.")
    ] = None,
    real_lr: Annotated[
        Path | None,
        typer.Option("--real-lr", help="The camera's real LR photos (unpaired), for the cyclesr/cyclesrgan presets."),
    ] = None,
    val: Annotated[
        Path | None,
        typer.Option("--val", help="Validation folder: hr/ + lr/, or LR photos only (with train.best_metric niqe)."),
    ] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUTPUT/checkpoints/latest.pt.")] = False,
    init: Annotated[
        str | None, typer.Option("--init", help="Initial generator weights (model.pt, .pth, a zoo name or a URL).")
    ] = None,
    vgg_weights: Annotated[
        Path | None, typer.Option("--vgg-weights", help="VGG weights for the perceptual loss (vgg19-dcbb9e9d.pth).")
    ] = None,
    sets: Annotated[
        list[str] | None, typer.Option("--set", help="Override any preset key, e.g. --set train.lr=1e-4 (repeatable).")
    ] = None,
    export: Annotated[
        list[str] | None,
        typer.Option("--export", help="Also write model.safetensors / model.pth: safetensors or state-dict."),
    ] = None,
    threads: ThreadsOpt = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    overwrite: OverwriteOpt = False,
    json_out: JsonOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train an SR network (L1/L2/Charbonnier/SSIM, VGG perceptual, standard/relativistic/LSGAN) from a preset."""
    from realsr_cli.errors import InputError
    from realsr_cli.train import load_train_config, train_sr
    from realsr_cli.train.cyclesr import cyclesr_summary, run_mode, train_cyclesr
    from realsr_cli.train.export import EXPORT_FORMATS
    from realsr_cli.train.trainer import summary

    reserve_reports(overwrite, json_out)
    use_threads(threads)
    for fmt in export or []:
        if fmt not in EXPORT_FORMATS:
            raise InputError(f"--export {fmt}: expected one of {', '.join(EXPORT_FORMATS)}")
    if not pairs_dir.is_dir():
        raise InputError(f"{pairs_dir}: training data folder not found")
    overrides = {
        "arch": arch,
        "scale": scale,
        "train.iters": iters,
        "data.batch_size": batch_size,
        "data.patch_size": patch_size,
        "data.workers": workers,
        "data.degrade_preset": degrade_preset,
    }
    cfg = load_train_config(preset, overrides, sets)
    mode = run_mode(cfg, out, resume)
    if mode != "cyclesr" and real_lr is not None:
        raise InputError("--real-lr: only for the cyclesr presets (mode: cyclesr), e.g. --preset cyclesr")
    train = partial(train_cyclesr, real_lr=real_lr) if mode == "cyclesr" else train_sr
    result = train(
        pairs_dir,
        out,
        cfg,
        val_dir=val,
        device=device,
        seed=seed,
        resume=resume,
        init=init,
        vgg_weights=vgg_weights,
        quiet=quiet,
        overwrite=overwrite,
        export=export,
        iters=iters if resume else None,
    )
    info = cyclesr_summary(result) if mode == "cyclesr" else summary(result)
    write_json_result(json_out, info, overwrite)
    if not quiet:
        from rich.table import Table

        table = Table(title=f"train-sr: {info['iters']} iterations")
        table.add_column("output")
        table.add_column("value")
        table.add_row("model", info["model"])
        if info.get("translator"):
            table.add_row("translator", info["translator"])
        for key, value in (info["val"] or {}).items():
            table.add_row(f"val {key}", f"{value:.4f}")
        if info["best"]:
            table.add_row("best", f"{info['best']['metric']} {info['best']['value']:.4f} @ {info['best']['iter']}")
        for path in info["exported"]:
            table.add_row("export", path)
        out_console.print(table)
