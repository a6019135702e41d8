"""The camera zoo benchmark (issue 13, item 5): ``python -m benchmarks cameras [--quick] [--cameras a,b] [--out DIR]``.

For every synthetic camera of ``benchmarks/cameras/*.yaml``: its source photos and held-out test LR
(``realsr degrade``), then the six ways of ``chain.py`` from the same clean HR, network, iterations and seed,
each upscaling the test set and scored by ``realsr score``; per camera PSNR / SSIM / LPIPS and the fraction of the
upper bound's LPIPS gain over the bicubic-trained network that the learned chain reaches; a summary over all,
tuning and held-out cameras. Writes ``OUT/cameras.json`` and ``OUT/cameras.md``; every intermediate is cached, so a
rerun resumes (and redoes the learned chain after a change to ``realsr_cli``).

Runs on one thread (``OMP_NUM_THREADS=1``): the per-step tensors are small, and on the shared 2-core machine two
threads trained 6x slower than one; ``--jobs 2`` runs two cameras at a time instead.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from .plan import FULL, HELD_OUT, QUICK, REPO, Plan, cameras
from .summary import WAYS, camera_result, markdown, read_scores, summaries, summary_markdown

QUICK_NOTE = "QUICK RUN: tiny crops, tens of iterations, a 60-iteration KernelGAN. A plumbing check: NOT meaningful."


def _single_thread() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


def _chains(out: Path, plan: Plan) -> tuple[Any, Any]:
    from .chain import Chains
    from .data import make_sets
    from .steps import Steps

    steps = Steps(log=lambda msg: print(msg, flush=True))
    sets = make_sets(steps, plan, out / "shared")
    return Chains(out, plan, steps, sets), steps


def shared_models(out: Path, plan: Plan) -> tuple[dict[str, Path], dict[str, float]]:
    """Ways (b) and (c): one model per recipe, made once for every camera."""
    from .chain import recipe_ways

    chains, steps = _chains(out, plan)
    models = {way: chains.recipe_model(recipe) for way, recipe in recipe_ways().items()}
    return models, steps.timings


def run_camera(out: Path, plan: Plan, name: str, camera: Path, models: dict[str, Path]) -> dict[str, Any]:
    """Every way on one camera; returns its result (rows, wins, fraction) and step timings."""
    _single_thread()
    from .steps import StepFailed

    chains, steps = _chains(out, plan)
    start = time.perf_counter()
    base = out / name
    src = chains.photos(name, camera, chains.sets.source, base / "src", seed=1)
    test_lr = chains.photos(name, camera, chains.sets.test, base / "test-lr", seed=2)
    scores = {"bicubic": chains.bicubic(name, test_lr)}
    for way, model in models.items():
        scores[way] = chains.upscale_and_score(name, way, model, test_lr)
    scores["camera"] = chains.upscale_and_score(name, "camera", chains.camera_model(name, camera), test_lr)
    error = None
    try:
        learned = chains.learned_model(name, src)
        scores["learned"] = chains.upscale_and_score(name, "learned", learned, test_lr, code=chains.code)
    except Exception as exc:  # noqa: BLE001 - the learned chain failing is a result, not a crash
        error = str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
        print(f"  {name}: learned chain FAILED: {error}", flush=True)
    rows = {way: read_scores(scores[way]) if way in scores else None for way in WAYS}
    result = camera_result(name, rows, error)
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["timings"] = steps.timings
    return result


def print_camera(result: dict[str, Any]) -> None:
    from .summary import camera_markdown

    print("\n" + camera_markdown(result) + "\n", flush=True)


def run(plan: Plan, names: list[str] | None, out: Path, jobs: int) -> dict[str, Any]:
    """The whole benchmark; returns what it writes to ``OUT/cameras.json``."""
    _single_thread()
    zoo = cameras(names)
    start = time.perf_counter()
    print(f"camera zoo ({plan.name}): {', '.join(zoo)} -> {out}" + (f"\n{QUICK_NOTE}" if not plan.meaningful else ""))
    models, timings = shared_models(out, plan)
    results = []
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_camera, out, plan, n, p, models) for n, p in zoo.items()]
            results = [f.result() for f in futures]
    else:
        results = [run_camera(out, plan, n, p, models) for n, p in zoo.items()]
    for result in results:
        print_camera(result)
    groups = summaries(results)
    print(summary_markdown(groups), flush=True)
    return {
        "plan": asdict(plan),
        "meaningful": plan.meaningful,
        "held_out": list(HELD_OUT),
        "cameras": results,
        "summary": groups,
        "shared_timings": timings,
        "seconds": round(time.perf_counter() - start, 1),
    }


def header(report: dict[str, Any]) -> str:
    plan = report["plan"]
    lines = [
        f"# Camera zoo ({plan['name']} run, {report['seconds'] / 60:.1f} min)",
        "",
        f"Train HR {plan['train']}, source photos {plan['source']}, test {plan['test']} (../shared/data/hr-train); "
        f"train-sr default-x4, {plan['iters']} iterations, batch {plan['batch']}, {plan['train_patch']}-px crops, "
        + (f"fine-tuned from `{plan['init']}` (lr {plan['lr']:g})." if plan.get("init") else "from scratch."),
        f"Held-out cameras: {', '.join(report['held_out'])}.",
    ]
    if not report["meaningful"]:
        lines += ["", f"**{QUICK_NOTE}**"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks cameras", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny plumbing run (minutes; numbers not meaningful)")
    parser.add_argument("--cameras", default="", help="comma list of camera names, or tuning / held-out (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="work folder (default runs/cameras[-quick])")
    parser.add_argument("--jobs", type=int, default=1, help="cameras run at a time (one thread each)")
    parser.add_argument(
        "--from-scratch", action="store_true", help="train every way from scratch, not from the built-in model"
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.from_scratch:
        plan = replace(plan, init=None, lr=5e-4)  # the preset's own rate
    out = (args.out or REPO / "runs" / ("cameras-quick" if args.quick else "cameras")).resolve()
    names = [n.strip() for n in args.cameras.split(",") if n.strip()] or None
    report = run(plan, names, out, max(1, args.jobs))
    (out / "cameras.json").write_text(json.dumps(report, indent=2, default=str))
    (out / "cameras.md").write_text(markdown(report["cameras"], report["summary"], header(report)))
    print(f"\nwrote {out / 'cameras.json'} and {out / 'cameras.md'} ({report['seconds'] / 60:.1f} min)")
    return 0
