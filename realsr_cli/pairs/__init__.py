"""Realistic LR/HR training pairs (``realsr make-pairs``): modes, cropping, manifest, workers."""

from realsr_cli.pairs.core import PairsConfig, PairsResult, make_pairs
from realsr_cli.pairs.manifest import read_manifest, regenerate_pair
from realsr_cli.pairs.modes import MODES, build_mode

__all__ = ["MODES", "PairsConfig", "PairsResult", "build_mode", "make_pairs", "read_manifest", "regenerate_pair"]
