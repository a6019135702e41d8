"""Process-wide decoder settings changed only while this package reads an image, then restored.

Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``) is lifted while a header is opened, because
:func:`realsr_cli.io.images.check_pixel_budget` applies its own budget right after, and OpenCV's log is silenced
while pixels are decoded (a bad file is reported in one line of ours; ``REALSR_DEBUG=1`` keeps OpenCV's lines).
Nothing is changed at import. Scopes nest and overlap across threads: the first to enter saves the setting, the
last to leave restores it (while any read runs, the whole process sees the changed setting).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import cv2
from PIL import Image as PILImage

from realsr_cli.errors import debugging


class ScopedSetting:
    """``with setting():`` sets a value for the block; the value before the outermost block comes back after."""

    def __init__(self, get: Callable[[], Any], put: Callable[[Any], object], value: Any) -> None:
        self._get, self._put, self._value = get, put, value
        self._lock = threading.Lock()
        self._depth, self._saved = 0, None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._saved = self._get()
                self._put(self._value)
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._put(self._saved)


def _set_pillow_limit(value: int | None) -> None:
    PILImage.MAX_IMAGE_PIXELS = value


pillow_unlimited = ScopedSetting(lambda: PILImage.MAX_IMAGE_PIXELS, _set_pillow_limit, None)
_opencv_silent = ScopedSetting(
    cv2.utils.logging.getLogLevel, cv2.utils.logging.setLogLevel, cv2.utils.logging.LOG_LEVEL_SILENT
)


def opencv_quiet() -> contextlib.AbstractContextManager[None]:
    """OpenCV's log silenced for the block (unless ``REALSR_DEBUG=1``)."""
    return contextlib.nullcontext() if debugging() else _opencv_silent()
