"""Efficiency profiling with the AIM 2020 Efficient SR protocol: parameters, MACs, activations, conv layers (counted
on the meta device), fvcore/ptflops cross-checks, runtime and peak memory (real compute)."""

from realsr_cli.profiling.counting import Complexity, count_complexity

__all__ = ["Complexity", "count_complexity"]
