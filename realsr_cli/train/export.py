"""Export a model file (a trained ``model.pt``, or any file ``upscale`` takes) for other tools: a plain PyTorch
state dict (``.pth``) or safetensors.

Both hold the EMA weights when present (else the raw weights) under the architecture's own key names
(BasicSR-compatible for MSRResNet/RRDBNet/SRVGGNetCompact; spandrel's for community architectures). The safetensors
header's metadata records the architecture, its arguments and the scale, which the loader reads back.
"""

from __future__ import annotations

import json
from pathlib import Path

from realsr_cli.errors import InputError
from realsr_cli.io.atomic import atomic_write_bytes, atomic_write_torch

EXPORT_FORMATS = ("state-dict", "safetensors")


def export_weights(
    model_path: str | Path, out_path: str | Path, fmt: str = "safetensors", *, overwrite: bool = True
) -> Path:
    """Write ``out_path`` from ``model_path`` (a realsr ``model.pt``, or any model file) through the output guard."""
    from realsr_cli.models.loading import load_sr_model

    if fmt not in EXPORT_FORMATS:
        raise InputError(f"--export {fmt}: expected one of {', '.join(EXPORT_FORMATS)}")
    info = load_sr_model(model_path, "cpu")
    state = {k: v.detach().contiguous().clone() for k, v in info.network.state_dict().items()}
    if fmt == "state-dict":
        return atomic_write_torch(out_path, state, overwrite=overwrite)
    from safetensors.torch import save

    meta = {"arch": info.arch, "arch_args": json.dumps(info.arch_args), "scale": str(info.scale), "format": "realsr"}
    return atomic_write_bytes(out_path, save(state, metadata=meta), overwrite=overwrite)
