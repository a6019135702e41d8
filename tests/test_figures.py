"""``realsr compare`` figures and slider page, and the training curves figure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from realsr_cli.cli.main import app
from realsr_cli.errors import InputError
from realsr_cli.figures.curves import curves_image, read_log
from realsr_cli.figures.layout import GAP, LABEL_HEIGHT
from realsr_cli.io.images import read_image, write_image


@pytest.fixture
def images(tmp_path):
    y, x = np.mgrid[0:64, 0:96]
    gt = np.stack([x * 2, y * 3, (x * y) % 256], axis=-1).astype(np.uint8)
    rng = np.random.default_rng(0)
    for name, noise in (("gt", 0), ("good", 4), ("bad", 40)):
        img = np.clip(gt.astype(int) + rng.integers(-noise, noise + 1, gt.shape), 0, 255).astype(np.uint8)
        write_image(tmp_path / name / "img.png", img)
    write_image(tmp_path / "lr" / "img.png", gt[::4, ::4])
    return tmp_path


def _label_has_text(fig: np.ndarray, top: int, left: int, width: int) -> bool:
    strip = fig[top : top + LABEL_HEIGHT, left : left + width]
    return bool((strip < 128).any())


def test_compare_with_gt_draws_box_crops_and_scored_labels(images) -> None:
    out, report = images / "fig.png", images / "fig.json"
    args = ["compare", str(images / "gt"), f"good={images / 'good'}", str(images / "bad"), "-o", str(out)]
    args += ["--crop", "16,8,32,16", "--tile-size", "64", "--metrics", "psnr", "--html", str(images / "p.html")]
    result = CliRunner().invoke(app, [*args, "--json", str(report), "-q"])
    assert result.exit_code == 0, result.output
    fig = read_image(out).pixels
    tile_w, height = 128, 64 + LABEL_HEIGHT  # the 32x16 crop zoomed to 64 px high
    full_w = round(96 * height / 64)
    assert fig.shape == (height, full_w + 3 * (GAP + tile_w), 3)
    red = (fig[..., 0] > 200) & (fig[..., 1] < 60) & (fig[..., 2] < 60)
    assert red[:, :full_w].sum() > 50 and not red[:, full_w:].any()  # the box is on the full image only
    for k in range(3):  # GT, good, bad: every crop has a label under it
        assert _label_has_text(fig, 64, full_w + GAP + k * (GAP + tile_w), tile_w)
    scores = json.loads(report.read_text())[0]["scores"]
    assert scores["good"]["psnr"] > scores["bad"]["psnr"] + 10
    page = (images / "p.html").read_text()
    assert page.count('type="range"') == 2 and page.count("data:image/png;base64,") == 4 and "http" not in page


def test_compare_with_lr_reference_shows_no_metrics(images) -> None:
    result = CliRunner().invoke(app, ["compare", str(images / "lr"), str(images / "good"), "-o", str(images / "figs")])
    assert result.exit_code == 0, result.output
    fig = read_image(images / "figs" / "img.png").pixels
    assert fig.shape[0] == 192 + LABEL_HEIGHT  # default tile height, one row


def test_compare_rejects_bad_crop_and_sizes(images) -> None:
    from realsr_cli.figures.compare import CompareOptions, compare, parse_crop, parse_method

    with pytest.raises(InputError, match="outside"):
        compare(images / "gt", [parse_method(str(images / "good"))], images / "x.png",
                CompareOptions(crop=parse_crop("90,0,32,32"), metrics=()))  # fmt: skip
    write_image(images / "odd" / "img.png", np.zeros((50, 50, 3), np.uint8))
    with pytest.raises(InputError, match="neither"):
        compare(images / "odd", [parse_method(str(images / "good"))], images / "y.png", CompareOptions(metrics=()))


def test_curves_from_a_log_with_a_broken_line(tmp_path) -> None:
    lines = [json.dumps({"iter": i, "l_pix": 1 / i, "lr": 1e-4}) for i in range(10, 110, 10)]
    lines += [json.dumps({"iter": 100, "val_psnr": 25.0}), '{"iter": 11']
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(lines))
    image = curves_image(read_log(log))
    assert image is not None and image.shape == (300, 2 * 420, 3)
    assert curves_image([]) is None
