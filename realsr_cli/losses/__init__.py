"""Training losses for SR networks (BasicSR-style): pixel, SSIM/MS-SSIM, VGG perceptual, adversarial.

``build_losses(cfg)`` turns the ``losses:`` section of a train preset into weighted loss objects.
"""

from realsr_cli.losses.adversarial import GAN_TYPES, AdversarialLoss
from realsr_cli.losses.builder import LossSet, build_losses
from realsr_cli.losses.perceptual import PerceptualLoss, VGGFeatureExtractor, load_vgg_features
from realsr_cli.losses.pixel import CharbonnierLoss, L1Loss, MSELoss, pixel_loss
from realsr_cli.losses.ssim import MSSSIMLoss, SSIMLoss, ms_ssim

__all__ = [
    "GAN_TYPES",
    "AdversarialLoss",
    "CharbonnierLoss",
    "L1Loss",
    "LossSet",
    "MSELoss",
    "MSSSIMLoss",
    "PerceptualLoss",
    "SSIMLoss",
    "VGGFeatureExtractor",
    "build_losses",
    "load_vgg_features",
    "ms_ssim",
    "pixel_loss",
]
