"""MATLAB-exact imresize against a separate loop-based implementation and hand-computed values; other resizers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from realsr_cli.degradations.resize import RESIZE_METHODS, imresize, resize


def _keys(t: float) -> float:
    t = abs(t)
    if t <= 1:
        return 1.5 * t**3 - 2.5 * t**2 + 1
    if t <= 2:
        return -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2
    return 0.0


def _reflect(i: int, n: int) -> int:
    """Symmetric padding (edge repeated): ... 1 0 | 0 1 2 ... n-1 | n-1 n-2 ..."""
    while i < 0 or i >= n:
        i = -i - 1 if i < 0 else 2 * n - 1 - i
    return i


def _resize_1d_loop(row: np.ndarray, out_len: int, scale: float) -> np.ndarray:
    """Straightforward MATLAB imresize along one axis, one output pixel at a time (0-based coordinates)."""
    n = len(row)
    support = 2.0 / scale if scale < 1 else 2.0
    out = np.zeros(out_len)
    for j in range(out_len):
        centre = (j + 0.5) / scale - 0.5
        total, acc = 0.0, 0.0
        for i in range(math.floor(centre - support) - 1, math.ceil(centre + support) + 2):
            d = centre - i
            w = scale * _keys(d * scale) if scale < 1 else _keys(d)
            total += w
            acc += w * row[_reflect(i, n)]
        out[j] = acc / total
    return out


def _imresize_loop(img: np.ndarray, scale_h: float, scale_w: float, out_h: int, out_w: int) -> np.ndarray:
    tmp = np.stack([_resize_1d_loop(img[:, c], out_h, scale_h) for c in range(img.shape[1])], axis=1)
    return np.stack([_resize_1d_loop(tmp[r], out_w, scale_w) for r in range(out_h)], axis=0)


@pytest.mark.parametrize("scale", [0.25, 1 / 3, 0.5, 0.8, 2.0, 3.0])
def test_imresize_matches_loop_reference(scale):
    rng = np.random.default_rng(1)
    img = rng.random((13, 17))
    out_h, out_w = math.ceil(13 * scale - 1e-9), math.ceil(17 * scale - 1e-9)
    expected = _imresize_loop(img, scale, scale, out_h, out_w)
    got = imresize(torch.from_numpy(img)[None, None], scale=scale)[0, 0].numpy()
    assert got.shape == (out_h, out_w)
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_imresize_size_argument_and_float32_batch():
    rng = np.random.default_rng(2)
    img = rng.random((2, 3, 12, 10)).astype(np.float32)
    got = imresize(torch.from_numpy(img), size=(5, 7))
    assert got.shape == (2, 3, 5, 7) and got.dtype == torch.float32
    expected = _imresize_loop(img[1, 2].astype(np.float64), 5 / 12, 7 / 10, 5, 7)
    np.testing.assert_allclose(got[1, 2].numpy(), expected, atol=1e-5)
    assert imresize(torch.from_numpy(img[0]), size=(5, 7)).shape == (3, 5, 7)


def test_imresize_hand_values():
    # [0 1] upscaled x2: centres 0.75, 1.25, 1.75, 2.25 (1-based); Keys a=-0.5 weights by hand, mirrored borders.
    got = imresize(torch.tensor([[[[0.0, 1.0]]]], dtype=torch.float64), size=(1, 4))[0, 0, 0].numpy()
    np.testing.assert_allclose(got, [-0.09375, 0.203125, 0.796875, 1.09375], atol=1e-12)
    # A ramp 1..16 halved: output j is centred at 2j + 1.5 and, away from borders, equals it (symmetric kernel).
    ramp = torch.arange(1, 17, dtype=torch.float64).repeat(4, 1)[None, None]
    half = imresize(ramp, scale=0.5)[0, 0, 0].numpy()
    np.testing.assert_allclose(half[2:6], [5.5, 7.5, 9.5, 11.5], atol=1e-12)
    # Constants stay constant; output size is ceil(in * scale).
    const = torch.full((1, 1, 7, 9), 0.3, dtype=torch.float64)
    out = imresize(const, scale=0.25)
    assert out.shape[-2:] == (2, 3)
    np.testing.assert_allclose(out.numpy(), 0.3, atol=1e-12)
    assert imresize(torch.zeros(1, 1, 30, 30), scale=0.1).shape[-2:] == (3, 3)


@pytest.mark.parametrize("method", RESIZE_METHODS)
def test_resize_methods_shapes_and_constants(method):
    x = torch.full((2, 3, 24, 20), 0.6)
    for size in [(6, 5), (48, 40), (10, 33)]:
        out = resize(x, size, method)
        assert out.shape == (2, 3, *size)
        torch.testing.assert_close(out, torch.full_like(out, 0.6), atol=1e-5, rtol=0)


def test_resize_nearest_and_area_semantics():
    x = torch.arange(16, dtype=torch.float32).reshape(1, 1, 4, 4)
    # nearest (OpenCV/PyTorch): src = floor(dst * 2)
    np.testing.assert_array_equal(resize(x, (2, 2), "nearest")[0, 0].numpy(), [[0, 2], [8, 10]])
    np.testing.assert_allclose(resize(x, (2, 2), "area")[0, 0].numpy(), [[2.5, 4.5], [10.5, 12.5]])
    with pytest.raises(ValueError):
        resize(x, (2, 2), "cubic-spline")


def test_resize_methods_agree_with_opencv_and_pillow():
    import cv2
    from PIL import Image

    rng = np.random.default_rng(3)
    img = rng.random((40, 56)).astype(np.float32)
    x = torch.from_numpy(img)[None, None]
    for method, flag in (("bilinear", cv2.INTER_LINEAR), ("area", cv2.INTER_AREA), ("nearest", cv2.INTER_NEAREST)):
        ours = resize(x, (10, 14), method)[0, 0].numpy()
        np.testing.assert_allclose(ours, cv2.resize(img, (14, 10), interpolation=flag), atol=1e-5, err_msg=method)
    up = resize(x, (80, 112), "bicubic")[0, 0].numpy()  # a = -0.75 as OpenCV; borders differ (clamp vs reflect)
    np.testing.assert_allclose(
        up[4:-4, 4:-4], cv2.resize(img, (112, 80), interpolation=cv2.INTER_CUBIC)[4:-4, 4:-4], atol=1e-5
    )
    lanczos = resize(x, (20, 28), "lanczos")[0, 0].numpy()  # Pillow's antialiased Lanczos-3, away from the borders
    pil = np.asarray(Image.fromarray(img, mode="F").resize((28, 20), Image.LANCZOS))
    np.testing.assert_allclose(lanczos[4:-4, 4:-4], pil[4:-4, 4:-4], atol=1e-4)


@pytest.mark.parametrize("shape,scale", [((150, 5), 0.5), ((70, 3), 2.0), ((3, 200), 0.3)])
def test_imresize_long_axes_span_several_bands(shape, scale):
    img = np.random.default_rng(4).random(shape)
    out_h, out_w = math.ceil(shape[0] * scale - 1e-9), math.ceil(shape[1] * scale - 1e-9)
    expected = _imresize_loop(img, scale, scale, out_h, out_w)
    got = imresize(torch.from_numpy(img)[None, None], scale=scale)[0, 0].numpy()
    np.testing.assert_allclose(got, expected, atol=1e-10)
