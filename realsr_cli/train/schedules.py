"""Learning-rate schedules of the presets: multi-step decay and cosine annealing with restarts.

``CosineAnnealingRestartLR`` follows BasicSR (basicsr/models/lr_scheduler.py; Loshchilov & Hutter, SGDR,
ICLR 2017): periods ``[T_1, T_2, ...]``, restart weights ``[w_1, ...]`` and ``eta_min``;
``lr = eta_min + w_i * (base_lr - eta_min) * (1 + cos(pi * t / T_i)) / 2`` inside period ``i``.
"""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, MultiStepLR


class CosineAnnealingRestartLR(LRScheduler):
    def __init__(
        self,
        optimizer: Optimizer,
        periods: list[int],
        restart_weights: list[float] | None = None,
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        self.periods = [int(p) for p in periods]
        self.restart_weights = [float(w) for w in (restart_weights or [1.0] * len(self.periods))]
        if len(self.periods) != len(self.restart_weights) or not self.periods:
            raise ValueError("periods and restart_weights must be non-empty and of the same length")
        self.eta_min = float(eta_min)
        self.cumulative = [sum(self.periods[: i + 1]) for i in range(len(self.periods))]
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float | Tensor]:
        step = self.last_epoch
        index = next((i for i, c in enumerate(self.cumulative) if step <= c), len(self.periods) - 1)
        start = self.cumulative[index - 1] if index > 0 else 0
        weight, period = self.restart_weights[index], self.periods[index]
        phase = min(step - start, period) / period
        return [
            self.eta_min + weight * 0.5 * (base - self.eta_min) * (1 + math.cos(math.pi * phase))
            for base in self.base_lrs
        ]


def build_scheduler(optimizer: Optimizer, cfg: dict[str, Any] | None) -> LRScheduler:
    """``{type: multistep, milestones, gamma}`` | ``{type: cosine_restart, periods, restart_weights, eta_min}``."""
    cfg = dict(cfg or {})
    kind = cfg.get("type", "multistep")
    if kind == "cosine_restart":
        return CosineAnnealingRestartLR(optimizer, cfg["periods"], cfg.get("restart_weights"), cfg.get("eta_min", 0.0))
    if kind == "constant":
        return MultiStepLR(optimizer, milestones=[], gamma=1.0)
    return MultiStepLR(
        optimizer, milestones=[int(m) for m in cfg.get("milestones", [])], gamma=float(cfg.get("gamma", 0.5))
    )
