"""Patch grid, multiple-of-scale crop and flat-patch test (expected positions worked out by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from realsr_cli.errors import InputError
from realsr_cli.pairs.crop import Box, check_patch_options, is_flat, multiple_of_scale_box, patch_boxes, patch_variance


def test_multiple_of_scale_box_crops_bottom_right():
    assert multiple_of_scale_box(43, 50, 4) == Box(0, 0, 40, 48)
    assert multiple_of_scale_box(40, 48, 4) == Box(0, 0, 40, 48)
    with pytest.raises(InputError, match="smaller than the scale"):
        multiple_of_scale_box(3, 50, 4)


def test_patch_grid_shift_covers_the_border():
    boxes = patch_boxes(40, 56, patch=16, stride=16, scale=4, border="shift")
    assert sorted({b.top for b in boxes}) == [0, 16, 24]
    assert sorted({b.left for b in boxes}) == [0, 16, 32, 40]
    assert len(boxes) == 12 and all(b.height == b.width == 16 for b in boxes)
    assert max(b.top + b.height for b in boxes) == 40 and max(b.left + b.width for b in boxes) == 56


def test_patch_grid_drop_discards_the_remainder_and_overlapping_stride():
    boxes = patch_boxes(40, 56, patch=16, stride=16, scale=4, border="drop")
    assert sorted({b.top for b in boxes}) == [0, 16] and sorted({b.left for b in boxes}) == [0, 16, 32]
    overlapping = patch_boxes(24, 24, patch=16, stride=4, scale=4, border="drop")
    assert [b.left for b in overlapping[:3]] == [0, 4, 8] and len(overlapping) == 9


def test_whole_image_and_too_small_image():
    assert patch_boxes(40, 56, patch=0, stride=0, scale=4) == [Box(0, 0, 40, 56)]
    with pytest.raises(InputError, match="smaller than --patch-size 64"):
        patch_boxes(40, 56, patch=64, stride=64, scale=4)


def test_lr_box_is_hr_box_over_scale():
    assert Box(8, 12, 16, 16).scaled_down(4) == Box(2, 3, 4, 4)
    with pytest.raises(ValueError):
        Box(2, 0, 16, 16).scaled_down(4)


def test_patch_options_must_be_multiples_of_the_scale():
    assert check_patch_options(32, 0, 4) == 32
    assert check_patch_options(32, 8, 4) == 8
    with pytest.raises(InputError, match="--patch-size 30"):
        check_patch_options(30, 0, 4)
    with pytest.raises(InputError, match="--stride 6"):
        check_patch_options(32, 6, 4)
    with pytest.raises(InputError):
        check_patch_options(-1, 0, 4)


def test_flat_patch_detection():
    flat = np.full((16, 16, 3), 0.5, np.float32)
    checker = np.indices((16, 16)).sum(0)[:, :, None].repeat(3, 2) % 2 * 1.0  # variance 0.25
    assert patch_variance(checker) == pytest.approx(0.25)
    assert is_flat(flat, 1e-4) and not is_flat(checker, 1e-4)
    assert not is_flat(flat, 0.0)
