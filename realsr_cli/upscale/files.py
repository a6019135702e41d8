"""``upscale`` over a batch of files, whichever engine runs the model: read -> engine -> write, with a reader and
a writer thread overlapping I/O with compute (:func:`realsr_cli.batch.run_batch`), the input's metadata carried
(ICC/EXIF/DPI) and the model/scale/version recorded (PNG tEXt, else a ``<output>.json`` sidecar). No torch: the
lean engine (:mod:`realsr_cli.upscale.lean`) runs a one-photo ``upscale`` without importing it.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.progress import Progress, TaskID

from realsr_cli import __version__
from realsr_cli.batch import Failure, failures_json, run_batch
from realsr_cli.console import make_progress
from realsr_cli.errors import InputError, RealSRError
from realsr_cli.io.atomic import atomic_write_json, ensure_writable
from realsr_cli.io.images import EIGHT_BIT_ONLY, IMAGE_EXTENSIONS, Image, read_image, write_image
from realsr_cli.io.metadata import ImageMeta
from realsr_cli.io.paths import InputItem, collect_inputs, input_set, plan_outputs
from realsr_cli.sharding import Shard, select
from realsr_cli.upscale.engine import PixelEngine
from realsr_cli.upscale.options import UpscaleOptions

TEXT_FORMATS = (".png",)


@dataclass
class ImageResult:
    """One upscaled file."""

    input: str
    output: str
    in_size: tuple[int, int]
    out_size: tuple[int, int]
    channels: int
    bit_depth: int
    seconds: float
    tiles: int
    tile: int
    precision: str
    color_shift: float
    median_luma: float | None = None
    denoise: float | None = None  # the strength --denoise auto chose for this photo

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class UpscaleReport:
    results: list[ImageResult]
    failures: list[Failure]
    seconds: float
    model: str
    scale: int
    device: str
    backend: str = "torch"

    @property
    def megapixels_out(self) -> float:
        return sum(r.out_size[0] * r.out_size[1] for r in self.results) / 1e6

    @property
    def megapixels_in(self) -> float:
        return sum(r.in_size[0] * r.in_size[1] for r in self.results) / 1e6

    @property
    def mp_per_s(self) -> float:
        return self.megapixels_in / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "scale": self.scale,
            "device": self.device,
            "backend": self.backend,
            "seconds": round(self.seconds, 4),
            "megapixels_in": round(self.megapixels_in, 6),
            "megapixels_out": round(self.megapixels_out, 6),
            "input_mp_per_s": round(self.mp_per_s, 6),
            "images": [r.to_json() for r in self.results],
            "failures": failures_json(self.failures),
        }


def output_meta(image: Image, model_desc: dict[str, str]) -> ImageMeta:
    """The input's ICC/EXIF/DPI plus tEXt entries naming the tool, model and scale."""
    meta = copy.copy(image.meta)
    meta.text = {**(image.meta.text or {}), **model_desc}
    return meta


def plan(input_spec: str | Path, output: str | Path, options: UpscaleOptions, recursive: bool = False):
    """(items, [(item, output path)]): a single input may be written to a file path, anything else to a folder."""
    items = collect_inputs(input_spec, recursive)
    out = Path(output)
    if len(items) == 1 and out.suffix.lower() in IMAGE_EXTENSIONS and not out.is_dir():
        return items, [(items[0], out)]
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder (several inputs need an output folder)")
    return items, plan_outputs(items, out, options.ext, options.suffix)


def upscale_files(
    input_spec: str | Path,
    output: str | Path,
    upscaler: PixelEngine,
    *,
    recursive: bool = False,
    quiet: bool = False,
    shard: Shard | None = None,
) -> UpscaleReport:
    """Upscale every input image (this ``shard``'s share of them); a bad file is reported and skipped."""
    items, jobs = plan(input_spec, output, upscaler.options, recursive)
    jobs = select(jobs, shard)
    inputs = input_set(items)
    opts = upscaler.options
    names = "+".join(m.name for m in upscaler.models)
    out_scale = opts.outscale if opts.outscale is not None else upscaler.scale
    model_desc = {
        "Software": f"realsr {__version__}",
        "realsr:model": names,
        "realsr:arch": "+".join(m.arch for m in upscaler.models),
        "realsr:scale": f"{out_scale:g}",
        "realsr:options": f"tta={opts.tta} fusion={opts.fusion} color_fix={opts.color_fix}",
    }
    start = time.perf_counter()

    def check_and_read(job: tuple[InputItem, Path]) -> Image:
        item, out_path = job
        ensure_writable(out_path, opts.overwrite, inputs)
        if out_path.suffix.lower() not in TEXT_FORMATS:
            ensure_writable(sidecar_path(out_path), opts.overwrite, inputs)
        return read_image(item.path, opts.max_pixels)

    def write(job: tuple[InputItem, Path], done: _Upscaled) -> ImageResult:
        _write(job[1], done.pixels, done.meta, opts, inputs, done.result)
        return done.result

    with make_progress(quiet) as progress:
        tiles = _TileBar(progress)
        upscaler.on_tile = tiles.advance

        def compute(job: tuple[InputItem, Path], image: Image) -> _Upscaled:
            item, out_path = job
            if image.pixels.dtype == np.uint16 and out_path.suffix.lower() in EIGHT_BIT_ONLY:
                raise RealSRError(
                    f"{item.path}: 16-bit image; '{out_path.suffix}' holds 8 bits only (use --ext png or tif)"
                )
            t0 = time.perf_counter()
            tiles.start(upscaler.expected_tiles(image.pixels))
            pixels, stats = upscaler.upscale_pixels(image.pixels)
            if job is jobs[-1]:  # the last model pass: free the runtime's memory before the last write
                upscaler.release()
            result = ImageResult(
                input=str(item.path),
                output=str(out_path),
                in_size=(image.height, image.width),
                out_size=(int(pixels.shape[0]), int(pixels.shape[1])),
                channels=image.channels,
                bit_depth=image.bit_depth,
                seconds=0.0,
                tiles=stats["tiles"],
                tile=stats["tile"],
                precision=stats["precision"],
                color_shift=stats["color_shift"],
                median_luma=stats["median_luma"],
                denoise=stats.get("denoise"),
            )
            result.seconds = round(time.perf_counter() - t0, 4)
            return _Upscaled(result, pixels, output_meta(image, model_desc))

        batch = run_batch(
            jobs,
            compute,
            path_of=lambda job: job[0].path,
            label="upscaling",
            read=check_and_read,
            write=write,
            progress=progress,
        )
    elapsed = time.perf_counter() - start
    return UpscaleReport(
        batch.results, batch.failures, elapsed, names, upscaler.scale, str(upscaler.device), upscaler.backend
    )


@dataclass
class _Upscaled:
    """One image's upscaled pixels on their way to the writer thread."""

    result: ImageResult
    pixels: np.ndarray
    meta: ImageMeta


class _TileBar:
    """The progress bar of the current image's tiles (below the files bar, from the first image on)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID | None = None

    def start(self, total: int) -> None:
        if self.task is None:
            self.task = self.progress.add_task("tiles", total=total, status="")
        else:
            self.progress.update(self.task, completed=0, total=total)

    def advance(self, count: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, count)


def _write(path: Path, pixels: np.ndarray, meta: ImageMeta, opts: UpscaleOptions, inputs, result: ImageResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in TEXT_FORMATS:
        write_image(path, pixels, overwrite=opts.overwrite, inputs=inputs, meta=meta, quality=opts.quality)
        return
    sidecar = sidecar_path(path)
    ensure_writable(sidecar, opts.overwrite, inputs)
    text = meta.text or {}
    meta.text = None
    write_image(path, pixels, overwrite=opts.overwrite, inputs=inputs, meta=meta, quality=opts.quality)
    record = {**text, "input": result.input, "in_size": result.in_size, "out_size": result.out_size}
    atomic_write_json(sidecar, record, overwrite=opts.overwrite, inputs=inputs)


def sidecar_path(path: Path) -> Path:
    """``<output>.json``: the model record of outputs whose format has no text chunks."""
    return path.with_name(path.name + ".json")
