"""Determinism: global seeding and per-item random generators derived from (seed, key).

Per-item generators make results independent of processing order and of the number of workers:
the same seed and the same file name always give the same sampled degradation.
"""

from __future__ import annotations

import random
import zlib

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def stable_hash(key: str) -> int:
    return zlib.crc32(key.encode("utf-8"))


def item_rng(seed: int, *keys: str | int) -> np.random.Generator:
    """A numpy Generator that depends only on ``seed`` and ``keys`` (e.g. the image stem)."""
    entropy = [int(seed) & 0xFFFFFFFF] + [k if isinstance(k, int) else stable_hash(str(k)) for k in keys]
    return np.random.default_rng(entropy)


def torch_generator(rng: np.random.Generator, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch Generator seeded from a numpy Generator (so one seed drives both)."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(rng.integers(0, 2**63 - 1)))
    return gen
