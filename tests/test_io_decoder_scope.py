"""Reading images changes no process-wide setting for good, and the pixel budget holds when Pillow cannot open a file."""

from __future__ import annotations

import subprocess
import sys

import cv2
import pytest
from PIL import Image as PILImage

from realsr_cli.errors import ImageReadError
from realsr_cli.io.header_size import header_size
from realsr_cli.io.images import encode_image, read_image
from tests.conftest import REPO, synthetic_image

FORMATS = [(".png", 95, 3), (".jpg", 90, 3), (".bmp", 95, 3), (".webp", 80, 3), (".webp", 100, 3),
           (".webp", 80, 4), (".tif", 95, 1), (".tif", 95, 3)]  # fmt: skip


def test_import_changes_no_process_wide_setting() -> None:
    code = (
        "import cv2, PIL.Image as P; cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_INFO);"
        "before = (P.MAX_IMAGE_PIXELS, cv2.utils.logging.getLogLevel()); import realsr_cli.io.images;"
        "assert (P.MAX_IMAGE_PIXELS, cv2.utils.logging.getLogLevel()) == before, before"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_read_lifts_pillows_limit_and_silences_opencv_only_meanwhile(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 100)  # 64x64 is a "bomb" to Pillow now; not to our budget
    level = cv2.utils.logging.getLogLevel()
    path = tmp_path / "img.png"
    path.write_bytes(encode_image(synthetic_image(64, 64, 3), ".png"))
    assert read_image(path).pixels.shape == (64, 64, 3)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(ImageReadError):
        read_image(tmp_path / "bad.png")
    assert PILImage.MAX_IMAGE_PIXELS == 100 and cv2.utils.logging.getLogLevel() == level


@pytest.mark.parametrize("ext, quality, channels", FORMATS)
def test_header_size_reads_each_format(ext, quality, channels) -> None:
    assert header_size(encode_image(synthetic_image(24, 40, channels), ext, quality)) == (40, 24)


def test_header_size_of_junk_is_none() -> None:
    assert header_size(b"") is None and header_size(b"\xff\xd8\xff") is None and header_size(b"II*\0\xff\xff") is None


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif"])
def test_budget_holds_when_pillow_cannot_open(tmp_path, monkeypatch, ext) -> None:
    path = tmp_path / f"img{ext}"
    path.write_bytes(encode_image(synthetic_image(64, 64, 3), ext))

    def refuse(*args, **kwargs):
        raise OSError("cannot identify image file")

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded before the pixel budget was checked")

    monkeypatch.setattr(PILImage, "open", refuse)
    with monkeypatch.context() as patch:
        patch.setattr(cv2, "imdecode", no_decoding)
        with pytest.raises(ImageReadError, match="pixel budget"):
            read_image(path, max_pixels=1000)
    assert read_image(path, max_pixels=0).pixels.shape[:2] == (64, 64)
