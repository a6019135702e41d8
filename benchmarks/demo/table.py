"""Print the demo's comparison table from score JSON files (usage: table.py NAME=score.json ...)."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.table import Table


def mean(images: list[dict], key: str) -> float | None:
    vals = [float(im[key]) for im in images if isinstance(im.get(key), (int, float))]
    return sum(vals) / len(vals) if vals else None


def main(args: list[str]) -> None:
    table = Table(title="realsr demo: held-out photos of the hidden camera")
    for col in ("method", "PSNR (dB)", "SSIM", "LPIPS"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for arg in args:
        name, path = arg.split("=", 1)
        images = json.load(open(path))["images"]
        row = [mean(images, k) for k in ("psnr", "ssim", "lpips")]
        table.add_row(name, *("-" if v is None else f"{v:.4f}" if i else f"{v:.2f}" for i, v in enumerate(row)))
    Console().print(table)


if __name__ == "__main__":
    main(sys.argv[1:])
