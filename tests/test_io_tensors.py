"""The images <-> tensors bridge (``realsr_cli.io.tensors``): one policy for gray, alpha, 16-bit and range."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from realsr_cli.io.images import write_image
from realsr_cli.io.tensors import read_tensor, select_channels, to_pixels, to_tensor


def _pixels(channels: int, dtype=np.uint8, seed: int = 0) -> np.ndarray:
    peak = np.iinfo(dtype).max
    return np.random.default_rng(seed).integers(0, peak + 1, (5, 7, channels)).astype(dtype)


@pytest.mark.parametrize("channels, rgb, color, every", [(1, 3, 1, 1), (2, 3, 1, 2), (3, 3, 3, 3), (4, 3, 3, 4)])
def test_channel_policy(channels, rgb, color, every):
    pixels = _pixels(channels)
    assert to_tensor(pixels).shape == (1, rgb, 5, 7)
    assert to_tensor(pixels, "color").shape == (1, color, 5, 7)
    assert to_tensor(pixels, "all", batch=False).shape == (every, 5, 7)
    x = to_tensor(pixels)
    if channels in (1, 2):  # gray replicated, alpha dropped
        assert torch.equal(x[0, 0], x[0, 1]) and torch.equal(x[0, 0], x[0, 2])
        assert torch.equal(x[0, 0], torch.from_numpy(pixels[:, :, 0] / np.float32(255)))
    with pytest.raises(ValueError, match="channels"):
        select_channels(pixels, "bgr")


def test_range_by_dtype_and_16_bit_round_trip():
    eight, sixteen = _pixels(3), _pixels(3, np.uint16)
    assert float(to_tensor(np.full((2, 2, 3), 255, np.uint8)).min()) == 1.0
    assert float(to_tensor(np.full((2, 2, 3), 65535, np.uint16)).min()) == 1.0
    assert np.array_equal(to_pixels(to_tensor(eight), np.uint8), eight)
    assert np.array_equal(to_pixels(to_tensor(sixteen), np.uint16), sixteen)  # 16 bits survive
    wide = to_tensor(sixteen, dtype=torch.float64)
    assert wide.dtype == torch.float64 and torch.equal(wide[0], torch.from_numpy(sixteen / 65535.0).permute(2, 0, 1))
    floats = np.array([[[-0.5, 0.25, 2.0]]], np.float32)  # floats are clipped to [0, 1]
    assert to_tensor(floats).flatten().tolist() == [0.0, 0.25, 1.0]
    assert to_pixels(torch.tensor([[[-0.1]], [[0.5]], [[1.7]]])).flatten().tolist() == [0, 128, 255]
    with pytest.raises(ValueError, match="one image"):
        to_pixels(torch.zeros(2, 3, 4, 4))


def test_read_tensor_is_read_image_through_the_policy(tmp_path):
    pixels = _pixels(4, seed=3)
    write_image(tmp_path / "a.png", pixels)
    x = read_tensor(tmp_path / "a.png", device="cpu")
    assert x.is_contiguous() and x.dtype == torch.float32
    assert torch.equal(x, to_tensor(pixels))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_to_pixels_gives_from_floats_numbers_for_every_layout(dtype) -> None:
    from realsr_cli.io.images import from_float

    peak = np.float32(np.iinfo(dtype).max)
    x = torch.rand(1, 4, 61, 47, generator=torch.Generator().manual_seed(0)) * 1.4 - 0.2
    k = torch.arange(47, dtype=torch.float32)
    x[0, 0, 0] = (k + 0.5) / peak  # ties (x * peak == k + 0.5 in float32 for many): rounded half to even
    x[0, 1, 0, :2] = torch.tensor([float("nan"), -0.0])
    for t in (x, x.contiguous(memory_format=torch.channels_last), x[:, :1], x[:, :3], x[:, :3].half(), x[0]):
        expected = from_float(np.nan_to_num(t.float().reshape(-1, *t.shape[-3:])[0].permute(1, 2, 0).numpy()), dtype)
        got = to_pixels(t, dtype)
        assert got.dtype == dtype and got.flags.c_contiguous
        np.testing.assert_array_equal(got, expected)
