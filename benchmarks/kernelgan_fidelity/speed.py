"""``python -m benchmarks kernelgan-speed --original DIR``: KernelGAN seconds per photo, the original at its best
thread count against this tool at its default batch, interleaved, every figure with its load (issue 20).

Contenders, each a whole run from the pixels to the post-processed kernel at ``--iters`` iterations:

* the original (``train()`` of a sefibk/KernelGAN checkout, CPU-patched at run time by the shim) on one photo at
  1 and at 2 threads (its best: the faster of the two);
* this tool on one photo (``--kernel-batch 1``) and on ``--batch`` KernelGAN runs trained at once (the default
  ``--kernel-batch`` of ``learn-degradation --per-photo-kernels``: the photos' restarts), per run: the batch's
  time divided by its runs; both on the threads the rule gives (:mod:`realsr_cli.threads`), as the CLI runs it.

Each round runs every contender once (so a load that comes and goes hits them alike); each keeps its best round.
The speed-up is the original's best over this tool's per-run time, printed only when the two were measured under
similar loads (:func:`benchmarks.interleave.ratio`). Writes ``OUT/kernelgan-speed.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from benchmarks.interleave import Figure, best_of_rounds, ratio, read_load
from realsr_cli.learn import camera_kernel
from realsr_cli.learn.kernelgan import KernelGANConfig, estimate_kernels
from realsr_cli.learn.pipeline import LearnOptions
from realsr_cli.threads import choose_threads, use_threads

from . import original, photos
from .runner import REPO, warm_up

DESCRIPTION = "KernelGAN s/photo: the original at its best thread count vs this tool at its default batch."


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks kernelgan-speed", description=DESCRIPTION)
    p.add_argument("--original", type=Path, default=None, help="a checkout of sefibk/KernelGAN (not copied)")
    p.add_argument("--iters", type=int, default=500, help="iterations of every run (the original's default: 3000)")
    p.add_argument("--rounds", type=int, default=2, help="rounds (best of)")
    p.add_argument("--batch", type=int, default=LearnOptions().kernel_batch, help="this tool's batched runs")
    p.add_argument("--size", type=int, default=256, help="LR photo side (px)")
    p.add_argument("--photos-dir", type=Path, default=photos.PHOTOS, help="clean HR photos (PNG)")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "kernelgan-speed", help="report and photos")
    return p.parse_args(argv)


def realsr_runs(shots: list[photos.Photo], runs: int, iters: int, seed: int) -> float:
    """Seconds per KernelGAN run when ``runs`` runs (the photos' restarts, in turn) are trained in one batch, on
    the threads the rule gives now (as ``learn-degradation`` does)."""
    use_threads()
    chosen = [shots[i % len(shots)] for i in range(runs)]  # restart i // len(shots) of each photo
    rngs = [camera_kernel.restart_rngs(seed, p.name, i // len(shots) + 1)[-1] for i, p in enumerate(chosen)]
    start = time.perf_counter()
    estimate_kernels([p.pixels for p in chosen], rngs, KernelGANConfig(iters=iters))
    return (time.perf_counter() - start) / runs


def contenders(args: argparse.Namespace, shots: list[photos.Photo], note: str | None) -> dict:
    """name -> a function running it once and returning its seconds per photo (one KernelGAN run)."""
    runs: dict = {}
    if note is None:
        for threads in (1, 2):

            def orig(threads: int = threads) -> float:
                work = args.out / "original" / f"{threads}-threads"
                shutil.rmtree(work, ignore_errors=True)
                return original.run(args.original, shots[0].path, work, args.iters, 0, threads).seconds

            runs[f"original, {threads} thread{'s' if threads > 1 else ''}"] = orig
    rule = "threads by the rule"
    runs[f"realsr, --kernel-batch 1, {rule}"] = lambda: realsr_runs(shots, 1, args.iters, 0)
    runs[f"realsr, --kernel-batch {args.batch} (default), {rule}"] = lambda: realsr_runs(
        shots, args.batch, args.iters, 0
    )
    return runs


def _print_run(r: int, name: str, fig: Figure) -> None:
    print(f"  round {r + 1} {name}: {fig.seconds:.1f} s/photo, {fig.label()}", flush=True)


def table(figures: dict[str, Figure], iters: int, note: str | None) -> tuple[str, str]:
    """The markdown table and the verdict line (the speed-up over the original's best, at the default batch)."""
    originals = {n: f for n, f in figures.items() if n.startswith("original")}
    best_name = min(originals, key=lambda n: originals[n].seconds) if originals else None
    rows = ["| contender | s/photo | vs the original's best | load |", "| --- | --- | --- | --- |"]
    for name, fig in figures.items():
        speed = "-" if best_name is None else ratio(fig, figures[best_name])
        rows.append(f"| {name} | {fig.seconds:.1f} | {speed} | {fig.label()} |")
    if best_name is None:
        return "\n".join(rows), f"original skipped: {note}"
    default = figures[next(n for n in figures if "(default)" in n)]
    verdict = f"{iters} iterations; speed-up per photo at the default batch over the original's best ({best_name}): "
    return "\n".join(rows), verdict + ratio(default, figures[best_name])


def main(argv: list[str] | None = None) -> int:
    args = parse(argv or [])
    args.original = args.original and args.original.resolve()
    args.out = args.out.resolve()
    note = original.unavailable(args.original)
    warm_up()
    shots = photos.make_photos(photos.MAX_PHOTOS, args.size, args.out / "photos", args.photos_dir)
    print(f"{DESCRIPTION} {args.iters} iterations, best of {args.rounds}; load at start {read_load()[0]:.2f}")
    print(f"this tool's threads now: {choose_threads().describe()}; the original's: 1 and 2", flush=True)
    figures = best_of_rounds(contenders(args, shots, note), args.rounds, _print_run)
    text, verdict = table(figures, args.iters, note)
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"settings": vars(args) | {"note": note}, "figures": {n: vars(f) for n, f in figures.items()}}
    (args.out / "kernelgan-speed.json").write_text(json.dumps(record | {"verdict": verdict}, indent=1, default=str))
    (args.out / "kernelgan-speed.md").write_text(f"{text}\n\n{verdict}\n")
    print(f"\n{text}\n\n{verdict}", flush=True)
    return 0
