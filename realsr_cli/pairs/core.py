"""``make_pairs``: sources -> degraded whole images -> aligned HR/LR patches + ``pairs.jsonl``.

Each source image is degraded once as a whole (no patch-border effects), then HR patches are cut on the
grid of :mod:`realsr_cli.pairs.crop` and the LR patches at exactly ``box / s``. Random choices come from
``item_rng(seed, source key)``, so the files do not depend on the order or the number of workers. Workers
are spawned processes (one torch thread each); each builds the mode once.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import torch

from realsr_cli.batch import BatchResult, Failure, failures_json, run_batch
from realsr_cli.console import info_line, warn_line
from realsr_cli.errors import InputError, OutputExistsError, RealSRError
from realsr_cli.io.guard import is_input
from realsr_cli.io.images import to_float, write_image
from realsr_cli.io.paths import collect_inputs
from realsr_cli.io.tensors import to_pixels
from realsr_cli.pairs.crop import Box, check_patch_options, is_flat, patch_boxes
from realsr_cli.pairs.manifest import MANIFEST_NAME, read_manifest, write_manifest
from realsr_cli.pairs.modes import Mode, Source, build_mode
from realsr_cli.pairs.shards import check_shard_output, run_fingerprint, write_shard
from realsr_cli.seeding import item_rng
from realsr_cli.sharding import Shard, select

ADD_SOURCE_PREFIX = "src_"


@dataclass
class PairsConfig:
    """Everything ``make-pairs`` needs (the CLI options); picklable, so workers can rebuild the mode."""

    hr_dir: Path
    out_dir: Path
    scale: int = 4
    kernels: Path | None = None
    noise_patches: Path | None = None
    noise_model: Path | None = None
    preset: str | None = None
    degradation_model: Path | None = None
    aligned_lr: Path | None = None
    hr_upscaler: str = "bicubic"
    downscale_lr: bool = False
    self_pairs: bool = False
    add_source: Path | None = None
    cleanup_scale: float = 2.0
    patch_size: int = 0
    stride: int = 0
    border: str = "shift"
    min_variance: float = 0.0
    seed: int = 0
    workers: int = 1
    overwrite: bool = False
    device: str = "cpu"
    quiet: bool = False
    per_photo_kernels: bool = False
    kernel_floor: str | None = None  # --kernel-floor (kernel + noise mode only): None = match (or range) there
    floor_band: tuple[float, float] | None = None  # the matched floor band (make_pairs sets it for the workers)
    sharpen: str | None = None  # --sharpen (kernel + noise mode only): None = auto there (with a camera spectrum)
    sharpen_amount: float | None = None  # auto's matched amount (make_pairs sets it for the workers)
    jpeg: str | None = None  # --jpeg (kernel + noise mode only): None = auto there
    shard: Shard | None = None  # this process's share of the sources (``--shard I/N``; realsr_cli.pairs.shards)

    def build_mode(self) -> Mode:
        return build_mode(
            self.scale,
            kernels=self.kernels,
            noise_patches=self.noise_patches,
            noise_model=self.noise_model,
            preset=self.preset,
            degradation_model=self.degradation_model,
            aligned_lr=self.aligned_lr,
            hr_upscaler=self.hr_upscaler,
            downscale_lr=self.downscale_lr,
            self_pairs=self.self_pairs,
            device=self.device,
            per_photo_kernels=self.per_photo_kernels,
            kernel_floor=self.kernel_floor,
            floor_band=self.floor_band,
            sharpen=self.sharpen,
            sharpen_amount=self.sharpen_amount,
            jpeg=self.jpeg,
        )


@dataclass
class SourceResult:
    """What one source image produced."""

    source: Source
    records: list[dict[str, Any]] = field(default_factory=list)
    flat_skipped: int = 0
    cropped_from: tuple[int, int] | None = None


@dataclass
class PairsResult:
    records: list[dict[str, Any]]
    failures: list[Failure]
    flat_skipped: int
    cropped: list[tuple[Path, tuple[int, int], tuple[int, int]]]
    sources: int
    mode: str
    manifest: Path
    spectral_match: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        return {
            **({"spectral_match": self.spectral_match} if self.spectral_match is not None else {}),
            "pairs": len(self.records),
            "sources": self.sources,
            "failures": failures_json(self.failures),
            "flat_skipped": self.flat_skipped,
            "cropped_to_scale": len(self.cropped),
            "mode": self.mode,
            "manifest": str(self.manifest),
        }


def collect_sources(config: PairsConfig) -> list[Source]:
    """HR_DIR images, plus the ``--add-source`` photos (keys prefixed ``src_``) with their clean-up factor."""
    sources = [Source(item.path.resolve(), item.stem) for item in collect_inputs(config.hr_dir)]
    if config.add_source is not None:
        if config.cleanup_scale < 1:
            raise InputError(f"--cleanup-scale {config.cleanup_scale}: must be >= 1")
        extra = collect_inputs(config.add_source)
        sources += [
            Source(item.path.resolve(), ADD_SOURCE_PREFIX + item.stem, float(config.cleanup_scale)) for item in extra
        ]
    seen: dict[str, Path] = {}
    for source in sources:
        if source.key in seen:
            raise InputError(f"{source.path} and {seen[source.key]} have the same name; pair files would collide")
        seen[source.key] = source.path
    return sources


def check_layout(config: PairsConfig, sources: list[Source]) -> None:
    """Refuse, before any work, inputs inside the folders make-pairs writes (and cleans up): ``OUT/hr``, ``OUT/lr``."""
    out = Path(config.out_dir).resolve()
    written = (out / "hr", out / "lr")
    inside = lambda path: any(path == d or d in path.parents for d in written)  # noqa: E731
    for source in sources:
        if inside(source.path.resolve()):
            raise InputError(
                f"{source.path}: an input inside {config.out_dir}'s hr/ or lr/, where make-pairs writes its pairs; "
                "choose another output folder (-o)"
            )
    if config.aligned_lr is not None and inside(Path(config.aligned_lr).resolve()):
        raise InputError(f"--aligned-lr {config.aligned_lr}: inside the pairs folder's hr/ or lr/; choose another -o")


def check_outputs(config: PairsConfig) -> list[dict[str, Any]]:
    """Refuse a pairs folder that holds pairs already unless ``--overwrite``; return its old manifest."""
    out = Path(config.out_dir)
    manifest = out / MANIFEST_NAME
    existing = [p for sub in ("hr", "lr") if (out / sub).is_dir() for p in (out / sub).iterdir()]
    if not config.overwrite and (manifest.exists() or existing):
        raise OutputExistsError(f"{out}: holds pairs already; pass --overwrite to replace them")
    hr_dir = Path(config.hr_dir).resolve()
    if out.resolve() in (hr_dir / "hr", hr_dir / "lr"):
        raise InputError(f"{out}: the pairs folder must not be a sub-folder hr/ or lr/ of the input folder")
    try:
        return read_manifest(manifest) if manifest.exists() else []
    except InputError:
        return []


def _write_pairs(config: PairsConfig, mode: Mode, source: Source, inputs: frozenset[Path]) -> SourceResult:
    result = SourceResult(source)
    rng = item_rng(config.seed, source.key)
    loaded = mode.load(source)
    params = mode.sample(rng, loaded.hr)
    lr = mode.degrade(loaded.hr, params, source)
    hr_pixels = to_pixels(loaded.hr, loaded.dtype)
    height, width = hr_pixels.shape[:2]
    if tuple(lr.shape[-2:]) != (height // config.scale, width // config.scale):
        raise RealSRError(
            f"{source.path}: degraded image is {lr.shape[-1]}x{lr.shape[-2]}, "
            f"expected {width // config.scale}x{height // config.scale}"
        )
    size = tuple(loaded.info.get("source_size", (height, width)))
    crop = loaded.info.get("crop")
    if crop and (crop[2], crop[3]) != size and not source.cleanup:
        result.cropped_from = (int(size[0]), int(size[1]))
    out = Path(config.out_dir)
    boxes = patch_boxes(height, width, config.patch_size, config.stride, config.scale, config.border)
    for index, box in enumerate(boxes):
        hr_patch = hr_pixels[box.slices()]
        if is_flat(to_float(hr_patch), config.min_variance):
            result.flat_skipped += 1
            continue
        lr_box = box.scaled_down(config.scale)
        rows, cols = lr_box.slices()
        pair_params = mode.sample_pair(item_rng(config.seed, source.key, index), lr[..., rows, cols])
        lr_patch = to_pixels(mode.degrade_pair(lr[..., rows, cols], pair_params), loaded.dtype)
        stem = source.key if config.patch_size == 0 else f"{source.key}_{index:04d}"
        write_image(out / "hr" / f"{stem}.png", hr_patch, overwrite=config.overwrite, inputs=inputs)
        write_image(out / "lr" / f"{stem}.png", lr_patch, overwrite=config.overwrite, inputs=inputs)
        record = _record(config, mode, source, stem, box, lr_box, loaded.info, params)
        if pair_params is not None:
            record["pair_degradation"] = pair_params
        result.records.append(record)
    return result


def _record(
    config: PairsConfig,
    mode: Mode,
    source: Source,
    stem: str,
    box: Box,
    lr_box: Box,
    info: dict[str, Any],
    params: dict[str, Any],
) -> dict[str, Any]:
    return {
        "stem": stem,
        "hr": f"hr/{stem}.png",
        "lr": f"lr/{stem}.png",
        "source": str(source.path),
        "source_key": source.key,
        "source_info": info,
        "box": box.as_list(),
        "lr_box": lr_box.as_list(),
        "scale": config.scale,
        "mode": mode.name,
        "mode_options": mode.options(),
        "degradation": params,
        "seed": config.seed,
    }


# Worker-process state: the mode is built once per worker (kernels, noise bank, models loaded once).
_WORKER: dict[str, Any] = {}


def _init_worker(config: PairsConfig, inputs: frozenset[Path]) -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    _WORKER.update(config=config, inputs=inputs, mode=config.build_mode())


def _process(source: Source) -> SourceResult:
    """Make one source's pairs with this process's mode (``_WORKER``)."""
    return _write_pairs(_WORKER["config"], _WORKER["mode"], source, _WORKER["inputs"])


def make_pairs(config: PairsConfig) -> PairsResult:
    """Write ``hr/``, ``lr/`` and ``pairs.jsonl`` under ``config.out_dir``; see the module docstring."""
    if config.scale < 1:
        raise InputError(f"-s {config.scale}: the scale must be a positive integer")
    config = replace(config, stride=check_patch_options(config.patch_size, config.stride, config.scale))
    if config.add_source is not None and (config.aligned_lr is not None or config.self_pairs):
        raise InputError("--add-source works with degradation modes only (--kernels, --preset, --degradation-model)")
    if config.workers < 1:
        raise InputError(f"--workers {config.workers}: must be at least 1")
    sources = collect_sources(config)
    check_layout(config, sources)
    order = {source.key: i for i, source in enumerate(sources)}
    every_source = sources
    run = run_fingerprint(asdict(config), [s.path for s in sources]) if config.shard is not None else ""
    sources = select(sources, config.shard)
    if config.shard is None:
        old_records = check_outputs(config)
    else:
        check_shard_output(config.out_dir, config.shard, run, config.overwrite)
    inputs = frozenset(s.path.resolve() for s in sources)
    mode = config.build_mode()  # validates the options (and loads models) before any work starts
    config, matched = _match_spectrum(config, mode, every_source)
    batch = _run(config, mode, sources, inputs)
    ordered = batch.results
    records = [rec for r in ordered for rec in r.records]
    if config.shard is not None:
        manifest = write_shard(Path(config.out_dir), config.shard, run, records, order, inputs)
    else:
        manifest = write_manifest(
            Path(config.out_dir) / MANIFEST_NAME, records, overwrite=config.overwrite, inputs=inputs
        )
        _remove_stale(config.out_dir, old_records, records, inputs)
    return PairsResult(
        records=records,
        failures=batch.failures,
        flat_skipped=sum(r.flat_skipped for r in ordered),
        cropped=[(r.source.path, r.cropped_from, _crop_size(r)) for r in ordered if r.cropped_from and r.records],
        sources=len(sources),
        mode=mode.name,
        manifest=manifest,
        spectral_match=matched,
    )


def _match_spectrum(config: PairsConfig, mode: Mode, sources: list[Source]) -> tuple[PairsConfig, dict | None]:
    """``--kernel-floor match`` / ``--sharpen auto``: the floor band and sharpening from the camera spectrum, on all
    sources (every shard matches the same), printed, and passed to the workers in the config; (config, None) when
    there is nothing to match."""
    needs = getattr(mode, "needs_spectral_match", None)
    if needs is None or not needs() or not sources:
        return config, None
    match = mode.spectral_match(sources, config.seed)  # type: ignore[attr-defined]
    if match is None:
        warn_line("spectral match: no HR image is large enough for a 64-px LR tile; the floor's whole range is drawn")
        return config, None
    info_line(match.summary(), config.quiet)
    band, amount = getattr(mode, "floor_band", None), getattr(mode, "sharpen_amount", None)
    return replace(config, floor_band=band, sharpen_amount=amount), match.as_dict()


def _crop_size(result: SourceResult) -> tuple[int, int]:
    crop = result.records[0]["source_info"]["crop"]
    return int(crop[2]), int(crop[3])


def _run(config: PairsConfig, mode: Mode, sources: list[Source], inputs: frozenset[Path]) -> BatchResult[SourceResult]:
    """Every source through the batch loop: here, or in ``--workers`` spawned processes (each builds the mode)."""
    workers = min(config.workers, len(sources))
    if workers <= 1:
        _WORKER.update(config=config, inputs=inputs, mode=mode)
        try:
            return _loop(config, sources)
        finally:
            _WORKER.clear()
    context = get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(config, inputs))
    try:
        return _loop(config, sources, pool)
    finally:  # on Ctrl-C or an error, do not start the queued images
        pool.shutdown(wait=True, cancel_futures=True)


def _loop(config: PairsConfig, sources: list[Source], pool: ProcessPoolExecutor | None = None) -> BatchResult:
    return run_batch(
        sources, _process, path_of=lambda source: source.path, label="making pairs", quiet=config.quiet, pool=pool
    )


def _remove_stale(
    out_dir: Path, old: list[dict[str, Any]], new: list[dict[str, Any]], inputs: frozenset[Path] = frozenset()
) -> None:
    """With ``--overwrite``: delete pair files an earlier run listed that this run did not write again.

    Only files directly in ``OUT/hr`` and ``OUT/lr``, and never an input (``check_layout`` refuses such layouts
    before any work; this is the second line of defence)."""
    keep = {rec[key] for rec in new for key in ("hr", "lr")}
    out = Path(out_dir).resolve()
    for rec in old:
        for key in ("hr", "lr"):
            name = rec.get(key)
            if not isinstance(name, str) or name in keep:
                continue
            path = (out / name).resolve()
            if path.parent in (out / "hr", out / "lr") and path.is_file() and not is_input(path, inputs):
                path.unlink()


def config_dict(config: PairsConfig) -> dict[str, Any]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
