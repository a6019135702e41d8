"""Upscale throughput (input megapixels/s): this tool's pipeline vs the Real-ESRGAN-style reference loop.

Reference = ``RealESRGANer.tile_process`` from xinntao/Real-ESRGAN (one tile at a time, fp32, no batching, tiles
clipped at the borders, padding cropped from each output) and, untiled, a plain ``model(x)`` under ``no_grad``.
Both run the same model on the same input in the same process, interleaved, best of N, with the load average beside
every figure (``benchmarks.interleave``); ratios > 1 mean this tool is faster (none printed when the loads differ).

Models: the shipped ``default`` model when installed (else SRVGGNetCompact, Real-ESRGAN's "general x4v3" size, as a
stand-in) and RRDBNet (ESRGAN, 23 blocks). CPU sizes are reduced so the run ends in a few minutes on a shared CPU;
for RRDBNet the tile is scaled down with the input (``REALSR_BENCH_RRDB_TILE``). On CUDA, fp16 vs fp32 as well.
Environment: ``REALSR_BENCH_SMALL_SIZE`` (default 320), ``REALSR_BENCH_RRDB_SIZE`` (default 64 on CPU, 512 on CUDA).
"""

from __future__ import annotations

import math
import os
import time

import torch

from benchmarks.interleave import interleaved, ratio
from realsr_cli.archs import build_arch
from realsr_cli.errors import RealSRError
from realsr_cli.models.loading import SRModel, load_sr_model
from realsr_cli.upscale.pipeline import UpscaleOptions, Upscaler


def reference_tile_process(model: torch.nn.Module, img: torch.Tensor, scale: int, tile: int, pad: int) -> torch.Tensor:
    """Real-ESRGAN's ``tile_process``: one tile at a time, padding cropped from each output tile."""
    batch, channel, height, width = img.shape
    output = img.new_zeros((batch, channel, height * scale, width * scale))
    tiles_x, tiles_y = math.ceil(width / tile), math.ceil(height / tile)
    for y in range(tiles_y):
        for x in range(tiles_x):
            ofs_x, ofs_y = x * tile, y * tile
            in_x0, in_x1 = ofs_x, min(ofs_x + tile, width)
            in_y0, in_y1 = ofs_y, min(ofs_y + tile, height)
            in_x0p, in_x1p = max(in_x0 - pad, 0), min(in_x1 + pad, width)
            in_y0p, in_y1p = max(in_y0 - pad, 0), min(in_y1 + pad, height)
            with torch.no_grad():
                out_tile = model(img[:, :, in_y0p:in_y1p, in_x0p:in_x1p])
            ox0, oy0 = (in_x0 - in_x0p) * scale, (in_y0 - in_y0p) * scale
            w, h = (in_x1 - in_x0) * scale, (in_y1 - in_y0) * scale
            output[:, :, in_y0 * scale : in_y1 * scale, in_x0 * scale : in_x1 * scale] = out_tile[
                :, :, oy0 : oy0 + h, ox0 : ox0 + w
            ]
    return output


def _time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def _small_model(device: torch.device) -> SRModel:
    try:
        return load_sr_model("default", device, 4)
    except RealSRError:
        module = build_arch("srvggnet-compact", scale=4).eval().to(device)
        return SRModel(module=module, scale=4, name="srvggnet-compact (stand-in for default)", arch="srvgg", source="")


def _rrdb(device: torch.device) -> SRModel:
    module = build_arch("rrdbnet", scale=4).eval().to(device)
    return SRModel(module=module, scale=4, name="rrdbnet (23 blocks)", arch="rrdbnet", source="")


def bench_model(model: SRModel, size: int, tile: int, device: torch.device, repeats: int) -> None:
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    mp = size * size / 1e6
    xd = x.to(device)
    print(f"\n{model.name}: {size}x{size} input ({mp:.3f} MP), x{model.scale}, tile {tile}, {device}", flush=True)
    model.module(xd)  # warm-up (allocator, oneDNN/cuDNN kernels) shared by both pipelines
    rows = []
    for label, t in (("untiled", 0), (f"tile {tile}", tile)):
        if t == 0:
            ref = lambda: model.module(xd)  # noqa: E731
        else:
            ref = lambda t=t: reference_tile_process(model.module, xd, model.scale, t, 10)  # noqa: E731
        ours = Upscaler([model], device, UpscaleOptions(tile=t, tile_pad=10, precision="fp32", batch=1))
        runs = {"reference": _synced(ref), "ours": _synced(lambda ours=ours: ours.upscale_tensor(x))}
        if device.type == "cuda":
            half = Upscaler([model], device, UpscaleOptions(tile=t, tile_pad=10, precision="fp16", batch=4))
            runs["fp16 batch 4"] = _synced(lambda half=half: half.upscale_tensor(x))
        figures = interleaved(runs, repeats)
        rows += [(label, name, figures["reference"], figures[name]) for name in runs if name != "reference"]
    print(f"  {'mode':<10} {'ours':<13} {'reference MP/s':>15} {'ours MP/s':>10} {'ratio':>6}  loads (reference, ours)")
    for label, prec, ref_fig, our_fig in rows:
        prec = "fp32" if prec == "ours" else prec
        loads = f"{ref_fig.label()}, {our_fig.label()}"
        print(
            f"  {label:<10} {prec:<13} {mp / ref_fig.seconds:>15.4g} {mp / our_fig.seconds:>10.4g} "
            f"{ratio(our_fig, ref_fig):>6}  {loads}",
            flush=True,
        )


def _synced(fn):
    """``fn`` followed by a CUDA synchronise (so that its time is the work's, not the launch's)."""

    def run():
        out = fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return out

    return run


def bench_defaults(device: torch.device, size: int, repeats: int) -> None:
    """Output MP/s of every shipped default model through the pipeline (target on CPU: x4 >= 1 output MP/s),
    against the old shallow default's size (SRVGGNetCompact 48x4, nearest skip) measured in the same run."""
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    peer = build_arch("srvggnet-compact", scale=4, num_feat=48, num_conv=4).eval().to(device)
    peer_model = SRModel(module=peer, scale=4, name="srvgg 48x4 (old default)", arch="srvgg", source="")
    print(f"\nshipped default models, {size}x{size} input, {device}: output MP/s")
    models = [peer_model]
    for scale in (2, 4):
        try:
            models.append(load_sr_model("default", device, scale))
        except RealSRError as exc:
            print(f"  x{scale}: not installed ({exc})")
    peer_mps = None
    for model in models:
        up = Upscaler([model], device, UpscaleOptions(tile=0, precision="fp32", batch=1))
        up.upscale_tensor(x)
        mps = (size * model.scale) ** 2 / 1e6 / _time(lambda: up.upscale_tensor(x), repeats)  # noqa: B023
        peer_mps = peer_mps or mps
        target = " (target >= 1)" if model.scale == 4 and model is not peer_model else ""
        ratio = f"{mps / peer_mps:.2f}x the old default"
        print(f"  {model.name} x{model.scale} ({model.arch}): {mps:.2f} output MP/s, {ratio}{target}", flush=True)


def main() -> None:
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    torch.set_grad_enabled(False)
    small = int(os.environ.get("REALSR_BENCH_SMALL_SIZE", 1024 if cuda else 320))
    rrdb = int(os.environ.get("REALSR_BENCH_RRDB_SIZE", 512 if cuda else 64))
    rrdb_tile = int(os.environ.get("REALSR_BENCH_RRDB_TILE", 256 if cuda else 32))
    repeats = 3 if cuda else 2
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device {device}")
    bench_defaults(device, 256, repeats)
    bench_model(_small_model(device), small, 256, device, repeats)
    bench_model(_rrdb(device), rrdb, rrdb_tile, device, repeats)
    torch.set_grad_enabled(True)


if __name__ == "__main__":
    main()
