"""``realsr degrade`` core: degrade every input image with a recipe and write ``OUTPUT/degradations.jsonl``.

Per image: a numpy Generator from ``item_rng(seed, key)`` (key = the input's relative path without extension, i.e. the
stem for top-level files) samples the recipe's parameters; they are applied on the chosen device; the result is
written with the input's stem. The manifest holds one JSON line per written image with every sampled parameter
(``params``: kernel specs or files, sizes, resizers, noise levels and noise seeds, noise-patch files and offsets, JPEG
qualities), so ``Degradation.apply(hr, params)`` reproduces the output exactly.

Pixels: 8-bit in, 8-bit out; 16-bit in, 16-bit out unless the output format holds 8 bits only (.jpg/.webp/.bmp).
Gray images are degraded as one channel (gray noise). Alpha is not blurred, noised or compressed: it is resized to the
LR size with the recipe's last resizer (the ``(I * k)↓s`` kernel for ``kernel_downsample``, MATLAB bicubic otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from realsr_cli.batch import BatchResult, run_batch
from realsr_cli.degradations.kernels import blur_subsample, load_kernel
from realsr_cli.degradations.pipeline import (
    Degradation,
    check_sources_used,
    learned_degradation,
    sample_with_model,
)
from realsr_cli.degradations.recipe_schema import KERNELS, NOISE_MODEL, NOISE_PATCHES
from realsr_cli.degradations.resize import imresize, resize
from realsr_cli.errors import InputError, OutputExistsError
from realsr_cli.io.atomic import atomic_write_text, dumps_json_line
from realsr_cli.io.images import EIGHT_BIT_ONLY, IMAGE_EXTENSIONS, from_float, read_image, to_float, write_image
from realsr_cli.io.paths import InputItem, collect_inputs, input_set, plan_outputs
from realsr_cli.io.tensors import to_pixels, to_tensor
from realsr_cli.seeding import item_rng

MANIFEST = "degradations.jsonl"


@dataclass
class DegradeOptions:
    scale: int = 4
    preset: str | Path | None = None
    kernels: Path | None = None
    noise_patches: Path | None = None
    noise_model: Path | None = None
    degradation_model: Path | None = None
    seed: int = 0
    ext: str = "png"
    overwrite: bool = False
    recursive: bool = False


@dataclass
class Degraded:
    input: Path
    output: Path
    hr_shape: tuple[int, int]
    lr_shape: tuple[int, int]
    params: dict[str, Any]


def check_options(opts: DegradeOptions) -> str:
    """Validate the options once, before any work; returns the output extension (with its dot)."""
    if opts.scale < 1:
        raise InputError(f"-s {opts.scale}: the scale must be a positive integer")
    ext = opts.ext.lower() if opts.ext.startswith(".") else f".{opts.ext.lower()}"
    if ext not in IMAGE_EXTENSIONS:
        raise InputError(f"--ext {opts.ext}: expected one of {', '.join(e.lstrip('.') for e in IMAGE_EXTENSIONS)}")
    return ext


def make_degradation(opts: DegradeOptions) -> Degradation:
    """The recipe of ``--preset`` (default ``generic``), or the learned model of ``--degradation-model``."""
    if opts.degradation_model is not None:
        if opts.preset is not None:
            raise InputError("give either --preset or --degradation-model, not both")
        return learned_degradation(opts.degradation_model)
    if opts.preset is None and opts.kernels is not None:
        raise InputError(
            "--kernels without --preset: the default recipe (generic) draws no kernel files; give --preset "
            "kernel-noise (or a recipe with a kernel_downsample or 'kernel: file' step)"
        )
    if opts.noise_model is not None and not Path(opts.noise_model).is_file():
        raise InputError(f"--noise-model {opts.noise_model}: no such file")
    deg = Degradation.from_preset(opts.preset or "generic", opts.kernels, opts.noise_patches, opts.noise_model)
    given = {KERNELS: opts.kernels, NOISE_PATCHES: opts.noise_patches, NOISE_MODEL: opts.noise_model}
    check_sources_used(deg, given)
    return deg


def item_key(item: InputItem) -> str:
    return item.relative.with_suffix("").as_posix()


def degrade_pixels(deg: Degradation, pixels: np.ndarray, params: dict[str, Any], device: torch.device) -> np.ndarray:
    """Apply ``params`` to (H, W, C) integer pixels (alpha handled separately); returns pixels of the same dtype."""
    x = to_tensor(pixels, "all", device=device)
    has_alpha = pixels.shape[2] in (2, 4)
    colour, alpha = (x[:, :-1], x[:, -1:]) if has_alpha else (x, None)
    out = deg.apply(colour, params)
    if alpha is not None:
        out = torch.cat([out, resize_alpha(deg, alpha, params).clamp(0, 1)], dim=1)
    return to_pixels(out, pixels.dtype)


def resize_alpha(deg: Degradation, alpha: torch.Tensor, params: dict[str, Any]) -> torch.Tensor:
    """Alpha follows the geometry only: the recipe's last resizer, straight to the LR size."""
    size = tuple(params["lr_shape"])
    geometric = [op for op in params["ops"] if op["op"] in ("resize", "kernel_downsample")]
    if geometric and geometric[-1]["op"] == "kernel_downsample":
        op = geometric[-1]
        return blur_subsample(alpha, load_kernel(op["kernel_file"]), int(op["scale"]))
    if geometric:
        return resize(alpha, size, geometric[-1]["method"])
    return imresize(alpha, size=size)


def degrade_files(
    input_spec: str | Path,
    output_dir: str | Path,
    opts: DegradeOptions,
    device: torch.device | str = "cpu",
    quiet: bool = True,
) -> tuple[BatchResult[Degraded], Path, int]:
    """Degrade every input; write images and the manifest. Returns (batch result, manifest path, number of inputs)."""
    device = torch.device(device)
    output_dir = Path(output_dir)
    ext = check_options(opts)
    deg = make_degradation(opts)
    items = collect_inputs(input_spec, opts.recursive)
    plan = dict((item.path, out) for item, out in plan_outputs(items, output_dir, ext))
    manifest = output_dir / MANIFEST
    if manifest.exists() and not opts.overwrite:
        raise OutputExistsError(f"{manifest} already exists (use --overwrite to replace it)")
    inputs = input_set(items)

    def process(item: InputItem) -> Degraded:
        image = read_image(item.path)
        params = sample_with_model(deg, item_rng(opts.seed, item_key(item)), image.pixels.shape[:2], opts.scale)
        pixels = image.pixels
        if pixels.dtype == np.uint16 and ext.lower() in EIGHT_BIT_ONLY:
            pixels = from_float(to_float(pixels), np.uint8)
        out = degrade_pixels(deg, pixels, params, device)
        path = plan[item.path]
        write_image(path, out, overwrite=opts.overwrite, inputs=inputs, meta=image.meta)
        return Degraded(item.path, path, tuple(pixels.shape[:2]), tuple(out.shape[:2]), params)

    with torch.inference_mode():
        batch = run_batch(items, process, path_of=lambda it: it.path, label="degrading", quiet=quiet)
    if batch.results:
        lines = [manifest_line(r, output_dir, opts.seed) for r in batch.results]
        atomic_write_text(manifest, "".join(line + "\n" for line in lines), overwrite=opts.overwrite, inputs=inputs)
    return batch, manifest, len(items)


def manifest_line(result: Degraded, output_dir: Path, seed: int) -> str:
    return dumps_json_line(
        {
            "input": str(result.input),
            "output": result.output.relative_to(output_dir).as_posix(),
            "seed": int(seed),
            "params": result.params,
        }
    )


def read_manifest(path: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of a ``degradations.jsonl`` file."""
    import json

    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
