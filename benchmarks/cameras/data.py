"""The benchmark's image sets, made once and shared by every camera: clean training HR, source HR, test GT.

``hr-train`` and ``hr-test`` are ``../shared/data/hr-train`` photos halved with ``realsr degrade --preset bicubic
-s 2`` (as ``make demo``); ``src-hr`` are the full-size photos the cameras will shoot. ``--quick`` centre-crops
each set to a few hundred pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from realsr_cli.io.images import read_image, write_image

from .plan import HR_SOURCE, Plan
from .steps import Steps


@dataclass(frozen=True)
class Sets:
    """Folders of the three disjoint image sets."""

    train: Path
    source: Path
    test: Path


def link_originals(indices: tuple[int, int], out: Path) -> None:
    """Symlink ``NNNN.png`` for the inclusive index range from ``../shared/data/hr-train`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for i in range(indices[0], indices[1] + 1):
        src = HR_SOURCE / f"{i:04d}.png"
        if not src.is_file():
            raise FileNotFoundError(f"{src}: the camera zoo needs ../shared/data/hr-train (images 0001-0040)")
        (out / src.name).symlink_to(src.resolve())


def centre_crop(src: Path, out: Path, size: int) -> None:
    """Write the centred ``size`` x ``size`` crop (clipped to the image) of every PNG in ``src`` to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.png")):
        pixels = read_image(path).pixels
        h, w = pixels.shape[:2]
        top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
        write_image(out / path.name, pixels[top : top + size, left : left + size], overwrite=True)


def _cropped(steps: Steps, name: str, src: Path, size: int | None, root: Path) -> Path:
    if size is None:
        return src
    out = root / f"{name}-crop{size}"
    return steps.run(f"crop {name}", out, {"src": str(src), "size": size}, lambda: centre_crop(src, out, size))


def _originals(steps: Steps, name: str, indices: tuple[int, int], root: Path) -> Path:
    out = root / f"orig-{name}"
    return steps.run(f"link {name}", out, {"indices": list(indices)}, lambda: link_originals(indices, out))


def _halved(steps: Steps, name: str, indices: tuple[int, int], root: Path) -> Path:
    orig = _originals(steps, name, indices, root)
    args = ["degrade", orig, root / f"hr-{name}", "--preset", "bicubic", "-s", "2", "-q"]
    return steps.realsr(f"halve {name}", root / f"hr-{name}", args, deps=[orig / ".step.json"])


def make_sets(steps: Steps, plan: Plan, root: Path) -> Sets:
    """The three image sets under ``root`` (cached)."""
    train = _cropped(steps, "train", _halved(steps, "train", plan.train, root), plan.train_crop, root)
    test = _cropped(steps, "test", _halved(steps, "test", plan.test, root), plan.test_crop, root)
    source = _cropped(steps, "source", _originals(steps, "source", plan.source, root), plan.source_crop, root)
    return Sets(train=train, source=source, test=test)
