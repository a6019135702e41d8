"""Device selection shared by every subcommand: ``auto`` (CUDA when present), ``cpu``, ``cuda[:N]``."""

from __future__ import annotations

import torch

from realsr_cli.errors import InputError


def resolve_device(spec: str = "auto") -> torch.device:
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cpu":
        return torch.device("cpu")
    if spec == "cuda" or spec.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {spec}: CUDA is not available on this machine (use --device cpu)")
        device = torch.device(spec)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) present")
        return device
    raise InputError(f"--device {spec}: expected auto, cpu, cuda or cuda:N")
