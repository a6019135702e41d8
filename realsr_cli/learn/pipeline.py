"""``learn-degradation`` core: KernelGAN kernels, noise patches and learned models for a folder of real photos.

Writes OUT/kernels/ (``NAME_kernel_x2|x4.mat|.npy``, previews/), OUT/noise/ (patch images), OUT/noise_previews/
(contact sheet), OUT/degradation.pt (dsgan/cyclegan) and OUT/report.json. See docs/learn-degradation.md.
"""

from __future__ import annotations

import glob
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from realsr_cli.batch import Failure, describe_error
from realsr_cli.console import error_line, info_line, make_progress, warn_line
from realsr_cli.errors import InputError, OutputExistsError
from realsr_cli.io.atomic import atomic_write_json
from realsr_cli.io.images import Image, read_image, write_image
from realsr_cli.io.paths import InputItem, collect_inputs
from realsr_cli.learn import kernel_io
from realsr_cli.learn.gan_training import STATE_FILE, GANConfig, train_degradation
from realsr_cli.learn.kernelgan import KernelGANConfig, estimate_kernels, prepare_image
from realsr_cli.learn.noise_patches import NoiseRule, collect_patches, suggestion
from realsr_cli.seeding import item_rng

METHODS = ("kernelgan", "noise", "dsgan", "cyclegan")


@dataclass
class LearnOptions:
    scale: int = 4
    methods: tuple[str, ...] = ("kernelgan", "noise")
    iters: int | None = None
    kernel_batch: int = 4
    noise: NoiseRule = field(default_factory=NoiseRule)
    gan: GANConfig = field(default_factory=GANConfig)
    clean_dir: Path | None = None
    resume: bool = False
    seed: int = 0
    overwrite: bool = False
    recursive: bool = False
    quiet: bool = False


def parse_methods(spec: str) -> tuple[str, ...]:
    methods = tuple(m.strip().lower() for m in spec.split(",") if m.strip())
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise InputError(f"--method {spec}: expected a comma list of {', '.join(METHODS)}")
    if "dsgan" in methods and "cyclegan" in methods:
        raise InputError("--method: choose one of dsgan and cyclegan (both write OUT/degradation.pt)")
    return methods


def _float_rgb(pixels: np.ndarray) -> np.ndarray:
    return prepare_image(pixels, crop=1)


def _check_outputs(out_dir: Path, opts: LearnOptions) -> None:
    report = out_dir / "report.json"
    if report.exists() and not (opts.overwrite or opts.resume):
        raise OutputExistsError(f"{report}: the output folder already holds results (use --overwrite or --resume)")


def learn_degradation(
    source: str | Path, out_dir: str | Path, opts: LearnOptions, device: torch.device | str = "cpu"
) -> dict:
    """Run the requested methods on every image of ``source``; returns the report (also written to report.json)."""
    out_dir = Path(out_dir)
    if opts.scale not in (2, 4) and "kernelgan" in opts.methods:
        raise InputError(f"-s {opts.scale}: KernelGAN estimates x2 and x4 kernels only (use -s 2 or -s 4)")
    if any(m in opts.methods for m in ("dsgan", "cyclegan")) and opts.clean_dir is None:
        raise InputError("--method dsgan/cyclegan needs clean target images: --clean-dir DIR")
    items = collect_inputs(source, opts.recursive)
    _check_outputs(out_dir, opts)
    failures: list[Failure] = []
    images: dict[str, tuple[InputItem, Image]] = {}
    entries: dict[str, dict] = {}
    for item in items:
        try:
            img = read_image(item.path)
        except Exception as exc:  # noqa: BLE001 - one bad file must not stop the batch
            _fail(failures, item.path, exc)
            continue
        name = item.relative.with_suffix("").as_posix().replace("/", "__")
        images[name] = (item, img)
        entries[name] = {
            "name": name,
            "path": str(item.path),
            "size": [img.width, img.height],
            "bit_depth": img.bit_depth,
            "gray": img.is_gray,
        }
        if img.is_gray:
            warn_line(f"{item.path}: gray image; used as three equal colour channels")
        if img.bit_depth == 16:
            info_line(
                f"{item.path}: 16-bit image; estimated at full precision, noise patches saved as 16-bit", opts.quiet
            )
    timings: dict[str, float] = {}
    result: dict = {"source": str(source), "out": str(out_dir), "scale": opts.scale, "methods": list(opts.methods)}
    if "kernelgan" in opts.methods:
        t = time.perf_counter()
        _run_kernelgan(images, entries, out_dir, opts, device, failures)
        timings["kernelgan_s"] = round(time.perf_counter() - t, 3)
    if "noise" in opts.methods:
        t = time.perf_counter()
        result["noise_patches"] = _run_noise(images, entries, out_dir, opts)
        timings["noise_s"] = round(time.perf_counter() - t, 3)
    for method in ("dsgan", "cyclegan"):
        if method in opts.methods:
            t = time.perf_counter()
            result["degradation_model"] = _run_gan(method, images, out_dir, opts, device)
            timings[f"{method}_s"] = round(time.perf_counter() - t, 3)
    result["images"] = list(entries.values())
    result["timings"] = timings
    result["failures"] = [f.message for f in failures]
    result["total_images"] = len(items)
    atomic_write_json(out_dir / "report.json", result)
    return result


def _fail(failures: list[Failure], path: Path, exc: BaseException) -> None:
    failure = Failure(path, describe_error(path, exc))
    failures.append(failure)
    error_line(failure.message)


def _run_kernelgan(images, entries, out_dir: Path, opts: LearnOptions, device, failures: list[Failure]) -> None:
    config = KernelGANConfig(iters=opts.iters or 3000)
    ready: list[tuple[str, np.ndarray]] = []
    for name, (item, img) in images.items():
        try:
            ready.append((name, prepare_image(img.pixels, config.crop)))
        except ValueError as exc:
            _fail(failures, item.path, InputError(f"{item.path}: {exc}; KernelGAN skipped"))
    kernel_dir = out_dir / "kernels"
    chunks = [ready[i : i + max(1, opts.kernel_batch)] for i in range(0, len(ready), max(1, opts.kernel_batch))]
    pictures: dict[str, np.ndarray] = {}
    with make_progress(opts.quiet) as progress:
        task = progress.add_task("KernelGAN", total=config.iters * len(chunks), status="")
        for n, chunk in enumerate(chunks):
            progress.update(task, status=f"{', '.join(name for name, _ in chunk)}")
            base = n * config.iters
            rngs = [item_rng(opts.seed, "kernelgan", name) for name, _ in chunk]
            update: Callable[[int], None] = lambda i, b=base: progress.update(task, completed=b + i)  # noqa: E731
            estimates = estimate_kernels([im for _, im in chunk], rngs, config, device, update)
            for (name, _), est in zip(chunk, estimates, strict=True):
                files = kernel_io.write_kernel(kernel_dir, name, 2, est.kernel_x2, opts.overwrite)
                files += kernel_io.write_kernel(kernel_dir, name, 4, est.kernel_x4, opts.overwrite)
                k = est.kernel_x2 if opts.scale == 2 else est.kernel_x4
                pictures[f"{name}_x{opts.scale}"] = k
                entries[name]["kernel"] = {
                    "x2": kernel_io.kernel_stats(est.kernel_x2),
                    "x4": kernel_io.kernel_stats(est.kernel_x4),
                    "files": [str(p) for p in files],
                    "seconds": round(est.seconds, 3),
                    "iterations": est.iters,
                    "batched_with": len(chunk),
                }
    kernel_io.write_previews(kernel_dir / "previews", pictures, overwrite=opts.overwrite)


def _run_noise(images, entries, out_dir: Path, opts: LearnOptions) -> int:
    rule = opts.noise
    noise_dir = out_dir / "noise"
    thumbs: list[np.ndarray] = []
    total = 0
    for name, (item, img) in images.items():
        t = time.perf_counter()
        res = collect_patches(img.pixels, rule)
        if opts.overwrite:  # patches of an earlier run with other thresholds must not linger in the bank
            for old in noise_dir.glob(f"{glob.escape(name)}_*_*.png"):
                if re.fullmatch(rf"{re.escape(name)}_\d+_\d+\.png", old.name):
                    old.unlink()
        for (top, left), patch in zip(res.boxes, res.patches, strict=True):
            pixels = patch[:, :, :1] if patch.shape[2] == 2 else patch[:, :, :3]
            write_image(noise_dir / f"{name}_{top}_{left}.png", pixels, overwrite=opts.overwrite)
            thumbs.append(_thumb(pixels))
        total += len(res.patches)
        entry = {
            "patches": len(res.patches),
            "windows": res.windows,
            "sigma_patches": None if res.patch_sigma is None else round(res.patch_sigma, 4),
            "sigma_immerkaer": round(res.immerkaer_sigma, 4),
            "seconds": round(time.perf_counter() - t, 3),
        }
        if not res.patches:
            entry["suggestion"] = suggestion(res, rule, img.pixels.shape)
            warn_line(f"{item.path}: no noise patches; {entry['suggestion']}")
        entries[name]["noise"] = entry
    if thumbs:
        write_image(out_dir / "noise_previews" / "contact_sheet.png", kernel_io.contact_sheet(thumbs), overwrite=True)
    return total


def _thumb(patch: np.ndarray, size: int = 96) -> np.ndarray:
    """A contrast-stretched 8-bit RGB view of a patch (noise is invisible otherwise)."""
    p = patch.astype(np.float64)
    p = p[:, :, :3] if p.shape[2] >= 3 else np.repeat(p[:, :, :1], 3, 2)
    p = p - p.mean((0, 1), keepdims=True)
    spread = max(float(np.abs(p).max()), 1e-9)
    view = np.rint(127.5 + 127.5 * p / spread).astype(np.uint8)
    step = max(1, view.shape[0] // size)
    return np.ascontiguousarray(view[::step, ::step][:size, :size])


def _run_gan(method: str, images, out_dir: Path, opts: LearnOptions, device) -> dict:
    clean_items = collect_inputs(opts.clean_dir, opts.recursive)
    clean = [_float_rgb(read_image(it.path).pixels) for it in clean_items]
    source = [_float_rgb(img.pixels) for _, img in images.values()]
    if not source:
        raise InputError("no readable source images for --method " + method)
    config = GANConfig(**{**opts.gan.__dict__, "method": method})
    if opts.iters:
        config.iters = opts.iters
    if opts.resume and not (out_dir / STATE_FILE).is_file():
        raise InputError(f"{out_dir / STATE_FILE}: nothing to resume")
    model = out_dir / "degradation.pt"
    if model.exists() and not (opts.overwrite or opts.resume):
        raise OutputExistsError(f"{model}: exists (use --overwrite, or --resume to continue training)")
    with make_progress(opts.quiet) as progress:
        task = progress.add_task(method, total=config.iters, status="")
        return train_degradation(
            source,
            clean,
            opts.scale,
            out_dir,
            config,
            source_names=[str(it.path) for it, _ in images.values()],
            clean_names=[str(it.path) for it in clean_items],
            seed=opts.seed,
            device=device,
            resume=opts.resume,
            progress=lambda i: progress.update(task, completed=i),
        )
