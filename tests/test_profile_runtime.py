"""Timing and memory measurement on tiny inputs (no timing assertions, only structure and units)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from realsr_cli.archs import build_arch
from realsr_cli.errors import InputError
from realsr_cli.profiling.runtime import RSSPeak, measure, prepare


def test_measure_best_of_runs_cpu():
    model = prepare(build_arch("rfdn", scale=2, nf=8, num_modules=1), torch.device("cpu"))
    inputs = [torch.rand(1, 3, 16, 16), torch.rand(1, 3, 20, 16)]
    t = measure(model, inputs, torch.device("cpu"), runs=3)
    assert len(t.pass_seconds) == 3 and t.seconds_per_image == min(t.pass_seconds) > 0
    assert t.memory_kind == "cpu_peak_rss" and t.memory_bytes > 10 * 2**20
    assert 0 <= t.memory_increase_bytes <= t.memory_bytes


def test_rss_peak_is_exact_where_linux_keeps_a_high_water_mark():
    """With a sampler that only looks at the start, only the kernel's peak counter can see the transient."""
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("no /proc/self/clear_refs (not Linux)")
    with RSSPeak(interval=60.0) as rss:
        block = np.ones(96 * 2**20, dtype=np.uint8)
        block[::4096] = 2
        del block
    assert rss.peak - rss.baseline > 64 * 2**20


def test_rss_peak_sees_a_transient_allocation():
    with RSSPeak() as rss:
        block = np.ones(96 * 2**20, dtype=np.uint8)  # 96 MiB touched, then freed
        block[::4096] = 2
        del block
    assert rss.peak - rss.baseline > 64 * 2**20


def test_half_needs_cuda_and_inputs_needed():
    model = build_arch("pan", scale=2, nf=8, unf=8, nb=1)
    with pytest.raises(InputError, match="CUDA"):
        prepare(model, torch.device("cpu"), half=True)
    with pytest.raises(InputError):
        measure(model, [], torch.device("cpu"))


def test_channels_last_runs():
    model = prepare(build_arch("imdn", scale=2, nf=8, num_modules=1), torch.device("cpu"), channels_last=True)
    t = measure(model, [torch.rand(1, 3, 16, 16)], torch.device("cpu"), runs=1, channels_last=True)
    assert t.seconds_per_image > 0
