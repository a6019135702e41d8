"""Input collection (a file, a folder or a glob) and output naming (input stem + suffix + extension).

Collected inputs are registered with the output guard (:mod:`realsr_cli.io.guard`), so nothing the command writes
can replace them. A dangling symbolic link among the inputs is named in a warning, never skipped silently.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from realsr_cli.errors import InputError
from realsr_cli.io.guard import register_inputs
from realsr_cli.io.images import IMAGE_EXTENSIONS

GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputItem:
    """One input file and its path relative to the input root (sub-folders are mirrored in outputs)."""

    path: Path
    relative: Path

    @property
    def stem(self) -> str:
        return self.path.stem


def _has_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


def is_image_file(path: Path) -> bool:
    return path.is_file() and _has_image_name(path)


def warn_dangling(candidates: list[Path]) -> None:
    """Name the image-named symbolic links among ``candidates`` whose target does not exist (they are skipped)."""
    from realsr_cli.console import warn_line

    dangling = [p for p in candidates if _has_image_name(p) and p.is_symlink() and not p.exists()]
    if dangling:
        shown = ", ".join(str(p) for p in dangling[:5]) + (
            f" and {len(dangling) - 5} more" if len(dangling) > 5 else ""
        )
        warn_line(f"{len(dangling)} dangling symbolic link(s) skipped (their target is missing): {shown}")


def collect_inputs(spec: str | Path, recursive: bool = False) -> list[InputItem]:
    """Expand a file, folder or glob into sorted input items; raise ``InputError`` when nothing matches."""
    items = _collect(spec, recursive)
    register_inputs(item.path for item in items)
    return items


def _collect(spec: str | Path, recursive: bool) -> list[InputItem]:
    spec_str = str(spec)
    path = Path(spec_str)
    if path.is_dir():
        pattern = "**/*" if recursive else "*"
        candidates = sorted(path.glob(pattern))
        warn_dangling(candidates)
        files = [p for p in candidates if is_image_file(p)]
        if not files:
            raise InputError(f"{path}: folder holds no images ({', '.join(IMAGE_EXTENSIONS)})")
        return [InputItem(p, p.relative_to(path)) for p in files]
    if path.is_file():
        return [InputItem(path, Path(path.name))]
    if path.is_symlink():
        raise InputError(f"{spec_str}: dangling symbolic link (its target is missing)")
    if GLOB_CHARS & set(spec_str):
        candidates = sorted(Path(p) for p in glob.glob(spec_str, recursive=True))
        warn_dangling(candidates)
        files = [p for p in candidates if p.is_file()]
        if not files:
            raise InputError(f"{spec_str}: no files match this pattern")
        return [InputItem(p, Path(p.name)) for p in files]
    raise InputError(f"{spec_str}: no such file or folder")


def output_path(item: InputItem, out_dir: Path, ext: str | None = None, suffix: str = "") -> Path:
    """``out_dir / <sub-folders> / <stem><suffix><ext>``; ``ext`` defaults to the input's extension."""
    extension = ext if ext is None or ext.startswith(".") else f".{ext}"
    extension = (extension or item.path.suffix).lower()
    return out_dir / item.relative.parent / f"{item.stem}{suffix}{extension}"


def plan_outputs(
    items: list[InputItem], out_dir: Path, ext: str | None = None, suffix: str = ""
) -> list[tuple[InputItem, Path]]:
    """Pair every input with its output path; two inputs that map to one output are an error."""
    plan = [(item, output_path(item, out_dir, ext, suffix)) for item in items]
    seen: dict[Path, Path] = {}
    for item, out in plan:
        if out in seen:
            raise InputError(f"{item.path} and {seen[out]} would both be written to {out}; rename one")
        seen[out] = item.path
    return plan


def input_set(items: list[InputItem]) -> frozenset[Path]:
    """Resolved input paths, so writers can refuse to replace any of them."""
    return frozenset(item.path.resolve() for item in items)
