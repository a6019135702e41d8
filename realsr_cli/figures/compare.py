"""``compare``: figures of several methods' results on the same images, scored against GT when it is given.

The reference is GT (same size as the results: each method's crop is labelled with its PSNR / LPIPS) or the LR
input (an integer factor smaller: shown enlarged by nearest neighbour, no metrics). A reference folder gives one
figure per image, each method's image found by file stem (``img_x4.png`` matches ``img.png``, as in ``score``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from realsr_cli.console import warn_line
from realsr_cli.errors import InputError, WeightsNotFoundError
from realsr_cli.figures.layout import Box, compose, crop_tile, to_rgb8, zoom_to
from realsr_cli.io.atomic import ensure_writable
from realsr_cli.io.images import IMAGE_EXTENSIONS, read_image, write_image
from realsr_cli.io.paths import collect_inputs
from realsr_cli.io.tensors import to_tensor

if TYPE_CHECKING:
    from realsr_cli.scoring import Scorer

FIGURE_METRICS = ("psnr", "ssim", "lpips")


@dataclass
class Method:
    name: str
    path: Path


@dataclass
class CompareOptions:
    crop: Box | None = None  # in result pixels; None: a centred square of 1/4 of the shorter side
    tile: int = 192  # crop tiles' height in the figure
    columns: int | None = None
    metrics: tuple[str, ...] = ("psnr", "lpips")
    html: Path | None = None
    overwrite: bool = False
    device: str = "cpu"
    lpips_weights: str | Path | None = None


@dataclass
class Figure:
    stem: str
    output: Path
    reference: str  # gt | lr
    scores: dict[str, dict[str, float]] = field(default_factory=dict)


def parse_method(spec: str) -> Method:
    """``NAME=PATH`` or ``PATH`` (named after the folder or file)."""
    name, sep, path = spec.partition("=")
    if not sep:
        name, path = "", spec
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{p}: no such method file or folder")
    return Method(name or (p.name if p.is_dir() else p.stem), p)


def parse_crop(spec: str) -> Box:
    try:
        x, y, w, h = (int(v) for v in spec.split(","))
    except ValueError:
        raise InputError(f"--crop {spec}: expected x,y,w,h in result pixels") from None
    return Box(x, y, w, h)


def _method_file(method: Method, stem: str) -> Path:
    if method.path.is_file():
        return method.path
    from realsr_cli.scoring import match_keys

    items = {i.relative.with_suffix("").as_posix(): i.path for i in collect_inputs(method.path)}
    match = [k for k, v in match_keys(list(items), [stem]).items() if v == stem]
    if not match:
        raise InputError(f"{method.path}: no image matching '{stem}' for method {method.name}")
    return items[match[0]]


def _default_box(height: int, width: int) -> Box:
    side = max(8, min(height, width) // 4)
    side = min(side, height, width)
    return Box((width - side) // 2, (height - side) // 2, side, side)


def _reference_kind(ref: np.ndarray, height: int, width: int, path: Path) -> str:
    rh, rw = ref.shape[:2]
    if (rh, rw) == (height, width):
        return "gt"
    factor = height / rh
    if factor > 1 and factor == width / rw and factor == int(factor):
        return "lr"
    raise InputError(f"{path}: {rw}x{rh} is neither the results' size {width}x{height} nor an integer factor smaller")


class _Scores:
    """PSNR / SSIM / LPIPS of 8-bit RGB arrays against GT; the metric models load at the first GT figure (LPIPS
    is dropped, with one warning, when its weights are missing)."""

    def __init__(self, options: CompareOptions) -> None:
        self.options = options
        self.metrics = tuple(m for m in options.metrics if m in FIGURE_METRICS)
        self.scorer: Scorer | None = None

    def _load(self) -> Scorer:
        from realsr_cli.scoring import ScoreOptions, Scorer

        o = self.options
        try:
            return Scorer(ScoreOptions(metrics=self.metrics, device=o.device, lpips_weights=o.lpips_weights))
        except WeightsNotFoundError as exc:
            warn_line(f"compare: no LPIPS in the labels ({exc})")
            self.metrics = tuple(m for m in self.metrics if m != "lpips")
            return Scorer(ScoreOptions(metrics=self.metrics, device=o.device))

    def __call__(self, sr: np.ndarray, gt: np.ndarray) -> dict[str, float]:
        scorer = self.scorer = self.scorer or self._load()

        def unit(a: np.ndarray) -> torch.Tensor:
            return to_tensor(a, "color", dtype=torch.float64, device=scorer.device)

        row = scorer.score_tensors(unit(sr), unit(gt), {})
        return {m: float(row[m]) for m in self.metrics}


def label_lines(name: str, scores: dict[str, float]) -> list[str]:
    parts = []
    for metric, value in scores.items():
        unit = " dB" if metric == "psnr" else ""
        parts.append(f"{metric.upper()} {value:.2f}{unit}" if metric == "psnr" else f"{metric.upper()} {value:.3f}")
    return [name, "  ".join(parts)] if parts else [name]


def figure_for(
    ref_path: Path, methods: list[Method], options: CompareOptions, scores: _Scores | None
) -> tuple[np.ndarray, str, dict[str, dict[str, float]], list[tuple[str, np.ndarray]]]:
    """(figure, reference kind, per-method scores, [(name, full RGB image)] for the slider page)."""
    results = [(m.name, to_rgb8(read_image(_method_file(m, ref_path.stem)).pixels)) for m in methods]
    height, width = results[0][1].shape[:2]
    for (name, image), m in zip(results, methods, strict=True):
        if image.shape[:2] != (height, width):
            raise InputError(
                f"{m.path}: {name} is {image.shape[1]}x{image.shape[0]}, the first method {width}x{height}"
            )
    ref = to_rgb8(read_image(ref_path).pixels)
    kind = _reference_kind(ref, height, width, ref_path)
    shown = ref if kind == "gt" else zoom_to(ref, height, width)
    box = options.crop or _default_box(height, width)
    if not box.fits(height, width):
        raise InputError(f"--crop {box.x},{box.y},{box.w},{box.h}: outside the {width}x{height} results")
    tile = (options.tile, max(1, int(round(options.tile * box.w / box.h))))
    per_method = {n: scores(img, ref) for n, img in results} if kind == "gt" and scores else {}
    tiles = [crop_tile(shown, box, tile, ["GT" if kind == "gt" else "LR (input, nearest)"])]
    tiles += [crop_tile(img, box, tile, label_lines(n, per_method.get(n, {}))) for n, img in results]
    columns = options.columns or (len(tiles) if len(tiles) <= 4 else math.ceil(len(tiles) / 2))
    return compose(shown, box, tiles, columns), kind, per_method, [("reference", shown), *results]


def compare(reference: str | Path, methods: list[Method], output: str | Path, options: CompareOptions) -> list[Figure]:
    """Write one figure per reference image (``output``: a file for one image, else a folder) and the HTML page."""
    if not methods:
        raise InputError("compare needs at least one method (a folder or an image of results)")
    ref = Path(reference)
    refs = [i.path for i in collect_inputs(ref)]
    out = Path(output)
    single = len(refs) == 1 and out.suffix.lower() in IMAGE_EXTENSIONS
    targets = [out] if single else [out / f"{p.stem}.png" for p in refs]
    for target in targets + ([options.html] if options.html else []):
        ensure_writable(target, options.overwrite)
    scores = _Scores(options) if options.metrics else None
    figures, pages = [], []
    for path, target in zip(refs, targets, strict=True):
        image, kind, per_method, views = figure_for(path, methods, options, scores)
        write_image(target, image, overwrite=options.overwrite)
        figures.append(Figure(path.stem, target, kind, per_method))
        pages.append((path.stem, views))
    if options.html:
        from realsr_cli.figures.slider import write_slider_page

        write_slider_page(options.html, pages, overwrite=options.overwrite)
    return figures


def figures_json(figures: list[Figure]) -> list[dict[str, Any]]:
    return [{"stem": f.stem, "output": str(f.output), "reference": f.reference, "scores": f.scores} for f in figures]
