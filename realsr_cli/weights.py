"""Locating pretrained weight files offline: explicit option, environment variable, standard caches.

Search order: the explicit ``--weights``-style path; the file named by a specific environment variable
(or a folder it names); ``$REALSR_WEIGHTS_DIR``; torch hub's checkpoint cache
(``$TORCH_HOME/hub/checkpoints``, where torchvision downloads to); ``~/.cache/realsr/weights``.
Nothing is downloaded here: when the file is missing the error names it, where to put it, and the
``realsr models fetch NAME`` that downloads torchvision's file into torch hub's cache (``realsr_cli.models.zoo``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch

from realsr_cli.errors import WeightsNotFoundError

WEIGHTS_DIR_ENV = "REALSR_WEIGHTS_DIR"


def cache_dirs() -> list[Path]:
    dirs = []
    if os.environ.get(WEIGHTS_DIR_ENV):
        dirs.append(Path(os.environ[WEIGHTS_DIR_ENV]).expanduser())
    dirs.append(Path(torch.hub.get_dir()) / "checkpoints")
    dirs.append(Path.home() / ".cache" / "realsr" / "weights")
    return dirs


def find_weights(
    filenames: str | list[str],
    *,
    purpose: str,
    explicit: str | Path | None = None,
    env_var: str | Sequence[str] | None = None,
    option: str = "--weights",
    folders: Sequence[Path] = (),
) -> Path:
    """Return the first existing weights file among the candidates, else raise a clear error.

    ``env_var``: one variable or several (the first set one counts); ``folders``: searched after the caches."""
    names = [filenames] if isinstance(filenames, str) else list(filenames)
    env_vars = [env_var] if isinstance(env_var, str) else list(env_var or ())
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file():
            return path
        raise WeightsNotFoundError(f"{path}: weights file for {purpose} not found")
    candidates: list[Path] = []
    env_set = next((v for v in env_vars if os.environ.get(v)), None)
    if env_set:
        env_path = Path(os.environ[env_set]).expanduser()
        candidates += [env_path / n for n in names] if env_path.is_dir() else [env_path]
    for folder in [*cache_dirs(), *folders]:
        candidates += [folder / n for n in names]
    for path in candidates:
        if path.is_file():
            return path
    where = cache_dirs()[0]
    hint = (
        f"pass {option} FILE" + (f", set {' or '.join(env_vars)}" if env_vars else "") + f", or set ${WEIGHTS_DIR_ENV}"
    )
    fetchable = _fetchable(names)
    if fetchable:
        hint = f"run 'realsr models fetch {fetchable}' (downloads it into {cache_dirs()[-2]}), {hint}"
    raise WeightsNotFoundError(
        f"{purpose} needs the weights file '{names[0]}', which is not available offline: put it in {where} ({hint})"
    )


def _fetchable(names: list[str]) -> str | None:
    """The ``realsr models fetch`` name of the first of ``names`` that the zoo can download, if any."""
    from realsr_cli.models.zoo import find_entry

    entry = next((e for e in map(find_entry, names) if e is not None), None)
    return entry.name if entry is not None else None
