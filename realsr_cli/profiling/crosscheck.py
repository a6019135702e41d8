"""Independent MAC counts from fvcore and ptflops, and a plain-words account of how they differ from KAIR's rule.

- fvcore (facebookresearch/fvcore ``FlopCountAnalysis``): traces the model with ``torch.jit`` and counts per aten op;
  one "flop" per multiply-accumulate for conv/linear/matmul (no bias), plus interpolation, pooling and normalisation
  ops; activations are not counted. Tracing needs real tensors, so it runs one real forward on the profiling device.
- ptflops (sovrasov/flops-counter.pytorch, the code KAIR's rule derives from), pytorch backend with module hooks only
  (``count_functional=False``: its functional ``F.interpolate`` hook miscounts on meta tensors): conv MACs *plus bias*,
  activation/pooling/upsampling modules. Runs on the meta device.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings

import torch
from torch import nn

from realsr_cli.profiling.counting import Complexity, to_meta


def ptflops_macs(model: nn.Module, height: int, width: int, channels: int = 3) -> int | None:
    """ptflops MACs for one input, module hooks only, on the meta device (None when ptflops is unavailable)."""
    try:
        from ptflops import get_model_complexity_info
    except ImportError:
        return None
    meta = to_meta(model).eval()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        macs, _ = get_model_complexity_info(
            meta,
            (channels, height, width),
            as_strings=False,
            print_per_layer_stat=False,
            input_constructor=lambda shape: {"x": torch.empty(1, *shape, device="meta")},
            backend_specific_config={"count_functional": False},
        )
    return None if macs is None else int(macs)


def fvcore_macs(model: nn.Module, x: torch.Tensor) -> tuple[int, dict[str, int]] | None:
    """fvcore total and per-operator counts for one real forward of ``x`` (None when fvcore is unavailable)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from fvcore.nn import FlopCountAnalysis
    except ImportError:
        return None
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        analysis = FlopCountAnalysis(model.eval(), x)
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        analysis.tracer_warnings("none")
        total = int(analysis.total())
        by_op = {k: int(v) for k, v in analysis.by_operator().items()}
    return total, by_op


def explain(c: Complexity, ptflops: int | None, fvcore: tuple[int, dict[str, int]] | None) -> list[str]:
    """Lines accounting for the differences between KAIR's count and the two libraries'."""
    b = c.breakdown
    lines = [
        f"KAIR rule: conv {_m(b['conv'])} + activation modules {_m(b['activation'])}"
        + (f" + linear {_m(b['linear'])}" if b["linear"] else "")
        + (f" + batchnorm {_m(b['batchnorm'])}" if b["batchnorm"] else "")
        + f" = {_m(c.macs)} (all in MACs; FLOPs = 2 x MACs)"
    ]
    if ptflops is not None:
        rest = ptflops - c.macs - b["bias_adds"]
        lines.append(
            f"ptflops {_m(ptflops)} = KAIR + conv bias adds {_m(b['bias_adds'])}"
            + (f" + other module ops (pooling, upsampling, norms) {_m(rest)}" if rest else "")
        )
    if fvcore is not None:
        total, by_op = fvcore
        conv = by_op.get("conv", 0)
        others = "".join(f" + {k} {_m(v)}" for k, v in sorted(by_op.items()) if k != "conv")
        same = "equals" if conv == b["conv"] else "differs from"
        lines.append(
            f"fvcore {_m(total)} = conv {_m(conv)} ({same} KAIR's conv MACs){others}; "
            f"activations not counted (KAIR adds {_m(b['activation'])})"
        )
    return lines


def _m(value: int) -> str:
    return f"{value / 1e9:.3f} G" if abs(value) >= 1e8 else f"{value / 1e6:.3f} M"
