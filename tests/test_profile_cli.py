"""``realsr profile``: table, JSON with the same numbers, model files, images, errors."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from realsr_cli.archs import build_arch, list_archs
from realsr_cli.cli.profile import command
from realsr_cli.models.checkpoint import save_model


@pytest.fixture
def run():
    app = typer.Typer()
    app.command()(command)

    def invoke(*args):
        return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False, env={"COLUMNS": "240"})

    return invoke


def test_all_archs_table_and_json(run, tmp_path):
    res = run("--arch", "all", "--runs", "0", "--no-crosscheck", "--json", tmp_path / "p.json")
    assert res.exit_code == 0, res.output
    rows = json.loads((tmp_path / "p.json").read_text())["rows"]
    assert [r["arch"] for r in rows] == list_archs("sr")
    msr = next(r for r in rows if r["arch"] == "msrresnet")
    assert (msr["params"], msr["conv_layers"], msr["flops"]) == (1_517_571, 37, 2 * msr["macs"])
    assert "1,517,571" in res.output and f"{msr['macs'] / 1e9:.2f}" in res.output
    assert "MACs" in res.output and "FLOPs" in res.output and "[G]" in res.output and "RFDN" in res.output
    assert "fvcore" not in res.output.split("MACs: KAIR")[0]  # no empty cross-check columns


def test_model_file_with_timing_and_images(run, tmp_path, image_folder):
    args = {"num_feat": 8, "num_block": 1}
    model = build_arch("msrresnet", scale=2, **args)
    save_model(tmp_path / "model.pt", model, arch="msrresnet", arch_args=args, scale=2)
    res = run("--model", tmp_path / "model.pt", "--input-size", "16", "--runs", "2", "--images", image_folder,
              "--device", "cpu", "--verbose", "--json", tmp_path / "m.json")  # fmt: skip
    assert res.exit_code == 0, res.output
    row = json.loads((tmp_path / "m.json").read_text())["rows"][0]
    assert row["arch"] == "msrresnet" and row["scale"] == 2 and row["images"] == 3
    assert row["runtime_s"] > 0 and row["memory_kind"] == "cpu_peak_rss" and len(row["pass_seconds"]) == 2
    assert row["fvcore_macs"] is not None and row["ptflops_macs"] == row["macs"] + row["breakdown"]["bias_adds"]
    assert "Peak RSS" in res.output and "[ms]" in res.output and "fvcore" in res.output and "bias" in res.output


def test_bad_targets_report_one_line_each(run, tmp_path):
    res = run("--arch", "nosuch", "--arch", "rfdn", "--runs", "0", "--no-crosscheck", "--input-size", "16")
    assert res.exit_code == 1
    assert "unknown architecture 'nosuch'" in res.output and "1 of 2" in res.output and "RFDN" in res.output
    res = run("--arch", "vgg128", "--runs", "0")
    assert res.exit_code == 1 and "discriminator" in res.output
    assert run("--runs", "0").exit_code == 1


def test_list(run):
    res = run("--list")
    assert res.exit_code == 0 and "unet-sn" in res.output and "discriminator" in res.output


def test_corrupt_model_file_is_one_line(run, tmp_path):
    (tmp_path / "broken.pt").write_bytes(b"\x00not a checkpoint")
    res = run("--model", tmp_path / "broken.pt", "--arch", "pan", "--runs", "0", "--no-crosscheck")
    assert res.exit_code == 1 and "broken.pt: not a readable" in res.output and "PAN" in res.output
