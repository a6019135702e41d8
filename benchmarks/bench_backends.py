"""CPU backends, threads and start-up of ``upscale`` (issue 20), every figure with the load it was measured under.

1. Backends, quiet: eager PyTorch (NCHW, the cores' worth of threads: PyTorch's default), channels-last, ONNX
   Runtime and OpenVINO (each when installed, on the model's cached ONNX export), and realsr's default (the
   ``upscale`` engine with ``--backend auto`` and the thread rule), interleaved, best of N; output MP/s, the
   largest difference from eager (/255) and the speed-up over eager. Models: the shipped default x4 at 256x256
   and RRDBNet (ESRGAN, 23 blocks) at 64x64.
2. Under load: the benchmark starts CPU burners itself (half the cores, at least one), waits until the load
   average shows them, then measures eager PyTorch on the default threads and realsr's default again; the drop is
   the loaded time over the quiet one (the target: realsr <= 2x where 2-thread eager drops ~5x).
3. Time to first output: ``python -m realsr_cli upscale photo.png out.png`` in a fresh process (export cache
   and bytecode warm) against the model's own inference time on that photo (warm, in a child process of its own);
   both on the thread count the rule gives when this part starts.
4. A folder of photos (:func:`bench_files`): ``upscale`` with ``--backend torch`` against the default, each an
   ``upscale`` process, the batch's own time from its ``--json`` report: the output MP/s a user's folder gets.

A ratio is printed only when the two figures' loads are alike (:mod:`benchmarks.interleave`). Environment:
``REALSR_BENCH_REPEATS`` (best of, default 3), ``REALSR_BENCH_DEFAULT_SIZE`` (256), ``REALSR_BENCH_RRDB_SIZE``
(64), ``REALSR_BENCH_PHOTO_SIZE`` (1024), ``REALSR_BENCH_FILES_SIZE`` (384), ``REALSR_BENCH_BURNERS`` (cores // 2,
at least 1), ``REALSR_BENCH_LOAD=0`` skips the under-load part, ``REALSR_BENCH_LOAD_WAIT`` (seconds to wait for the load average, default 120).
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from benchmarks.interleave import Figure, best_of_rounds, interleaved, ratio, read_load
from realsr_cli.archs import build_arch
from realsr_cli.models.loading import SRModel, load_sr_model
from realsr_cli.models.onnx_cache import exported_onnx
from realsr_cli.models.onnx_export import random_image
from realsr_cli.threads import affinity_cores, choose_threads
from realsr_cli.upscale import backends
from realsr_cli.upscale.pipeline import UpscaleOptions, Upscaler

REPO = Path(__file__).resolve().parents[1]
QUIET_LOAD = 0.5  # others' load above which the "quiet" figures are not quiet
PHOTOS = 4  # the folder of part 4


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _models() -> list[tuple[SRModel, int]]:
    default = load_sr_model("default", "cpu", 4)
    torch.manual_seed(0)  # the same weights every run: one cached export
    rrdb = SRModel(build_arch("rrdbnet", scale=4).eval(), 4, "rrdbnet (23 blocks)", "rrdbnet", "")
    return [(default, _env_int("REALSR_BENCH_DEFAULT_SIZE", 256)), (rrdb, _env_int("REALSR_BENCH_RRDB_SIZE", 64))]


def _torch_fn(module: torch.nn.Module, x: torch.Tensor, threads: int) -> Callable[[], torch.Tensor]:
    def run() -> torch.Tensor:
        torch.set_num_threads(threads)
        with torch.inference_mode():
            return module(x)

    return run


def _realsr_fn(model: SRModel, x: torch.Tensor, threads: int) -> tuple[str, Callable[[], torch.Tensor]]:
    """realsr's default: the upscale engine, ``--backend auto``, ``threads`` (the rule's choice)."""
    engine = Upscaler([model], torch.device("cpu"), UpscaleOptions(tile=0, backend="auto", threads=threads))

    def run() -> torch.Tensor:
        torch.set_num_threads(threads)
        return engine.upscale_tensor(x)[0]

    return engine.backend, run


def contenders(model: SRModel, x: torch.Tensor, threads: int, rule: int) -> dict[str, Callable[[], torch.Tensor]]:
    """Every way to run ``model`` on ``x``: torch eager, channels-last, each installed runtime, realsr's default."""
    cl = copy.deepcopy(model.module).to(memory_format=torch.channels_last)
    runs = {
        f"eager, {threads} threads": _torch_fn(model.module, x, threads),
        f"channels-last, {threads} threads": _torch_fn(cl, x.contiguous(memory_format=torch.channels_last), threads),
    }
    for runtime in backends.RUNTIMES:
        if backends.installed(runtime):
            fn = backends.torch_fn(backends.runtime_fn(runtime, exported_onnx(model), threads))
            runs[f"{runtime}, {threads} threads"] = lambda fn=fn: fn(x)
    label, fn = _realsr_fn(model, x, rule)
    runs[f"realsr default ({label})"] = fn
    return runs


def _diff_255(out: torch.Tensor, ref: torch.Tensor) -> float:
    return float((out.float().clamp(0, 1) - ref.float().clamp(0, 1)).abs().max()) * 255


def _print_table(title: str, runs: dict[str, Callable], figures: dict[str, Figure], mp_out: float) -> None:
    names = list(runs)
    ref_name, ref_out = names[0], runs[names[0]]()
    print(f"\n{title}")
    print(f"  {'contender':<44} {'out MP/s':>9} {'vs eager':>8} {'max diff':>9}  load")
    for name in names:
        fig = figures[name]
        diff = _diff_255(runs[name](), ref_out)
        speed = "1.00x" if name == ref_name else ratio(fig, figures[ref_name])
        print(f"  {name:<44} {mp_out / fig.seconds:>9.3f} {speed:>8} {diff:>6.2f}/255  {fig.label()}", flush=True)


def bench_quiet(repeats: int) -> dict[str, tuple[Figure, Figure]]:
    """Part 1; returns each model's quiet (eager, realsr default) figures for part 2."""
    threads, rule = affinity_cores(), choose_threads()
    print(f"threads: eager and runtimes {threads} (PyTorch's default), realsr default {rule.describe()}")
    quiet = {}
    for model, size in _models():
        x = random_image(size, size, torch.Generator().manual_seed(0))
        runs = contenders(model, x, threads, rule.threads)
        figures = interleaved(runs, repeats)
        mp_out = (size * model.scale) ** 2 / 1e6
        _print_table(f"{model.name} x{model.scale}, {size}x{size} input, best of {repeats}", runs, figures, mp_out)
        names = list(runs)
        quiet[model.name] = (figures[names[0]], figures[names[-1]])
    return quiet


def _burn() -> None:
    while True:
        pass


def _wait_for_load(burners: int, limit_s: float) -> None:
    """Until the others' load average shows most of the burners (it lags: a 1-minute exponential average)."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        load, others = read_load()
        if others >= 0.6 * burners:
            break
        time.sleep(5)
    load, others = read_load()
    print(f"  after {time.monotonic() - start:.0f} s: load {load:.2f} (others {others:.2f})", flush=True)


def bench_under_load(quiet: dict[str, tuple[Figure, Figure]], repeats: int) -> None:
    """Part 2: eager on PyTorch's default threads and realsr's default, with burners running."""
    count = _env_int("REALSR_BENCH_BURNERS", max(1, affinity_cores() // 2))
    print(f"\nunder load: {count} CPU burner process(es) started by the benchmark")
    context = multiprocessing.get_context("fork")
    procs = [context.Process(target=_burn, daemon=True) for _ in range(count)]
    for proc in procs:
        proc.start()
    try:
        _wait_for_load(count, float(os.environ.get("REALSR_BENCH_LOAD_WAIT", 120)))
        rule = choose_threads()
        print(f"  realsr default now: {rule.describe()}")
        print(f"  {'model / contender':<52} {'quiet s':>8} {'loaded s':>9} {'drop':>6}  others' load, quiet -> loaded")
        for model, size in _models():
            x = random_image(size, size, torch.Generator().manual_seed(0))
            label, realsr = _realsr_fn(model, x, rule.threads)
            eager = f"eager, {affinity_cores()} threads"
            runs = {eager: _torch_fn(model.module, x, affinity_cores()), f"realsr default ({label})": realsr}
            figures = interleaved(runs, repeats)
            for (name, fig), base in zip(figures.items(), quiet[model.name], strict=True):
                row, drop, loads = (
                    f"{model.name}: {name}",
                    fig.seconds / base.seconds,
                    f"{base.others:.2f} -> {fig.others:.2f}",
                )
                print(f"  {row:<52} {base.seconds:>8.3f} {fig.seconds:>9.3f} {drop:>5.2f}x  {loads}", flush=True)
        if max(base.others for pair in quiet.values() for base in pair) > QUIET_LOAD:
            print(f"  note: the quiet figures were measured at others' load > {QUIET_LOAD}: not a quiet machine, so")
            print("  these drops compare two loaded states and say little about the target")
    finally:
        for proc in procs:
            proc.terminate()
            proc.join()


def _write_photo(path: Path, size: int, seed: int = 3) -> np.ndarray:
    from realsr_cli.io.images import from_float, write_image

    img = random_image(size, size, torch.Generator().manual_seed(seed))[0].permute(1, 2, 0).numpy()
    pixels = from_float(img, np.uint8)
    write_image(path, pixels)
    return pixels


INFERENCE_ALONE = """
import json, sys, time, torch
from realsr_cli.io.images import read_image
from realsr_cli.io.tensors import to_tensor
from realsr_cli.models.loading import load_sr_model
from realsr_cli.upscale.pipeline import UpscaleOptions, Upscaler
photo, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
options = UpscaleOptions(backend="auto", threads=threads)
engine = Upscaler([load_sr_model("default", "cpu", 4)], torch.device("cpu"), options)
x = to_tensor(read_image(photo).pixels)
engine.upscale_tensor(x)  # warm: the runtime's first call on this shape
start = time.perf_counter()
engine.upscale_tensor(x)
print(json.dumps({"seconds": time.perf_counter() - start, "backend": engine.backend}))
"""


def bench_first_output(repeats: int) -> None:
    """Part 3: a one-photo ``upscale`` process, start to exit, against the model's inference on that photo (warm,
    in a process of its own). Both run as child processes, in turn, while this process holds no runtime: a live
    OpenVINO model in the parent slowed the child by 0.4-0.6 s even seconds after its last inference."""
    size = _env_int("REALSR_BENCH_PHOTO_SIZE", 1024)
    with tempfile.TemporaryDirectory() as tmp:
        photo, out = Path(tmp) / "photo.png", Path(tmp) / "out.png"
        _write_photo(photo, size)
        # PYTHONDONTWRITEBYTECODE off: the warm-up run writes realsr_cli's bytecode, as an installed wheel has it
        # (compiling the modules on the upscale path costs 0.6 s a run where the variable is set, as in sandboxes)
        unset = ("REALSR_BACKEND", "REALSR_THREADS", "OMP_NUM_THREADS", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if k not in unset}
        report, rule = Path(tmp) / "report.json", choose_threads().threads
        command = [sys.executable, "-m", "realsr_cli", "upscale", str(photo), str(out), "-q", "--overwrite"]
        command += ["--json", str(report), "--threads", str(rule)]  # both sides on the rule's count, read once
        alone = [sys.executable, "-c", INFERENCE_ALONE, str(photo), str(rule)]
        inference: dict = {}

        def process() -> float:
            start = time.perf_counter()
            subprocess.run(command, env=env, cwd=REPO, check=True)
            return time.perf_counter() - start

        def alone_seconds() -> float:
            done = subprocess.run(alone, env=env, cwd=REPO, check=True, capture_output=True, text=True)
            inference.update(json.loads(done.stdout.strip().splitlines()[-1]))
            return float(inference["seconds"])

        process()  # warm: export cache, bytecode
        best = best_of_rounds({"process": process, "inference": alone_seconds}, repeats)
        process_backend = json.loads(report.read_text())["backend"]
    first, model = best["process"], best["inference"]
    print(f"\ntime to first output, default x4 model, {size}x{size} photo, best of {repeats}")
    print(f"  process: {process_backend}; inference alone, in a process of its own: {inference['backend']}")
    print(
        f"  upscale process {first.seconds:.2f} s ({first.label()}); inference {model.seconds:.2f} s ({model.label()})"
    )
    print(f"  process / inference: {ratio(model, first)} (target <= 1.5x)", flush=True)


def _upscale_run(
    folder: Path, out: Path, options: list[str], env: dict[str, str], reports: dict[str, dict], key: str
) -> Callable[[], float]:
    """One ``upscale`` process on ``folder``; returns the batch's seconds from its report (kept in ``reports``)."""
    report = out.with_suffix(".json")
    command = [sys.executable, "-m", "realsr_cli", "upscale", str(folder), str(out), "-q", "--overwrite"]
    command += ["--json", str(report), *options]

    def run() -> float:
        subprocess.run(command, env=env, cwd=REPO, check=True)
        reports[key] = json.loads(report.read_text())
        return float(reports[key]["seconds"])

    return run


def bench_files(repeats: int) -> None:
    """Part 4: what a user's folder of photos gets, each side an ``upscale`` process on the same folder of
    ``PHOTOS`` photos: ``--backend torch`` (PyTorch eager, channels-last, the thread rule's count) against the
    default (``auto``), for the default model (``REALSR_BENCH_FILES_SIZE`` px photos) and RRDBNet (a quarter of
    that, as a model file of the benchmark's weights). The figure is the batch's own time from the ``--json``
    report (first read to last write: every photo's model pass, pixels and PNG), not the process start-up."""
    from realsr_cli.models.checkpoint import save_model

    size = _env_int("REALSR_BENCH_FILES_SIZE", 384)
    unset = ("REALSR_BACKEND", "REALSR_THREADS", "OMP_NUM_THREADS", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    rule = choose_threads().threads
    with tempfile.TemporaryDirectory() as tmp:
        torch.manual_seed(0)
        rrdb = save_model(
            Path(tmp) / "rrdbnet.pt", build_arch("rrdbnet", scale=4), arch="rrdbnet", arch_args={}, scale=4
        )
        for model, name, side in (("default", "default x4", size), (str(rrdb), "rrdbnet (23 blocks)", size // 4)):
            folder = Path(tmp) / f"photos{side}"
            folder.mkdir(exist_ok=True)
            for i in range(PHOTOS):
                _write_photo(folder / f"p{i}.png", side, seed=10 + i)
            reports: dict[str, dict] = {}
            base = ["-m", model, "--threads", str(rule)]
            runs = {
                key: _upscale_run(folder, Path(tmp) / key, [*base, *extra], env, reports, key)
                for key, extra in (("torch", ["--backend", "torch"]), ("default", []))
            }
            for run in runs.values():
                run()  # warm: exports, auto's measurement, bytecode
            best = best_of_rounds(runs, repeats)
            mp_out = reports["default"]["megapixels_out"]
            print(f"\na folder of {PHOTOS} photos, {side}x{side}, {name}, {rule} thread(s), best of {repeats}")
            for key, fig in best.items():
                label = f"--backend torch ({reports[key]['backend']})" if key == "torch" else reports[key]["backend"]
                print(f"  {key:<8} {label:<36} {mp_out / fig.seconds:>7.3f} out MP/s  ({fig.label()})")
            print(f"  default / torch: {ratio(best['default'], best['torch'])} (target >= 1.5x)", flush=True)


def main() -> None:
    repeats = _env_int("REALSR_BENCH_REPEATS", 3)
    print(f"torch {torch.__version__}, {affinity_cores()} cores; {read_load()[0]:.2f} load at start")
    quiet = bench_quiet(repeats)
    if os.environ.get("REALSR_BENCH_LOAD", "1") != "0":
        bench_under_load(quiet, repeats)
    bench_first_output(repeats)
    bench_files(repeats)
    torch.set_num_threads(affinity_cores())


if __name__ == "__main__":
    main()
