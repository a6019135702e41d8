"""YAML presets, read the same way by every subcommand, from a checkout or from an installed wheel.

Presets live in ``presets/<kind>/<name>.yaml`` (kinds: ``degradation``, ``train``, ``model``). In a wheel
they are packaged as ``realsr_cli/presets``; in a source checkout (editable install) they are read from
the repository's top-level ``presets/``. A user's own YAML file works wherever a preset name does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from realsr_cli.batch import error_text
from realsr_cli.errors import PresetError

PRESET_KINDS = ("degradation", "train", "model")


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-4`` as a float (PyYAML's YAML 1.1 rule wants ``1.0e-4``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str) -> Any:
    """Parse YAML safely (no arbitrary objects), with scientific-notation floats."""
    return yaml.load(text, Loader=_Loader)  # _Loader derives from SafeLoader


def preset_root() -> Path:
    packaged = Path(__file__).resolve().parent / "presets"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "presets"


def list_presets(kind: str) -> list[str]:
    folder = preset_root() / kind
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def preset_path(name_or_file: str | Path, kind: str) -> Path:
    """Resolve a preset name (``generic``) or a YAML file path to a file."""
    if kind not in PRESET_KINDS:
        raise ValueError(f"unknown preset kind {kind!r}")
    candidate = Path(name_or_file)
    if candidate.suffix.lower() in (".yaml", ".yml") or candidate.exists():
        if not candidate.is_file():
            raise PresetError(f"{candidate}: preset file not found")
        return candidate
    path = preset_root() / kind / f"{name_or_file}.yaml"
    if not path.is_file():
        known = ", ".join(list_presets(kind)) or "none"
        raise PresetError(f"unknown {kind} preset '{name_or_file}' (known: {known}; or give a .yaml file)")
    return path


def load_preset(name_or_file: str | Path, kind: str) -> dict[str, Any]:
    """Load a preset as a dict; its ``kind`` key, when present, must match."""
    path = preset_path(name_or_file, kind)
    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PresetError(f"{path}: invalid YAML ({str(exc).splitlines()[0]})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PresetError(f"{path}: cannot read preset ({getattr(exc, 'strerror', None) or exc})") from None
    if not isinstance(data, dict):
        raise PresetError(f"{path}: a preset must be a YAML mapping")
    if data.get("kind", kind) != kind:
        raise PresetError(f"{path}: is a '{data.get('kind')}' preset, expected a '{kind}' preset")
    data.setdefault("name", path.stem)
    return data


def set_by_dotted_key(config: dict[str, Any], assignment: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML) to a nested dict, as ``--set`` does."""
    if "=" not in assignment:
        raise PresetError(f"--set {assignment}: expected KEY=VALUE, e.g. train.lr=1e-4")
    key, raw = assignment.split("=", 1)
    try:
        value = parse_yaml(raw)
    except yaml.YAMLError as exc:
        raise PresetError(f"--set {assignment}: invalid YAML value ({error_text(exc)[:200]})") from None
    node = config
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise PresetError(f"--set {assignment}: '{part}' is not a section")
        node = child
    node[parts[-1]] = value
