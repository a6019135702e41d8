"""``realsr score`` end to end: pairing, messages, JSON/CSV, 16-bit, gray, --rank; scoring core helpers."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from realsr_cli.errors import InputError
from realsr_cli.io.images import write_image
from realsr_cli.scoring import ScoreOptions, iqa_rank, match_keys, rank_data, score_folder
from tests.conftest import synthetic_image


def _mse_psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float:
    mse = np.mean((a.astype(np.float64) / peak - b.astype(np.float64) / peak) ** 2)
    return 10 * math.log10(1 / mse)


@pytest.fixture
def folders(tmp_path):
    gt, sr = tmp_path / "gt", tmp_path / "sr"
    gt.mkdir(), sr.mkdir()
    rng = np.random.default_rng(0)
    images = {}
    for i in range(3):
        g = synthetic_image(32, 40, seed=i)
        s = np.clip(g.astype(int) + rng.integers(-6, 7, g.shape), 0, 255).astype(np.uint8)
        write_image(gt / f"img{i}.png", g)
        write_image(sr / f"img{i}_x4.png", s)
        images[f"img{i}"] = (s, g)
    write_image(sr / "extra_x4.png", synthetic_image(32, 40, seed=9))
    return sr, gt, images


def test_scores_table_json_csv(cli, folders, tmp_path):
    sr, gt, images = folders
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    result = cli("score", sr, gt, "--metrics", "psnr,ssim", "--json", out_json, "--csv", out_csv)
    assert result.exit_code == 0, result.output
    assert "extra_x4.png" in result.output and "without a match" in result.output
    data = json.loads(out_json.read_text())
    assert [r["stem"] for r in data["images"]] == ["img0", "img1", "img2"]
    for row in data["images"]:
        s, g = images[row["stem"]]
        assert row["psnr"] == pytest.approx(_mse_psnr(s, g, 255), abs=1e-4)
        assert row["aim2020"] == pytest.approx(row["psnr"] / 50 + (row["ssim"] - 0.4) / 0.6, abs=1e-12)
    assert data["mean"]["psnr"] == pytest.approx(np.mean([r["psnr"] for r in data["images"]]), abs=1e-12)
    assert data["unmatched"]["sr"][0].endswith("extra_x4.png")
    rows = list(csv.DictReader(out_csv.open()))
    assert [r["image"] for r in rows] == ["img0", "img1", "img2", "mean"]
    assert float(rows[1]["psnr"]) == pytest.approx(data["images"][1]["psnr"], abs=1e-9)
    assert "mean" in result.output and "PSNR" in result.output
    again = cli("score", sr, gt, "--json", out_json)
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_explicit_suffix_and_crop_border(folders, tmp_path):
    sr, gt, images = folders
    res = score_folder(sr, gt, ScoreOptions(metrics=("psnr",), suffix="_x4", crop_border=2))
    assert len(res.rows) == 3 and [p.name for p in res.unmatched_sr] == ["extra_x4.png"]
    s, g = images["img1"]
    assert res.rows[1]["psnr"] == pytest.approx(_mse_psnr(s[2:-2, 2:-2], g[2:-2, 2:-2], 255), abs=1e-4)


def test_match_keys():
    gt = ["a", "a_b", "c"]
    assert match_keys(["a_x4", "a_b_SR", "c", "zz"], gt) == {"a_x4": "a", "a_b_SR": "a_b", "c": "c"}
    assert match_keys(["a_x4", "c"], gt, suffix="_x4") == {"a_x4": "a"}


def test_size_mismatch_message_and_crop_to_gt(cli, tmp_path):
    gt, sr = tmp_path / "gt", tmp_path / "sr"
    gt.mkdir(), sr.mkdir()
    g = synthetic_image(30, 42, seed=1)
    write_image(gt / "a.png", g)
    write_image(sr / "a.png", np.pad(g, ((0, 2), (0, 2), (0, 0)), mode="edge"))
    bad = cli("score", sr, gt)
    assert bad.exit_code == 1
    assert "SR is 44x32 but GT a.png is 42x30" in bad.output and "--crop-to-gt" in bad.output
    ok = cli("score", sr, gt, "--crop-to-gt", "--json", tmp_path / "r.json")
    assert ok.exit_code == 0, ok.output
    assert json.loads((tmp_path / "r.json").read_text())["images"][0]["psnr"] == "inf"


def test_gray_vs_rgb_missing_gt_empty_folder(cli, tmp_path):
    gt, sr, empty = tmp_path / "gt", tmp_path / "sr", tmp_path / "empty"
    for d in (gt, sr, empty):
        d.mkdir()
    write_image(gt / "a.png", synthetic_image(32, 32, 3, seed=1))
    write_image(sr / "a.png", synthetic_image(32, 32, 1, seed=1))
    result = cli("score", sr, gt)
    assert result.exit_code == 1 and "SR is gray but GT a.png is RGB" in result.output
    result = cli("score", sr, "--metrics", "psnr")
    assert result.exit_code == 1 and "psnr need ground truth" in result.output
    result = cli("score", empty, gt)
    assert result.exit_code == 1 and "holds no images" in result.output
    result = cli("score", sr, gt, "--metrics", "psnr,foo")
    assert result.exit_code == 1 and "unknown metric(s) foo" in result.output
    other = tmp_path / "other"
    other.mkdir()
    write_image(other / "b.png", synthetic_image(32, 32, seed=2))
    result = cli("score", other, gt)
    assert result.exit_code == 1 and "matches a GT image" in result.output


def test_sixteen_bit_inputs_scale_by_dtype(tmp_path):
    gt, sr = tmp_path / "gt", tmp_path / "sr"
    gt.mkdir(), sr.mkdir()
    g = synthetic_image(32, 32, seed=3, dtype=np.uint16)
    s = np.clip(g.astype(np.int64) + 700, 0, 65535).astype(np.uint16)
    write_image(gt / "a.png", g)
    write_image(sr / "a.png", s)
    res = score_folder(sr, gt, ScoreOptions(metrics=("psnr",)))
    assert res.rows[0]["psnr"] == pytest.approx(_mse_psnr(s, g, 65535), abs=1e-4)


def test_rank_data_ties():
    assert rank_data(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_rank_across_folders(cli, tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    rng = np.random.default_rng(5)
    levels = {"good": 2, "mid": 8, "bad": 30}
    for name in levels:
        (tmp_path / name).mkdir()
    for i in range(2):
        g = synthetic_image(32, 32, seed=10 + i)
        write_image(gt / f"p{i}.png", g)
        for name, amp in levels.items():
            noisy = np.clip(g.astype(int) + rng.integers(-amp, amp + 1, g.shape), 0, 255).astype(np.uint8)
            write_image(tmp_path / name / f"p{i}.png", noisy)
    out = tmp_path / "rank.json"
    args = [tmp_path / "bad", tmp_path / "good", tmp_path / "mid"]
    result = cli("score", *args, "--gt", gt, "--metrics", "psnr,ssim", "--rank", "--json", out)
    assert result.exit_code == 0, result.output
    ranking = json.loads(out.read_text())["rank"]
    assert [f["folder"].split("/")[-1] for f in ranking["folders"]] == ["good", "mid", "bad"]
    assert [f["iqa_rank"] for f in ranking["folders"]] == [1.0, 2.0, 3.0]
    assert "IQA-rank" in result.output
    single = cli("score", tmp_path / "good", "--rank")
    assert single.exit_code == 1 and "at least two" in single.output


def test_iqa_rank_hand_computed():
    from pathlib import Path

    from realsr_cli.scoring import FolderScore

    def folder(name, values):
        f = FolderScore(Path(name), None, ("niqe", "piqe"))
        f.rows = [{"stem": s, "niqe": n, "piqe": p} for s, (n, p) in values.items()]
        return f

    a = folder("A", {"x": (3.0, 10.0), "y": (5.0, 50.0)})
    b = folder("B", {"x": (4.0, 10.0), "y": (4.0, 40.0), "z": (1.0, 1.0)})
    r = iqa_rank([a, b], ["niqe", "piqe"])
    by = {f["folder"]: f for f in r["folders"]}
    # niqe: x -> A 1, B 2; y -> A 2, B 1 => 1.5 each. piqe: x tie 1.5/1.5; y -> A 2, B 1 => A 1.75, B 1.25.
    assert by["A"]["mean_rank"] == {"niqe": 1.5, "piqe": 1.75} and by["B"]["iqa_rank"] == pytest.approx(1.375)
    assert r["images"] == ["x", "y"]
    with pytest.raises(InputError):
        iqa_rank([a], ["niqe"])


def test_score_files_library_call(tmp_path):
    from realsr_cli.scoring import score_files

    g = synthetic_image(32, 32, seed=1)
    s = np.clip(g.astype(int) + 3, 0, 255).astype(np.uint8)
    write_image(tmp_path / "gt.png", g)
    write_image(tmp_path / "sr.png", s)
    row = score_files(tmp_path / "sr.png", tmp_path / "gt.png")
    assert row["psnr"] == pytest.approx(_mse_psnr(s, g, 255), abs=1e-4) and "ssim" in row and "aim2020" in row
    with pytest.raises(InputError, match="need ground truth"):
        score_files(tmp_path / "sr.png", options=ScoreOptions(metrics=("psnr",)))
