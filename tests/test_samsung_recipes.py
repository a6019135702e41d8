"""Samsung-SLSI-MSL's recipes as published (Ren et al., CVPRW 2020): generic-set Poisson peaks, samsung-std's eta."""

from __future__ import annotations

import numpy as np
import torch

from realsr_cli.degradations.pipeline import Degradation
from realsr_cli.presets import load_preset

HR = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def _poisson_params(deg: Degradation, seed: int) -> dict | None:
    params = deg.sample(np.random.default_rng(seed), tuple(HR.shape[-2:]), 4)
    return params if params["ops"][-1]["type"] == "poisson" else None


def test_generic_poisson_peak_is_drawn_from_50_to_150_and_replays_under_its_seed():
    deg = Degradation.from_preset("generic")
    drawn = {seed: p for seed in range(120) if (p := _poisson_params(deg, seed)) is not None}
    peaks = [p["ops"][-1]["peak"] for p in drawn.values()]
    assert len(peaks) > 20 and all(50.0 <= v <= 150.0 for v in peaks)
    assert min(peaks) < 70 and max(peaks) > 130  # a range, not a fixed peak
    seed, params = next(iter(drawn.items()))
    assert _poisson_params(deg, seed) == params  # the same seed draws the same peak and noise seed
    assert torch.equal(deg.apply(HR, params), deg.apply(HR, params))  # and the same noisy image


def test_samsung_std_eta_and_its_relativistic_sibling():
    std, rel = load_preset("samsung-std", "train"), load_preset("samsung-rel", "train")
    assert std["losses"]["pixel"] == {"type": "l1", "weight": 0.005}  # the paper's eta for the standard-GAN model
    assert std["losses"]["gan"] == {"type": "standard", "weight": 0.005}
    assert rel["losses"]["pixel"]["weight"] == 0.01 and rel["losses"]["gan"]["type"] == "relativistic"
