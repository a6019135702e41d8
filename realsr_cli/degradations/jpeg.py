"""JPEG compression artefacts: encode/decode (B,C,H,W) [0, 1] tensors through OpenCV's libjpeg at a quality.

The image is rounded to 8 bits, encoded as an RGB (or gray) JPEG with 4:2:0 chroma subsampling (OpenCV's default, as
most cameras and Real-ESRGAN's DiffJPEG), decoded, and returned in [0, 1]. Not differentiable (not needed here).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch


def jpeg_roundtrip_uint8(pixels: np.ndarray, quality: int) -> np.ndarray:
    """(H, W, C) uint8 RGB or gray -> JPEG at ``quality`` -> decoded (H, W, C) uint8."""
    channels = pixels.shape[2]
    src = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if channels == 3 else pixels[:, :, 0]
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(src), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not encode a JPEG")
    flag = cv2.IMREAD_COLOR if channels == 3 else cv2.IMREAD_GRAYSCALE
    out = cv2.imdecode(buf, flag)
    if out is None:
        raise RuntimeError("OpenCV could not decode the JPEG it encoded")
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB) if channels == 3 else out[:, :, None]


def jpeg_compress(x: torch.Tensor, quality: int) -> torch.Tensor:
    """JPEG-compress every image of a (B,C,H,W) float tensor (C = 1 or 3) at an integer quality 1..100."""
    if x.shape[1] not in (1, 3):
        raise ValueError(f"JPEG needs 1 or 3 channels, got {x.shape[1]}")
    arr = (x.detach().clamp(0, 1) * 255.0).round().to("cpu", torch.uint8).permute(0, 2, 3, 1).numpy()
    out = np.stack([jpeg_roundtrip_uint8(np.ascontiguousarray(img), quality) for img in arr])
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(device=x.device, dtype=x.dtype) / 255.0
