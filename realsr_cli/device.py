"""Device selection shared by every subcommand: ``auto`` (CUDA when present), ``cpu``, ``cuda[:N]``; and what a
device computes natively (:func:`bf16_native`)."""

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


def bf16_native(device: torch.device) -> bool:
    """True where bf16 convolutions run in hardware: CUDA with bf16, a CPU with AVX512-BF16 or AMX tiles (not
    oneDNN's own bf16 check, which plain AVX-512 passes by emulating them, no faster than fp32)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)
    return False
