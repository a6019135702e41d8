"""``realsr upscale``: thin CLI over :mod:`realsr_cli.upscale.pipeline`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from realsr_cli.cli.common import (
    DeviceOpt,
    JsonOpt,
    OutputOpt,
    OverwriteOpt,
    QuietOpt,
    ShardOpt,
    ThreadsOpt,
    finish_batch,
    handle_errors,
    pick_output,
    reserve_reports,
    write_json_result,
)
from realsr_cli.console import info_line, out_console
from realsr_cli.errors import InputError
from realsr_cli.io.images import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, MAX_PIXELS_ENV, pixel_budget
from realsr_cli.sharding import parse_shard
from realsr_cli.threads import use_threads

if TYPE_CHECKING:  # the engines are imported when the command runs, not for --help
    from realsr_cli.upscale.engine import PixelEngine
    from realsr_cli.upscale.files import UpscaleReport

MAX_ROWS = 30


@handle_errors
def command(
    input: Annotated[str, typer.Argument(help="An image file, a folder of images or a glob pattern.")],
    output: Annotated[
        Path | None,
        typer.Argument(
            help="Output folder (or an image file path for a single input); or -o/--output.", show_default=False
        ),
    ] = None,
    output_opt: OutputOpt = None,
    scale: Annotated[
        int | None, typer.Option("--scale", "-s", help="Model scale; must match the model (default: the model's, 4).")
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="default (x4: the GAN model, x2: PSNR), default-psnr, default-gan, bicubic|lanczos|bilinear|nearest "
            "(interpolation, any -s), a model file (model.pt, .pth, .safetensors), a name from 'realsr models list', "
            "or a URL.",
        ),
    ] = "default",
    denoise: Annotated[
        str | None,
        typer.Option(
            "--denoise",
            "-dn",
            help="Restoration strength 0-1 (Real-ESRGAN's -dn): 0 keeps detail and noise, 1 restores most; "
            "interpolates the built-in --model (0) and its strong end (1), or --model and --interpolate. "
            "auto (the default for default-psnr, x2's default): estimated per photo.",
            show_default=False,
        ),
    ] = None,
    interpolate: Annotated[
        str | None,
        typer.Option("--interpolate", help="A second model of --model's architecture, mixed in with weight --denoise."),
    ] = None,
    tile: Annotated[
        int | None,
        typer.Option("--tile", "-t", help="Tile size in input pixels; 0 = whole image (default: from free memory)."),
    ] = None,
    tile_pad: Annotated[int, typer.Option("--tile-pad", help="Context pixels around each tile.")] = 10,
    batch: Annotated[int, typer.Option("--batch", help="Tiles per forward pass.")] = 1,
    tta: Annotated[bool, typer.Option("--tta", help="x8 self-ensemble (flips and rotations averaged).")] = False,
    ensemble: Annotated[
        list[str] | None, typer.Option("--ensemble", help="More models to fuse with --model (repeat the option).")
    ] = None,
    fusion: Annotated[str, typer.Option("--fusion", help="mean, or luminance (Samsung-SLSI-MSL; 2 models).")] = "mean",
    fusion_alpha: Annotated[
        float, typer.Option("--fusion-alpha", help="Luminance fusion: weight of the 1st model.")
    ] = 0.6,
    fusion_beta: Annotated[
        float, typer.Option("--fusion-beta", help="Luminance fusion: weight of the 2nd model.")
    ] = 0.4,
    fusion_gamma: Annotated[
        float,
        typer.Option("--fusion-gamma", help="Luminance fusion: threshold (0-255) on the 1st model's median luma."),
    ] = 64.0,
    outscale: Annotated[
        float | None, typer.Option("--outscale", help="Final output scale (MATLAB-bicubic resize of the model output).")
    ] = None,
    half: Annotated[
        bool, typer.Option("--half", help="fp16 on CUDA (the CUDA default for models that allow it).")
    ] = False,
    bf16: Annotated[bool, typer.Option("--bf16", help="bfloat16 on CUDA.")] = False,
    fp32: Annotated[bool, typer.Option("--fp32", help="Full precision everywhere.")] = False,
    alpha: Annotated[str, typer.Option("--alpha", help="Upscale transparency with the model or bicubic.")] = "model",
    color_fix: Annotated[
        bool, typer.Option("--color-fix", help="Keep low frequencies (colours) true to the input.")
    ] = False,
    compile_model: Annotated[
        bool, typer.Option("--compile", help="torch.compile the model (slow start, faster run).")
    ] = False,
    ext: Annotated[
        str | None, typer.Option("--ext", help="Output format png|jpg|webp|tif (default: the input's).")
    ] = None,
    suffix: Annotated[str, typer.Option("--suffix", help="Appended to output stems, e.g. _x4.")] = "",
    quality: Annotated[int, typer.Option("--quality", help="JPEG/WebP quality (100 = lossless WebP).")] = 95,
    crf: Annotated[
        int, typer.Option("--crf", help="Video input: H.264 quality, 0 lossless .. 51; 18 ~ transparent.")
    ] = 18,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-folders (mirrored).")] = False,
    shard: ShardOpt = None,
    max_pixels: Annotated[
        int | None,
        typer.Option(
            "--max-pixels",
            help=f"Refuse inputs with more pixels (default ${MAX_PIXELS_ENV} or {DEFAULT_MAX_PIXELS:,}; 0 = no limit).",
        ),
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            envvar="REALSR_BACKEND",
            help="auto|torch|openvino|onnxruntime. auto: PyTorch on CUDA; on CPU the fastest runtime installed "
            "(openvino, onnxruntime: the 'fast' extra) whose output matches PyTorch within 1/255, else PyTorch.",
        ),
    ] = "auto",
    threads: ThreadsOpt = None,
    device: DeviceOpt = "auto",
    overwrite: OverwriteOpt = False,
    json_file: JsonOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Upscale images with an SR model: tiled, seamless, any size; TTA, ensembles, 16-bit, alpha, metadata kept."""
    output = pick_output(output, output_opt)
    reserve_reports(overwrite, json_file)
    if sum([half, bf16, fp32]) > 1:
        raise InputError("give at most one of --half, --bf16, --fp32")
    precision = "fp16" if half else "bf16" if bf16 else "fp32" if fp32 else "auto"
    if fusion not in ("mean", "luminance"):
        raise InputError(f"--fusion {fusion}: expected mean or luminance")
    if outscale is not None and outscale <= 0:
        raise InputError(f"--outscale {outscale}: must be positive")
    if tile is not None and tile < 0 or tile_pad < 0 or batch < 1:
        raise InputError("--tile and --tile-pad must be >= 0 and --batch >= 1")
    if not 0 <= quality <= 100:
        raise InputError(f"--quality {quality}: must be between 0 and 100")
    if scale is not None and scale < 1:
        raise InputError(f"-s {scale}: the scale must be a positive integer")
    if ext is not None and f".{ext.lower().lstrip('.')}" not in IMAGE_EXTENSIONS:
        raise InputError(f"--ext {ext}: expected one of {', '.join(e.lstrip('.') for e in IMAGE_EXTENSIONS)}")
    pixel_budget(max_pixels)  # validates --max-pixels / $REALSR_MAX_PIXELS once, before any work
    from realsr_cli.upscale.lean import lean_upscaler
    from realsr_cli.upscale.options import LuminanceFusion, UpscaleOptions
    from realsr_cli.upscale.runtimes import check_backend_name
    from realsr_cli.upscale.video import is_video

    check_backend_name(backend)
    options = UpscaleOptions(
        scale=scale,
        outscale=outscale,
        tile=tile,
        tile_pad=tile_pad,
        batch=batch,
        tta=tta,
        fusion=fusion,
        luminance=LuminanceFusion(fusion_alpha, fusion_beta, fusion_gamma),
        alpha=alpha,
        precision=precision,
        color_fix=color_fix,
        compile=compile_model,
        ext=ext,
        suffix=suffix,
        quality=quality,
        overwrite=overwrite,
        max_pixels=max_pixels,
        backend=backend,
    )
    video = is_video(input)
    upscaler: PixelEngine | None = None
    if not video:  # no torch where nothing needs it (upscale/lean.py), else the PyTorch engine
        upscaler = lean_upscaler(
            model, options, device, threads, denoise=denoise, interpolate=interpolate, ensemble=ensemble or ()
        )
    if upscaler is None:
        from realsr_cli.device import resolve_device
        from realsr_cli.upscale.auto_denoise import build_upscaler, parse_denoise

        use_threads(threads)
        dev = resolve_device(device)
        strength = parse_denoise(denoise)  # before any model file is read
        upscaler = build_upscaler(model, dev, options, strength, interpolate, tuple(ensemble or ()))
    if video:
        from realsr_cli.upscale.video import upscale_video

        done = upscale_video(input, output, upscaler, crf=crf, overwrite=overwrite, quiet=quiet)
        info_line(f"{done.output}: {done.frames} frames at {done.fps:g} fps, {done.audio_streams} audio", quiet)
        write_json_result(json_file, done.to_json(), overwrite)
        return
    from realsr_cli.upscale.files import upscale_files

    report = upscale_files(input, output, upscaler, recursive=recursive, quiet=quiet, shard=parse_shard(shard))
    _print_report(report, quiet)
    write_json_result(json_file, report.to_json(), overwrite)
    finish_batch(report.failures, len(report.results) + len(report.failures))


def _print_report(report: UpscaleReport, quiet: bool) -> None:
    if quiet or not report.results:
        return
    table = Table(title=f"upscale x{report.scale} with {report.model} on {report.device} ({report.backend})")
    auto = any(r.denoise is not None for r in report.results)
    columns = ("input", "size in", "size out", "tiles", "precision", "seconds", "colour shift") + (
        ("denoise",) if auto else ()
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "input" else "right")
    for r in report.results[:MAX_ROWS]:
        cells = [
            Path(r.input).name,
            f"{r.in_size[1]}x{r.in_size[0]}",
            f"{r.out_size[1]}x{r.out_size[0]}",
            str(r.tiles),
            r.precision,
            f"{r.seconds:.2f}",
            f"{r.color_shift:.2f}",
        ]
        table.add_row(*cells, *([f"{r.denoise:g}" if r.denoise is not None else ""] if auto else []))
    if len(report.results) > MAX_ROWS:
        table.add_row(f"... {len(report.results) - MAX_ROWS} more", *[""] * (len(columns) - 1))
    out_console.print(table)
    shift = sum(r.color_shift for r in report.results) / len(report.results)
    info_line(
        f"{len(report.results)} image(s), {report.megapixels_in:.2f} MP in -> {report.megapixels_out:.2f} MP out in "
        f"{report.seconds:.1f} s: {report.mp_per_s:.3f} input MP/s; mean colour shift vs bicubic {shift:.2f}/255"
    )
