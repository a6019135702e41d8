"""Bicubic baseline for the demo: MATLAB-exact bicubic upscaling of every LR image (usage: bicubic.py LR_DIR OUT_DIR S)."""

from __future__ import annotations

import sys
from pathlib import Path

from realsr_cli.degradations.resize import imresize
from realsr_cli.io.images import from_float, read_image, to_float, write_image


def main(lr_dir: str, out_dir: str, scale: str) -> None:
    import torch

    Path(out_dir).mkdir(parents=True, exist_ok=True)
    for p in sorted(Path(lr_dir).glob("*.png")):
        img = read_image(p).pixels
        x = torch.from_numpy(to_float(img)).permute(2, 0, 1).float()
        y = imresize(x, scale=int(scale)).clamp(0, 1).permute(1, 2, 0).numpy()
        write_image(Path(out_dir) / p.name, from_float(y, img.dtype), overwrite=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
