"""A side-by-side comparison figure: the same crop of several SR results (and the ground truth), labelled.

Usage: figure.py OUT.png --box TOP,LEFT,SIZE [--zoom 2] LABEL=IMAGE [LABEL=IMAGE ...]. Every image must have the
same size (SR outputs of one input, or its HR); the SIZE x SIZE crop at (TOP, LEFT) of each is enlarged by
nearest-neighbour ``--zoom`` (so pixels stay visible) and laid out left to right under its label, as papers in
this field show results.
"""

from __future__ import annotations

import argparse
import sys

import cv2
import numpy as np

from realsr_cli.io.images import read_image, write_image

LABEL_HEIGHT = 28
GAP = 6


def labelled_crop(pixels: np.ndarray, box: tuple[int, int, int], zoom: int, label: str) -> np.ndarray:
    top, left, size = box
    crop = pixels[top : top + size, left : left + size, :3]
    if crop.dtype == np.uint16:
        crop = (crop // 257).astype(np.uint8)
    crop = np.repeat(np.repeat(crop, zoom, 0), zoom, 1)
    bar = np.full((LABEL_HEIGHT, crop.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, label, (4, LABEL_HEIGHT - 9), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, crop], 0)


def compose(panels: list[np.ndarray]) -> np.ndarray:
    height = max(p.shape[0] for p in panels)
    gap = np.full((height, GAP, 3), 255, np.uint8)
    row = []
    for panel in panels:
        row += [panel, gap]
    return np.concatenate(row[:-1], 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--box", required=True, help="TOP,LEFT,SIZE of the crop in output pixels")
    parser.add_argument("--zoom", type=int, default=2)
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("images", nargs="+", metavar="LABEL=IMAGE")
    args = parser.parse_args(argv)
    top, left, size = (int(v) for v in args.box.split(","))
    panels, shape = [], None
    for spec in args.images:
        label, _, path = spec.partition("=")
        pixels = read_image(path).pixels
        pixels = np.repeat(pixels[:, :, None], 3, 2) if pixels.ndim == 2 else pixels
        if shape is not None and pixels.shape[:2] != shape:
            print(f"{path}: {pixels.shape[1]}x{pixels.shape[0]}, not the first image's size", file=sys.stderr)
            return 1
        shape = pixels.shape[:2]
        if top + size > shape[0] or left + size > shape[1]:
            print(f"{path}: the box {args.box} does not fit in {shape[1]}x{shape[0]}", file=sys.stderr)
            return 1
        panels.append(labelled_crop(pixels, (top, left, size), args.zoom, label))
    write_image(args.out, compose(panels), overwrite=args.overwrite)
    return 0


if __name__ == "__main__":
    sys.exit(main())
