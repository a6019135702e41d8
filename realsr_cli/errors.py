"""User-facing errors: each carries one clear line naming the file and the problem."""

from __future__ import annotations

import os
from pathlib import Path

DEBUG_ENV = "REALSR_DEBUG"


def debugging() -> bool:
    """``REALSR_DEBUG=1``: let unexpected errors through with their traceback instead of one line."""
    return os.environ.get(DEBUG_ENV) == "1"


class RealSRError(Exception):
    """Base class for errors the CLI reports as one line and a non-zero exit."""


class InputError(RealSRError):
    """An input (file, folder, glob, option value) that cannot be used."""


class ImageReadError(InputError):
    """An image file that cannot be read or decoded."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = Path(path)
        self.problem = problem

    def __reduce__(self):  # picklable across worker processes despite the two-argument constructor
        return (type(self), (self.path, self.problem))


class OutputError(RealSRError):
    """An output that cannot be written (read-only folder, full disk, no permission)."""


class OutputExistsError(OutputError):
    """An output that exists already (and ``--overwrite`` was not given), or that would replace an input."""


class PresetError(RealSRError):
    """A preset name that does not exist, or a YAML recipe that is invalid."""


class WeightsNotFoundError(RealSRError):
    """Pretrained weights that are not available offline."""
