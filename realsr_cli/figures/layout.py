"""Drawing the comparison figure papers use: the full image with a box, then the zoomed crop of each method.

Layout (8-bit RGB, white background)::

    +-----------+  +------+ +------+ +------+
    |  full     |  | crop | | crop | | crop |    crops: nearest-neighbour zoomed (pixels stay visible)
    |  image    |  +------+ +------+ +------+
    |  [box]    |  | name | | name | | name |    label strip: method name, and metrics when GT is given
    +-----------+  +------+ +------+ +------+
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from realsr_cli.io.tensors import select_channels

GAP = 8
LABEL_HEIGHT = 40
BOX_COLOUR = (255, 0, 0)
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class Box:
    """A crop rectangle in image pixels."""

    x: int
    y: int
    w: int
    h: int

    def fits(self, height: int, width: int) -> bool:
        return (
            self.w > 0
            and self.h > 0
            and self.x >= 0
            and self.y >= 0
            and self.x + self.w <= width
            and self.y + self.h <= height
        )

    def crop(self, pixels: np.ndarray) -> np.ndarray:
        return pixels[self.y : self.y + self.h, self.x : self.x + self.w]


def to_rgb8(pixels: np.ndarray) -> np.ndarray:
    """(H, W, C) any of gray / gray+alpha / RGB / RGBA, 8 or 16 bit -> (H, W, 3) uint8 RGB."""
    if pixels.dtype == np.uint16:
        pixels = (pixels.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    return np.ascontiguousarray(select_channels(pixels, "rgb"))


def zoom_to(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    return cv2.resize(pixels, (width, height), interpolation=cv2.INTER_NEAREST)


def label_strip(width: int, lines: list[str]) -> np.ndarray:
    strip = np.full((LABEL_HEIGHT, width, 3), 255, np.uint8)
    for i, text in enumerate(lines[:2]):
        scale = 0.5 if i == 0 else 0.42
        cv2.putText(strip, text, (4, 16 + 18 * i), FONT, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def draw_box(pixels: np.ndarray, box: Box, thickness: int) -> np.ndarray:
    out = pixels.copy()
    cv2.rectangle(out, (box.x, box.y), (box.x + box.w - 1, box.y + box.h - 1), BOX_COLOUR, thickness)
    return out


def _pad_to(panel: np.ndarray, height: int) -> np.ndarray:
    extra = height - panel.shape[0]
    return np.pad(panel, ((0, extra), (0, 0), (0, 0)), constant_values=255) if extra > 0 else panel


def _hstack(panels: list[np.ndarray]) -> np.ndarray:
    height = max(p.shape[0] for p in panels)
    gap = np.full((height, GAP, 3), 255, np.uint8)
    parts: list[np.ndarray] = []
    for panel in panels:
        parts += [_pad_to(panel, height), gap]
    return np.concatenate(parts[:-1], axis=1)


def crop_tile(pixels: np.ndarray, box: Box, tile: tuple[int, int], lines: list[str]) -> np.ndarray:
    """One method's crop, zoomed to ``tile`` (h, w), above its label."""
    crop = zoom_to(to_rgb8(box.crop(pixels)), *tile)
    return np.concatenate([crop, label_strip(tile[1], lines)], axis=0)


def compose(full: np.ndarray, box: Box, tiles: list[np.ndarray], columns: int) -> np.ndarray:
    """The full image (boxed, scaled to the height of the tile grid) left of the tiles in ``columns`` columns."""
    rows = [_hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    grid = np.concatenate([x for r in rows for x in (r, np.full((GAP, width, 3), 255, np.uint8))][:-1], axis=0)
    image = to_rgb8(full)
    scale = grid.shape[0] / image.shape[0]
    thickness = max(2, int(round(2 / scale)))
    boxed = draw_box(image, box, thickness)
    size = (max(1, int(round(image.shape[1] * scale))), grid.shape[0])
    left = cv2.resize(boxed, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return _hstack([left, grid])
