"""Training curves from ``log.jsonl``: the losses (``l_*``) and each validation metric (``val_*``) against iterations.

Drawn with OpenCV (no plotting library): one panel per group, side by side, each with its axis range printed;
losses on a log10 scale when all positive. ``train-sr`` writes ``curves.png`` beside ``log.jsonl``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np

from realsr_cli.io.images import write_image

PANEL = (300, 420)  # height, width
MARGIN = (28, 56, 34, 12)  # top, left, bottom, right
COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]
FONT = cv2.FONT_HERSHEY_SIMPLEX


def read_log(path: Path) -> list[dict]:
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut by an interrupted write
        if isinstance(record, dict) and "iter" in record:
            records.append(record)
    return records


def series(records: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    points = [(r["iter"], r[key]) for r in records if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
    its, values = zip(*points, strict=True) if points else ((), ())
    return np.asarray(its, np.float64), np.asarray(values, np.float64)


def groups(records: list[dict]) -> list[tuple[str, list[str]]]:
    keys = sorted({k for r in records for k in r})
    losses = [k for k in keys if k.startswith("l_")]
    panels = [("losses", losses)] if losses else []
    return panels + [(k[len("val_") :], [k]) for k in keys if k.startswith("val_")]


def _text(img: np.ndarray, text: str, xy: tuple[int, int], scale: float = 0.4, colour=(0, 0, 0)) -> None:
    cv2.putText(img, text, xy, FONT, scale, colour, 1, cv2.LINE_AA)


def panel(title: str, lines: list[tuple[str, np.ndarray, np.ndarray]]) -> np.ndarray:
    """One plot: ``lines`` of (label, iterations, values) on shared axes."""
    img = np.full((*PANEL, 3), 255, np.uint8)
    top, left, bottom, right = MARGIN
    h, w = PANEL[0] - top - bottom, PANEL[1] - left - right
    values = np.concatenate([v for _, _, v in lines])
    log = bool(values.size) and title == "losses" and bool((values > 0).all())
    tf = np.log10 if log else (lambda a: a)
    its = np.concatenate([i for _, i, _ in lines])
    x0, x1 = float(its.min()), float(max(its.max(), its.min() + 1))
    y0, y1 = float(tf(values).min()), float(tf(values).max())
    y0, y1 = (y0 - 0.5, y1 + 0.5) if y1 - y0 < 1e-12 else (y0, y1)
    cv2.rectangle(img, (left, top), (left + w, top + h), (0, 0, 0), 1)
    for k, (label, it, v) in enumerate(lines):
        xs = left + (it - x0) / (x1 - x0) * w
        ys = top + h - (tf(v) - y0) / (y1 - y0) * h
        pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
        colour = COLOURS[k % len(COLOURS)]
        cv2.polylines(img, [pts], False, colour, 1, cv2.LINE_AA) if len(pts) > 1 else cv2.circle(
            img, tuple(pts[0]), 2, colour, -1
        )
        _text(img, label, (left + 6, top + 14 + 14 * k), colour=colour)
    fmt = (lambda y: f"{10**y:.3g}") if log else (lambda y: f"{y:.4g}")
    _text(img, f"{title}{' (log)' if log else ''}", (left, 18), 0.5)
    _text(img, fmt(y1), (2, top + 8))
    _text(img, fmt(y0), (2, top + h))
    _text(img, f"{x0:g}", (left, top + h + 16))
    _text(img, f"{x1:g} iter", (left + w - 70, top + h + 16))
    return img


def curves_image(records: list[dict]) -> np.ndarray | None:
    panels = []
    for title, keys in groups(records):
        lines = [(k, *series(records, k)) for k in keys]
        lines = [line for line in lines if line[1].size]
        if lines:
            panels.append(panel(title, lines))
    return np.concatenate(panels, axis=1) if panels else None


def write_curves(log_path: str | Path, out_path: str | Path) -> Path | None:
    """``curves.png`` from ``log.jsonl`` (None when the log holds nothing to plot yet)."""
    image = curves_image(read_log(Path(log_path)))
    if image is None:
        return None
    write_image(out_path, image, overwrite=True)
    return Path(out_path)
