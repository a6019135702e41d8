"""``learn-degradation`` core: KernelGAN kernels, noise patches and learned models for a folder of real photos.

Writes OUT/kernels/ (``NAME_kernel_x2|x4.mat|.npy``, previews/), OUT/noise/ (patch images and the camera noise
model ``model.json``), OUT/noise_previews/ (contact sheet), OUT/jpeg.json, OUT/degradation.pt (dsgan/cyclegan) and
OUT/report.json; ``--overwrite`` first removes an earlier run's patches and the camera files of methods not run now.
See docs/learn-degradation.md.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from realsr_cli.batch import Failure, failures_json, run_batch
from realsr_cli.console import info_line, make_progress, warn_line
from realsr_cli.degradations import spectrum
from realsr_cli.degradations.kernel_floor import is_unresolved
from realsr_cli.degradations.kernels import CAMERA_KERNEL_STEM
from realsr_cli.degradations.noise import MODEL_FILE
from realsr_cli.errors import InputError, OutputExistsError
from realsr_cli.io.atomic import atomic_write_json
from realsr_cli.io.guard import is_input
from realsr_cli.io.images import Image, read_image, write_image
from realsr_cli.io.paths import InputItem, collect_inputs
from realsr_cli.io.tensors import select_channels
from realsr_cli.learn import camera_kernel, jpeg_quality, kernel_io
from realsr_cli.learn.gan_training import STATE_FILE, GANConfig, train_degradation
from realsr_cli.learn.kernelgan import KernelGANConfig, prepare_image
from realsr_cli.learn.noise_model import BlockStats, block_stats, fit_camera_model, gray_255, write_model
from realsr_cli.learn.noise_patches import AdaptiveRule, NoiseRule, photo_noise

METHODS = ("kernelgan", "noise", "jpeg", "dsgan", "cyclegan")
PATCH_NAME = re.compile(r".+_\d+_\d+\.png")  # OUT/noise/NAME_TOP_LEFT.png


@dataclass
class LearnOptions:
    scale: int = 4
    methods: tuple[str, ...] = ("kernelgan", "noise", "jpeg")
    iters: int | None = None
    kernel_batch: int = 8
    kernel_restarts: int | None = None  # camera: 6 restarts; per photo: 3 each
    per_photo_kernels: bool = False
    noise: AdaptiveRule | NoiseRule = field(default_factory=AdaptiveRule)
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


def check_options(opts: LearnOptions) -> None:
    """Validate the numeric options once, before any work (the make-pairs message style)."""
    if opts.scale < 1:
        raise InputError(f"-s {opts.scale}: the scale must be a positive integer")
    counts = {
        "--iters": opts.iters,
        "--kernel-batch": opts.kernel_batch,
        "--patch-size": opts.gan.patch,
        "--gan-batch": opts.gan.batch,
        "--res-blocks": opts.gan.n_res_blocks,
        "--channels": opts.gan.channels,
        "--checkpoint-every": opts.gan.checkpoint_every,
    }
    for flag, value in counts.items():
        if value is not None and value < 1:
            raise InputError(f"{flag} {value}: must be at least 1")
    if opts.gan.w_per < 0:
        raise InputError(f"--perceptual-weight {opts.gan.w_per}: must be 0 or more")


def _check_layout(items: list[InputItem], out_dir: Path) -> None:
    """Refuse, before any work, photos inside the output sub-folders this command writes and cleans up."""
    written = [(out_dir / sub).resolve() for sub in ("noise", "kernels", "noise_previews")]
    for item in items:
        path = item.path.resolve()
        if any(d in path.parents for d in written):
            raise InputError(f"{item.path}: an input inside {out_dir}'s output folders; choose another --out")


def _check_outputs(out_dir: Path, opts: LearnOptions) -> None:
    report = out_dir / "report.json"
    if report.exists() and not (opts.overwrite or opts.resume):
        raise OutputExistsError(f"{report}: the output folder already holds results (use --overwrite or --resume)")


def _remove_stale(out_dir: Path, methods: tuple[str, ...]) -> None:
    """``--overwrite``: every noise patch of an earlier run (of any photo) and its contact sheet, and the camera
    files of a method not run now (``noise/model.json``, ``jpeg.json``), which make-pairs would still pick up."""
    noise_dir = out_dir / "noise"
    stale = [p for p in noise_dir.glob("*_*_*.png") if PATCH_NAME.fullmatch(p.name)] if noise_dir.is_dir() else []
    stale.append(out_dir / "noise_previews" / "contact_sheet.png")
    if "noise" not in methods:
        stale.append(noise_dir / MODEL_FILE)
    if "jpeg" not in methods:
        stale.append(out_dir / jpeg_quality.JPEG_FILE)
    for path in stale:
        if path.is_file() and not is_input(path):
            path.unlink()


def _run_options(opts: LearnOptions) -> dict:
    """The options the results depend on beyond scale and methods (recorded in report.json)."""
    rule = "realsr" if isinstance(opts.noise, NoiseRule) else "adaptive"
    return {
        "seed": opts.seed,
        "kernel_batch": opts.kernel_batch,
        "per_photo_kernels": opts.per_photo_kernels,
        "noise_rule": {"rule": rule, **asdict(opts.noise)},
    }


def learn_degradation(
    source: str | Path, out_dir: str | Path, opts: LearnOptions, device: torch.device | str = "cpu"
) -> dict:
    """Run the requested methods on every image of ``source``; returns the report (also written to report.json)."""
    out_dir = Path(out_dir)
    check_options(opts)
    if opts.scale not in (2, 4) and "kernelgan" in opts.methods:
        raise InputError(f"-s {opts.scale}: KernelGAN estimates x2 and x4 kernels only (use -s 2 or -s 4)")
    if any(m in opts.methods for m in ("dsgan", "cyclegan")) and opts.clean_dir is None:
        raise InputError("--method dsgan/cyclegan needs clean target images: --clean-dir DIR")
    items = collect_inputs(source, opts.recursive)
    _check_layout(items, out_dir)
    _check_outputs(out_dir, opts)
    if opts.overwrite:
        _remove_stale(out_dir, opts.methods)
    read = run_batch(
        items,
        lambda item: _read_photo(item, opts.quiet),
        path_of=lambda item: item.path,
        label="reading photos",
        quiet=opts.quiet,
    )
    failures = list(read.failures)
    images: dict[str, tuple[InputItem, Image]] = {}
    entries: dict[str, dict] = {}
    for item, img in read.results:
        name = item.relative.with_suffix("").as_posix().replace("/", "__")
        images[name] = (item, img)
        entries[name] = {
            "name": name,
            "path": str(item.path),
            "size": [img.width, img.height],
            "bit_depth": img.bit_depth,
            "gray": img.is_gray,
        }
    timings: dict[str, float] = {}
    result: dict = {"source": str(source), "out": str(out_dir), "scale": opts.scale, "methods": list(opts.methods)}
    result.update(_run_options(opts))
    if "kernelgan" in opts.methods:
        t = time.perf_counter()
        result["camera_kernel"] = _run_kernelgan(images, entries, out_dir, opts, device, failures)
        timings["kernelgan_s"] = round(time.perf_counter() - t, 3)
    if "noise" in opts.methods:
        t = time.perf_counter()
        result["noise_patches"], result["noise_model"] = _run_noise(images, entries, out_dir, opts)
        timings["noise_s"] = round(time.perf_counter() - t, 3)
    if "jpeg" in opts.methods:
        t = time.perf_counter()
        result["jpeg"] = _run_jpeg(images, entries, out_dir)
        timings["jpeg_s"] = round(time.perf_counter() - t, 3)
    for method in ("dsgan", "cyclegan"):
        if method in opts.methods:
            t = time.perf_counter()
            result["degradation_model"] = _run_gan(method, images, out_dir, opts, device)
            timings[f"{method}_s"] = round(time.perf_counter() - t, 3)
    result["images"] = list(entries.values())
    result["timings"] = timings
    result["failures"] = failures_json(failures)
    result["total_images"] = len(items)
    atomic_write_json(out_dir / "report.json", result, overwrite=opts.overwrite or opts.resume)
    return result


def _read_photo(item: InputItem, quiet: bool) -> tuple[InputItem, Image]:
    """One photo, with a note when it is gray or 16-bit."""
    img = read_image(item.path)
    if img.is_gray:
        warn_line(f"{item.path}: gray image; used as three equal colour channels")
    if img.bit_depth == 16:
        info_line(f"{item.path}: 16-bit image; estimated at full precision, noise patches saved as 16-bit", quiet)
    return item, img


def _kernelgan_input(entry: tuple[str, tuple[InputItem, Image]], crop: int) -> tuple[str, np.ndarray]:
    """(name, KernelGAN image) of one photo; too small a photo is its failure."""
    name, (item, img) = entry
    try:
        return name, prepare_image(img.pixels, crop).astype(np.float32)
    except ValueError as exc:
        raise InputError(f"{item.path}: {exc}; KernelGAN skipped") from None


def _run_kernelgan(images, entries, out_dir: Path, opts: LearnOptions, device, failures: list[Failure]) -> dict:
    """The camera kernel (default: one KernelGAN over all photos, K restarts) or per-photo kernels and their
    robust aggregate; files in OUT/kernels/, statistics, spread and reliability in the report."""
    config = KernelGANConfig(iters=opts.iters or 3000)
    prepared = run_batch(
        list(images.items()),
        lambda entry: _kernelgan_input(entry, config.crop),
        path_of=lambda entry: entry[1][0].path,
        label="KernelGAN input",
        quiet=True,
    )
    failures.extend(prepared.failures)
    ready = prepared.results
    kernel_dir = out_dir / "kernels"
    if opts.overwrite:
        kernel_io.remove_kernels(kernel_dir)  # a camera run must not leave an earlier run's per-photo kernels
    if not ready:
        return {}
    restarts = opts.kernel_restarts or (camera_kernel.PHOTO_RESTARTS if opts.per_photo_kernels else 0)
    restarts = restarts or camera_kernel.CAMERA_RESTARTS
    pictures: dict[str, np.ndarray] = {}
    with make_progress(opts.quiet) as progress:
        if opts.per_photo_kernels:
            if any(name == CAMERA_KERNEL_STEM for name, _ in ready):
                raise InputError(f"a photo named '{CAMERA_KERNEL_STEM}' would overwrite the camera kernel: rename it")
            chunks = -(-len(ready) * restarts // max(1, opts.kernel_batch))
            task = progress.add_task("KernelGAN per photo", total=config.iters * chunks, status="")
            update = lambda n, i: progress.update(task, completed=n * config.iters + i)  # noqa: E731
            per_photo = camera_kernel.photo_kernels(
                ready, opts.seed, restarts, opts.kernel_batch, config, device, update
            )
            for name, res in per_photo.items():
                files = kernel_io.write_kernel_pair(kernel_dir, name, res.kernel_x2, res.kernel_x4, opts.overwrite)
                entries[name]["kernel"] = {**res.report(), "files": [str(f) for f in files], "restarts": restarts}
                entries[name]["kernel"]["iterations"] = config.iters
                pictures[f"{name}_x{opts.scale}"] = res.kernel_x2 if opts.scale == 2 else res.kernel_x4
            camera = camera_kernel.camera_from_photos(per_photo)
        else:
            task = progress.add_task("KernelGAN camera", total=config.iters, status=f"{len(ready)} photos")
            camera = camera_kernel.camera_kernel(
                [im for _, im in ready],
                opts.seed,
                restarts,
                config,
                device,
                lambda i: progress.update(task, completed=i),
            )
            for r, est in enumerate(camera.estimates):
                pictures[f"restart{r}_x{opts.scale}"] = est.kernel_x2 if opts.scale == 2 else est.kernel_x4
    files = kernel_io.write_kernel_pair(
        kernel_dir, CAMERA_KERNEL_STEM, camera.kernel_x2, camera.kernel_x4, opts.overwrite
    )
    pictures = {f"camera_x{opts.scale}": camera.kernel_x2 if opts.scale == 2 else camera.kernel_x4, **pictures}
    kernel_io.write_previews(kernel_dir / "previews", pictures, overwrite=opts.overwrite)
    report = camera.report()
    if not report["reliable"]:
        warn_line(f"{kernel_dir}: the camera kernel is unreliable: {'; '.join(report['reasons'])}")
    source = "aggregate of per-photo kernels" if opts.per_photo_kernels else "camera-level KernelGAN"
    extra = {"estimate": source, "photos": len(ready), "restarts": restarts, "iterations": config.iters}
    kernel = camera.kernel_x2 if opts.scale == 2 else camera.kernel_x4
    # an axis at KernelGAN's floor is an upper bound on the blur (make-pairs --kernel-floor match/range narrows it)
    extra["at_floor"] = is_unresolved(kernel, opts.scale)
    extra["spectrum"] = _write_spectrum(kernel_dir, [im for _, im in ready], opts.overwrite)
    return {**extra, "files": [str(f) for f in files], **report}


def _write_spectrum(kernel_dir: Path, photos: list[np.ndarray], overwrite: bool) -> str | None:
    """OUT/kernels/spectrum.json: the photos' sharpness signature, from which ``make-pairs`` chooses the width of
    an axis at KernelGAN's floor and the camera's sharpening (None, no file, when no photo has a full tile)."""
    sig, tiles = spectrum.signature_and_tiles([gray_255(p * 255.0) for p in photos])
    if sig is None:
        return None
    path = kernel_dir / spectrum.SPECTRUM_FILE
    return str(spectrum.write_signature(path, sig, len(photos), overwrite, tiles=tiles))


def _run_jpeg(images, entries, out_dir: Path) -> dict:
    """JPEG quality per photo (quantisation tables, or blockiness and re-compression) and OUT/jpeg.json."""
    estimates = {}
    for name, (item, img) in images.items():
        t = time.perf_counter()
        estimates[name] = jpeg_quality.estimate(item.path, img.pixels)
        entries[name]["jpeg"] = {**estimates[name].as_dict(), "seconds": round(time.perf_counter() - t, 3)}
    summary = jpeg_quality.camera_summary(estimates)
    summary["file"] = str(atomic_write_json(out_dir / jpeg_quality.JPEG_FILE, summary))
    return summary


def _run_noise(images, entries, out_dir: Path, opts: LearnOptions) -> tuple[int, dict]:
    """Noise patches per photo (adaptive or RealSR rule) and the camera's noise model (``noise/model.json``)."""
    noise_dir = out_dir / "noise"
    stats: dict[str, BlockStats] = {}
    seconds: dict[str, float] = {}
    for name, (_, img) in images.items():
        t = time.perf_counter()
        stats[name] = block_stats(img.pixels)
        seconds[name] = time.perf_counter() - t
    camera = fit_camera_model(list(stats.values()), len(stats))
    thumbs: list[np.ndarray] = []
    total = 0
    for name, (item, img) in images.items():
        t = time.perf_counter()
        entry, res = photo_noise(img.pixels, stats[name], camera, opts.noise)
        for (top, left), patch in zip(res.boxes, res.patches, strict=True):
            pixels = select_channels(patch, "color")
            write_image(noise_dir / f"{name}_{top}_{left}.png", pixels, overwrite=opts.overwrite)
            thumbs.append(_thumb(pixels))
        total += len(res.patches)
        entry["seconds"] = round(time.perf_counter() - t + seconds[name], 3)
        if not res.patches:
            warn_line(f"{item.path}: no noise patches; {entry['reason']}")
        entries[name]["noise"] = entry
    if thumbs:
        write_image(out_dir / "noise_previews" / "contact_sheet.png", kernel_io.contact_sheet(thumbs), overwrite=True)
    return total, write_model(noise_dir / "model.json", camera, opts.overwrite)


def _thumb(patch: np.ndarray, size: int = 96) -> np.ndarray:
    """A contrast-stretched 8-bit RGB view of a patch (noise is invisible otherwise)."""
    p = select_channels(patch, "rgb").astype(np.float64)
    p = p - p.mean((0, 1), keepdims=True)
    spread = max(float(np.abs(p).max()), 1e-9)
    view = np.rint(127.5 + 127.5 * p / spread).astype(np.uint8)
    step = max(1, view.shape[0] // size)
    return np.ascontiguousarray(view[::step, ::step][:size, :size])


def _run_gan(method: str, images, out_dir: Path, opts: LearnOptions, device) -> dict:
    if opts.clean_dir is None:  # checked before any work; here for the type checker
        raise InputError("--method dsgan/cyclegan needs clean target images: --clean-dir DIR")
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
            overwrite=opts.overwrite or opts.resume,
            progress=lambda i: progress.update(task, completed=i),
        )
