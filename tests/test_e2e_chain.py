"""CI-sized end-to-end chain (issue 9): hidden camera -> learn-degradation -> make-pairs -> train-sr -> upscale -> score."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from realsr_cli.io.images import read_image, write_image
from tests.conftest import synthetic_image

CAMERA = """kind: degradation
steps:
  - op: blur
    kernel: {type: aniso, size: 11, sigma_x: 1.6, sigma_y: 0.8, theta: 0.5}
  - {op: resize, size: lr, method: matlab}
  - {op: noise, type: gaussian, sigma: 4, gray: 0.0}
"""


def _folder(path: Path, seeds: range, h: int, w: int) -> Path:
    path.mkdir(parents=True)
    for s in seeds:
        write_image(path / f"im{s:02d}.png", synthetic_image(h, w, seed=s))
    return path


def test_e2e_chain(tmp_path: Path, cli) -> None:
    camera = tmp_path / "camera.yaml"
    camera.write_text(CAMERA)
    src_hr = _folder(tmp_path / "src_hr", range(0, 2), 160, 160)
    clean = _folder(tmp_path / "clean", range(10, 14), 64, 64)
    test_hr = _folder(tmp_path / "test_hr", range(20, 22), 48, 48)

    # 1. the hidden "camera": degraded source photos and a degraded held-out set
    for src, out in ((src_hr, "src"), (test_hr, "test_lr")):
        r = cli("degrade", src, tmp_path / out, "-s", "2", "--preset", camera, "--seed", "1", "-q")
        assert r.exit_code == 0, r.output
    for p in sorted((tmp_path / "test_lr").glob("*.png")):
        assert read_image(p).pixels.shape == (24, 24, 3)

    # 2. learn the degradation from the source photos alone
    learned = tmp_path / "learned"
    r = cli(
        "learn-degradation",
        tmp_path / "src",
        "-o",
        learned,
        "-s",
        "2",
        "-m",
        "kernelgan,noise",
        "--iters",
        "20",
        "--noise-rule",
        "realsr",
        "--noise-window",
        "8",
        "--noise-stride",
        "8",
        "--noise-max-var",
        "1000",
        "--noise-min-mean",
        "0",
        "--seed",
        "0",
        "-q",
    )
    assert r.exit_code == 0, r.output
    kernels = sorted((learned / "kernels").glob("*_kernel_x2.npy"))
    assert [k.name for k in kernels] == ["camera_kernel_x2.npy"]  # one kernel for the camera (issue 13)
    for k in kernels:
        arr = np.load(k)
        assert arr.ndim == 2 and arr.shape[0] == arr.shape[1]
        assert math.isclose(float(arr.sum()), 1.0, rel_tol=1e-3)
    assert len(list((learned / "noise").glob("*.png"))) > 0

    # 3. LR/HR pairs from other clean images with the learned kernels + noise
    pairs = tmp_path / "pairs"
    r = cli(
        "make-pairs",
        clean,
        "-o",
        pairs,
        "-s",
        "2",
        "--kernels",
        learned / "kernels",
        "--noise-patches",
        learned / "noise",
        "--patch-size",
        "32",
        "--stride",
        "32",
        "--seed",
        "0",
        "-q",
    )
    assert r.exit_code == 0, r.output
    lines = [json.loads(x) for x in (pairs / "pairs.jsonl").read_text().splitlines() if x.strip()]
    assert len(lines) == 16  # 4 images x (2 x 2) patches of 32 px
    for rec in lines[:3]:
        hr = read_image(pairs / "hr" / f"{rec['stem']}.png").pixels
        lr = read_image(pairs / "lr" / f"{rec['stem']}.png").pixels
        assert hr.shape == (32, 32, 3) and lr.shape == (16, 16, 3)

    # 4. a tiny SR model
    run = tmp_path / "run"
    r = cli(
        "train-sr",
        pairs,
        "-o",
        run,
        "-s",
        "2",
        "--arch",
        "srvggnet-compact",
        "--set",
        "arch_args={num_feat: 8, num_conv: 2}",
        "--iters",
        "10",
        "--batch-size",
        "2",
        "--patch-size",
        "32",
        "--workers",
        "0",
        "--seed",
        "0",
        "--device",
        "cpu",
        "-q",
    )
    assert r.exit_code == 0, r.output
    assert (run / "model.pt").is_file()

    # 5. upscale the held-out degraded set, 6. score it against its GT
    sr = tmp_path / "sr"
    r = cli("upscale", tmp_path / "test_lr", sr, "-s", "2", "--model", run / "model.pt", "--device", "cpu", "-q")
    assert r.exit_code == 0, r.output
    outs = sorted(sr.glob("*.png"))
    assert [p.stem for p in outs] == ["im20", "im21"]
    assert all(read_image(p).pixels.shape == (48, 48, 3) for p in outs)
    r = cli("score", sr, "--gt", test_hr, "--metrics", "psnr,ssim", "--json", tmp_path / "score.json", "-q")
    assert r.exit_code == 0, r.output
    text = (tmp_path / "score.json").read_text()
    assert "psnr" in text and "ssim" in text
    data = json.loads(text)
    nums = [v for v in _numbers(data, ("psnr", "ssim"))]
    assert nums and all(math.isfinite(v) for v in nums)


def _numbers(obj, keys):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in keys and isinstance(v, (int, float)):
                yield float(v)
            else:
                yield from _numbers(v, keys)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v, keys)
