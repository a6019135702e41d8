"""``realsr score``: pair SR and GT images, compute challenge-exact metrics, aggregate, rank several methods.

Metric conventions are those of ``realsr_cli.metrics`` (BasicSR / MATLAB compatible). Pairing is by file stem;
SR names may carry a suffix (``img_x4.png`` <-> ``img.png``): ``suffix`` strips an explicit one, otherwise a stem
that starts with a GT stem plus ``_`` or ``-`` is matched to the longest such GT stem. The NTIRE 2020 Real-World SR
challenge IQA-rank (Lugmayr et al., NTIRE 2020 Challenge on Real-World Image Super-Resolution, CVPRW 2020) is the
mean over images and metrics of each method's per-image rank (1 = best; ties share the mean rank).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from realsr_cli.batch import Failure, failures_json, run_batch
from realsr_cli.errors import InputError
from realsr_cli.io.paths import InputItem, collect_inputs
from realsr_cli.io.tensors import read_tensor

FULL_REFERENCE = ("psnr", "ssim", "lpips")
NO_REFERENCE = ("niqe", "brisque", "piqe")
METRICS = FULL_REFERENCE + NO_REFERENCE
# Which way every metric improves: the one table (score's columns and IQA-rank, train-sr's best checkpoint, benchmarks).
HIGHER_IS_BETTER = {
    "psnr": True,
    "ssim": True,
    "aim2020": True,
    "lpips": False,
    "l1": False,
    "niqe": False,
    "brisque": False,
    "piqe": False,
}
DEFAULT_FR = ("psnr", "ssim")
DEFAULT_NR = ("niqe", "brisque", "piqe")


@dataclass
class ScoreOptions:
    metrics: tuple[str, ...] = ()
    crop_border: int = 0
    y_channel: bool = False
    crop_to_gt: bool = False
    suffix: str | None = None
    device: str | torch.device = "cpu"
    lpips_net: str = "alex"
    lpips_weights: str | Path | None = None
    niqe_color: str = "gray"


@dataclass
class Pair:
    stem: str
    sr: Path
    gt: Path | None = None


@dataclass
class FolderScore:
    """Per-image rows (metric -> value), their mean, unmatched files and failures of one SR folder."""

    sr_dir: Path
    gt_dir: Path | None
    metrics: tuple[str, ...]
    rows: list[dict[str, Any]] = field(default_factory=list)
    mean: dict[str, float] = field(default_factory=dict)
    unmatched_sr: list[Path] = field(default_factory=list)
    unmatched_gt: list[Path] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        extra = ["aim2020"] if {"psnr", "ssim"} <= set(self.metrics) else []
        return list(self.metrics) + extra

    def to_json(self) -> dict[str, Any]:
        return {
            "sr_dir": str(self.sr_dir),
            "gt_dir": str(self.gt_dir) if self.gt_dir else None,
            "metrics": self.columns,
            "images": [_json_row(r) for r in self.rows],
            "mean": {k: _json_float(v) for k, v in self.mean.items()},
            "count": len(self.rows),
            "unmatched": {"sr": [str(p) for p in self.unmatched_sr], "gt": [str(p) for p in self.unmatched_gt]},
            "failures": failures_json(self.failures),
        }


def _json_float(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return "inf" if v > 0 else ("-inf" if v < 0 else "nan")
    return v


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else _json_float(v)) for k, v in row.items()}


def direction_arrow(metric: str) -> str:
    """``↑`` for a metric where higher is better, ``↓`` where lower is (``HIGHER_IS_BETTER``)."""
    return "↑" if HIGHER_IS_BETTER[metric] else "↓"


def parse_metrics(spec: str | Sequence[str] | None, has_gt: bool) -> tuple[str, ...]:
    """Validate a comma list of metric names; default: PSNR+SSIM with GT, NIQE+BRISQUE+PIQE without."""
    names = [m.strip().lower() for m in (spec.split(",") if isinstance(spec, str) else spec or []) if m.strip()]
    if not names:
        return DEFAULT_FR if has_gt else DEFAULT_NR
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise InputError(f"unknown metric(s) {', '.join(unknown)} (choose from {', '.join(METRICS)})")
    needs_gt = [m for m in names if m in FULL_REFERENCE]
    if needs_gt and not has_gt:
        raise InputError(f"{', '.join(needs_gt)} need ground truth: give GT_DIR (or use {', '.join(NO_REFERENCE)})")
    return tuple(dict.fromkeys(names))


def _key(item: InputItem) -> str:
    return item.relative.with_suffix("").as_posix()


def _strip_suffix(key: str, suffix: str | None) -> str | None:
    if suffix is None:
        return key
    return key[: -len(suffix)] if suffix and key.endswith(suffix) else None


def match_keys(sr_keys: Sequence[str], gt_keys: Sequence[str], suffix: str | None = None) -> dict[str, str]:
    """SR key -> GT key: exact (after stripping ``suffix``), else the longest GT key that prefixes ``key_`` / ``key-``."""
    gt_set = set(gt_keys)
    by_length = sorted(gt_keys, key=len, reverse=True)
    out: dict[str, str] = {}
    for key in sr_keys:
        base = _strip_suffix(key, suffix)
        if base is None:
            continue
        if base in gt_set:
            out[key] = base
        elif suffix is None:
            match = next((g for g in by_length if base.startswith(g) and base[len(g) : len(g) + 1] in "_-"), None)
            if match is not None and len(base) > len(match):
                out[key] = match
    return out


def pair_folders(sr_spec: str | Path, gt_spec: str | Path | None, suffix: str | None = None):
    """Pairs by stem plus the SR and GT files left unmatched (``InputError`` for empty folders or no match)."""
    sr_items = {_key(i): i for i in collect_inputs(sr_spec)}
    if gt_spec is None:
        return [Pair(k, i.path) for k, i in sr_items.items()], [], []
    gt_items = {_key(i): i for i in collect_inputs(gt_spec)}
    mapping = match_keys(list(sr_items), list(gt_items), suffix)
    pairs = [Pair(mapping[k], sr_items[k].path, gt_items[mapping[k]].path) for k in sr_items if k in mapping]
    used_gt = set(mapping.values())
    unmatched_sr = [i.path for k, i in sr_items.items() if k not in mapping]
    unmatched_gt = [i.path for k, i in gt_items.items() if k not in used_gt]
    if not pairs:
        hint = f" (no SR stem ends with '{suffix}')" if suffix else " (use --suffix when SR names carry one, e.g. _x4)"
        raise InputError(f"no SR image in {sr_spec} matches a GT image in {gt_spec} by file name{hint}")
    return pairs, unmatched_sr, unmatched_gt


def load_unit(path: Path) -> torch.Tensor:
    """An image as metrics take it: (1, C, H, W) float64 in [0, 1], its colour channels (gray stays gray)."""
    return read_tensor(path, "color", dtype=torch.float64)


def align_pair(sr: torch.Tensor, gt: torch.Tensor, pair: Pair, crop_to_gt: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Check channels and sizes; with ``crop_to_gt`` crop the larger of the two to the common top-left region."""
    gt_name = pair.gt.name if pair.gt is not None else "image"
    if sr.shape[1] != gt.shape[1]:
        kinds = {1: "gray", 3: "RGB"}
        raise InputError(
            f"{pair.sr}: SR is {kinds.get(sr.shape[1], sr.shape[1])} but GT {gt_name} is "
            f"{kinds.get(gt.shape[1], gt.shape[1])}; both must be RGB or both gray"
        )
    (sh, sw), (gh, gw) = sr.shape[-2:], gt.shape[-2:]
    if (sh, sw) == (gh, gw):
        return sr, gt
    if not crop_to_gt:
        raise InputError(
            f"{pair.sr}: SR is {sw}x{sh} but GT {gt_name} is {gw}x{gh} "
            "(use --crop-to-gt to compare the common top-left region when they differ by a few pixels)"
        )
    h, w = min(sh, gh), min(sw, gw)
    return sr[..., :h, :w], gt[..., :h, :w]


class Scorer:
    """Computes the chosen metrics for one pair; heavy models (LPIPS) load once."""

    def __init__(self, options: ScoreOptions) -> None:
        self.options = options
        self.device = torch.device(options.device)
        self._lpips: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
        if "lpips" in options.metrics:
            from realsr_cli.metrics.perceptual import LPIPS

            self._lpips = LPIPS(options.lpips_net, device=self.device, weights=options.lpips_weights)

    def __call__(self, pair: Pair) -> dict[str, Any]:
        o = self.options
        sr = load_unit(pair.sr).to(self.device)
        row: dict[str, Any] = {"stem": pair.stem, "sr": pair.sr, "gt": pair.gt}
        gt = None
        if pair.gt is not None and any(m in FULL_REFERENCE for m in o.metrics):
            gt = load_unit(pair.gt).to(self.device)
            sr, gt = align_pair(sr, gt, pair, o.crop_to_gt)
        return self.score_tensors(sr, gt, row)

    def score_tensors(self, sr: torch.Tensor, gt: torch.Tensor | None, row: dict[str, Any]) -> dict[str, Any]:
        """Add the metrics of (1, C, H, W) float64 [0, 1] ``sr`` (against aligned ``gt``) to ``row``."""
        from realsr_cli import metrics as M

        o = self.options
        for name in o.metrics:
            if name in FULL_REFERENCE:
                if gt is None:
                    raise InputError(f"{row.get('sr', 'image')}: {name} needs a ground-truth image")
                row[name] = self._full_reference(name, sr, gt)
            elif name == "niqe":
                row[name] = M.niqe(sr, crop_border=o.crop_border, color=o.niqe_color).item()
            elif name == "brisque":
                row[name] = M.brisque(sr, crop_border=o.crop_border).item()
            elif name == "piqe":
                row[name] = M.piqe(_crop(sr, o.crop_border)).item()
        if "psnr" in row and "ssim" in row:
            row["aim2020"] = M.aim2020_score(row["psnr"], row["ssim"])
        return row

    def _full_reference(self, name: str, sr: torch.Tensor, gt: torch.Tensor) -> float:
        from realsr_cli import metrics as M

        o = self.options
        if name == "psnr":
            return M.psnr(sr, gt, crop_border=o.crop_border, y_channel=o.y_channel).item()
        if name == "ssim":
            return M.ssim(sr, gt, crop_border=o.crop_border, y_channel=o.y_channel).item()
        assert self._lpips is not None, "loaded in __init__ whenever lpips is among the metrics"
        return self._lpips(_crop(sr, o.crop_border), _crop(gt, o.crop_border)).item()


def _crop(x: torch.Tensor, border: int) -> torch.Tensor:
    return x[..., border:-border, border:-border] if border else x


def mean_row(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> dict[str, float]:
    return {c: float(np.mean([r[c] for r in rows])) for c in columns if rows and all(c in r for r in rows)}


def score_folder(
    sr_spec: str | Path,
    gt_spec: str | Path | None,
    options: ScoreOptions,
    *,
    quiet: bool = True,
    scorer: Callable[[Pair], dict[str, Any]] | None = None,
) -> FolderScore:
    """Score every SR image of a folder (against GT when given); bad files become failures, the rest go on."""
    pairs, unmatched_sr, unmatched_gt = pair_folders(sr_spec, gt_spec, options.suffix)
    scorer = scorer or Scorer(options)
    batch = run_batch(pairs, scorer, path_of=lambda p: p.sr, label=f"scoring {Path(sr_spec).name}", quiet=quiet)
    result = FolderScore(Path(sr_spec), Path(gt_spec) if gt_spec else None, tuple(options.metrics))
    result.rows = sorted(batch.results, key=lambda r: r["stem"])
    result.mean = mean_row(result.rows, result.columns)
    result.unmatched_sr, result.unmatched_gt, result.failures = unmatched_sr, unmatched_gt, batch.failures
    return result


def score_files(sr: str | Path, gt: str | Path | None = None, options: ScoreOptions | None = None) -> dict[str, Any]:
    """Metrics of one SR image file (against one GT file when given): ``{metric: value}`` plus stem and paths."""
    options = options or ScoreOptions()
    options = replace(options, metrics=parse_metrics(list(options.metrics), gt is not None))
    return Scorer(options)(Pair(Path(sr).stem, Path(sr), Path(gt) if gt else None))


def rank_data(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a 1-D array (1 = smallest); ties get the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_vals = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def iqa_rank(folders: Sequence[FolderScore], metrics: Sequence[str]) -> dict[str, Any]:
    """NTIRE 2020 IQA-rank: per image and metric rank the folders (1 = best), average over images and metrics."""
    if len(folders) < 2:
        raise InputError("--rank needs at least two SR folders")
    tables = [{r["stem"]: r for r in f.rows} for f in folders]
    common = sorted(set.intersection(*(set(t) for t in tables)))
    if not common:
        raise InputError("--rank: the SR folders have no image stem in common")
    per_metric = {}
    for m in metrics:
        ranks = []
        for stem in common:
            vals = np.array([t[stem][m] for t in tables], dtype=np.float64)
            ranks.append(rank_data(-vals if HIGHER_IS_BETTER[m] else vals))
        per_metric[m] = np.mean(ranks, axis=0)
    overall = np.mean([per_metric[m] for m in metrics], axis=0)
    order = np.argsort(overall, kind="stable")
    return {
        "metrics": list(metrics),
        "images": common,
        "folders": [
            {
                "folder": str(folders[i].sr_dir),
                "iqa_rank": float(overall[i]),
                "place": place + 1,
                "mean_rank": {m: float(per_metric[m][i]) for m in metrics},
                "mean": {m: folders[i].mean.get(m) for m in metrics},
            }
            for place, i in enumerate(order)
        ],
    }
