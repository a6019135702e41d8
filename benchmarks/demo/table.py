"""Print a comparison table from `realsr score --json` files, and optionally check who wins.

Usage: table.py [--title TEXT] [--require "A>B,C"] NAME=score.json [NAME=score.json ...]: one row per file with the
mean PSNR, SSIM, LPIPS and NIQE over its images (a column only when some file has it; ``-`` where a file lacks it). ``--require "A>B,C"`` exits 1
unless row A has a higher PSNR and (where computed) a lower LPIPS than rows B and C.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from realsr_cli.scoring import direction_arrow

METRICS = ("psnr", "ssim", "lpips", "niqe")
HEADERS = {key: f"{'PSNR (dB)' if key == 'psnr' else key.upper()} {direction_arrow(key)}" for key in METRICS}


def mean(images: list[dict], key: str) -> float | None:
    vals = [float(im[key]) for im in images if isinstance(im.get(key), (int, float))]
    return sum(vals) / len(vals) if vals else None


def fmt(key: str, value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if key == "psnr" else f"{value:.4f}"


def failures(rows: dict[str, dict[str, float | None]], requirement: str) -> list[str]:
    """Why ``A>B,C`` does not hold (empty when it does)."""
    winner, _, others = requirement.partition(">")
    out = []
    for other in filter(None, others.split(",")):
        a, b = rows[winner.strip()], rows[other.strip()]
        if not (a["psnr"] is not None and b["psnr"] is not None and a["psnr"] > b["psnr"]):
            out.append(f"{winner} PSNR {fmt('psnr', a['psnr'])} is not above {other}'s {fmt('psnr', b['psnr'])}")
        if a["lpips"] is not None and b["lpips"] is not None and not a["lpips"] < b["lpips"]:
            out.append(f"{winner} LPIPS {fmt('lpips', a['lpips'])} is not below {other}'s {fmt('lpips', b['lpips'])}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--title", default="realsr demo: held-out photos of the hidden camera")
    parser.add_argument("--require", action="append", default=[], metavar="A>B,C")
    parser.add_argument("rows", nargs="+", metavar="NAME=score.json")
    args = parser.parse_args(argv)
    rows: dict[str, dict[str, float | None]] = {}
    for arg in args.rows:
        name, path = arg.split("=", 1)
        with open(path) as f:
            images = json.load(f)["images"]
        rows[name] = {k: mean(images, k) for k in METRICS}
    shown = [k for k in METRICS if k != "niqe" or any(vals[k] is not None for vals in rows.values())]
    table = Table(title=args.title)
    table.add_column("method", justify="left")
    for key in shown:
        table.add_column(HEADERS[key], justify="right")
    for name, vals in rows.items():
        table.add_row(name, *(fmt(k, vals[k]) for k in shown))
    console = Console(width=100)
    console.print(table)
    problems = [p for req in args.require for p in failures(rows, req)]
    for problem in problems:
        console.print(f"[red]not as expected:[/] {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
