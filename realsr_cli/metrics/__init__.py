"""Image quality metrics: full-reference (PSNR, SSIM, LPIPS) and no-reference (NIQE, BRISQUE, PIQE).

Every metric takes float tensors (B, C, H, W) in [0, 1], RGB (or gray), and returns one value per image.
"""

from realsr_cli.metrics.brisque import brisque
from realsr_cli.metrics.full_reference import aim2020_score, psnr, rgb_to_y, ssim
from realsr_cli.metrics.niqe import niqe
from realsr_cli.metrics.perceptual import LPIPS
from realsr_cli.metrics.piqe import piqe

__all__ = ["LPIPS", "aim2020_score", "brisque", "niqe", "piqe", "psnr", "rgb_to_y", "ssim"]
