"""Precision policy: fp32 on CPU; fp16 by default on CUDA, with NaN/inf/black-output detection and retry.

Half precision roughly doubles GPU throughput for ESRGAN-style networks (Real-ESRGAN runs fp16 by default), but some
models overflow in fp16 and return NaN, inf or an all-black image; such outputs are detected and the image is run
again in bf16 (same exponent range as fp32) and then fp32.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from realsr_cli.upscale.engine import BLACK_LEVEL, problem_of  # noqa: F401 - BLACK_LEVEL importable from here

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def choose_dtype(device: torch.device, requested: str = "auto", half_ok: bool = True) -> torch.dtype:
    """``auto``: fp16 on CUDA for models that tolerate it, else fp32; explicit fp16/bf16 need CUDA."""
    if requested == "auto":
        return torch.float16 if device.type == "cuda" and half_ok else torch.float32
    if requested not in PRECISIONS:
        raise ValueError(f"unknown precision '{requested}' (expected auto, fp32, fp16 or bf16)")
    if requested != "fp32" and device.type != "cuda":
        return torch.float32
    return PRECISIONS[requested]


def fallback_chain(dtype: torch.dtype, device: torch.device) -> list[torch.dtype]:
    """The precisions to try, in order, starting with ``dtype``."""
    chain = [dtype]
    bf16_ok = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if dtype == torch.float16 and bf16_ok:
        chain.append(torch.bfloat16)
    if dtype != torch.float32:
        chain.append(torch.float32)
    return chain


def output_problem(output: torch.Tensor, inputs: torch.Tensor) -> str | None:
    """:func:`realsr_cli.upscale.engine.problem_of` a tensor output (summed in fp32 whatever its dtype)."""
    total = float(output.sum(dtype=torch.float32))
    peak = max(float(output.max()), -float(output.min())) if math.isfinite(total) else math.inf
    return problem_of(total, peak, float(inputs.max()))


def run_with_fallback(
    run: Callable[[torch.dtype], torch.Tensor],
    inputs: torch.Tensor,
    chain: list[torch.dtype],
    on_retry: Callable[[torch.dtype, str], None] | None = None,
) -> tuple[torch.Tensor, torch.dtype]:
    """Call ``run(dtype)`` along ``chain`` until the output is finite and not black; returns (output, dtype used)."""
    output = inputs
    for i, dtype in enumerate(chain):
        output = run(dtype)
        problem = output_problem(output, inputs)
        if problem is None:
            return output, dtype
        if i + 1 < len(chain) and on_retry:
            on_retry(chain[i + 1], problem)
    from realsr_cli.errors import RealSRError

    raise RealSRError(f"the model produced a {output_problem(output, inputs)} output even in {chain[-1]}")
