"""Which file a model name means, without torch: the built-in models (``default``, ``default-psnr``,
``default-gan``, and ``$REALSR_DEFAULT_MODEL``), model files, run folders, zoo names and URLs. The one loader
(:func:`realsr_cli.models.loading.load_sr_model`) reads what these name; the lean ``upscale`` engine
(:mod:`realsr_cli.upscale.lean`) finds a model's export by its file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from realsr_cli.errors import InputError, WeightsNotFoundError

DEFAULT_ENV = "REALSR_DEFAULT_MODEL"
DEFAULT_DIR = Path(__file__).resolve().parent / "default"
DEFAULT_SCALES = (2, 4)
BUILTIN_NAMES = {"default-psnr": "", "default-gan": "gan"}  # the built-in models by name: their file variant
GAN_VARIANT = "gan"


def default_model_path(scale: int = 4, variant: str = "") -> Path:
    """The shipped ``default_x{scale}[_{variant}].pt`` (or from ``$REALSR_DEFAULT_MODEL``); a clear error if absent.

    ``variant``: "" the PSNR-oriented model (``default-psnr``), ``gan`` its GAN fine-tune (``default-gan``),
    ``strong`` the strong end of the denoise knob (``upscale --denoise 1``)."""
    filename = f"default_x{scale}{'_' + variant if variant else ''}.pt"
    env = os.environ.get(DEFAULT_ENV)
    if env:
        path = Path(env).expanduser()
        if path.is_dir():
            path = path / filename
        elif variant:
            path = path.with_name(filename)
        if not path.is_file():
            raise WeightsNotFoundError(f"${DEFAULT_ENV} names {path}, which does not exist")
        return path
    path = DEFAULT_DIR / filename
    if not path.is_file():
        have = sorted(p.name for p in DEFAULT_DIR.glob("default_x*.pt") if re.fullmatch(r"default_x\d+\.pt", p.name))
        extra = (
            f" (installed: {', '.join(have)}; pick one of those scales with -s, and --outscale {scale} for any other"
            " output size)"
            if have
            else ""
        )
        raise WeightsNotFoundError(
            f"the default x{scale} model{' (' + variant + ')' if variant else ''} is not installed: "
            f"{path} is missing{extra}; "
            f"pass --model FILE or set ${DEFAULT_ENV}=FILE"
        )
    return path


def is_builtin(spec: str | Path) -> bool:
    """``default``, ``default-psnr`` or ``default-gan``: a model shipped in the package."""
    return str(spec) == "default" or str(spec) in BUILTIN_NAMES


def builtin_variant(spec: str | Path, scale: int = 4) -> str:
    """The file variant (``default_model_path``) a built-in name means at ``scale``: ``default`` is the GAN model
    where the scale ships one, else the PSNR model."""
    if str(spec) != "default":
        return BUILTIN_NAMES[str(spec)]
    env = os.environ.get(DEFAULT_ENV)
    if env and not Path(env).expanduser().is_dir():  # a file named as the default is the default
        return ""
    try:
        default_model_path(scale, GAN_VARIANT)
    except WeightsNotFoundError:
        return ""
    return GAN_VARIANT


def model_file(spec: str | Path, scale: int | None = None) -> tuple[Path, str]:
    """(file, display name) of ``spec``: a built-in name (``default``, ``default-psnr``, ``default-gan``; x``scale``),
    a file, a run folder holding ``model.pt``, a zoo name or a URL (:func:`realsr_cli.models.zoo.resolve_model`)."""
    if is_builtin(spec):
        return default_model_path(scale or 4, builtin_variant(spec, scale or 4)), str(spec)
    from realsr_cli.models.zoo import resolve_model

    path = resolve_model(spec)
    if not path.is_dir():
        return path, path.name
    if not (path / "model.pt").is_file():
        raise InputError(f"{path}: a folder without model.pt; pass the model file itself")
    return path / "model.pt", path.name
