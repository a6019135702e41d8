"""The KernelGAN fidelity benchmark's parts that need no checkout of the original: scores and the skipped path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage

from benchmarks.bench_camera_kernel import true_x4_kernel
from benchmarks.kernelgan_fidelity import original, runner, scores
from realsr_cli.io.images import write_image


@pytest.fixture(scope="module")
def truth() -> np.ndarray:
    return true_x4_kernel(3.0, 1.0, 0.5)


def test_errors_are_zero_for_the_truth_and_centre_first(truth):
    same = scores.run_errors(truth, truth)
    assert same["l2"] == 0 and same["major"] == 0 and same["angle"] == 0
    shifted = ndimage.shift(np.pad(truth, 2), (0.6, -0.8), order=1)  # an off-centre estimate of the right shape
    e = scores.run_errors(shifted, truth)
    assert e["centre_before"] == pytest.approx(0.8, abs=0.01) and e["centre"] < 1e-6
    assert e["l2"] < 0.01  # scored after centring: the shape, not the shift
    wider = scores.run_errors(true_x4_kernel(4.0, 1.0, 0.5), truth)
    assert wider["major"] > 0.5 and abs(wider["minor"]) < 0.1 and wider["l2"] > 2 * e["l2"]


def test_spread_and_seed_distance(truth):
    s = scores.spread([1.0, 2.0, 3.0])
    assert s == {"mean": 2.0, "std": pytest.approx(np.sqrt(2 / 3)), "min": 1.0, "max": 3.0}
    assert scores.spread([0.5])["std"] == 0
    other = true_x4_kernel(4.0, 1.0, 0.5)
    assert scores.seed_distance([truth]) == 0 and scores.seed_distance([truth, truth]) == 0
    a, b = scores.common_support([truth, other])
    assert scores.seed_distance([truth, other]) == pytest.approx(np.linalg.norm(a - b))


def test_summary_over_seeds_and_totals(truth):
    other = true_x4_kernel(4.0, 1.0, 0.5)
    one = scores.summarise([truth, other, truth], [2.0, 4.0, 3.0], truth)
    l2 = [e["l2"] for e in one["per_seed"]]
    assert one["l2"]["mean"] == pytest.approx(np.mean(l2)) and one["l2"]["std"] == pytest.approx(np.std(l2))
    assert one["l2"]["min"] == 0 and one["seconds"]["mean"] == 3.0 and one["angle"] is not None
    iso = true_x4_kernel(2.0, 2.0, 0.0)
    assert scores.summarise([iso], [1.0], iso)["angle"] is None  # no angle error for an isotropic truth
    total = scores.totals([one, one])
    assert total["l2_mean"] == pytest.approx(np.mean(l2)) and total["seconds_per_run"] == 3.0


def test_verdict_compares_mean_errors():
    ours = {"l2_mean": 0.04, "seconds_per_run": 10.0}
    assert "no worse" in runner.verdict({"original": {"l2_mean": 0.05, "seconds_per_run": 30.0}, "realsr": ours})
    assert "x3.00" in runner.verdict({"original": {"l2_mean": 0.05, "seconds_per_run": 30.0}, "realsr": ours})
    assert "WORSE" in runner.verdict({"original": {"l2_mean": 0.03, "seconds_per_run": 30.0}, "realsr": ours})


def test_checkout_detection(tmp_path):
    assert "no --original" in original.unavailable(None)
    assert "not a checkout" in original.unavailable(tmp_path)
    for name in original.FILES:
        (tmp_path / name).write_text("")
    found = original.unavailable(tmp_path)  # None, or how to pip-install what the original imports
    assert found is None or "pip install" in found


@pytest.mark.parametrize("name", ["kernelgan-fidelity", "kernelgan_fidelity"])
def test_dispatched_with_its_arguments(name, monkeypatch):
    from benchmarks.__main__ import main

    seen = []
    monkeypatch.setattr(runner, "main", lambda argv: seen.append(argv) or 0)
    assert main([name, "--iters", "100"]) == 0 and seen == [["--iters", "100"]]


def test_skipped_with_a_note_when_the_original_is_absent(tmp_path, monkeypatch, capsys):
    hr = tmp_path / "hr"
    hr.mkdir()
    rng = np.random.default_rng(0)
    write_image(hr / "0001.png", ndimage.zoom(rng.integers(0, 256, (32, 32, 3)), (8, 8, 1), order=1).astype(np.uint8))
    calls = []

    def fake_realsr(photo, seed, iters):  # this tool's KernelGAN is tested elsewhere; here only the plumbing
        calls.append((photo.name, seed, iters))
        return photo.truth, 1.5

    monkeypatch.setattr(runner, "run_realsr", fake_realsr)
    monkeypatch.setattr(runner, "single_thread", lambda: None)
    out = tmp_path / "out"
    argv = ["--original", str(tmp_path / "missing"), "--iters", "5", "--photos", "1", "--seeds", "2"]
    assert runner.main([*argv, "--size", "64", "--photos-dir", str(hr), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ORIGINAL SKIPPED" in printed and "not a checkout of https://github.com/sefibk/KernelGAN" in printed
    assert "REDUCED RUN" in printed and "original skipped: no comparison" in printed
    assert calls == [("iso-narrow", 0, 5), ("iso-narrow", 1, 5)]
    report = json.loads((out / "kernelgan-fidelity.json").read_text())
    (row,) = report["photos"]
    assert row["original"] is None and row["realsr"]["l2"]["max"] < 1e-9 and "original" not in report["totals"]
    assert (out / "photos" / "iso-narrow.png").is_file() and not (out / "original").exists()
    assert "| - |" in (out / "kernelgan-fidelity.md").read_text()


def test_speed_table_compares_the_default_batch_with_the_originals_best():
    from benchmarks.interleave import Figure
    from benchmarks.kernelgan_fidelity import speed

    figures = {
        "original, 1 thread": Figure(54.0, 1.0, 0.0),
        "original, 2 threads": Figure(36.0, 1.0, 0.0),
        "realsr, --kernel-batch 1, threads by the rule": Figure(9.0, 1.0, 0.0),
        "realsr, --kernel-batch 8 (default), threads by the rule": Figure(3.0, 1.0, 0.1),
    }
    text, verdict = speed.table(figures, 500, None)
    assert "original, 2 threads" in verdict and verdict.endswith("12.00x")  # 36 / 3, against the faster original
    assert "| original, 1 thread | 54.0 | 0.67x |" in text and "4.00x" in text
    loaded = dict(figures, **{"realsr, --kernel-batch 8 (default), threads by the rule": Figure(3.0, 3.0, 2.0)})
    assert "no ratio" in speed.table(loaded, 500, None)[1]  # measured under another load: no speed-up printed
    ours = {k: v for k, v in figures.items() if k.startswith("realsr")}
    assert speed.table(ours, 500, "no --original DIR given")[1] == "original skipped: no --original DIR given"


def test_speed_benchmark_dispatched(monkeypatch):
    from benchmarks.__main__ import main
    from benchmarks.kernelgan_fidelity import speed

    seen = []
    monkeypatch.setattr(speed, "main", lambda argv: seen.append(argv) or 0)
    assert main(["kernelgan-speed", "--iters", "50"]) == 0 and seen == [["--iters", "50"]]


def test_speed_runs_this_tool_without_the_original(tmp_path, capsys):
    from benchmarks.kernelgan_fidelity import speed

    hr = tmp_path / "hr"
    hr.mkdir()
    rng = np.random.default_rng(1)
    for i in range(4):
        image = ndimage.zoom(rng.integers(0, 256, (40, 40, 3)), (8, 8, 1), order=1).astype(np.uint8)
        write_image(hr / f"{i:04d}.png", image)
    out = tmp_path / "out"
    argv = ["--original", str(tmp_path / "missing"), "--iters", "2", "--rounds", "1", "--batch", "3", "--size", "80"]
    assert speed.main([*argv, "--photos-dir", str(hr), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "original skipped" in printed and "realsr, --kernel-batch 3 (default)" in printed
    record = json.loads((out / "kernelgan-speed.json").read_text())
    assert set(record["figures"]) == {
        f"realsr, --kernel-batch {b}{d}, threads by the rule" for b, d in ((1, ""), (3, " (default)"))
    }
