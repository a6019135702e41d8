"""``realsr learn-degradation``: thin CLI over :func:`realsr_cli.learn.pipeline.learn_degradation`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from realsr_cli.batch import Failure
from realsr_cli.cli.common import (
    DeviceOpt,
    JsonOpt,
    OverwriteOpt,
    QuietOpt,
    SeedOpt,
    ThreadsOpt,
    finish_batch,
    handle_errors,
    reserve_reports,
    write_json_result,
)
from realsr_cli.console import out_console, warn_line
from realsr_cli.device import resolve_device
from realsr_cli.learn.gan_training import GANConfig
from realsr_cli.learn.noise_patches import noise_rule_from_options
from realsr_cli.learn.pipeline import LearnOptions, learn_degradation, parse_methods
from realsr_cli.threads import use_threads

# Hidden old spellings (besides the shared --out, --patch): -m was --method before -m meant --model everywhere.
ALIASES = {"-m": "--method"}


@handle_errors
def command(
    source: Annotated[Path, typer.Argument(help="Folder of real photos from the camera to learn (no ground truth).")],
    out: Annotated[Path, typer.Option("--output", "-o", help="Output folder: kernels/, noise/, report.json.")],
    scale: Annotated[int, typer.Option("--scale", "-s", help="SR scale the degradation is for (2 or 4).")] = 4,
    method: Annotated[
        str, typer.Option("--method", help="Comma list: kernelgan, noise, jpeg, dsgan, cyclegan.")
    ] = "kernelgan,noise,jpeg",
    iters: Annotated[
        int | None, typer.Option("--iters", help="Iterations (KernelGAN default 3000; dsgan/cyclegan 2000).")
    ] = None,
    kernel_batch: Annotated[
        int, typer.Option("--kernel-batch", help="Per-photo KernelGAN runs trained at once (one G/D each).")
    ] = 8,
    per_photo_kernels: Annotated[
        bool,
        typer.Option("--per-photo-kernels", help="One kernel per photo (NTIRE 2020 way); camera = their aggregate."),
    ] = False,
    kernel_restarts: Annotated[
        int | None,
        typer.Option("--kernel-restarts", help="KernelGAN restarts: camera kernel 6; each photo 3 (--per-photo)."),
    ] = None,
    noise_rule: Annotated[
        str, typer.Option("--noise-rule", help="adaptive (the photo's own noise level) or realsr (fixed variance).")
    ] = "adaptive",
    noise_window: Annotated[
        int | None, typer.Option("--noise-window", help="Noise window size (adaptive: 64; realsr: 256).")
    ] = None,
    noise_stride: Annotated[
        int | None, typer.Option("--noise-stride", help="Noise window stride (adaptive: 32; realsr: the window).")
    ] = None,
    noise_tolerance: Annotated[
        float, typer.Option("--noise-tolerance", help="adaptive: keep windows within this x the noise's variance.")
    ] = 1.3,
    noise_max_var: Annotated[
        float | None,
        typer.Option("--noise-max-var", help="realsr: keep windows with gray variance below this (0-255; 20)."),
    ] = None,
    noise_min_mean: Annotated[
        float, typer.Option("--noise-min-mean", help="... and gray mean above this (0-255 scale).")
    ] = 0.0,
    clean_dir: Annotated[
        Path | None, typer.Option("--clean-dir", help="Clean HR images (target domain) for dsgan/cyclegan.")
    ] = None,
    patch: Annotated[int, typer.Option("--patch-size", help="dsgan/cyclegan training crop (LR pixels).")] = 64,
    gan_batch: Annotated[int, typer.Option("--gan-batch", help="dsgan/cyclegan crops per step.")] = 8,
    gan_amp: Annotated[
        str,
        typer.Option(
            "--gan-amp", help="dsgan/cyclegan forward passes in bf16: auto (where the CPU/GPU has bf16), none, bf16."
        ),
    ] = "auto",
    res_blocks: Annotated[int, typer.Option("--res-blocks", help="Generator residual blocks (DSGAN: 8).")] = 8,
    channels: Annotated[int, typer.Option("--channels", help="Generator width (DSGAN: 64).")] = 64,
    perceptual_weight: Annotated[
        float, typer.Option("--perceptual-weight", help="DSGAN LPIPS-VGG weight (0.01; 0 = off, no VGG needed).")
    ] = 0.01,
    vgg_weights: Annotated[
        Path | None, typer.Option("--vgg-weights", help="VGG16 conv weights (torchvision 'features.*' keys).")
    ] = None,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", help="Save dsgan/cyclegan state every N iterations.")
    ] = 500,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue dsgan/cyclegan training from OUTPUT/learn_state.pt.")
    ] = False,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-folders.")] = False,
    threads: ThreadsOpt = None,
    device: DeviceOpt = "auto",
    seed: SeedOpt = 0,
    overwrite: OverwriteOpt = False,
    json_file: JsonOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Learn a camera's degradation from its photos: KernelGAN blur kernels, real noise patches, DSGAN/CycleGAN."""
    reserve_reports(overwrite, json_file)
    use_threads(threads)
    opts = LearnOptions(
        scale=scale,
        methods=parse_methods(method),
        iters=iters,
        kernel_batch=kernel_batch,
        kernel_restarts=kernel_restarts,
        per_photo_kernels=per_photo_kernels,
        noise=noise_rule_from_options(
            noise_rule, noise_window, noise_stride, noise_tolerance, noise_max_var, noise_min_mean
        ),
        gan=GANConfig(
            patch=patch,
            batch=gan_batch,
            amp=gan_amp,
            n_res_blocks=res_blocks,
            channels=channels,
            w_per=perceptual_weight,
            vgg_weights=str(vgg_weights) if vgg_weights else None,
            checkpoint_every=checkpoint_every,
        ),
        clean_dir=clean_dir,
        resume=resume,
        seed=seed,
        overwrite=overwrite,
        recursive=recursive,
        quiet=quiet,
    )
    report = learn_degradation(source, out, opts, resolve_device(device))
    model = report.get("noise_model") or {}
    if model.get("reason"):
        warn_line(f"{out / 'noise' / 'model.json'}: not written; {model['reason']}")
    if not quiet:
        _print(report)
    write_json_result(json_file, report, overwrite)
    finish_batch([Failure.from_json(f) for f in report["failures"]], report["total_images"])


def _print(report: dict) -> None:
    key = f"x{report['scale']}"
    per_photo = any(e.get("kernel") for e in report["images"])  # the default is one camera kernel, printed below
    columns = ["image"] + (["kernel size", "sigma major/minor", "angle", "seconds"] if per_photo else [])
    columns += ["noise patches", "noise sigma"]
    table = Table(title=f"learn-degradation x{report['scale']}: {', '.join(report['methods'])}")
    for col in columns:
        table.add_column(col, justify="left" if col == "image" else "right")
    for e in report["images"]:
        k, n = e.get("kernel"), e.get("noise")
        ks = k[key] if k else None
        row = [e["name"]]
        if per_photo:
            row += [
                "x".join(map(str, ks["size"])) if ks else "-",
                f"{ks['sigma_major']:.2f}/{ks['sigma_minor']:.2f}" if ks else "-",
                f"{ks['angle_deg']:.0f}" if ks else "-",
                f"{k['seconds']:.1f}" if k else "-",
            ]
        row += [str(n["patches"]) if n else "-", f"{n['sigma']:.2f}" if n else "-"]
        table.add_row(*row)
    out_console.print(table)
    _print_camera(report)
    model = report.get("noise_model")
    if model and model.get("file"):
        sigmas = "/".join(f"{v:.2f}" for v in model["sigma_at_128"])
        follows = "the pixel's luma" if model.get("signal") == "luma" else "each channel's own value"
        out_console.print(
            f"noise model ({model['model']}, level following {follows}): sigma {sigmas} at mid-gray -> {model['file']}"
        )
    if "degradation_model" in report:
        d = report["degradation_model"]
        out_console.print(f"{d['method']}: {d['iterations']} iterations in {d['seconds']:.1f} s -> {d['model']}")


def _print_camera(report: dict) -> None:
    """The camera kernel (with its spread over restarts or photos) and the measured JPEG quality."""
    cam = report.get("camera_kernel")
    if cam:
        key = f"x{report['scale']}"
        k, sp = cam[key], cam["spread"][key]
        angle = f"{k['angle_deg']:.0f} deg (spread {sp['angle_std_deg']:.0f})" if sp["angle_defined"] else "isotropic"
        verdict = "reliable" if cam["reliable"] else "UNRELIABLE: " + "; ".join(cam["reasons"])
        if cam.get("at_floor"):
            verdict += "; at KernelGAN's floor (an upper bound on the blur: make-pairs narrows it per image)"
        out_console.print(
            f"camera kernel {key} ({cam['estimate']}, {sp['estimates']} of {len(cam['estimates'])} estimates kept): "
            f"sigma {k['sigma_major']:.2f}/{k['sigma_minor']:.2f} px (spread {sp['sigma_major']['std']:.2f}/"
            f"{sp['sigma_minor']['std']:.2f}), {angle}; {verdict}"
        )
    jpeg = report.get("jpeg")
    if jpeg:
        text = "no JPEG found" if not jpeg["detected"] else f"JPEG of unknown quality ({jpeg['method']})"
        if jpeg["quality_range"]:
            low, high = jpeg["quality_range"]
            text = f"JPEG quality {jpeg['quality_median']} (range {low}-{high}, {jpeg['method']})"
        out_console.print(f"{text} -> {jpeg['file']}")
