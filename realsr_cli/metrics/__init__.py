"""Image quality metrics: full-reference (PSNR, SSIM, LPIPS) and no-reference (NIQE, BRISQUE, PIQE).

Every metric takes float tensors (B, C, H, W) in [0, 1], RGB, and returns one value per image.
"""

from realsr_cli.metrics.full_reference import aim2020_score, psnr, rgb_to_y, ssim

__all__ = ["aim2020_score", "psnr", "rgb_to_y", "ssim"]
