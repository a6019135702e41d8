"""The thread rule (realsr_cli/threads.py): --threads, $REALSR_THREADS, $OMP_NUM_THREADS, else the free cores."""

from __future__ import annotations

import json

import pytest
import torch

from realsr_cli import threads
from realsr_cli.errors import InputError
from tests.conftest import synthetic_image


@pytest.mark.parametrize(
    ("cores", "load", "own", "expected"),
    [
        (2, 0.0, 0.0, 2),  # quiet: every core
        (2, 1.0, 0.0, 1),  # one other job: one core left
        (2, 6.5, 0.0, 1),  # overloaded: at least one
        (2, 1.2, 1.0, 2),  # the load is mostly this process's own
        (8, 2.6, 0.0, 5),  # rounded
        (4, None, 0.0, 4),  # no load average on this system: all the cores
    ],
)
def test_free_cores(cores, load, own, expected, monkeypatch) -> None:
    monkeypatch.setattr(threads, "load_average", lambda: None)
    assert threads.free_cores(cores, load, own) == expected


def test_own_load_of_a_young_process_is_small() -> None:
    assert 0.0 <= threads.own_load() < 2.0


def test_busy_now_measures_the_others_not_this_process() -> None:
    busy = threads.busy_now(0.2)
    if busy is None:
        pytest.skip("no /proc/stat")
    assert 0.0 <= busy <= threads.affinity_cores() + 0.5


def test_busy_now_uses_the_start_up_as_its_window(monkeypatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(threads.time, "sleep", slept.append)
    threads.start_sampling()
    sum(i * i for i in range(200_000))  # this process busy: not counted as the others'
    opened = threads._started
    assert opened is not None and threads.busy_now() is not None
    assert threads._started is None and len(slept) == 1 and slept[0] < threads.SAMPLE_S  # only the rest
    threads._started = (opened[0] - 2 * threads.SAMPLE_S, *opened[1:])
    threads.busy_now()
    assert slept[1] == 0.0  # a window already long enough: no sleep at all
    threads._started = (opened[0] - threads.MAX_WINDOW_S - 1, *opened[1:])
    threads.busy_now()
    assert slept[2] == pytest.approx(threads.SAMPLE_S, abs=0.01)  # too old to be "now": a fresh window
    threads.busy_now()
    assert slept[3] == pytest.approx(threads.SAMPLE_S, abs=0.01)  # used once


def test_busy_now_decides_over_a_lagging_load_average(monkeypatch) -> None:
    """A training run just ended: the load average still says 2, the CPUs are idle now."""
    for name in (threads.THREADS_ENV, threads.OMP_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(threads, "affinity_cores", lambda: 2)
    monkeypatch.setattr(threads, "load_average", lambda: 2.0)
    monkeypatch.setattr(threads, "busy_now", lambda: 0.1)
    assert threads.choose_threads().threads == 2
    monkeypatch.setattr(threads, "busy_now", lambda: 1.0)  # one other job running now
    assert threads.choose_threads().threads == 1


@pytest.fixture
def busy_machine(monkeypatch):
    """A 4-core machine at load 3 (no thread variables set)."""
    for name in (threads.THREADS_ENV, threads.OMP_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(threads, "affinity_cores", lambda: 4)
    monkeypatch.setattr(threads, "busy_now", lambda: None)  # no /proc/stat: the load average decides
    monkeypatch.setattr(threads, "load_average", lambda: 3.0)
    monkeypatch.setattr(threads, "own_load", lambda: 0.0)


def test_free_cores_by_default(busy_machine) -> None:
    choice = threads.choose_threads()
    assert (choice.threads, choice.source) == (1, "free cores")
    assert "4 minus load 3.00" in choice.describe()


def test_precedence_option_then_variables(busy_machine, monkeypatch) -> None:
    monkeypatch.setenv(threads.OMP_ENV, "3")
    assert threads.choose_threads().threads == 3
    monkeypatch.setenv(threads.THREADS_ENV, "2")
    assert threads.choose_threads().source == "$REALSR_THREADS"
    assert threads.choose_threads(4).threads == 4


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_bad_counts_are_input_errors(busy_machine, monkeypatch, value) -> None:
    monkeypatch.setenv(threads.THREADS_ENV, value)
    with pytest.raises(InputError, match=r"\$REALSR_THREADS .*at least 1"):
        threads.choose_threads()
    with pytest.raises(InputError, match="--threads"):
        threads.choose_threads(0)


def test_use_threads_sets_torch(busy_machine) -> None:
    before = torch.get_num_threads()
    try:
        assert threads.use_threads(2).threads == 2
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_upscale_threads_option(cli, tmp_path) -> None:
    from realsr_cli.io.images import write_image

    write_image(tmp_path / "a.png", synthetic_image(16, 16))
    before = torch.get_num_threads()
    try:
        result = cli("upscale", tmp_path / "a.png", tmp_path / "out", "--threads", "2", "--json", tmp_path / "r.json")
        assert result.exit_code == 0, result.output
        assert json.loads((tmp_path / "r.json").read_text())["backend"] == "torch, 2 threads"
        bad = cli("upscale", tmp_path / "a.png", tmp_path / "out2", "--threads", "0")
        assert bad.exit_code == 1 and "--threads 0" in bad.output
    finally:
        torch.set_num_threads(before)


def test_others_since_counts_a_child_process_as_own_only_when_asked() -> None:
    """A run's own child (a benchmark's ``upscale`` process) is not another job's load."""
    import subprocess
    import sys

    mark, plain = threads.cpu_mark(children=True), threads.cpu_mark(children=False)
    subprocess.run(
        [sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 0.6: pass"], check=True
    )
    with_children = threads.others_since(mark, children=True)
    without = threads.others_since(plain, children=False)
    assert with_children is not None and without is not None
    assert without - with_children > 0.5  # the child kept about one core busy for the whole window
