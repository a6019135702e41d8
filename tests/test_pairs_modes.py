"""make-pairs end to end on tiny synthetic images: sizes, alignment, manifest regeneration, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from realsr_cli.errors import InputError
from realsr_cli.io.images import read_image, write_image
from realsr_cli.pairs import PairsConfig, make_pairs, read_manifest, regenerate_pair
from tests.conftest import synthetic_image


def _folder(path: Path, shapes: list[tuple[int, int]], seed: int = 0, prefix: str = "im") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for i, (h, w) in enumerate(shapes):
        write_image(path / f"{prefix}{i}.png", synthetic_image(h, w, seed=seed + i))
    return path


def _pixels(path: Path) -> np.ndarray:
    return read_image(path).pixels


def _delta_kernel(size: int = 5) -> np.ndarray:
    k = np.zeros((size, size))
    k[size // 2, size // 2] = 1.0
    return k


def _aligned_box(size: int, scale: int) -> np.ndarray:
    """The sharpest x``scale``-aligned kernel: 0.25 on the 2x2 pixels around the aligned centre (issue 19)."""
    k = np.zeros((size, size))
    c = (size - 1) // 2 + (scale - 1) // 2
    k[c : c + 2, c : c + 2] = 0.25
    return k


def _box_means(hr: np.ndarray, scale: int) -> np.ndarray:
    """What ``(HR * aligned box)↓s`` gives: the mean of the 2x2 HR pixels at the centre of every s x s block."""
    o = (scale - 1) // 2
    x = hr.astype(float)
    return (
        x[o::scale, o::scale]
        + x[o + 1 :: scale, o::scale]
        + x[o::scale, o + 1 :: scale]
        + x[o + 1 :: scale, o + 1 :: scale]
    ) / 4


def _kernel_of(record: dict) -> str:
    return next(op["kernel_file"] for op in record["degradation"]["ops"] if "kernel_file" in op)


def _assert_regenerates(out: Path) -> list[dict]:
    records = read_manifest(out)
    assert records
    for record in records:
        hr, lr = regenerate_pair(record)
        assert np.array_equal(hr, _pixels(out / record["hr"])), record["stem"]
        assert np.array_equal(lr, _pixels(out / record["lr"])), record["stem"]
    return records


def test_self_pairs_whole_images_cropped_to_scale(tmp_path, cli):
    hr_dir = _folder(tmp_path / "hr", [(34, 42), (32, 40)])
    result = cli("make-pairs", hr_dir, "-o", tmp_path / "out", "-s", "4", "--self", "-q")
    assert result.exit_code == 0, result.output
    assert "not divisible by 4" in result.output and "42x34 -> 40x32" in result.output
    for stem in ("im0", "im1"):
        hr, lr = _pixels(tmp_path / "out/hr" / f"{stem}.png"), _pixels(tmp_path / "out/lr" / f"{stem}.png")
        assert hr.shape == (32, 40, 3) and lr.shape == (8, 10, 3)
    source = _pixels(hr_dir / "im0.png")
    assert np.array_equal(_pixels(tmp_path / "out/hr/im0.png"), source[:32, :40])
    records = _assert_regenerates(tmp_path / "out")
    assert records[0]["source_info"]["source_size"] == [34, 42] and records[0]["mode"] == "self"


def test_self_pairs_bicubic_of_a_ramp_samples_block_centres(tmp_path):
    """Cubic convolution reproduces linear functions: LR(i) = ramp at the centre of HR block i (interior)."""
    x = np.arange(64, dtype=np.float64)
    ramp = np.broadcast_to((40 + 2 * x)[None, :, None], (16, 64, 3)).astype(np.uint8)
    (tmp_path / "hr").mkdir()
    write_image(tmp_path / "hr/ramp.png", np.ascontiguousarray(ramp))
    make_pairs(PairsConfig(tmp_path / "hr", tmp_path / "out", scale=4, self_pairs=True, quiet=True))
    lr = _pixels(tmp_path / "out/lr/ramp.png")[2, :, 0].astype(float)
    expected = 40 + 2 * (np.arange(16) * 4 + 1.5)
    assert np.abs(lr[2:-2] - expected[2:-2]).max() <= 0.5


def test_kernel_mode_patches_align_with_an_aligned_box_kernel(tmp_path):
    """With the x4-aligned 2x2 box, (I * k)↓s is the mean of the centre of each HR block: every LR patch is its HR
    patch reduced that way (aligned with MATLAB bicubic, whose LR pixel i sits at the centre of block i)."""
    hr_dir = _folder(tmp_path / "hr", [(40, 56)])
    (tmp_path / "k").mkdir()
    np.save(tmp_path / "k/delta_kernel_x4.npy", _aligned_box(5, 4))
    result = make_pairs(
        PairsConfig(hr_dir, tmp_path / "out", scale=4, kernels=tmp_path / "k", patch_size=16, stride=16, quiet=True)
    )
    assert not result.failures and len(result.records) == 12  # rows 0,16,24 x cols 0,16,32,40
    source = _pixels(hr_dir / "im0.png")
    for record in result.records:
        top, left, h, w = record["box"]
        hr, lr = _pixels(tmp_path / "out" / record["hr"]), _pixels(tmp_path / "out" / record["lr"])
        assert hr.shape == (16, 16, 3) and lr.shape == (4, 4, 3)
        assert np.array_equal(hr, source[top : top + h, left : left + w])
        assert np.abs(lr - _box_means(hr, 4)).max() <= 0.5
        assert record["lr_box"] == [top // 4, left // 4, 4, 4]
        assert _kernel_of(record).endswith("delta_kernel_x4.npy")
    _assert_regenerates(tmp_path / "out")


def test_kernelgan_result_folders_are_read(tmp_path):
    hr_dir = _folder(tmp_path / "hr", [(32, 32), (32, 32), (32, 32)])
    for name, k in (("a", _delta_kernel(7)), ("b", np.full((5, 5), 1 / 25))):
        (tmp_path / f"results/{name}").mkdir(parents=True)
        scipy.io.savemat(tmp_path / f"results/{name}/{name}_kernel_x2.mat", {"Kernel": k})
        np.save(tmp_path / f"results/{name}/{name}_kernel_x4.npy", k)  # other scale: must be ignored for x2
    result = make_pairs(PairsConfig(hr_dir, tmp_path / "out", scale=2, kernels=tmp_path / "results", quiet=True))
    used = {Path(_kernel_of(r)).name for r in result.records}
    assert used <= {"a_kernel_x2.mat", "b_kernel_x2.mat"} and used
    for record in result.records:
        hr, lr = _pixels(tmp_path / "out" / record["hr"]), _pixels(tmp_path / "out" / record["lr"])
        hr_f = hr.astype(float)
        if _kernel_of(record).endswith("a_kernel_x2.mat"):  # the delta is re-centred by 0.5 px: a 2x2 mean
            assert np.abs(lr - _box_means(hr, 2)).max() <= 0.5
        else:  # 5x5 box, re-centred by 0.5 px: weights [0.5, 1, 1, 1, 1, 0.5] / 5 on HR 8..13 for LR pixel 5
            w = np.array([0.5, 1, 1, 1, 1, 0.5]) / 5
            assert abs(lr[5, 5, 0] - w @ hr_f[8:14, 8:14, 0] @ w) <= 0.51
    _assert_regenerates(tmp_path / "out")


@pytest.mark.slow
def test_same_seed_same_bytes_and_worker_count_does_not_matter(tmp_path):
    hr_dir = _folder(tmp_path / "hr", [(32, 32)] * 3)
    (tmp_path / "k").mkdir()
    for i, sigma in enumerate((0.8, 1.6, 2.4)):
        g = np.exp(-0.5 * (np.arange(-3, 4) / sigma) ** 2)
        np.save(tmp_path / f"k/k{i}_kernel_x4.npy", np.outer(g, g) / np.outer(g, g).sum())
    (tmp_path / "noise").mkdir()
    for i in range(3):
        write_image(tmp_path / f"noise/n{i}.png", synthetic_image(8, 8, seed=20 + i))
    outs = []
    for name, workers, seed in (("a", 1, 5), ("b", 2, 5), ("c", 1, 6)):
        cfg = PairsConfig(hr_dir, tmp_path / name, scale=4, kernels=tmp_path / "k", seed=seed, workers=workers)
        cfg.noise_patches, cfg.patch_size, cfg.quiet = tmp_path / "noise", 16, True
        make_pairs(cfg)
        outs.append(tmp_path / name)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*.png"))
    assert len(files) == 24
    for rel in files:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes()
    kernels = [[_kernel_of(r) for r in read_manifest(o)] for o in outs]
    assert kernels[0] == kernels[1]
    assert (outs[0] / "pairs.jsonl").read_text() == (outs[1] / "pairs.jsonl").read_text()
    assert kernels[0] != kernels[2]  # another seed draws other kernels


def test_flat_patches_are_skipped(tmp_path):
    image = synthetic_image(32, 64, seed=1)
    image[:, 32:] = 128
    (tmp_path / "hr").mkdir()
    write_image(tmp_path / "hr/half.png", image)
    result = make_pairs(
        PairsConfig(tmp_path / "hr", tmp_path / "out", scale=4, self_pairs=True, patch_size=16, min_variance=1e-4)
    )
    assert result.flat_skipped == 4 and len(result.records) == 4
    assert all(r["box"][1] < 32 for r in result.records)


def test_add_source_cleanup_downscale(tmp_path):
    hr_dir = _folder(tmp_path / "hr", [(32, 32)])
    src_dir = _folder(tmp_path / "src", [(66, 70)], seed=7, prefix="photo")
    (tmp_path / "k").mkdir()
    np.save(tmp_path / "k/d_kernel_x4.npy", _delta_kernel())
    cfg = PairsConfig(hr_dir, tmp_path / "out", scale=4, kernels=tmp_path / "k", add_source=src_dir, quiet=True)
    result = make_pairs(cfg)
    stems = [r["stem"] for r in result.records]
    assert stems == ["im0", "src_photo0"]
    assert _pixels(tmp_path / "out/hr/src_photo0.png").shape == (32, 32, 3)  # 66x70 / 2 = 33x35 -> 32x32
    assert result.records[1]["source_info"]["cleanup_scale"] == 2.0
    assert not result.cropped  # cropping after the clean-up downscale is expected, not worth a warning
    _assert_regenerates(tmp_path / "out")


def test_aligned_pairs_t1_bicubic_and_t4_downscale(tmp_path):
    hr_dir = _folder(tmp_path / "dslr", [(24, 28)], seed=3, prefix="scene")
    lr_dir = _folder(tmp_path / "phone", [(24, 28)], seed=9, prefix="scene")
    t1 = make_pairs(PairsConfig(hr_dir, tmp_path / "t1", scale=2, aligned_lr=lr_dir, patch_size=16, quiet=True))
    phone = _pixels(lr_dir / "scene0.png")
    for record in t1.records:
        top, left, h, w = record["lr_box"]
        assert _pixels(tmp_path / "t1" / record["hr"]).shape == (16, 16, 3)
        assert np.array_equal(_pixels(tmp_path / "t1" / record["lr"]), phone[top : top + h, left : left + w])
    assert len(t1.records) == 12  # 48x56 HR: rows 0,16,32 x cols 0,16,32,40
    _assert_regenerates(tmp_path / "t1")
    make_pairs(PairsConfig(hr_dir, tmp_path / "t4", scale=4, aligned_lr=lr_dir, downscale_lr=True, quiet=True))
    assert np.array_equal(_pixels(tmp_path / "t4/hr/scene0.png"), _pixels(hr_dir / "scene0.png")[:24, :28])
    assert _pixels(tmp_path / "t4/lr/scene0.png").shape == (6, 7, 3)
    _assert_regenerates(tmp_path / "t4")


def test_aligned_mode_reports_missing_and_mismatched_lr(tmp_path, cli):
    hr_dir = _folder(tmp_path / "dslr", [(24, 28), (24, 28)], prefix="scene")
    lr_dir = tmp_path / "phone"
    lr_dir.mkdir()
    write_image(lr_dir / "scene0.png", synthetic_image(20, 28))
    result = cli("make-pairs", hr_dir, "-o", tmp_path / "out", "-s", "2", "--aligned-lr", lr_dir, "-q")
    assert result.exit_code == 1
    assert "no aligned LR image named scene1" in result.output
    assert "scene0.png is 28x20" in result.output


def test_errors_for_missing_and_empty_folders(tmp_path, cli):
    hr_dir = _folder(tmp_path / "hr", [(32, 32)])
    (tmp_path / "empty").mkdir()
    cases = [
        (["--kernels", tmp_path / "nope"], "nope"),
        (["--kernels", tmp_path / "empty"], "no kernel"),
        (["--aligned-lr", tmp_path / "empty"], "holds no images"),
        (["--degradation-model", tmp_path / "none.pt"], "no such file"),
        (["--self", "--kernels", tmp_path / "empty"], "choose one mode"),
        ([], "choose a mode"),
        (["--self", "--patch-size", "30"], "multiple of the scale"),
    ]
    for extra, message in cases:
        result = cli("make-pairs", hr_dir, "-o", tmp_path / "out", "-s", "4", *extra)
        assert result.exit_code == 1, extra
        assert message in result.output, (extra, result.output)
    result = cli("make-pairs", tmp_path / "empty", "-o", tmp_path / "out", "--self")
    assert result.exit_code == 1 and "holds no images" in result.output


@pytest.mark.parametrize(
    ("extra", "flags"),
    [
        (["--preset", "bicubic", "--jpeg", "off"], "--jpeg"),
        (["--self", "--jpeg", "90"], "--jpeg"),
        (["--preset", "bicubic", "--per-photo-kernels"], "--per-photo-kernels"),
        (["--self", "--per-photo-kernels", "--jpeg", "auto"], "--per-photo-kernels and --jpeg"),
    ],
)
def test_kernel_mode_options_are_refused_in_other_modes(tmp_path, cli, extra, flags):
    hr_dir = _folder(tmp_path / "hr", [(32, 32)])
    result = cli("make-pairs", hr_dir, "-o", tmp_path / "out", "-s", "4", *extra)
    assert result.exit_code == 1 and f"{flags}: only for the kernel + noise mode" in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_kernel_larger_than_image_is_a_clear_per_file_error(tmp_path, cli):
    hr_dir = _folder(tmp_path / "hr", [(12, 12), (40, 40)])
    (tmp_path / "k").mkdir()
    np.save(tmp_path / "k/big_kernel_x4.npy", np.full((21, 21), 1 / 441))
    result = cli("make-pairs", hr_dir, "-o", tmp_path / "out", "-s", "4", "--kernels", tmp_path / "k", "-q")
    assert result.exit_code == 1
    assert "im0.png" in result.output and "21x21, larger than the image (12x12)" in result.output
    assert (tmp_path / "out/lr/im1.png").is_file()  # the batch went on
    assert [r["stem"] for r in read_manifest(tmp_path / "out")] == ["im1"]


def test_overwrite_rules_and_stale_pairs(tmp_path, cli):
    hr_dir = _folder(tmp_path / "hr", [(32, 32)])
    out = tmp_path / "out"
    assert cli("make-pairs", hr_dir, "-o", out, "--self", "--patch-size", "8", "-q").exit_code == 0
    assert len(list((out / "hr").iterdir())) == 16
    again = cli("make-pairs", hr_dir, "-o", out, "--self", "-q")
    assert again.exit_code == 1 and "--overwrite" in again.output
    redo = cli("make-pairs", hr_dir, "-o", out, "--self", "--overwrite", "-q", "--json", tmp_path / "r.json")
    assert redo.exit_code == 0
    assert sorted(p.name for p in (out / "hr").iterdir()) == ["im0.png"]  # old patches removed
    assert json.loads((tmp_path / "r.json").read_text())["pairs"] == 1
    into_input = cli("make-pairs", hr_dir, "-o", hr_dir / "hr", "--self", "-q")
    assert into_input.exit_code == 1


def test_kernel_mode_injects_a_zero_mean_real_noise_patch_per_pair(tmp_path):
    """Noise patches of +-25 / +-10 grey levels: with the aligned box kernel, |LR - block means| is that amplitude."""
    hr_dir = _folder(tmp_path / "hr", [(32, 48)])
    (tmp_path / "k").mkdir()
    np.save(tmp_path / "k/d_kernel_x4.npy", _aligned_box(5, 4))
    (tmp_path / "noise").mkdir()
    even = np.indices((6, 6)).sum(0) % 2 == 0
    for name, amplitude in (("n25", 25), ("n10", 10)):
        checker = np.where(even, 128 - amplitude, 128 + amplitude).astype(np.uint8)
        write_image(tmp_path / f"noise/{name}.png", np.repeat(checker[:, :, None], 3, axis=2))
    cfg = PairsConfig(hr_dir, tmp_path / "out", scale=4, kernels=tmp_path / "k", noise_patches=tmp_path / "noise")
    cfg.patch_size, cfg.quiet = 16, True
    records = make_pairs(cfg).records
    assert len(records) == 6
    draws = set()
    for record in records:
        assert [op["op"] for op in record["degradation"]["ops"]] == ["kernel_downsample"]
        (noise,) = record["pair_degradation"]["ops"]
        assert noise["op"] == "noise_patch"
        draws.add((Path(noise["file"]).name, tuple(noise["offset"])))
        amplitude = 25 if noise["file"].endswith("n25.png") else 10
        clean = _box_means(_pixels(tmp_path / "out" / record["hr"]), 4)
        diff = _pixels(tmp_path / "out" / record["lr"]).astype(float) - clean
        inside = (clean > 30) & (clean < 225)
        assert inside.mean() > 0.8 and np.all(np.abs(np.abs(diff[inside]) - amplitude) <= 0.5)
    assert len(draws) > 1 and {name for name, _ in draws} == {"n25.png", "n10.png"}  # drawn per pair
    _assert_regenerates(tmp_path / "out")


def test_preset_modes(tmp_path, cli):
    hr_dir = _folder(tmp_path / "hr", [(48, 48), (40, 44)])
    assert cli("make-pairs", hr_dir, "-o", tmp_path / "bic", "-s", "4", "--preset", "bicubic", "-q").exit_code == 0
    assert cli("make-pairs", hr_dir, "-o", tmp_path / "self", "-s", "4", "--self", "-q").exit_code == 0
    for stem in ("im0", "im1"):  # the bicubic recipe is exactly the self-pair downscale
        assert _pixels(tmp_path / f"bic/lr/{stem}.png").tobytes() == _pixels(tmp_path / f"self/lr/{stem}.png").tobytes()
    for preset in ("generic", "realesrgan"):
        out = tmp_path / preset
        result = cli("make-pairs", hr_dir, "-o", out, "-s", "4", "--preset", preset, "--seed", "3", "-q")
        assert result.exit_code == 0, result.output
        assert _pixels(out / "lr/im1.png").shape == (10, 11, 3)
        records = _assert_regenerates(out)
        assert records[0]["mode_options"]["preset"] == preset and records[0]["degradation"]["ops"]
    missing = cli("make-pairs", hr_dir, "-o", tmp_path / "x", "--preset", "no-such-recipe")
    assert missing.exit_code == 1 and "no-such-recipe" in missing.output


def test_learned_degradation_model(tmp_path):
    import torch

    from realsr_cli.degradations.learned_model import build_generator, save_degradation_model
    from realsr_cli.degradations.resize import imresize

    torch.manual_seed(0)
    args = {"n_res_blocks": 1, "channels": 8}
    generator = build_generator(args)
    save_degradation_model(tmp_path / "degradation.pt", generator, method="dsgan", arch_args=args, scale=2)
    hr_dir = _folder(tmp_path / "hr", [(24, 32)])
    cfg = PairsConfig(hr_dir, tmp_path / "out", scale=2, degradation_model=tmp_path / "degradation.pt", quiet=True)
    record = make_pairs(cfg).records[0]
    hr = torch.from_numpy(_pixels(hr_dir / "im0.png").transpose(2, 0, 1)[None] / 255.0).float()
    with torch.no_grad():
        expected = generator.eval()(imresize(hr, scale=0.5).clamp(0, 1)).clamp(0, 1)
    expected = np.rint(expected[0].numpy().transpose(1, 2, 0) * 255)
    assert np.abs(_pixels(tmp_path / "out/lr/im0.png") - expected).max() <= 1
    assert record["mode"] == "learned" and record["mode_options"]["method"] == "dsgan"
    _assert_regenerates(tmp_path / "out")
    wrong = PairsConfig(hr_dir, tmp_path / "o4", scale=4, degradation_model=tmp_path / "degradation.pt")
    with pytest.raises(InputError, match="trained for x2"):
        make_pairs(wrong)


def test_aligned_pairs_t2_model_upscaler(tmp_path):
    import torch

    from realsr_cli.archs import build_arch
    from realsr_cli.models.checkpoint import save_model

    torch.manual_seed(0)
    args = {"num_feat": 4, "num_conv": 1}
    model = build_arch("srvggnet-compact", scale=2, **args).eval()
    save_model(tmp_path / "model.pt", model, arch="srvggnet-compact", arch_args=args, scale=2)
    hr_dir = _folder(tmp_path / "dslr", [(12, 16)], prefix="s")
    lr_dir = _folder(tmp_path / "phone", [(12, 16)], seed=4, prefix="s")
    cfg = PairsConfig(hr_dir, tmp_path / "out", scale=2, aligned_lr=lr_dir, hr_upscaler=str(tmp_path / "model.pt"))
    cfg.quiet = True
    make_pairs(cfg)
    x = torch.from_numpy(_pixels(hr_dir / "s0.png").transpose(2, 0, 1)[None] / 255.0).float()
    with torch.no_grad():
        expected = np.rint(model(x).clamp(0, 1)[0].numpy().transpose(1, 2, 0) * 255)
    assert np.abs(_pixels(tmp_path / "out/hr/s0.png") - expected).max() <= 1
    assert np.array_equal(_pixels(tmp_path / "out/lr/s0.png"), _pixels(lr_dir / "s0.png"))
    _assert_regenerates(tmp_path / "out")


def test_sixteen_bit_gray_sources_stay_sixteen_bit_rgb(tmp_path):
    (tmp_path / "hr").mkdir()
    gray = synthetic_image(32, 40, channels=1, dtype=np.uint16, seed=2)
    write_image(tmp_path / "hr/g.png", gray)
    make_pairs(PairsConfig(tmp_path / "hr", tmp_path / "out", scale=2, self_pairs=True, quiet=True))
    hr, lr = _pixels(tmp_path / "out/hr/g.png"), _pixels(tmp_path / "out/lr/g.png")
    assert hr.dtype == np.uint16 and hr.shape == (32, 40, 3) and lr.shape == (16, 20, 3)
    assert all(np.array_equal(hr[:, :, c], gray[:, :, 0]) for c in range(3))
    _assert_regenerates(tmp_path / "out")


def test_learn_degradation_output_folder(tmp_path, cli):
    """The folder layout `learn-degradation` writes: kernels/<name>_kernel_x{2,4}.mat+.npy, previews/, noise/."""
    from realsr_cli.learn.kernel_io import write_kernel, write_previews

    run = tmp_path / "run"
    kernels = {"cam_a": _delta_kernel(9), "cam_b": _delta_kernel(11)}
    for name, k in kernels.items():
        for s in (2, 4):
            write_kernel(run / "kernels", name, s, k)
    write_previews(run / "kernels/previews", kernels)
    (run / "noise").mkdir()
    flat = np.full((8, 8, 3), 77, np.uint8)  # zero noise after mean removal
    write_image(run / "noise/p0.png", flat)
    hr_dir = _folder(tmp_path / "hr", [(24, 24), (24, 24)])
    args = ["--kernels", run / "kernels", "--noise-patches", run / "noise", "-s", "2", "-q"]
    assert cli("make-pairs", hr_dir, "-o", tmp_path / "out", *args).exit_code == 0
    for record in read_manifest(tmp_path / "out"):
        assert Path(_kernel_of(record)).name in {"cam_a_kernel_x2.npy", "cam_b_kernel_x2.npy"}
        hr = _pixels(tmp_path / "out" / record["hr"])  # deltas are re-centred by 0.5 px: 2x2 means
        assert np.abs(_pixels(tmp_path / "out" / record["lr"]) - _box_means(hr, 2)).max() <= 0.5


def test_aligned_t4_rejects_an_upscaler_and_larger_lr_images(tmp_path, cli):
    hr_dir = _folder(tmp_path / "dslr", [(24, 28)], prefix="scene")
    lr_dir = _folder(tmp_path / "phone", [(26, 28)], prefix="scene")
    both = cli(
        "make-pairs",
        hr_dir,
        "-o",
        tmp_path / "o",
        "--aligned-lr",
        lr_dir,
        "--downscale-lr",
        "--hr-upscaler",
        tmp_path / "m.pt",
    )
    assert both.exit_code == 1 and "choose one" in both.output
    bigger = cli("make-pairs", hr_dir, "-o", tmp_path / "o", "-s", "4", "--aligned-lr", lr_dir, "--downscale-lr", "-q")
    assert bigger.exit_code == 1 and "scene0.png is 28x26" in bigger.output
