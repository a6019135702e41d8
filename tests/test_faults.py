"""Fault injection (issue 15): hostile files, unwritable outputs, races, bad options - nothing lost, one line each.

Every case checks the same contract: one clear line naming the file and the problem (never a traceback), the rest of
the batch goes on, a non-zero exit, no input modified or deleted, no output replaced without ``--overwrite``.
Read-only folders and full disks are small tmpfs mounts (skipped with the reason where ``mount`` is not allowed);
the race is two real ``realsr upscale`` processes writing into one folder.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import typer

from realsr_cli.archs import build_arch
from realsr_cli.batch import worker_error_text
from realsr_cli.cli.common import handle_errors
from realsr_cli.errors import ImageReadError, OutputError, OutputExistsError
from realsr_cli.io.atomic import atomic_write_bytes, atomic_write_text
from realsr_cli.io.guard import command_scope
from realsr_cli.io.images import DEFAULT_MAX_PIXELS, read_image, write_image
from realsr_cli.io.paths import collect_inputs
from realsr_cli.models.checkpoint import save_model
from tests.conftest import REPO, synthetic_image

TINY_MODEL = {"num_feat": 4, "num_conv": 1}
TRAIN_SETS = ("arch_args={num_feat: 4, num_block: 1}", "data.batch_size=1", "train.log_every=1", "train.save_every=1")


# ---------------------------------------------------------------- helpers
def one_line_error(result, *needles: str) -> str:
    """The run failed with exit 1, printed no traceback, and an error line holds every needle."""
    text = result.output
    assert result.exit_code == 1, text
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.startswith("error:")]
    assert any(all(n in line for n in needles) for line in lines), text
    return text


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def images(folder: Path, count: int = 2, h: int = 16, w: int = 20, names: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names or tuple(f"img{i}.png" for i in range(count))):
        write_image(folder / name, synthetic_image(h, w, seed=i))
    return folder


def tiny_model(path: Path, scale: int = 2) -> Path:
    torch.manual_seed(0)
    model = build_arch("srvggnet-compact", scale=scale, **TINY_MODEL)
    return save_model(path, model, arch="srvggnet-compact", arch_args=TINY_MODEL, scale=scale)


def make_train_pairs(folder: Path, count: int = 2, scale: int = 2) -> Path:
    for i in range(count):
        hr = synthetic_image(16, 16, seed=i)
        write_image(folder / "hr" / f"p{i}.png", hr)
        write_image(folder / "lr" / f"p{i}.png", np.ascontiguousarray(hr[::scale, ::scale]))
    return folder


def train_args(pairs: Path, run: Path, *extra: str) -> list:
    sets = [a for s in TRAIN_SETS for a in ("--set", s)]
    return [
        "train-sr",
        pairs,
        "-o",
        run,
        "-s",
        "2",
        "--patch-size",
        "8",
        "--workers",
        "0",
        "--device",
        "cpu",
        *sets,
        *extra,
    ]


@pytest.fixture
def tmpfs(tmp_path: Path):
    """mount(size, read_only) -> a fresh tmpfs folder; unmounted afterwards. Skipped where mounting is not allowed."""
    mounted: list[Path] = []

    def mount(size: str = "1m", read_only: bool = False) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        options = f"size={size}" + (",ro" if read_only else "")
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)], capture_output=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): {proc.stderr.decode().strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


# ------------------------------------------------------- 1. inputs are never destroyed
def test_make_pairs_refuses_inputs_inside_its_own_pairs_folder(cli, tmp_path):
    pairs = tmp_path / "PAIRS"
    assert cli("make-pairs", images(tmp_path / "src"), "-o", pairs, "--self", "-s", "2", "-q").exit_code == 0
    before = snapshot(pairs)
    result = cli("make-pairs", pairs / "hr", "-o", pairs, "--self", "-s", "2", "--overwrite", "-q")
    one_line_error(result, str(pairs / "hr"), "an input inside")
    assert snapshot(pairs) == before  # hr/, lr/ and pairs.jsonl untouched


def test_stale_clean_up_never_deletes_an_input(tmp_path):
    from realsr_cli.pairs.core import _remove_stale

    out = tmp_path / "pairs"
    images(out / "hr", names=("old.png", "kept.png"))
    inputs = frozenset({(out / "hr" / "kept.png").resolve()})
    old = [{"hr": "hr/old.png", "lr": "lr/old.png"}, {"hr": "hr/kept.png", "lr": "lr/kept.png"}]
    _remove_stale(out, old, [], inputs)
    assert sorted(p.name for p in (out / "hr").iterdir()) == ["kept.png"]


def test_learn_degradation_refuses_photos_inside_its_output_folders(cli, tmp_path):
    photos = images(tmp_path / "out" / "noise")
    before = snapshot(photos)
    one_line_error(cli("learn-degradation", photos, "-o", tmp_path / "out", "-m", "noise", "-q"), "an input inside")
    assert snapshot(photos) == before


@pytest.mark.parametrize("command", ["degrade", "upscale", "make-pairs", "score", "profile"])
def test_json_report_never_replaces_an_existing_file(cli, tmp_path, command):
    src, model = images(tmp_path / "in"), tiny_model(tmp_path / "m.pt")
    report = tmp_path / "keep.json"
    report.write_text("precious")
    args = {
        "degrade": ["degrade", src, tmp_path / "out", "-s", "2", "-p", "bicubic"],
        "upscale": ["upscale", src, tmp_path / "out", "--model", model, "--device", "cpu"],
        "make-pairs": ["make-pairs", src, "-o", tmp_path / "out", "--self", "-s", "2"],
        "score": ["score", src, "--metrics", "piqe"],
        "profile": ["profile", "--model", model, "--runs", "0", "--no-crosscheck"],
    }[command]
    one_line_error(cli(*args, "--json", report, "-q"), str(report), "output exists")
    assert report.read_text() == "precious" and not (tmp_path / "out").exists()  # refused before any work


@pytest.mark.parametrize("command", ["degrade", "upscale"])
def test_json_report_never_replaces_an_input_even_with_overwrite(cli, tmp_path, command):
    src = images(tmp_path / "in")
    before = snapshot(src)
    args = ["degrade", src, tmp_path / "out", "-s", "2", "-p", "bicubic"]
    if command == "upscale":
        args = ["upscale", src, tmp_path / "out", "--model", tiny_model(tmp_path / "m.pt"), "--device", "cpu"]
    result = cli(*args, "--json", src / "img0.png", "--overwrite", "-q")
    one_line_error(result, str(src / "img0.png"), "input")
    assert snapshot(src) == before and not (tmp_path / "out").exists()


# ------------------------------------------------------- 2. exclusive outputs, two real processes
def test_exclusive_create_loses_to_a_file_created_meanwhile(tmp_path):
    target = tmp_path / "x.png"

    def racing_writer(tmp: Path) -> None:  # another process publishes the name between the check and the link
        tmp.write_bytes(b"mine")
        target.write_bytes(b"theirs")

    from realsr_cli.io.atomic import atomic_write

    with pytest.raises(OutputExistsError, match="output exists"):
        atomic_write(target, racing_writer, overwrite=False)
    assert target.read_bytes() == b"theirs" and [p.name for p in tmp_path.iterdir()] == ["x.png"]
    atomic_write_bytes(target, b"mine", overwrite=True)
    assert target.read_bytes() == b"mine"


@pytest.mark.slow
def test_two_upscale_processes_never_both_write_one_output(tmp_path):
    src = images(tmp_path / "in", count=8, h=24, w=24)
    model = tiny_model(tmp_path / "m.pt")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "REALSR_DEBUG": ""}
    run = "from realsr_cli.cli.main import run; run()"
    cmd = [sys.executable, "-c", run, "upscale", str(src), str(tmp_path / "out"), "--model", str(model)]
    cmd += ["--device", "cpu", "-q"]
    procs = [
        subprocess.Popen([*cmd, "--json", str(tmp_path / f"r{i}.json")], env=env, cwd=REPO, stderr=subprocess.PIPE)
        for i in range(2)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    written = [{img["output"] for img in json.loads((tmp_path / f"r{i}.json").read_text())["images"]} for i in range(2)]
    assert not written[0] & written[1], "an output was reported as written by both processes"
    assert written[0] | written[1] == {str(tmp_path / "out" / f"img{i}.png") for i in range(8)}
    for proc, err, mine in zip(procs, errors, written, strict=True):
        assert "Traceback" not in err
        assert proc.returncode == (0 if len(mine) == 8 else 1), err
        refused = [line for line in err.splitlines() if line.startswith("error:") and "output exists" in line]
        assert len(refused) == 8 - len(mine), err
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temporary files left


# ------------------------------------------------------- 3. one line, never a traceback
def test_bracket_names_are_printed_literally(cli, tmp_path):
    src = images(tmp_path / "scans [", names=("good.png",))
    (src / "x] broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (src / "[bold]odd.png").write_bytes(b"not an image")
    result = cli("degrade", src, tmp_path / "shots [raw]", "-s", "2", "-p", "bicubic")
    one_line_error(result, "scans [/x] broken.png", "cannot decode")
    assert "[bold]odd.png" in result.output and "2 of 3 file(s) failed" in result.output
    assert (tmp_path / "shots [raw]" / "good.png").is_file()


@pytest.mark.parametrize(
    "payload, needle",
    [
        ({"format": "realsr-model", "format_version": 1, "scale": 2, "params": {}}, "no arch"),
        ({"arch": "srvggnet-compact", "arch_args": {"num_feat": -4, "num_conv": 1}, "scale": 2}, "cannot build"),
        ({"arch": "no-such-net", "arch_args": {}, "scale": 2}, "unknown architecture"),
        ({"arch": "srvggnet-compact", "arch_args": [], "scale": "x4"}, "malformed model metadata"),
    ],
)
def test_bad_model_metadata_is_one_line(cli, tmp_path, payload, needle):
    bad = tmp_path / "bad.pt"
    torch.save({"format": "realsr-model", "format_version": 1, "params": {}, **payload}, bad)
    src = images(tmp_path / "in", count=1)
    one_line_error(cli("upscale", src, tmp_path / "out", "--model", bad, "--device", "cpu", "-q"), str(bad), needle)
    one_line_error(cli("profile", "--model", bad, "--runs", "0", "--no-crosscheck", "-q"), str(bad))


@pytest.mark.parametrize(
    "value, needle",
    [
        ("train.lr=fast", "train.lr='fast': expected a number"),
        ("train.lr=!!python/object/apply:os.system [echo hi]", "invalid YAML value"),
        ("train.lr=[1, 2", "invalid YAML value"),
        ("arch_args={num_feat: -4, num_block: 1}", "cannot build"),
        ("train.log_every=0", "train.log_every=0: must be at least 1"),
    ],
)
def test_bad_set_values_are_one_line(cli, tmp_path, value, needle):
    pairs = make_train_pairs(tmp_path / "pairs")
    one_line_error(cli(*train_args(pairs, tmp_path / "run", "--set", value, "-q")), needle)
    assert not (tmp_path / "run").exists()


def test_incomplete_resume_checkpoint_and_refused_vgg_pickle(cli, tmp_path):
    pairs = make_train_pairs(tmp_path / "pairs")
    ckpt = tmp_path / "run" / "checkpoints" / "latest.pt"
    ckpt.parent.mkdir(parents=True)
    torch.save({"format": "realsr-train-state", "iter": 3}, ckpt)
    one_line_error(cli(*train_args(pairs, tmp_path / "run", "--resume", "-q")), str(ckpt), "missing")
    unsafe = tmp_path / "vgg.pth"
    torch.save({"features.0.weight": torch.zeros(1), "extra": typer.Typer}, unsafe)  # a class: weights_only refuses
    args = train_args(pairs, tmp_path / "gan", "--preset", "esrgan", "--arch", "msrresnet", "--vgg-weights", unsafe)
    one_line_error(cli(*args, "-q"), str(unsafe), "not a readable")


def test_worker_error_comes_back_as_its_own_line(cli, tmp_path):
    pairs = make_train_pairs(tmp_path / "pairs", count=1)
    (pairs / "hr" / "p0.png").write_bytes(b"\x89PNG\r\n\x1a\ncorrupt")
    args = train_args(pairs, tmp_path / "run", "-q")
    args[args.index("--workers") + 1] = "2"
    result = cli(*args)
    text = one_line_error(result, str(pairs / "hr" / "p0.png"), "cannot decode")
    assert "DataLoader worker" not in text
    sample = "Caught RuntimeError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
    sample += '  File "x.py", line 1, in f\nrealsr_cli.errors.InputError: a.png: bad\n'
    assert worker_error_text(sample) == "a.png: bad"


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(monkeypatch, capsys):
    @handle_errors
    def boom() -> None:
        raise ValueError("deep inside\nsecond line")

    with pytest.raises(typer.Exit):
        boom()
    err = capsys.readouterr().err
    assert "ValueError: deep inside" in err and "REALSR_DEBUG=1" in err and "second line" not in err
    monkeypatch.setenv("REALSR_DEBUG", "1")
    with pytest.raises(ValueError):
        boom()


def test_read_only_outputs_are_one_line(cli, tmp_path, tmpfs):
    ro = tmpfs(read_only=True)
    src, pairs = images(tmp_path / "in"), make_train_pairs(tmp_path / "pairs")
    one_line_error(cli(*train_args(pairs, ro / "run", "-q")), str(ro / "run"), "Read-only file system")
    result = cli("make-pairs", src, "-o", ro / "pairs", "--self", "-s", "2", "-q")
    one_line_error(result, str(ro / "pairs" / "pairs.jsonl"), "cannot write (Read-only file system)")
    one_line_error(result, str(ro / "pairs" / "hr" / "img0.png"), "cannot write")
    one_line_error(cli("score", src, "--metrics", "piqe", "--json", ro / "s.json", "-q"), str(ro / "s.json"))
    one_line_error(cli("degrade", src, ro / "lr", "-s", "2", "-p", "bicubic", "-q"), "cannot write")


@pytest.mark.slow
def test_full_disk_is_one_line_and_leaves_no_temporary_file(cli, tmp_path, tmpfs):
    full = tmpfs(size="64k")
    with pytest.raises(OSError), open(full / "filler", "wb") as filler:  # fill the disk to the last page
        for _ in range(64):
            filler.write(b"\0" * 4096)
            filler.flush()
    src = images(tmp_path / "in", count=2, h=64, w=64)
    result = cli("upscale", src, full / "out", "--model", tiny_model(tmp_path / "m.pt"), "--device", "cpu", "-q")
    one_line_error(result, str(full / "out"), "No space left on device")
    one_line_error(cli("score", src, "--metrics", "piqe", "--json", full / "s.json", "-q"), "No space left")
    one_line_error(cli(*train_args(make_train_pairs(tmp_path / "pairs"), full / "run", "-q")), "No space left")
    leftovers = [p.name for p in full.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == [] and not (full / "s.json").exists()
    with pytest.raises(OutputError, match="No space left"):
        atomic_write_text(full / "x.txt", "y" * 100_000)


# ------------------------------------------------------- 4. wrong results are not accepted silently
@pytest.mark.parametrize("scale", ["0", "-2"])
def test_degrade_refuses_a_scale_below_one_before_any_work(cli, tmp_path, scale):
    one_line_error(cli("degrade", images(tmp_path / "in"), tmp_path / "out", "-s", scale, "-q"), f"-s {scale}:")
    assert not (tmp_path / "out").exists()


def test_resume_continues_the_interrupted_runs_length_and_unpaired_hr_is_named(cli, tmp_path):
    from realsr_cli.train import load_train_config, train_sr

    pairs = make_train_pairs(tmp_path / "pairs")
    write_image(pairs / "hr" / "lonely.png", synthetic_image(16, 16, seed=9))
    cfg = load_train_config(
        "msrresnet", {"scale": 2, "train.iters": 4, "data.patch_size": 8}, [*TRAIN_SETS, "data.workers=0"]
    )
    assert train_sr(pairs, tmp_path / "run", cfg, device="cpu", quiet=True, stop_after=2).iters == 2
    result = cli(*train_args(pairs, tmp_path / "run", "--resume", "--json", tmp_path / "r.json"))
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r.json").read_text())["iters"] == 4  # not the preset's 1,000,000
    assert "lonely" in result.output and "without a twin in lr/" in result.output


def test_dangling_symlinks_are_named(cli, tmp_path):
    src = images(tmp_path / "in", count=1)
    (src / "gone.png").symlink_to(tmp_path / "missing.png")
    result = cli("degrade", src, tmp_path / "out", "-s", "2", "-p", "bicubic", "-q")
    assert result.exit_code == 0 and "dangling symbolic link" in result.output and "gone.png" in result.output
    one_line_error(cli("upscale", src / "gone.png", tmp_path / "x.png", "-q"), "gone.png", "dangling")


# ------------------------------------------------------- 5./6. valid files decode; the pixel budget
def test_jpeg_with_data_after_end_of_image_decodes(tmp_path):
    pixels = synthetic_image(24, 32)
    ok, buf = cv2.imencode(".jpg", pixels[:, :, ::-1])
    plain, motion = tmp_path / "plain.jpg", tmp_path / "motion.jpg"
    plain.write_bytes(buf.tobytes())
    motion.write_bytes(buf.tobytes() + b"\x00\x00\x00\x18ftypmp42" + b"\xff\xd8 video \xff" * 50)
    assert np.array_equal(read_image(motion).pixels, read_image(plain).pixels)
    (tmp_path / "cut.jpg").write_bytes(buf.tobytes()[: len(buf) // 2])
    with pytest.raises(ImageReadError, match="truncated JPEG"):
        read_image(tmp_path / "cut.jpg")


def _png_claiming(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    )


def test_pixel_budget_is_checked_from_the_header(cli, tmp_path, monkeypatch):
    bomb = tmp_path / "in" / "bomb.png"
    bomb.parent.mkdir()
    bomb.write_bytes(_png_claiming(30000, 30000))
    with pytest.raises(ImageReadError, match="900.0 MP is over the pixel budget of 179.0 MP"):
        read_image(bomb)
    assert DEFAULT_MAX_PIXELS > 150e6
    images(tmp_path / "in", count=1)
    model = tiny_model(tmp_path / "m.pt")
    result = cli("upscale", tmp_path / "in", tmp_path / "out", "--model", model, "--device", "cpu", "-q")
    one_line_error(result, str(bomb), "pixel budget")
    assert (tmp_path / "out" / "img0.png").is_file()  # the rest of the batch went on
    monkeypatch.setenv("REALSR_MAX_PIXELS", "100")
    with pytest.raises(ImageReadError, match="pixel budget"):
        read_image(tmp_path / "in" / "img0.png")
    assert read_image(tmp_path / "in" / "img0.png", max_pixels=0).width == 20
    args = ("upscale", tmp_path / "in" / "img0.png", tmp_path / "o.png", "--model", model, "--device", "cpu", "-q")
    assert cli(*args, "--max-pixels", "0").exit_code == 0


def test_collected_inputs_are_guarded_for_the_whole_command(tmp_path):
    src = images(tmp_path / "in", count=1)
    with command_scope():
        collect_inputs(src)
        with pytest.raises(OutputExistsError, match="input"):
            atomic_write_text(src / "img0.png", "report", overwrite=True)
    atomic_write_text(tmp_path / "free.txt", "ok", overwrite=False)


@pytest.mark.parametrize(
    "command",
    [
        "degrade",
        "upscale",
        "make-pairs",
        pytest.param("make-pairs-workers", marks=pytest.mark.slow),
        "score",
        "profile",
        "learn-degradation",
    ],
)
def test_every_json_report_lists_failures_in_one_shape_with_one_summary(cli, tmp_path, command):
    src, model = images(tmp_path / "in"), tiny_model(tmp_path / "m.pt")
    bad = src / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    if command == "profile":
        bad = tmp_path / "broken.pt"
        bad.write_bytes(b"not a model")
    report = tmp_path / "r.json"
    args = {
        "degrade": ["degrade", src, tmp_path / "out", "-s", "2", "-p", "bicubic"],
        "upscale": ["upscale", src, tmp_path / "out", "--model", model, "--device", "cpu"],
        "make-pairs": ["make-pairs", src, "-o", tmp_path / "out", "--self", "-s", "2"],
        "make-pairs-workers": ["make-pairs", src, "-o", tmp_path / "out", "--self", "-s", "2", "--workers", "2"],
        "score": ["score", src, "--metrics", "piqe"],
        "profile": ["profile", "--model", model, "--model", bad, "--runs", "0", "--no-crosscheck"],
        "learn-degradation": ["learn-degradation", src, "-o", tmp_path / "out", "-m", "noise", "--device", "cpu"],
    }[command]
    result = cli(*args, "--json", report, "-q")
    one_line_error(result, "broken")
    assert f"1 of {2 if command == 'profile' else 3} file(s) failed:" in result.output
    (failure,) = json.loads(report.read_text())["failures"]
    assert set(failure) == {"path", "error"} and Path(failure["path"]).name == bad.name
    assert bad.name in failure["error"] and failure["error"] in result.output
