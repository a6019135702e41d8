"""train-sr building blocks: schedules, EMA, unsharp masking, configuration merging."""

from __future__ import annotations

import math

import pytest
import torch

from realsr_cli.errors import PresetError
from realsr_cli.train import load_train_config
from realsr_cli.train.ema import ModelEMA
from realsr_cli.train.schedules import build_scheduler
from realsr_cli.train.usm import usm_sharp


def _lrs(cfg: dict, steps: int, base: float = 1.0) -> list[float]:
    opt = torch.optim.Adam(torch.nn.Linear(1, 1).parameters(), lr=base)
    sched = build_scheduler(opt, cfg)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_cosine_restart_matches_sgdr_formula():
    cfg = {"type": "cosine_restart", "periods": [4, 6], "restart_weights": [1.0, 0.5], "eta_min": 0.1}
    got = _lrs(cfg, 11, base=2.0)

    def expected(t: int) -> float:
        if t <= 4:
            return 0.1 + 0.5 * (2.0 - 0.1) * (1 + math.cos(math.pi * t / 4))
        return 0.1 + 0.5 * 0.5 * (2.0 - 0.1) * (1 + math.cos(math.pi * (t - 4) / 6))

    assert got == pytest.approx([expected(t) for t in range(11)], abs=1e-9)


def test_multistep_halves_at_milestones():
    assert _lrs({"type": "multistep", "milestones": [2, 4], "gamma": 0.5}, 6) == [1, 1, 0.5, 0.5, 0.25, 0.25]


def test_ema_update_formula():
    model = torch.nn.Linear(2, 2)
    ema = ModelEMA(model, 0.9)
    old = ema.model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)
    assert torch.allclose(ema.model.weight, 0.9 * old + 0.1 * model.weight)
    assert not ema.model.weight.requires_grad


def test_usm_sharpens_edges_and_keeps_flat_areas():
    img = torch.full((1, 3, 64, 64), 0.3)
    img[..., 32:] = 0.7
    out = usm_sharp(img)
    assert torch.allclose(out[..., :, :8], img[..., :, :8], atol=1e-4)  # far from the edge: unchanged
    assert out[..., 0, 0, 31] < 0.3 and out[..., 0, 0, 32] > 0.7  # overshoot on both sides of the edge
    assert out.min() >= 0 and out.max() <= 1


def test_config_overrides_and_errors():
    cfg = load_train_config("esrgan", {"arch": "msrresnet", "train.iters": 5}, ["train.lr=3e-5", "losses.gan.weight=0"])
    assert cfg["arch"] == "msrresnet" and cfg["arch_args"] == {} and cfg["train"]["iters"] == 5
    assert cfg["train"]["lr"] == 3e-5 and cfg["losses"]["gan"]["weight"] == 0
    assert cfg["losses"]["perceptual"]["layers"] == {"conv5_4": 1.0}
    with pytest.raises(PresetError, match="multiple of the scale"):
        load_train_config("msrresnet", {"data.patch_size": 30})
    with pytest.raises(PresetError, match="unknown train preset"):
        load_train_config("no-such-preset")
    with pytest.raises(PresetError, match="amp"):
        load_train_config("msrresnet", sets=["train.amp=fp8"])


def test_iters_stretches_the_preset_schedule():
    """--iters N runs the preset's whole schedule in N iterations; an explicit --set still wins."""
    cfg = load_train_config("msrresnet", {"train.iters": 1000})
    assert cfg["train"]["iters"] == 1000
    assert cfg["train"]["scheduler"]["periods"] == [250, 250, 250, 250]
    cfg = load_train_config("esrgan", {"train.iters": 4000})
    assert cfg["train"]["scheduler"]["milestones"] == [500, 1000, 2000, 3000]
    cfg = load_train_config("rfdn", {"train.iters": 1200})
    assert cfg["train"]["finetune"]["start_iter"] == 1000
    cfg = load_train_config("msrresnet", {"train.iters": 10})
    assert sum(cfg["train"]["scheduler"]["periods"]) == 10 and min(cfg["train"]["scheduler"]["periods"]) >= 1
    cfg = load_train_config("default-x4", {"train.iters": 1500}, ["train.scheduler.periods=[600]"])
    assert cfg["train"]["scheduler"]["periods"] == [600]
    cfg = load_train_config("msrresnet", sets=["train.iters=1000"])  # BasicSR semantics: schedule untouched
    assert cfg["train"]["scheduler"]["periods"] == [250000] * 4
