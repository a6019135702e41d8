"""Key schemas of nested configuration mappings: an unknown or misspelt key is one line naming the closest valid key.

A schema maps each known key to ``ANY`` (any value, free-form mappings such as an architecture's arguments too) or to
the schema of its section. Only keys are checked here; values are each consumer's business.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from realsr_cli.errors import PresetError

ANY = None
Schema = Mapping[str, "Schema | None"]


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name nearest to ``name`` (``difflib``, similarity >= 0.6), or None."""
    matches = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _single_leaf(value: Any) -> list[str]:
    """The key path under ``value`` when it is a chain of one-key mappings (``{lr: 1e-9}`` -> ``[lr]``)."""
    path: list[str] = []
    while isinstance(value, Mapping) and len(value) == 1:
        key, value = next(iter(value.items()))
        path.append(str(key))
    return path


def _suggestion(prefix: str, match: str, sub: Schema | None, rest: list[str]) -> str:
    """``prefix + match``, with the rest of the given path when it is valid under the matched section."""
    if rest and isinstance(sub, Mapping) and rest[0] in sub:
        return ".".join([prefix + match, *rest])
    return prefix + match


def unknown_keys(config: Mapping[str, Any], schema: Schema, prefix: str = "") -> list[str]:
    """One description per key of ``config`` outside ``schema`` (sections checked recursively)."""
    problems: list[str] = []
    for key, value in config.items():
        name = f"{prefix}{key}"
        if key in schema:
            sub = schema[key]
            if isinstance(sub, Mapping) and isinstance(value, Mapping):
                problems += unknown_keys(value, sub, f"{name}.")
            continue
        rest = _single_leaf(value)
        shown = ".".join([name, *rest])
        match = closest(str(key), schema)
        if match is None:
            problems.append(f"unknown key '{shown}' (known here: {', '.join(sorted(schema))})")
        else:
            problems.append(
                f"unknown key '{shown}' (did you mean '{_suggestion(prefix, match, schema[match], rest)}'?)"
            )
    return problems


def check_keys(config: Mapping[str, Any], schema: Schema, where: str) -> None:
    """Raise ``PresetError`` (one line, prefixed by ``where``) when ``config`` has keys outside ``schema``."""
    problems = unknown_keys(config, schema)
    if problems:
        raise PresetError(f"{where}: {'; '.join(problems)}")
