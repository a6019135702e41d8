"""Upscaling a video file: decode with PyAV, upscale frame by frame, encode, keep the frame rate, copy the audio.

PyAV (pip ``av``, FFmpeg's libraries; the ``video`` extra) decodes the first video stream to RGB frames, which go
through the same :class:`~realsr_cli.upscale.pipeline.Upscaler` as images (tiling, precision fallback, TTA). The
result is encoded with H.264 (libx264, ``yuv420p``, ``--crf``: 0 lossless .. 51 worst, 18 visually lossless)
in segments of ``segment_seconds``: each finished segment is renamed into ``.<output>.parts/`` and a re-run after
an interruption decodes past the finished segments and upscales from the first missing one, provided the input,
the models and the options are the same (:mod:`realsr_cli.upscale.video_parts`; ``--overwrite`` starts over). Then
the segments' packets are joined (no re-encoding) with the input's audio streams copied packet for packet, into a
temporary file published as the output (exclusively, without ``--overwrite``). The output keeps the input's average frame rate (variable frame rates become constant).
"""

from __future__ import annotations

import heapq
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from realsr_cli.errors import InputError, RealSRError
from realsr_cli.io.atomic import atomic_write, ensure_writable
from realsr_cli.upscale.video_parts import parts_dir, prepare_parts, video_fingerprint

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v")
SEGMENT_SECONDS = 10.0


@dataclass
class VideoReport:
    input: str
    output: str
    frames: int
    upscaled: int  # frames upscaled by this run (fewer when earlier segments were resumed)
    fps: float
    in_size: tuple[int, int]
    out_size: tuple[int, int]
    audio_streams: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_EXTENSIONS and Path(path).is_file()


def _av():
    try:
        import av
    except ImportError:  # pragma: no cover - the `video` extra
        raise InputError("video input needs PyAV: pip install 'realsr-cli[video]' (or pip install av)") from None
    return av


def _open(path: Path):
    av = _av()
    try:
        container = av.open(str(path))
    except Exception as exc:  # noqa: BLE001 - FFmpeg's errors become one line naming the file
        raise InputError(f"{path}: not a readable video ({type(exc).__name__}: {exc})") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: no video stream")
    return container


def _segment_path(parts: Path, index: int) -> Path:
    return parts / f"seg_{index:05d}.mp4"


def _encode_segment(path: Path, frames: list[Any], fps: Fraction, crf: int) -> None:
    """Write ``frames`` (RGB uint8 arrays) as one H.264 segment, atomically."""
    av = _av()

    def write(tmp: Path) -> None:
        with av.open(str(tmp), "w", format="mp4") as out:
            stream = out.add_stream("libx264", rate=fps)
            stream.height, stream.width = frames[0].shape[:2]
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(crf), "preset": "medium"}
            for pixels in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)

    atomic_write(path, write)


def _packets(path: Path, stream_index: int, offset: float) -> Iterator[tuple[float, int, Any]]:
    """(time in seconds, tie-break, packet) of one stream of ``path``, shifted by ``offset`` seconds."""
    with _av().open(str(path)) as container:
        stream = container.streams[stream_index]
        for n, packet in enumerate(container.demux(stream)):
            if packet.dts is None:
                continue
            yield (offset + float(packet.dts * packet.time_base), n, packet)


def _join(output: Path, segments: list[Path], source: Path, fps: Fraction, overwrite: bool) -> int:
    """Mux the segments' video and the source's audio into ``output`` (atomically). Returns the audio streams."""
    av = _av()

    def write(tmp: Path) -> None:
        with (
            av.open(str(segments[0])) as first,
            av.open(str(source)) as src,
            av.open(str(tmp), "w", format=_format(output)) as out,
        ):
            video = out.add_stream_from_template(first.streams.video[0])
            audios = [(a.index, out.add_stream_from_template(a)) for a in src.streams.audio]
            feeds = [_retimed(segments, video, fps)]
            feeds += [_tagged(_packets(source, index, 0.0), stream) for index, stream in audios]
            for _, _, packet in heapq.merge(*feeds, key=lambda item: (item[0], item[1])):
                out.mux(packet)
        write.audio = len(audios)  # type: ignore[attr-defined]

    atomic_write(output, write, overwrite=overwrite, inputs=frozenset({source.resolve()}))
    return int(getattr(write, "audio", 0))


def _tagged(packets: Iterator[tuple[float, int, Any]], stream: Any) -> Iterator[tuple[float, int, Any]]:
    for t, n, packet in packets:
        packet.stream = stream
        yield t, n, packet


def _retimed(segments: list[Path], stream: Any, fps: Fraction) -> Iterator[tuple[float, int, Any]]:
    """All segments' video packets, timestamps moved after the frames of the segments before."""
    frame_ticks = 1 / fps
    start = Fraction(0)
    for path in segments:
        count = 0
        for t, n, packet in _packets(path, 0, float(start)):
            shift = int(round(start / packet.time_base))
            packet.pts = None if packet.pts is None else packet.pts + shift
            packet.dts = packet.dts + shift
            packet.stream = stream
            count += 1
            yield t, n, packet
        start += count * frame_ticks


def _format(path: Path) -> str | None:
    return {".mkv": "matroska", ".webm": "webm", ".mov": "mov", ".m4v": "mp4", ".mp4": "mp4"}.get(path.suffix.lower())


def upscale_video(
    source: str | Path,
    output: str | Path,
    upscaler: Any,
    *,
    crf: int = 18,
    segment_seconds: float = SEGMENT_SECONDS,
    overwrite: bool = False,
    quiet: bool = False,
) -> VideoReport:
    """Upscale ``source`` into ``output`` (resuming finished segments of an interrupted run)."""
    from realsr_cli.console import make_progress

    source, output = Path(source), Path(output)
    if output.suffix.lower() not in VIDEO_EXTENSIONS or output.suffix.lower() == ".avi":
        raise InputError(f"{output}: a video output must end in .mp4, .mkv, .mov, .m4v or .webm")
    if not 0 <= crf <= 51:
        raise InputError(f"--crf {crf}: must be between 0 (lossless) and 51")
    ensure_writable(output, overwrite, frozenset({source.resolve()}))
    parts = parts_dir(output)
    start = time.perf_counter()
    if hasattr(upscaler, "fixed_for"):  # --denoise auto: one strength for the whole video, from its first frame
        with _open(source) as container:
            first = next(container.decode(container.streams.video[0]), None)
        if first is not None:
            upscaler = upscaler.fixed_for(first.to_ndarray(format="rgb24"))
    with _open(source) as container:
        stream = container.streams.video[0]
        fps = Fraction(stream.average_rate or stream.guessed_rate or 25)
        per_segment = max(1, int(round(segment_seconds * fps)))
        total = stream.frames or None
        frames, upscaled, index, out_size = 0, 0, 0, (0, 0)
        buffer: list[Any] = []  # a segment's frames: upscaled pixels, or None where its file is already done
        in_size = (stream.codec_context.height, stream.codec_context.width)
        prepare_parts(parts, video_fingerprint(source, upscaler, crf, per_segment), overwrite)
        with make_progress(quiet) as progress:
            task = progress.add_task(f"upscaling {source.name}", total=total, status="frames")
            for frame in container.decode(stream):
                frames += 1
                if _segment_path(parts, index).is_file():  # finished by an earlier run
                    buffer.append(None)
                else:
                    pixels, _ = upscaler.upscale_pixels(frame.to_ndarray(format="rgb24"))
                    _check_even(pixels, output)
                    out_size = (pixels.shape[0], pixels.shape[1])
                    buffer.append(pixels)
                    upscaled += 1
                progress.advance(task)
                if len(buffer) == per_segment:
                    _flush(parts, index, buffer, fps, crf)
                    index, buffer = index + 1, []
            if buffer:
                _flush(parts, index, buffer, fps, crf)
                index += 1
    if frames == 0:
        raise InputError(f"{source}: no frames decoded")
    segments = [_segment_path(parts, i) for i in range(index)]
    audio = _join(output, segments, source, fps, overwrite)
    shutil.rmtree(parts, ignore_errors=True)
    if out_size == (0, 0):
        with _open(output) as done:
            out_size = (done.streams.video[0].codec_context.height, done.streams.video[0].codec_context.width)
    return VideoReport(str(source), str(output), frames, upscaled, float(fps), in_size, out_size, audio,
                       round(time.perf_counter() - start, 3))  # fmt: skip


def _check_even(pixels: Any, output: Path) -> None:
    if pixels.shape[0] % 2 or pixels.shape[1] % 2:
        raise RealSRError(f"{output}: H.264 needs an even frame size, got {pixels.shape[1]}x{pixels.shape[0]}")


def _flush(parts: Path, index: int, buffer: list[Any], fps: Fraction, crf: int) -> None:
    if all(b is not None for b in buffer):
        _encode_segment(_segment_path(parts, index), buffer, fps, crf)
