"""``python -m benchmarks kernelgan-fidelity``: the original KernelGAN and this tool side by side (issue 19).

On the same 3-4 synthetic photos with known kernels (:mod:`.photos`) and S seeds each, both at one thread and the
same iterations: the x4 kernel's error against the truth (:mod:`.scores`), its spread over the seeds, and the
seconds per photo of each (the original's ``train()``, this tool's ``estimate_kernels`` on one photo, both from
reading the pixels to the post-processed kernel), in one run, each seed of one photo back to back so that a
changing load hits both alike. Without ``--original DIR`` (a checkout of sefibk/KernelGAN) the original's columns
are skipped with a note. Writes ``OUT/kernelgan-fidelity.json`` and ``.md``, the photos and every x4 kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from realsr_cli.learn import camera_kernel, kernel_io
from realsr_cli.learn.kernelgan import KernelGANConfig, estimate_kernels
from realsr_cli.threads import load_average

from . import original, photos, scores

REPO = Path(__file__).resolve().parents[2]
FULL = {"iters": 3000, "photos": 4, "seeds": 3}
DESCRIPTION = "The original KernelGAN and this tool side by side on photos with known kernels (issue 19)."


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks kernelgan-fidelity", description=DESCRIPTION)
    p.add_argument("--original", type=Path, default=None, help="a checkout of sefibk/KernelGAN (not copied)")
    p.add_argument("--iters", type=int, default=FULL["iters"], help="iterations of both (the original's 3000)")
    p.add_argument("--photos", type=int, default=FULL["photos"], help=f"photos, 1-{photos.MAX_PHOTOS}")
    p.add_argument("--seeds", type=int, default=FULL["seeds"], help="seeds per photo and tool")
    p.add_argument("--skip", type=int, default=0, help="leave out the first N photos (run the rest of --photos)")
    p.add_argument("--size", type=int, default=256, help="LR photo side (px)")
    p.add_argument("--photos-dir", type=Path, default=photos.PHOTOS, help="clean HR photos (PNG)")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "kernelgan-fidelity", help="report, photos, kernels")
    return p.parse_args(argv)


def single_thread() -> None:
    import torch

    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    warm_up()


def warm_up() -> None:
    """Adam's one-off ``torch._dynamo`` import (~2 s), outside the timings."""
    import torch

    param = torch.nn.Parameter(torch.zeros(1))
    param.grad = torch.ones(1)
    torch.optim.Adam([param], foreach=True).step()


def run_realsr(photo: photos.Photo, seed: int, iters: int) -> tuple[np.ndarray, float]:
    """This tool's KernelGAN on one photo (as ``learn-degradation --per-photo-kernels`` seeds it): x4, seconds."""
    rngs = camera_kernel.restart_rngs(seed, photo.name, 1)
    start = time.perf_counter()
    (est,) = estimate_kernels([photo.pixels], rngs, KernelGANConfig(iters=iters))
    return est.kernel_x4, time.perf_counter() - start


def run_photo(args: argparse.Namespace, photo: photos.Photo, with_original: bool) -> dict:
    """Both tools, seed by seed, on one photo: their summaries (and load averages); kernels to OUT/kernels."""
    found: dict[str, list[tuple[np.ndarray, float, float]]] = {"original": [], "realsr": []}
    for seed in range(args.seeds):
        if with_original:
            work = args.out / "original" / f"{photo.name}-seed{seed}"
            shutil.rmtree(work, ignore_errors=True)
            got = original.run(args.original, photo.path, work, args.iters, seed)
            found["original"].append(keep(args.out, "original", photo.name, seed, got.kernel_x4, got.seconds))
        kernel, seconds = run_realsr(photo, seed, args.iters)
        found["realsr"].append(keep(args.out, "realsr", photo.name, seed, kernel, seconds))
    result = {"photo": photo.name, "hr_gaussian": list(photo.spec), "truth": kernel_io.kernel_stats(photo.truth)}
    for tool, runs in found.items():
        result[tool] = None
        if runs:
            kernels, seconds, loads = zip(*runs, strict=True)
            result[tool] = scores.summarise(list(kernels), list(seconds), photo.truth) | {"load": scores.spread(loads)}
    return result


def keep(out: Path, tool: str, name: str, seed: int, kernel: np.ndarray, seconds: float) -> tuple:
    """Save one run's x4 kernel, print its time; (kernel, seconds, load average now)."""
    (out / "kernels").mkdir(parents=True, exist_ok=True)
    np.save(out / "kernels" / f"{tool}_{name}_seed{seed}_x4.npy", kernel)
    load = load_average() or 0.0
    print(f"  {name} seed {seed} {tool}: {seconds:.1f} s, load average {load:.2f}", flush=True)
    return kernel, seconds, load


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _spread(summary: dict | None, key: str, digits: int = 4) -> str:
    """``mean ± std (min-max)`` of one tool's ``key``, or "-" when the tool was skipped."""
    if summary is None:
        return "-"
    v = summary[key]
    return f"{v['mean']:.{digits}f} ± {v['std']:.{digits}f} ({v['min']:.{digits}f}-{v['max']:.{digits}f})"


def _both(original_: dict | None, ours: dict | None, get: Callable[[dict], float | None], digits: int) -> str:
    return " / ".join(_fmt(None if s is None else get(s), digits) for s in (original_, ours))


def _speed_up(original_: float | None, ours: float) -> str:
    return "-" if original_ is None else f"x{original_ / ours:.2f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def photo_row(r: dict) -> str:
    o, m, t = r["original"], r["realsr"], r["truth"]
    angle = scores.angle_defined(t)
    return _row(
        [
            f"{r['photo']} {tuple(r['hr_gaussian'])}",
            f"{t['sigma_major']:.2f} / {t['sigma_minor']:.2f}" + (f", {t['angle_deg']:.0f} deg" if angle else ""),
            _spread(o, "l2"),
            _spread(m, "l2"),
            _both(o, m, lambda s: s["seed_l2"], 4),
            _both(o, m, lambda s: s["abs_major"]["mean"], 2),
            _both(o, m, lambda s: None if s["angle"] is None else s["angle"]["mean"], 1),
            _both(o, m, lambda s: s["centre_before_max"], 2),
            _spread(o, "seconds", 1),
            _spread(m, "seconds", 1),
            _speed_up(o and o["seconds"]["mean"], m["seconds"]["mean"]),
        ]
    )


def total_row(total: dict) -> str:
    o, m = total.get("original"), total["realsr"]

    def l2(s: dict | None) -> str:
        return "-" if s is None else f"{s['l2_mean']:.4f} (seed std {s['l2_seed_std_mean']:.4f})"

    return _row(
        [
            "**all**",
            "",
            l2(o),
            l2(m),
            _both(o, m, lambda s: s["seed_l2_mean"], 4),
            "",
            "",
            _both(o, m, lambda s: s["centre_before_max"], 2),
            _fmt(o and o["seconds_per_run"], 1),
            _fmt(m["seconds_per_run"], 1),
            _speed_up(o and o["seconds_per_run"], m["seconds_per_run"]),
        ]
    )


HEADER = [
    "photo (HR blur sx, sy, theta)",
    "truth x4 sigma, angle",
    "L2 original: mean ± std (min-max)",
    "L2 realsr",
    "seed-to-seed L2 orig / realsr",
    "abs sigma-major error orig / realsr",
    "angle error (deg) orig / realsr",
    "x4 centre error (px, max) orig / realsr",
    "s/photo original",
    "s/photo realsr",
    "speed-up",
]


def markdown(rows: list[dict], total: dict, header: str) -> str:
    """The side-by-side table (one row per photo, then the totals) under a one-line description."""
    table = [_row(HEADER), _row(["---"] * len(HEADER)), *map(photo_row, rows), total_row(total)]
    return "\n".join([header, "", *table])


def verdict(total: dict) -> str:
    o, m = total.get("original"), total["realsr"]
    if o is None:
        return "original skipped: no comparison"
    worse = m["l2_mean"] > o["l2_mean"]
    return (
        f"realsr mean L2 {m['l2_mean']:.4f} vs original {o['l2_mean']:.4f}: "
        f"{'WORSE' if worse else 'no worse'}; speed-up per photo x{o['seconds_per_run'] / m['seconds_per_run']:.2f}"
    )


def describe(args: argparse.Namespace, note: str | None) -> str:
    settings = {"iters": args.iters, "photos": args.photos, "seeds": args.seeds}
    reduced = settings != FULL or args.skip > 0
    which = f"photos {args.skip + 1}-{args.photos}" if args.skip else f"{args.photos} photos"
    text = (
        f"{which} of {args.size}x{args.size} LR, {args.seeds} seeds each, {args.iters} iterations, "
        f"1 thread; load average at start {args.load_at_start:.2f}"
    )
    if reduced:
        text = f"REDUCED RUN ({text}): a plumbing check, not the issue's result (full: 3000 iterations, 4 x 3)"
    return text + ("" if note is None else f"; ORIGINAL SKIPPED: {note}")


def write_report(args: argparse.Namespace, note: str | None, rows: list[dict], total: dict) -> tuple[str, str]:
    """OUT/kernelgan-fidelity.json and .md for the photos done so far; the table and the verdict line."""
    table, summary = markdown(rows, total, describe(args, note)), verdict(total)
    report = {"settings": vars(args) | {"note": note}, "photos": rows, "totals": total, "verdict": summary}
    (args.out / "kernelgan-fidelity.json").write_text(json.dumps(report, indent=1, default=str))
    (args.out / "kernelgan-fidelity.md").write_text(f"{table}\n\n{summary}\n")
    return table, summary


def main(argv: list[str] | None = None) -> int:
    args = parse(argv or [])
    args.original = args.original and args.original.resolve()
    args.out = args.out.resolve()  # the original runs with its own working folder
    note = original.unavailable(args.original)
    args.load_at_start = load_average() or 0.0
    print(describe(args, note), flush=True)
    single_thread()
    shots = photos.make_photos(args.photos, args.size, args.out / "photos", args.photos_dir)
    rows: list[dict] = []
    for photo in shots[args.skip :]:  # the report is rewritten after every photo (a full run takes hours)
        rows.append(run_photo(args, photo, note is None))
        total = {tool: scores.totals([r[tool] for r in rows]) for tool in ("original", "realsr") if rows[0][tool]}
        table, summary = write_report(args, note, rows, total)
    print(f"\n{table}\n\n{summary}; load average at end {load_average() or 0:.2f}", flush=True)
    return 0
