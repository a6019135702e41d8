"""Optimisers of the generator and discriminator (``train.optimizer``).

``adam`` (Kingma & Ba, ICLR 2015; BasicSR's default, L2 ``weight_decay`` added to the gradient) or ``adamw``
(Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019: the decay shrinks the weights directly),
an optimiser choice of AIM 2020 Real Image SR entries (Wei et al., ECCVW 2020 report). Both take ``train.betas`` and
``train.weight_decay``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from realsr_cli.errors import PresetError

OPTIMIZERS: dict[str, type[torch.optim.Adam] | type[torch.optim.AdamW]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}


def optimizer_name(train: dict[str, Any]) -> str:
    """``train.optimizer`` (default ``adam``), checked."""
    name = str(train.get("optimizer") or "adam").lower()
    if name not in OPTIMIZERS:
        raise PresetError(f"train.optimizer {train.get('optimizer')!r}: expected {' or '.join(OPTIMIZERS)}")
    return name


def build_optimizer(params: Iterable[nn.Parameter], train: dict[str, Any], lr: float) -> torch.optim.Optimizer:
    """The configured optimiser over ``params`` at learning rate ``lr``."""
    beta1, beta2 = (float(b) for b in train["betas"])
    cls = OPTIMIZERS[optimizer_name(train)]
    return cls(params, lr=float(lr), betas=(beta1, beta2), weight_decay=float(train["weight_decay"]))
