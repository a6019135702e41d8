"""``upscale`` of a video: a generated 3-second clip with audio round-trips with the right frames, size, fps, audio."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from realsr_cli.archs import build_arch
from realsr_cli.cli.main import app
from realsr_cli.errors import OutputExistsError
from realsr_cli.models.checkpoint import save_model
from realsr_cli.models.loading import load_sr_model
from realsr_cli.upscale.pipeline import UpscaleOptions, Upscaler
from realsr_cli.upscale.video import upscale_video

FPS, SECONDS, SIZE, RATE = 10, 3, (24, 32), 16000


def make_clip(path: Path) -> Path:
    """3 s of a moving gradient at 10 fps (H.264) with a 440 Hz tone (AAC)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.height, video.width = SIZE
        video.pix_fmt = "yuv420p"
        audio = out.add_stream("aac", rate=RATE)
        y, x = np.mgrid[0 : SIZE[0], 0 : SIZE[1]]
        for i in range(FPS * SECONDS):
            rgb = np.stack([(x * 8 + i * 5) % 256, (y * 10) % 256, np.full_like(x, i * 8 % 256)], -1).astype(np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        t = np.arange(RATE * SECONDS) / RATE
        tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, tone.size, 1024):
            frame = av.AudioFrame.from_ndarray(tone[None, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = RATE, start
            for packet in audio.encode(frame):
                out.mux(packet)
        for stream in (video, audio):
            for packet in stream.encode():
                out.mux(packet)
    return path


def probe(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        info = {
            "size": (video.codec_context.height, video.codec_context.width),
            "fps": Fraction(video.average_rate),
            "frames": sum(1 for _ in container.decode(video)),
        }
    with av.open(str(path)) as container:
        audio = container.streams.audio
        info["audio"] = [(a.codec_context.name, a.rate) for a in audio]
        samples = sum(f.samples for f in container.decode(audio[0])) if audio else 0
        info["audio_seconds"] = samples / audio[0].rate if audio else 0.0
    return info


@pytest.fixture
def clip(tmp_path) -> Path:
    return make_clip(tmp_path / "clip.mp4")


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    torch.manual_seed(0)
    args = {"num_feat": 8, "num_conv": 2}
    net = build_arch("srvggnet-compact", scale=2, **args)
    return save_model(tmp_path / "m.pt", net, arch="srvggnet-compact", arch_args=args, scale=2)


def test_clip_round_trips_through_upscale(clip, tiny_model, tmp_path) -> None:
    out = tmp_path / "out.mp4"
    args = ["upscale", str(clip), str(out), "--model", str(tiny_model), "--device", "cpu", "--crf", "20", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    info = probe(out)
    assert info["frames"] == FPS * SECONDS and info["size"] == (SIZE[0] * 2, SIZE[1] * 2)
    assert info["fps"] == FPS and info["audio"] == [("aac", RATE)]
    assert info["audio_seconds"] == pytest.approx(SECONDS, abs=0.1)
    assert not any(p.name.endswith(".parts") for p in tmp_path.iterdir())


def test_interrupted_video_resumes_from_the_last_segment(clip, tiny_model, tmp_path) -> None:
    engine = Upscaler([load_sr_model(tiny_model)], torch.device("cpu"), UpscaleOptions())
    calls = {"n": 0}
    real = engine.upscale_pixels

    def failing(pixels):
        calls["n"] += 1
        if calls["n"] == 15:
            raise KeyboardInterrupt
        return real(pixels)

    engine.upscale_pixels = failing
    out = tmp_path / "out.mkv"
    with pytest.raises(KeyboardInterrupt):
        upscale_video(clip, out, engine, segment_seconds=1.0, quiet=True)
    parts = tmp_path / ".out.mkv.parts"
    assert sorted(p.name for p in parts.glob("*.mp4")) == ["seg_00000.mp4"] and not out.exists()
    engine.upscale_pixels = real
    report = upscale_video(clip, out, engine, segment_seconds=1.0, quiet=True)
    assert report.upscaled == FPS * SECONDS - FPS and report.frames == FPS * SECONDS and report.audio_streams == 1
    info = probe(out)
    assert info["frames"] == FPS * SECONDS and info["fps"] == FPS and not parts.exists()


def _engine(model: Path, **options) -> Upscaler:
    return Upscaler([load_sr_model(model)], torch.device("cpu"), UpscaleOptions(**options))


def _interrupt(engine: Upscaler, clip: Path, out: Path) -> None:
    """Run until frame 15 (segment 0 of 1 s finished), then stop as Ctrl-C would."""
    real, calls = engine.upscale_pixels, {"n": 0}

    def failing(pixels):
        calls["n"] += 1
        if calls["n"] == 15:
            raise KeyboardInterrupt
        return real(pixels)

    engine.upscale_pixels = failing
    with pytest.raises(KeyboardInterrupt):
        upscale_video(clip, out, engine, segment_seconds=1.0, quiet=True)
    engine.upscale_pixels = real
    assert (out.parent / f".{out.name}.parts" / "seg_00000.mp4").is_file()


@pytest.mark.parametrize("change", ["overwrite", "crf", "weights", "tile", "input"])
def test_stale_segments_are_not_reused(clip, tiny_model, tmp_path, change) -> None:
    out = tmp_path / "out.mp4"
    _interrupt(_engine(tiny_model), clip, out)
    engine, kwargs = _engine(tiny_model), {"segment_seconds": 1.0, "quiet": True}
    if change == "overwrite":
        kwargs["overwrite"] = True
    elif change == "crf":
        kwargs["crf"] = 30
    elif change == "weights":
        torch.manual_seed(1)
        args = {"num_feat": 8, "num_conv": 2}
        net = build_arch("srvggnet-compact", scale=2, **args)
        other = save_model(tmp_path / "other.pt", net, arch="srvggnet-compact", arch_args=args, scale=2)
        engine = _engine(other)
    elif change == "tile":
        engine = _engine(tiny_model, tile=16)
    else:
        stat = clip.stat()
        os.utime(clip, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    report = upscale_video(clip, out, engine, **kwargs)
    assert report.upscaled == FPS * SECONDS  # every frame again: segment 0 of the earlier run was discarded


def test_output_created_meanwhile_is_not_replaced(clip, tiny_model, tmp_path) -> None:
    out, engine = tmp_path / "out.mp4", _engine(tiny_model)
    real = engine.upscale_pixels

    def racing(pixels):  # another run publishes the output while this one upscales
        out.write_bytes(b"theirs")
        return real(pixels)

    engine.upscale_pixels = racing
    with pytest.raises(OutputExistsError):
        upscale_video(clip, out, engine, quiet=True)
    assert out.read_bytes() == b"theirs"
