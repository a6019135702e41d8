"""The camera zoo's verdicts: per-camera means, the learned chain's wins, its fraction of the upper bound's gain.

For one camera, with LPIPS means ``b`` (network trained on bicubic pairs), ``d`` (trained on the learned chain's
pairs) and ``e`` (trained on the true camera, the upper bound), the fraction of the upper bound's LPIPS gain the
learned chain reaches is ``(b - d) / (b - e)``: 1 = as good as knowing the camera, 0 = no better than bicubic
pairs, negative = worse. It is left undefined (``None``) when the gap ``b - e`` is below ``MIN_GAP`` (the camera is
so close to bicubic that the ratio is noise). A learned chain that failed to run (e.g. no noise patches found)
counts as losing every comparison and as a fraction of 0 in the mean: a user of it got nothing.

Scores are ``realsr score --json`` files; a camera's means come from ``benchmarks/demo/table.py``'s ``mean``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.demo.table import mean
from realsr_cli.scoring import HIGHER_IS_BETTER

from .plan import HELD_OUT

WAYS = ("bicubic", "bicubic-trained", "generic-trained", "realesrgan-trained", "learned", "camera")
LABELS = {
    "bicubic": "(a) MATLAB bicubic",
    "bicubic-trained": "(b) trained on bicubic pairs",
    "generic-trained": "(c) trained on `generic` pairs",
    "realesrgan-trained": "(c) trained on `realesrgan` pairs",
    "learned": "(d) trained on the learned chain",
    "camera": "(e) trained on the true camera (upper bound)",
}
METRICS = ("psnr", "ssim", "lpips")
MIN_GAP = 0.005
WIN_KEYS = ("psnr>bicubic", "lpips<bicubic", "psnr>bicubic-trained", "lpips<bicubic-trained", "lpips<best-recipe")
Scores = dict[str, float | None]


def read_scores(path: Path) -> Scores:
    """Mean PSNR / SSIM / LPIPS of a ``realsr score --json`` file (``None`` for a metric it lacks)."""
    images = json.loads(Path(path).read_text())["images"]
    return {k: mean(images, k) for k in METRICS}


def lpips_fraction(b: float | None, d: float | None, e: float | None) -> float | None:
    """``(b - d) / (b - e)``; ``None`` when a value is missing or the gap ``b - e`` is below ``MIN_GAP``."""
    if b is None or d is None or e is None or b - e < MIN_GAP:
        return None
    return (b - d) / (b - e)


def _beats(a: float | None, b: float | None, metric: str) -> bool | None:
    if a is None or b is None:
        return None
    return a > b if HIGHER_IS_BETTER[metric] else a < b


def wins(rows: dict[str, Scores | None]) -> dict[str, bool | None]:
    """The learned chain's comparisons (issue 13's "done when"); all False when it failed, None when unmeasured."""
    d = rows.get("learned")
    if d is None:
        return dict.fromkeys(WIN_KEYS, False)
    best_recipe = [rows[w]["lpips"] for w in ("generic-trained", "realesrgan-trained") if rows.get(w)]
    best = min((v for v in best_recipe if v is not None), default=None)
    a, b = rows["bicubic"] or {}, rows["bicubic-trained"] or {}
    return {
        "psnr>bicubic": _beats(d["psnr"], a.get("psnr"), "psnr"),
        "lpips<bicubic": _beats(d["lpips"], a.get("lpips"), "lpips"),
        "psnr>bicubic-trained": _beats(d["psnr"], b.get("psnr"), "psnr"),
        "lpips<bicubic-trained": _beats(d["lpips"], b.get("lpips"), "lpips"),
        "lpips<best-recipe": _beats(d["lpips"], best, "lpips"),
    }


def camera_result(name: str, rows: dict[str, Scores | None], error: str | None = None) -> dict[str, Any]:
    """One camera's rows, wins and fraction; ``rows["learned"]`` is None when the chain failed (``error`` says why)."""
    b, e = ((rows.get(w) or {}).get("lpips") for w in ("bicubic-trained", "camera"))
    d = rows.get("learned")
    fraction = lpips_fraction(b, d["lpips"] if d else None, e)
    if d is None and b is not None and e is not None and b - e >= MIN_GAP:
        fraction = 0.0  # a failed chain closes none of a measurable gap
    return {
        "camera": name,
        "held_out": name in HELD_OUT,
        "rows": rows,
        "learned_error": error,
        "wins": wins(rows),
        "lpips_fraction": fraction,
    }


def _count(results: list[dict[str, Any]], key: str) -> int | None:
    """How many cameras win ``key``; ``None`` when no camera measured it (e.g. LPIPS without weights)."""
    values = [r["wins"][key] for r in results if r["wins"][key] is not None]
    return sum(bool(v) for v in values) if values else None


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of wins over the cameras, failures, and the mean fraction over cameras where it is defined."""
    fractions = [r["lpips_fraction"] for r in results if r["lpips_fraction"] is not None]
    all_four = [r for r in results if all(r["wins"][k] for k in WIN_KEYS[:4])]
    return {
        "cameras": len(results),
        "learned_failed": sum(r["rows"].get("learned") is None for r in results),
        "wins": {k: _count(results, k) for k in WIN_KEYS},
        "beats_bicubic_and_b_in_psnr_and_lpips": len(all_four),
        "mean_lpips_fraction": sum(fractions) / len(fractions) if fractions else None,
        "fraction_cameras": len(fractions),
    }


def summaries(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The summary over all cameras, the tuning cameras and the held-out cameras."""
    groups = {
        "all": results,
        "tuning": [r for r in results if not r["held_out"]],
        "held-out": [r for r in results if r["held_out"]],
    }
    return {name: summarise(group) for name, group in groups.items() if group}


def _fmt(key: str, value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if key == "psnr" else f"{value:.4f}"


def camera_markdown(result: dict[str, Any]) -> str:
    """One camera's table (a row per way) and its verdict line."""
    tag = "held-out" if result["held_out"] else "tuning"
    lines = [
        f"### {result['camera']} ({tag})",
        "",
        "| way | PSNR (dB) ↑ | SSIM ↑ | LPIPS ↓ |",
        "| --- | --- | --- | --- |",
    ]
    for way in WAYS:
        row = result["rows"].get(way)
        cells = [_fmt(k, row[k]) for k in METRICS] if row else ["failed"] * 3
        lines.append(f"| {LABELS[way]} | " + " | ".join(cells) + " |")
    frac = result["lpips_fraction"]
    lines += ["", f"LPIPS fraction of the upper bound's gain over (b): {'-' if frac is None else f'{frac:.0%}'}"]
    if result["learned_error"]:
        lines.append(f"learned chain failed: {result['learned_error']}")
    return "\n".join(lines)


def summary_markdown(groups: dict[str, dict[str, Any]]) -> str:
    """The summary table: one column per camera group."""
    names = list(groups)
    rows = [("cameras", lambda s: str(s["cameras"])), ("learned chain failed", lambda s: str(s["learned_failed"]))]
    rows += [(f"learned {k}", lambda s, k=k: "-" if s["wins"][k] is None else str(s["wins"][k])) for k in WIN_KEYS]
    rows.append(
        ("learned beats (a) and (b) in PSNR and LPIPS", lambda s: str(s["beats_bicubic_and_b_in_psnr_and_lpips"]))
    )
    rows.append(
        (
            "mean LPIPS fraction (cameras)",
            lambda s: (
                "-" if s["mean_lpips_fraction"] is None else f"{s['mean_lpips_fraction']:.0%} ({s['fraction_cameras']})"
            ),
        )
    )
    out = ["| | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
    out += [f"| {label} | " + " | ".join(fn(groups[n]) for n in names) + " |" for label, fn in rows]
    return "\n".join(out)


def markdown(results: list[dict[str, Any]], groups: dict[str, dict[str, Any]], header: str) -> str:
    """The whole report: header, summary, then one table per camera."""
    parts = [header, "## Summary", summary_markdown(groups), "## Cameras"] + [camera_markdown(r) for r in results]
    return "\n\n".join(parts) + "\n"
