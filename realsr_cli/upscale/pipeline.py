"""The ``upscale`` core: read -> pixel handling -> model(s) -> optional resize -> write, over a batch of files.

Inference follows Real-ESRGAN's ``inference_realesrgan.py`` / ``RealESRGANer.enhance`` (Wang et al., ICCVW 2021):
RGB through the model, gray replicated to RGB and back, alpha upscaled separately (by the model or by bicubic
interpolation), an arbitrary ``--outscale`` by a final resize (here MATLAB bicubic, as in the NTIRE/AIM protocols).
Additions: 16-bit in -> 16-bit out (decided by dtype), constant alpha passed through exactly, metadata carried
(ICC/EXIF/DPI) and the model/scale/version recorded (PNG tEXt, else a ``<output>.json`` sidecar), colour fix and
colour-shift report, fp16 with NaN/black fallback, and a reader and a writer thread overlapping I/O with compute.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import Progress, TaskID

from realsr_cli import __version__
from realsr_cli.batch import Failure, failures_json, run_batch
from realsr_cli.console import make_progress, warn_line
from realsr_cli.errors import InputError, RealSRError
from realsr_cli.io.atomic import atomic_write_json, ensure_writable
from realsr_cli.io.images import EIGHT_BIT_ONLY, IMAGE_EXTENSIONS, Image, read_image, write_image
from realsr_cli.io.metadata import ImageMeta
from realsr_cli.io.paths import InputItem, collect_inputs, input_set, plan_outputs
from realsr_cli.io.tensors import to_pixels, to_tensor
from realsr_cli.models.loading import SRModel
from realsr_cli.sharding import Shard, select
from realsr_cli.upscale.backends import channels_last_helps, select_backend
from realsr_cli.upscale.color_fix import color_fix, color_shift
from realsr_cli.upscale.ensemble import LuminanceFusion, fused_model, luminance_ensemble
from realsr_cli.upscale.precision import choose_dtype, fallback_chain, run_with_fallback
from realsr_cli.upscale.tiling import (
    activation_bytes_per_pixel,
    auto_tile,
    available_memory,
    cuda_bytes_per_pixel,
    run_tiled,
    tile_count,
)
from realsr_cli.upscale.tta import self_ensemble

BT601 = np.array([0.299, 0.587, 0.114], dtype=np.float32)
TEXT_FORMATS = (".png",)


@dataclass
class UpscaleOptions:
    """Everything ``realsr upscale`` can be told, with its defaults."""

    scale: int | None = None  # must equal the model's scale when given
    outscale: float | None = None  # final MATLAB-bicubic resize to outscale x input
    tile: int | None = None  # None: chosen from free memory; 0: whole image
    tile_pad: int = 10
    batch: int = 1  # tiles per forward pass
    tta: bool = False
    fusion: str = "mean"  # mean | luminance (model ensembles)
    luminance: LuminanceFusion = field(default_factory=LuminanceFusion)
    alpha: str = "model"  # model | bicubic
    precision: str = "auto"  # auto | fp32 | fp16 | bf16
    color_fix: bool = False
    channels_last: bool | None = None  # None: where it helps (backends.channels_last_helps)
    compile: bool = False
    backend: str = "torch"  # torch | openvino | onnxruntime | auto (the CLI's default; see upscale/backends.py)
    threads: int | None = None  # the runtimes' CPU threads (None: torch.get_num_threads())
    ext: str | None = None
    suffix: str = ""
    quality: int = 95
    overwrite: bool = False
    max_pixels: int | None = None  # pixel budget of the inputs (None: $REALSR_MAX_PIXELS or the default; 0: none)


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


def _clamp_unit(out: torch.Tensor) -> torch.Tensor:
    """``out`` clamped to [0, 1] in place: the engine's output is its own (a new copy of a 16 MP output costs
    0.3-0.5 s); inference mode, as eager outputs are inference tensors."""
    with torch.inference_mode():
        return out.clamp_(0.0, 1.0)


class Upscaler:
    """One or more SR models (ensemble) applied to images with TTA, tiling, precision fallback and pixel handling."""

    def __init__(self, models: Sequence[SRModel], device: torch.device, options: UpscaleOptions) -> None:
        if not models:
            raise InputError("no model given")
        scales = {m.scale for m in models}
        if len(scales) != 1:
            raise InputError(f"ensemble models have different scales ({', '.join(f'x{s}' for s in sorted(scales))})")
        self.models = list(models)
        self.scale = models[0].scale
        if options.scale is not None and options.scale != self.scale:
            hint = f"use -s {self.scale}" + (
                ", or --outscale for other output sizes" if options.outscale is None else ""
            )
            raise InputError(f"model {models[0].name} is x{self.scale}, not x{options.scale} ({hint})")
        if options.fusion == "luminance" and len(models) != 2:
            raise InputError(
                f"--fusion luminance combines exactly 2 models (relativistic, standard), got {len(models)}"
            )
        if options.alpha not in ("model", "bicubic"):
            raise InputError(f"--alpha {options.alpha}: expected model or bicubic")
        for m in models:
            if m.in_channels not in (1, 3) or m.out_channels != m.in_channels:
                raise InputError(
                    f"{m.name}: a {m.in_channels}->{m.out_channels} channel model is not an RGB/gray SR model"
                )
        self.device = device
        self.options = options
        self.tile_pad = max([options.tile_pad, *(m.context for m in models)])  # enough context for exact tiles
        half_ok = all(m.half_ok for m in models)
        try:
            self.dtype = choose_dtype(device, options.precision, half_ok)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if options.precision in ("fp16", "bf16") and device.type != "cuda":
            warn_line(f"{options.precision} is for CUDA; running fp32 on {device.type}")
        self.chain = fallback_chain(self.dtype, device)
        threads = options.threads or torch.get_num_threads()
        self.backends = [
            select_backend(m, options.backend, device, threads, options.compile, warn_line) for m in models
        ]
        wanted = options.channels_last
        self.channels_last = [  # torch modules only; None: where it helps
            b.fn is None and (channels_last_helps(m, device) if wanted is None else wanted)
            for m, b in zip(models, self.backends, strict=True)
        ]
        names = "+".join(dict.fromkeys(b.name for b in self.backends))
        self.backend = names if device.type != "cpu" else f"{names}, {threads} thread{'s' if threads > 1 else ''}"
        self._modules: dict[torch.dtype, list[Callable[[torch.Tensor], torch.Tensor]]] = {}  # modules or runtimes
        self._tile: int | None = options.tile
        self.on_tile: Callable[[int], None] | None = None

    # ---- model functions -------------------------------------------------------------------------------------
    def _modules_at(self, dtype: torch.dtype) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        if dtype not in self._modules:
            mods: list[Callable[[torch.Tensor], torch.Tensor]] = []
            for m, backend, last in zip(self.models, self.backends, self.channels_last, strict=True):
                if backend.fn is not None and dtype == torch.float32:  # a runtime's function, not a module
                    mods.append(backend.fn)
                    continue
                module = m.module if dtype == torch.float32 else copy.deepcopy(m.module).to(dtype)
                module = module.to(self.device)
                if last:
                    module = module.to(memory_format=torch.channels_last)
                mods.append(torch.compile(module) if self.options.compile else module)
            self._modules[dtype] = mods
        return self._modules[dtype]

    def _single_fn(self, module: Callable, in_channels: int, dtype: torch.dtype, channels_last: bool) -> Callable:
        def run(x: torch.Tensor) -> torch.Tensor:
            x = x.to(self.device, dtype)
            if in_channels == 1 and x.shape[1] != 1:
                b, c, h, w = x.shape
                y = run(x.reshape(b * c, 1, h, w))
                return y.reshape(b, c, *y.shape[-2:])
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                return module(x)

        return run

    def model_fn(
        self, dtype: torch.dtype, which: Sequence[int] | None = None
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """The models ``which`` (default all; several are mean-fused), optionally x8 self-ensembled, on ``dtype``."""
        mods = self._modules_at(dtype)
        picked = range(len(self.models)) if which is None else which
        fn = fused_model(
            [self._single_fn(mods[i], self.models[i].in_channels, dtype, self.channels_last[i]) for i in picked]
        )
        return self_ensemble(fn, 8) if self.options.tta else fn

    # ---- tiling ----------------------------------------------------------------------------------------------
    def tile_for(self, height: int, width: int) -> int:
        """The tile size: ``--tile``, else the largest that fits the free memory (0 when the image fits whole)."""
        if self._tile is None:
            if self.device.type == "cuda":
                fn = self.model_fn(self.dtype)
                per_px = cuda_bytes_per_pixel(fn, self.device, self.dtype)
                self._tile = auto_tile(per_px, available_memory(self.device), self.options.batch, fraction=0.6)
            else:
                per_px = sum(activation_bytes_per_pixel(m.module, m.in_channels) for m in self.models)
                self._tile = auto_tile(per_px, available_memory(self.device), self.options.batch, fraction=0.25)
        tile = self._tile
        return 0 if tile <= 0 or height * width <= tile * tile else tile

    def upscale_tensor(self, x: torch.Tensor, luma: float | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
        """(1, C, H, W) float [0, 1] on the host -> (1, C, sH, sW) float on the host, plus run statistics.

        Luminance fusion runs the relativistic model (the first) over the image, then the standard one only when
        the median luma of that output (or ``luma``, when given) is dark; ``stats["median_luma"]`` records it.
        """
        if self.options.fusion != "luminance":
            return self._forward(x)
        sr_rel, stats = self._forward(x, [0])
        out, stats["median_luma"] = luminance_ensemble(
            sr_rel, lambda: self._forward(x, [1])[0], self.options.luminance, luma
        )
        if stats["median_luma"] >= self.options.luminance.gamma and self.on_tile:
            self.on_tile(stats["tiles"])  # the standard model's pass, not needed, counts as done
        return _clamp_unit(out), stats

    def _forward(self, x: torch.Tensor, which: Sequence[int] | None = None) -> tuple[torch.Tensor, dict[str, Any]]:
        """The models ``which`` (mean-fused) over ``x``, tiled, with precision fallback."""
        _, _, height, width = x.shape
        tile = self.tile_for(height, width)
        used = {"tile": tile}

        def retry_tile(new_tile: int) -> None:
            self._tile = new_tile
            warn_line(f"out of device memory: retrying with --tile {new_tile}")

        def run(dtype: torch.dtype) -> torch.Tensor:
            out, used["tile"] = run_tiled(
                self.model_fn(dtype, which),
                x,
                self.scale,
                tile=used["tile"],
                pad=self.tile_pad,
                batch=self.options.batch,
                device=self.device,
                on_tile=self.on_tile,
                on_retry=retry_tile,
            )
            return out

        def retry_precision(dtype: torch.dtype, problem: str) -> None:
            warn_line(
                f"{problem} output in {str(self.chain[0]).replace('torch.', '')}: retrying in {str(dtype).replace('torch.', '')}"
            )

        out, dtype = run_with_fallback(run, x, self.chain, retry_precision)
        stats: dict[str, Any] = {"tile": used["tile"], "tiles": tile_count(height, width, used["tile"], self.tile_pad)}
        stats["precision"] = str(dtype).replace("torch.", "")
        return _clamp_unit(out), stats

    def expected_tiles(self, pixels: np.ndarray) -> int:
        """Tiles the progress bar will count for this image (twice when a varying alpha goes through the model,
        twice again for luminance fusion's two model passes)."""
        height, width = pixels.shape[:2]
        count = tile_count(height, width, self.tile_for(height, width), self.tile_pad)
        alpha_by_model = (
            pixels.shape[2] in (2, 4) and self.options.alpha == "model" and not _is_constant(pixels[..., -1])
        )
        return count * (2 if alpha_by_model else 1) * (2 if self.options.fusion == "luminance" else 1)

    # ---- pixels ----------------------------------------------------------------------------------------------
    def upscale_pixels(self, pixels: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """(H, W, C) uint8/uint16 gray, gray+alpha, RGB or RGBA -> upscaled pixels of the same dtype and channels."""
        if pixels.dtype not in (np.uint8, np.uint16):
            raise InputError(f"cannot upscale {pixels.dtype} pixels (expected 8- or 16-bit integers)")
        channels = pixels.shape[2]
        rgb = to_tensor(pixels)  # gray replicated, alpha apart
        sr, stats = self.upscale_tensor(rgb)
        luma = stats.get("median_luma")
        if self.options.color_fix:
            sr = color_fix(sr, rgb, self.scale)
        stats["color_shift"] = round(color_shift(sr, rgb), 4)
        stats["median_luma"] = None if luma is None else round(luma, 3)
        planes = [sr[0]] if channels >= 3 else [_to_gray(sr[0])]
        if channels in (2, 4):
            planes.append(self._upscale_alpha(pixels[:, :, -1], luma))
        out = (planes[0] if len(planes) == 1 else torch.cat(planes, dim=0))[None]  # no copy without alpha
        if self.options.outscale is not None and self.options.outscale != self.scale:
            out = _final_resize(out, pixels.shape[0], pixels.shape[1], self.options.outscale)
        result = to_pixels(out, pixels.dtype)
        if channels in (2, 4) and _is_constant(pixels[:, :, -1]):
            result[:, :, -1] = pixels[0, 0, -1]
        return result, stats

    def _upscale_alpha(self, alpha: np.ndarray, luma: float | None = None) -> torch.Tensor:
        """(H, W) alpha -> (1, sH, sW) float: constant passed through, else model (as gray RGB; luminance fusion
        decided by the image's ``luma``) or bicubic."""
        a = to_tensor(alpha, "color")
        size = (alpha.shape[0] * self.scale, alpha.shape[1] * self.scale)
        if _is_constant(alpha):
            return torch.full((1, *size), float(a.flatten()[0]))
        if self.options.alpha == "bicubic":
            from realsr_cli.degradations.resize import imresize

            return imresize(a, scale=self.scale)[0].clamp(0, 1)
        out, _ = self.upscale_tensor(a.expand(1, 3, *a.shape[-2:]).contiguous(), luma)
        return _to_gray(out[0])


def _to_gray(rgb: torch.Tensor) -> torch.Tensor:
    """(3, H, W) -> (1, H, W) BT.601 luma (as OpenCV's RGB2GRAY, used by Real-ESRGAN for gray inputs)."""
    w = torch.from_numpy(BT601).view(3, 1, 1)
    return (rgb * w).sum(dim=0, keepdim=True).clamp(0, 1)


def _is_constant(plane: np.ndarray) -> bool:
    return bool(plane.min() == plane.max())


def _final_resize(x: torch.Tensor, in_h: int, in_w: int, outscale: float) -> torch.Tensor:
    from realsr_cli.degradations.resize import imresize

    size = (max(1, int(round(in_h * outscale))), max(1, int(round(in_w * outscale))))
    return imresize(x, size=size).clamp(0.0, 1.0)


# ---- batch over files ----------------------------------------------------------------------------------------
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
    upscaler: Upscaler,
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
