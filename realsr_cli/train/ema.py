"""Exponential moving average of the generator's weights (BasicSR ``model_ema``; Real-ESRGAN uses decay 0.999).

``ema = decay * ema + (1 - decay) * param`` after every optimiser step; buffers are copied.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEMA:
    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = float(decay)
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        params = dict(model.named_parameters())
        for name, ema_param in self.model.named_parameters():
            ema_param.mul_(self.decay).add_(params[name].detach(), alpha=1 - self.decay)
        buffers = dict(model.named_buffers())
        for name, ema_buf in self.model.named_buffers():
            ema_buf.copy_(buffers[name])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(state)
