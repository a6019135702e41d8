"""Splitting a batch of files across processes and nodes: ``--shard I/N`` (or ``--shard auto``).

Shard ``I`` of ``N`` (0 <= I < N) takes every N-th input of the sorted input list, starting at the I-th, so N
processes started by any launcher cover every file exactly once with no coordination beyond the file system, and
each file's result is the one a single process would write (random draws are per file, never per position).
``--shard auto`` reads the launcher's environment: ``RANK`` / ``WORLD_SIZE`` (torchrun, and most MPI-style
launchers), else ``SLURM_ARRAY_TASK_ID`` / ``SLURM_ARRAY_TASK_COUNT`` (an array job; ``SLURM_ARRAY_TASK_MIN`` is
subtracted, so ``--array=1-8`` works), else one shard of one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from realsr_cli.errors import InputError

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def tag(self) -> str:
        """A file-name-safe label: ``00001-of-00004``."""
        return f"{self.index:05d}-of-{self.count:05d}"


def _checked(index: int, count: int, what: str) -> Shard:
    if count < 1 or not 0 <= index < count:
        raise InputError(f"{what}: shard {index} of {count} (expected 0 <= I < N)")
    return Shard(index, count)


def _int(env: Mapping[str, str], name: str) -> int | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    if not re.fullmatch(r"\d+", value):
        raise InputError(f"${name}={value}: not a whole number")
    return int(value)


def shard_from_env(env: Mapping[str, str] | None = None) -> Shard:
    """The shard of this process from torchrun's or SLURM's variables (0/1 when neither is set)."""
    env = os.environ if env is None else env
    rank, world = _int(env, "RANK"), _int(env, "WORLD_SIZE")
    if rank is not None and world is not None:
        return _checked(rank, world, "$RANK/$WORLD_SIZE")
    task, tasks = _int(env, "SLURM_ARRAY_TASK_ID"), _int(env, "SLURM_ARRAY_TASK_COUNT")
    if task is not None and tasks is not None:
        return _checked(task - (_int(env, "SLURM_ARRAY_TASK_MIN") or 0), tasks, "$SLURM_ARRAY_TASK_ID/COUNT")
    return Shard(0, 1)


def parse_shard(spec: str | None, env: Mapping[str, str] | None = None) -> Shard | None:
    """``--shard``: None (no sharding), ``I/N``, or ``auto`` (from the environment; None when that says 0/1)."""
    if spec is None or not spec.strip():
        return None
    if spec.strip().lower() == "auto":
        shard = shard_from_env(env)
        return None if shard.count == 1 else shard
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not match:
        raise InputError(f"--shard {spec}: expected I/N (0 <= I < N) or auto")
    shard = _checked(int(match.group(1)), int(match.group(2)), f"--shard {spec}")
    return None if shard.count == 1 else shard


def select(items: Sequence[T], shard: Shard | None) -> list[T]:
    """This shard's items: ``items[I::N]`` (all of them without a shard)."""
    return list(items) if shard is None else list(items[shard.index :: shard.count])
