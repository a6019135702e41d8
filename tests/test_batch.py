"""The one batch loop (``realsr_cli.batch.run_batch``): its read/write/pool hooks, item order, the failure policy."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from realsr_cli.batch import Failure, failures_json, run_batch, summarise_failures
from realsr_cli.errors import InputError


def _path(n: int) -> Path:
    return Path(f"f{n}.png")


def test_read_and_write_hooks_run_on_their_threads_and_keep_item_order():
    threads: dict[str, set[str]] = {"read": set(), "process": set(), "write": set()}

    def read(n: int) -> int:
        threads["read"].add(threading.current_thread().name)
        if n == 1:
            raise InputError(f"{_path(1)}: cannot decode image")
        return n * 10

    def process(n: int, data: int) -> int:
        threads["process"].add(threading.current_thread().name)
        return data + 1

    def write(n: int, out: int) -> str:
        threads["write"].add(threading.current_thread().name)
        if n == 3:
            raise OSError(28, "No space left on device", str(_path(3)))
        return f"wrote {out}"

    result = run_batch(range(5), process, path_of=_path, read=read, write=write, quiet=True)
    assert result.results == ["wrote 1", "wrote 21", "wrote 41"]  # a failed write drops its result
    assert [f.path for f in result.failures] == [_path(1), _path(3)]
    assert result.failures[1].error == "f3.png: No space left on device"
    assert all(name.startswith("realsr-read") for name in threads["read"])
    assert all(name.startswith("realsr-write") for name in threads["write"])
    assert threads["process"] == {threading.current_thread().name}


def test_pool_results_come_back_in_item_order_and_worker_errors_are_failures():
    def process(n: int) -> int:
        if n == 2:
            raise ValueError("bad value")
        return n

    with ThreadPoolExecutor(3) as pool:
        result = run_batch(list(range(6)), process, path_of=_path, pool=pool, quiet=True)
    assert result.results == [0, 1, 3, 4, 5]
    assert result.failures == [Failure(_path(2), "f2.png: ValueError: bad value")]
    with pytest.raises(ValueError, match="worker pool"), ThreadPoolExecutor(1) as pool:
        run_batch([1], process, path_of=_path, pool=pool, read=lambda n: n)


def test_debug_raises_unexpected_errors_but_reports_the_tools_own(monkeypatch):
    monkeypatch.setenv("REALSR_DEBUG", "1")

    def own(n: int) -> int:
        raise InputError(f"{_path(n)}: cannot decode image")

    assert len(run_batch([1], own, path_of=_path, quiet=True).failures) == 1
    with pytest.raises(ZeroDivisionError):
        run_batch([1], lambda n: n / 0, path_of=_path, quiet=True)
    with pytest.raises(ZeroDivisionError), ThreadPoolExecutor(1) as pool:
        run_batch([1], lambda n: n / 0, path_of=_path, pool=pool, quiet=True)


def test_one_json_shape_and_one_summary():
    failures = [Failure(_path(1), "f1.png: cannot decode image")]
    assert failures_json(failures) == [{"path": "f1.png", "error": "f1.png: cannot decode image"}]
    assert [Failure.from_json(f) for f in failures_json(failures)] == failures
    assert summarise_failures(failures, 3) == "1 of 3 file(s) failed:\n  f1.png: cannot decode image"
