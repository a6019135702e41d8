"""Honest timing for the benchmarks: contenders interleaved, best of N, the load average beside every figure.

``interleaved`` runs every contender once per round (so a load that comes and goes hits them alike) and keeps each
one's best time with the load it ran under: the 1-minute load average read right after it, and the cores other
processes kept busy *during* the run (:func:`realsr_cli.threads.others_since`: /proc/stat's busy time over the run
minus this process's and its children's own; the load average lags by minutes, and a load read after the run
missed a job that came and went during it: on 2026-12-04 one such job halved an eager PyTorch figure whose load,
read after it, was 0.2). ``ratio`` refuses to compare two figures whose others'
loads differ by more than :data:`MAX_LOAD_FACTOR` (on ``1 + load``, so that 0.1 and 0.3 both count as quiet).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from realsr_cli.threads import cpu_mark, load_average, others_load, others_since

MAX_LOAD_FACTOR = 1.5


@dataclass(frozen=True)
class Figure:
    """A best time and the load it was measured under."""

    seconds: float
    load: float  # 1-minute load average
    others: float  # cores busy with other processes when it was measured (threads.others_load)

    def label(self) -> str:
        return f"load {self.load:.2f} (others {self.others:.2f})"


def read_load() -> tuple[float, float]:
    return load_average() or 0.0, others_load() or 0.0


def interleaved(contenders: dict[str, Callable[[], object]], repeats: int, warm: bool = True) -> dict[str, Figure]:
    """Best of ``repeats`` rounds for each contender, one run of each per round (after one warm-up run each), timed
    by the wall clock."""
    if warm:
        for fn in contenders.values():
            fn()
    return best_of_rounds({name: _wall_clock(fn) for name, fn in contenders.items()}, repeats)


def _wall_clock(fn: Callable[[], object]) -> Callable[[], float]:
    def timed() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start

    return timed


def best_of_rounds(
    contenders: dict[str, Callable[[], float]],
    repeats: int,
    on_run: Callable[[int, str, Figure], None] | None = None,
) -> dict[str, Figure]:
    """Best of ``repeats`` rounds for each contender, one run of each per round, every contender returning the
    seconds to count (its own timer: a child process's inference, a per-photo share); the others' load is measured
    over each run (child processes count as the run's own), and ``on_run(round, name, figure)`` sees every run."""
    best: dict[str, Figure] = {}
    for r in range(repeats):
        for name, fn in contenders.items():
            mark = cpu_mark(children=True)
            seconds = fn()
            during = others_since(mark, children=True)
            load, after = read_load()
            fig = Figure(seconds, load, after if during is None else during)
            if on_run is not None:
                on_run(r, name, fig)
            if name not in best or fig.seconds < best[name].seconds:
                best[name] = fig
    return best


def comparable(a: Figure, b: Figure, factor: float = MAX_LOAD_FACTOR) -> bool:
    high, low = max(a.others, b.others), min(a.others, b.others)
    return (1.0 + high) / (1.0 + low) <= factor


def ratio(faster: Figure, slower: Figure) -> str:
    """``slower / faster`` as "1.53x", or why it is not printed."""
    if not comparable(faster, slower):
        return f"(no ratio: loads {faster.others:.2f} vs {slower.others:.2f} differ > {MAX_LOAD_FACTOR}x)"
    return f"{slower.seconds / faster.seconds:.2f}x"
