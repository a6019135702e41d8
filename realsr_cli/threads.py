"""How many intra-op CPU threads a network gets: the cores actually free, unless told.

The rule (every subcommand that runs a network: ``upscale``, ``train-sr``, ``make-pairs``, ``profile``,
``learn-degradation``):

1. ``--threads N``, else ``$REALSR_THREADS``, else ``$OMP_NUM_THREADS``, when given (N >= 1);
2. else the free cores: the cores this process may run on (its CPU affinity) minus the other processes' load, at
   least 1. The others' load is measured *now*: the cores busy in ``/proc/stat`` over ``SAMPLE_S`` (0.1 s) minus
   this process's own CPU time in that window (``busy_now``; the CLI opens the window when it starts, so that
   the imports' time serves as the window instead of an extra sleep). The 1-minute load average lags by minutes
   both ways (a job that just ended still counts, one that just started does not: on the 2-core machine it gave 1
   thread to an idle CPU after a training run, 0.75-0.88x of eager PyTorch), so it is only the fallback where
   /proc/stat is missing: ``round(load1 - own)``, ``own`` this process's share of it (its CPU time over its age,
   weighted by how much of that age the 1-minute average has seen yet, about 0 at start-up).

Why: on a busy CPU every extra thread of an OpenMP/oneDNN pool waits at each barrier for its slowest peer, so two
threads on a core shared with another job run several times slower than one (issue 20: an RRDBNet forward took
14.2 s with 2 threads at load 3-7, 2.7 s with 1). The choice is made once, when the command starts.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass

THREADS_ENV = "REALSR_THREADS"
OMP_ENV = "OMP_NUM_THREADS"  # the standard variable (OpenMP, PyTorch), honoured when set
LOAD_WINDOW_S = 60.0  # the 1-minute load average is an exponential average with this time constant
SAMPLE_S = 0.1  # busy_now's measuring window
MAX_WINDOW_S = 5.0  # an older start_sampling is not "now": busy_now samples afresh
_IMPORTED = time.monotonic()


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count and why: ``source`` is ``--threads``, an environment variable or ``free cores``."""

    threads: int
    source: str
    cores: int
    load: float | None

    def describe(self) -> str:
        if self.source != "free cores":
            return f"{self.threads} thread(s) ({self.source})"
        return f"{self.threads} thread(s) (free cores: {self.cores} minus load {self.load:.2f})"


def affinity_cores() -> int:
    """Cores this process may run on (``sched_getaffinity``; else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def load_average() -> float | None:
    """The 1-minute load average, or None where the system has none."""
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):
        return None


def _busy_jiffies() -> int:
    """All CPUs' non-idle time so far, in clock ticks (``/proc/stat``: user .. steal minus idle and iowait)."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:9]]
    return sum(fields) - fields[3] - fields[4]


_started: tuple[float, int, float] | None = None  # start_sampling's (time, busy jiffies, own CPU seconds)


def _sample() -> tuple[float, int, float]:
    return time.monotonic(), _busy_jiffies(), sum(os.times()[:2])


@dataclass(frozen=True)
class CpuMark:
    """A point to measure the others' load from: the time, all CPUs' busy ticks, this process's CPU seconds (with
    its waited-for children's when ``children``)."""

    time: float
    busy: int
    own: float


def cpu_mark(children: bool = False) -> CpuMark | None:
    """Now, for :func:`others_since` (None where ``/proc/stat`` cannot be read)."""
    try:
        times = os.times()
        own = times.user + times.system + ((times.children_user + times.children_system) if children else 0.0)
        return CpuMark(time.monotonic(), _busy_jiffies(), own)
    except (OSError, ValueError, IndexError):
        return None


def others_since(mark: CpuMark | None, children: bool = False) -> float | None:
    """Cores other processes kept busy on average since ``mark`` (all CPUs' busy time minus this process's own,
    and its children's when ``children``, over the wall time), or None without a mark."""
    now = cpu_mark(children)
    if mark is None or now is None:
        return None
    elapsed = max(now.time - mark.time, 1e-3)
    busy = (now.busy - mark.busy) / os.sysconf("SC_CLK_TCK")
    return max(0.0, (busy - (now.own - mark.own)) / elapsed)


def start_sampling() -> None:
    """Open ``busy_now``'s window now (the CLI does at start-up, so that the window is the imports' time, not an
    extra sleep); a no-op where ``/proc/stat`` cannot be read."""
    global _started
    try:
        _started = _sample()
    except (OSError, ValueError, IndexError):
        _started = None


def busy_now(window_s: float = SAMPLE_S) -> float | None:
    """Cores busy with other processes right now: all CPUs' busy time over at least ``window_s`` (since
    ``start_sampling`` when that was called, else from now) minus this process's own, in cores; None where
    ``/proc/stat`` cannot be read."""
    global _started
    try:
        start = _started if _started and time.monotonic() - _started[0] <= MAX_WINDOW_S else None
        t0, b0, own0 = start or _sample()
        _started = None
        time.sleep(max(0.0, window_s - (time.monotonic() - t0)))
        t1, b1, own1 = _sample()
    except (OSError, ValueError, IndexError):
        return None
    elapsed = max(t1 - t0, 1e-3)
    return max(0.0, (b1 - b0) / os.sysconf("SC_CLK_TCK") / elapsed - (own1 - own0) / elapsed)


def others_load() -> float | None:
    """The other processes' load in cores: ``busy_now``, else the 1-minute load average minus this process's share;
    None where neither exists."""
    now = busy_now()
    if now is not None:
        return now
    load = load_average()
    return None if load is None else max(0.0, load - own_load())


def _age_s() -> float:
    """Seconds since this process started (from /proc where it exists, else since this module was imported)."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


def own_load() -> float:
    """This process's contribution to the 1-minute load average (estimate; ~0 for a process a few seconds old)."""
    age = _age_s()
    if age <= 0:
        return 0.0
    times = os.times()
    busy = (times.user + times.system) / age
    return busy * (1.0 - math.exp(-age / LOAD_WINDOW_S))


def free_cores(cores: int | None = None, load: float | None = None, own: float | None = None) -> int:
    """Affinity cores minus the others' load (rounded), at least 1; all the cores where no load average exists."""
    cores = affinity_cores() if cores is None else cores
    load = load_average() if load is None else load
    if load is None:
        return cores
    others = max(0.0, load - (own_load() if own is None else own))
    return max(1, min(cores, cores - round(others)))


def parse_threads(value: str | int, where: str) -> int:
    """A thread count given by the user (``--threads``, ``$REALSR_THREADS``): an integer >= 1."""
    from realsr_cli.errors import InputError

    try:
        count = int(str(value).strip())
    except ValueError:
        count = 0
    if count < 1:
        raise InputError(f"{where} {value}: expected a whole number of threads, at least 1")
    return count


def choose_threads(requested: int | None = None) -> ThreadChoice:
    """``requested`` (``--threads``), else ``$REALSR_THREADS`` or ``$OMP_NUM_THREADS``, else the free cores."""
    cores = affinity_cores()
    if requested is not None:
        return ThreadChoice(parse_threads(requested, "--threads"), "--threads", cores, None)
    for name in (THREADS_ENV, OMP_ENV):
        env = os.environ.get(name, "").strip()
        if env:
            return ThreadChoice(parse_threads(env, f"${name}"), f"${name}", cores, None)
    load = others_load()
    return ThreadChoice(free_cores(cores, load, own=0.0), "free cores", cores, load)


def use_threads(requested: int | None = None) -> ThreadChoice:
    """Choose the thread count and give it to PyTorch (``torch.set_num_threads``); the runtimes read it from there."""
    import torch

    choice = choose_threads(requested)
    torch.set_num_threads(choice.threads)
    return choice
