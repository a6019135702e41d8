"""``realsr degrade``: outputs, manifest replay, determinism, 16-bit/alpha/gray, failures, learned models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from realsr_cli.degradations.pipeline import Degradation, replay
from realsr_cli.degradations.resize import imresize
from realsr_cli.degradations.run import read_manifest
from realsr_cli.io.images import from_float, read_image, to_float, write_image
from tests.conftest import synthetic_image


def _tensor(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(to_float(pixels)).permute(2, 0, 1)[None]


@pytest.fixture
def hr_folder(tmp_path):
    folder = tmp_path / "hr"
    folder.mkdir()
    write_image(folder / "a.png", synthetic_image(32, 48, seed=1))
    write_image(folder / "b.jpg", synthetic_image(40, 36, seed=2))
    return folder


def test_degrade_generic_manifest_replays_exactly(cli, hr_folder, tmp_path):
    out = tmp_path / "lr"
    result = cli("degrade", hr_folder, out, "-s", "4", "--preset", "generic", "--seed", "7", "-q")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png", "degradations.jsonl"]
    lines = read_manifest(out / "degradations.jsonl")
    assert [line["output"] for line in lines] == ["a.png", "b.png"]
    for line in lines:
        hr = read_image(line["input"]).pixels
        lr = read_image(out / line["output"]).pixels
        assert lr.shape == (-(-hr.shape[0] // 4), -(-hr.shape[1] // 4), 3)
        deg = Degradation.from_preset(line["params"]["preset"])
        again = deg.apply(_tensor(hr), line["params"])[0].permute(1, 2, 0).numpy()
        np.testing.assert_array_equal(from_float(again, np.uint8), lr)
        np.testing.assert_array_equal(from_float(replay(_tensor(hr), line["params"])[0].permute(1, 2, 0).numpy()), lr)


def test_same_seed_same_bytes(cli, hr_folder, tmp_path):
    for name, seed in (("one", 5), ("two", 5), ("three", 6)):
        assert cli("degrade", hr_folder, tmp_path / name, "-p", "realesrgan", "--seed", seed, "-q").exit_code == 0
    one, two, three = ((tmp_path / n / "a.png").read_bytes() for n in ("one", "two", "three"))
    assert one == two and one != three
    assert (tmp_path / "one/degradations.jsonl").read_bytes() == (tmp_path / "two/degradations.jsonl").read_bytes()


def test_sixteen_bit_alpha_and_gray(cli, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rgba = synthetic_image(24, 32, 4, np.uint16, seed=3)
    write_image(src / "rgba16.png", rgba)
    write_image(src / "gray.png", synthetic_image(24, 32, 1, seed=4))
    out = tmp_path / "out"
    assert cli("degrade", src, out, "-s", "2", "-p", "bicubic", "-q").exit_code == 0
    lr = read_image(out / "rgba16.png").pixels
    assert lr.dtype == np.uint16 and lr.shape == (12, 16, 4)
    expected = imresize(_tensor(rgba), scale=0.5)[0].permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(lr, from_float(expected, np.uint16))
    gray = read_image(out / "gray.png").pixels
    assert gray.dtype == np.uint8 and gray.shape == (12, 16, 1)
    # WebP cannot hold 16 bits: 8-bit output
    result = cli("degrade", src / "rgba16.png", tmp_path / "jpg", "-s", "2", "-p", "bicubic", "--ext", "webp", "-q")
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "jpg" / "rgba16.webp").pixels.dtype == np.uint8


def test_corrupt_file_and_existing_outputs(cli, hr_folder, tmp_path):
    (hr_folder / "broken.png").write_bytes(b"\x89PNG not really")
    out = tmp_path / "lr"
    result = cli("degrade", hr_folder, out, "-p", "bicubic", "-q")
    assert result.exit_code == 1
    assert "broken.png" in result.output and "1 of 3" in result.output
    assert (out / "a.png").is_file() and len(read_manifest(out / "degradations.jsonl")) == 2
    again = cli("degrade", hr_folder / "a.png", out, "-p", "bicubic", "-q")
    assert again.exit_code == 1 and "--overwrite" in again.output
    assert cli("degrade", hr_folder / "a.png", out, "-p", "bicubic", "-q", "--overwrite").exit_code == 0
    assert cli("degrade", hr_folder, tmp_path / "x", "-p", "no-such", "-q").exit_code == 1


def test_kernel_noise_cli_and_json(cli, hr_folder, tmp_path):
    from scipy.io import savemat

    from realsr_cli.degradations.kernels import gaussian_kernel

    kdir = tmp_path / "k" / "results" / "img"
    kdir.mkdir(parents=True)
    savemat(kdir / "img_kernel_x2.mat", {"Kernel": gaussian_kernel(13, 1.3)})
    ndir = tmp_path / "noise"
    ndir.mkdir()
    write_image(ndir / "n.png", synthetic_image(8, 8, seed=9))
    report = tmp_path / "r.json"
    result = cli(
        "degrade", hr_folder, tmp_path / "lr", "-s", "2", "-p", "kernel-noise",
        "--kernels", tmp_path / "k", "--noise-patches", ndir, "--json", report, "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    ops = data["outputs"][0]["params"]["ops"]
    assert ops[0]["kernel_file"].endswith("img_kernel_x2.mat") and ops[1]["file"].endswith("n.png")
    missing = cli("degrade", hr_folder, tmp_path / "lr2", "-s", "2", "-p", "kernel-noise", "-q")
    assert missing.exit_code == 1 and "--kernels" in missing.output


def test_learned_degradation_model(cli, hr_folder, tmp_path):
    lm = pytest.importorskip("realsr_cli.degradations.learned_model")
    torch.manual_seed(0)
    gen = lm.DSGANGenerator(n_res_blocks=1, channels=4)
    model_file = tmp_path / "degradation.pt"
    lm.save_degradation_model(model_file, gen, method="dsgan", arch_args={"n_res_blocks": 1, "channels": 4}, scale=4)
    out = tmp_path / "lr"
    result = cli("degrade", hr_folder / "a.png", out, "--degradation-model", model_file, "-q")
    assert result.exit_code == 0, result.output
    hr = read_image(hr_folder / "a.png").pixels
    with torch.no_grad():
        expected = gen(imresize(_tensor(hr), scale=0.25)).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(read_image(out / "a.png").pixels, from_float(expected, np.uint8))
    both = cli("degrade", hr_folder, tmp_path / "x", "-p", "generic", "--degradation-model", model_file, "-q")
    assert both.exit_code == 1
