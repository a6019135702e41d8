"""Runtime and peak memory of real forward passes, as the AIM 2020 Efficient SR challenge measured them.

Runtime: warm-up forward(s) first, then ``runs`` consecutive passes over all inputs; each pass gives the mean seconds
per image and the best (minimum) pass is reported; CUDA is synchronised before reading the clock.
Memory: on CUDA ``torch.cuda.max_memory_allocated`` over the timed passes (the challenge's number); on CPU the peak
resident set size (RSS: Linux's peak counter ``VmHWM``, reset before the passes, with /proc/self/statm sampled every
millisecond in a thread beside it, and ``ru_maxrss`` where neither exists) during the timed passes, reported together with its increase over the RSS just before them.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import cast

import torch
from torch import nn

from realsr_cli.errors import InputError


@dataclass
class Timing:
    seconds_per_image: float  # best of the passes
    pass_seconds: list[float]  # mean seconds per image of each pass
    memory_bytes: int  # CUDA max allocated, or CPU peak RSS
    memory_increase_bytes: int  # CPU: peak RSS minus RSS before the timed passes; CUDA: same as memory_bytes
    memory_kind: str  # "cuda_max_allocated" | "cpu_peak_rss"
    device: str

    def as_dict(self) -> dict:
        return asdict(self)


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _reset_high_water() -> bool:
    """Reset Linux's peak-RSS counter (``VmHWM``) to the current RSS (``/proc/self/clear_refs`` 5); False where
    that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _high_water() -> int:
    """The peak RSS since the last reset (``VmHWM``), in bytes; 0 where unknown."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


class RSSPeak:
    """Context manager measuring this process's peak RSS over its block; ``.peak`` and ``.baseline`` in bytes.

    On Linux the kernel's own high-water mark, reset on entry, gives the exact peak; a background thread also
    samples the RSS every ``interval`` s (the only measure elsewhere; a transient allocation made inside one C call
    that holds the GIL can slip between its samples)."""

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.baseline = self.peak = 0
        self._exact = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            self._stop.wait(self.interval)

    def __enter__(self) -> RSSPeak:
        self._exact = _reset_high_water()
        self.baseline = self.peak = _rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes(), _high_water() if self._exact else 0)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def prepare(
    model: nn.Module, device: torch.device, half: bool = False, channels_last: bool = False, compile: bool = False
) -> nn.Module:
    """Move/cast the model for timing; ``half`` needs CUDA (CPU fp16 convs are not a meaningful timing)."""
    if half and device.type != "cuda":
        raise InputError("--half needs a CUDA device (fp16 convolutions on the CPU are not representative)")
    model = model.to(device).eval()
    if half:
        model = model.half()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    if compile:  # a compiled module is an nn.Module (OptimizedModule); torch types it as a callable
        model = cast(nn.Module, torch.compile(model))
    return model


def measure(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    device: torch.device,
    runs: int = 3,
    warmup: int = 1,
    half: bool = False,
    channels_last: bool = False,
) -> Timing:
    """Best-of-``runs`` mean seconds per image over ``inputs`` (each (1,C,H,W) in [0,1]) and the peak memory."""
    if runs < 1 or not inputs:
        raise InputError("need at least one run and one input image to time")
    dtype = torch.float16 if half else torch.float32
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    batch = [x.to(device=device, dtype=dtype).contiguous(memory_format=fmt) for x in inputs]
    passes: list[float] = []
    with torch.inference_mode():
        for _ in range(max(warmup, 0)):
            model(batch[0])
        _sync(device)
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            base = torch.cuda.memory_allocated(device)
        with RSSPeak() as rss:
            for _ in range(runs):
                _sync(device)
                start = time.perf_counter()
                for x in batch:
                    model(x)
                _sync(device)
                passes.append((time.perf_counter() - start) / len(batch))
    if device.type == "cuda":
        peak = int(torch.cuda.max_memory_allocated(device))
        return Timing(min(passes), passes, peak, peak - int(base), "cuda_max_allocated", str(device))
    return Timing(min(passes), passes, int(rss.peak), int(rss.peak - rss.baseline), "cpu_peak_rss", str(device))
