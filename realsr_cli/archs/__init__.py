"""Model zoo: SR networks and discriminators, registered by name in :mod:`realsr_cli.archs.registry`."""

from realsr_cli.archs.registry import (
    REGISTRY,
    ArchSpec,
    arch_args,
    arch_spec,
    build_arch,
    canonical_name,
    detect_arch,
    list_archs,
)

__all__ = [
    "REGISTRY",
    "ArchSpec",
    "arch_args",
    "arch_spec",
    "build_arch",
    "canonical_name",
    "detect_arch",
    "list_archs",
]
