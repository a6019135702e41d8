"""Adversarial losses: standard (BCE, Goodfellow et al. 2014), LSGAN (Mao et al. 2017) and the
relativistic average GAN used by ESRGAN (Jolicoeur-Martineau 2018; Wang et al. 2018).

Relativistic average, as BasicSR's ``ESRGANModel`` (basicsr/models/esrgan_model.py):
``L_G = [BCE(D(x_r) - E[D(x_f)], 0) + BCE(D(x_f) - E[D(x_r)], 1)] / 2`` with the real logits detached,
``L_D = [BCE(D(x_r) - E[D(x_f)], 1) + BCE(D(x_f) - E[D(x_r)], 0)] / 2`` with the other side's mean detached.
For the standard and LSGAN forms ``L_D`` is the sum of the real and fake terms (BasicSR ``SRGANModel``).
The loss weight multiplies the generator term only (as BasicSR's ``GANLoss(is_disc=True)``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

GAN_TYPES = ("standard", "relativistic", "lsgan")
_ALIASES = {"vanilla": "standard", "bce": "standard", "ragan": "relativistic", "relativistic_average": "relativistic"}


def _target(pred: Tensor, real: bool) -> Tensor:
    return torch.full_like(pred, 1.0 if real else 0.0)


class AdversarialLoss:
    """Generator and discriminator objectives from raw discriminator outputs (logits)."""

    def __init__(self, gan_type: str = "standard", weight: float = 1.0) -> None:
        kind = _ALIASES.get(gan_type.lower(), gan_type.lower())
        if kind not in GAN_TYPES:
            raise ValueError(f"unknown GAN type {gan_type!r} (known: {', '.join(GAN_TYPES)})")
        self.gan_type = kind
        self.weight = float(weight)

    def _crit(self, pred: Tensor, real: bool) -> Tensor:
        pred = pred.float()
        if self.gan_type == "lsgan":
            return F.mse_loss(pred, _target(pred, real))
        return F.binary_cross_entropy_with_logits(pred, _target(pred, real))

    def generator_loss(self, d_fake: Tensor, d_real: Tensor | None = None) -> Tensor:
        """Weighted generator loss; ``d_real`` (detached inside) is needed for the relativistic form."""
        if self.gan_type == "relativistic":
            if d_real is None:
                raise ValueError("the relativistic GAN loss needs D(real)")
            d_real = d_real.detach()
            loss = (self._crit(d_real - d_fake.mean(), False) + self._crit(d_fake - d_real.mean(), True)) / 2
        else:
            loss = self._crit(d_fake, True)
        return self.weight * loss

    def d_real_loss(self, d_real: Tensor, d_fake_ref: Tensor | None = None) -> Tensor:
        """Discriminator term on real images (relativistic: against the detached mean of ``d_fake_ref``)."""
        if self.gan_type == "relativistic":
            if d_fake_ref is None:
                raise ValueError("the relativistic GAN loss needs D(fake)")
            return self._crit(d_real - d_fake_ref.detach().mean(), True) / 2
        return self._crit(d_real, True)

    def d_fake_loss(self, d_fake: Tensor, d_real_ref: Tensor | None = None) -> Tensor:
        """Discriminator term on generated images (from a detached generator output)."""
        if self.gan_type == "relativistic":
            if d_real_ref is None:
                raise ValueError("the relativistic GAN loss needs D(real)")
            return self._crit(d_fake - d_real_ref.detach().mean(), False) / 2
        return self._crit(d_fake, False)

    def discriminator_loss(self, d_real: Tensor, d_fake: Tensor) -> Tensor:
        """Discriminator loss (unweighted); ``d_fake`` must come from a detached generator output."""
        return self.d_real_loss(d_real, d_fake) + self.d_fake_loss(d_fake, d_real)
