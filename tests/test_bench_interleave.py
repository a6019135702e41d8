"""The benchmarks' timing helper: interleaved rounds, best of N, no ratio across unlike loads."""

from __future__ import annotations

from benchmarks import interleave
from benchmarks.interleave import Figure, comparable, interleaved, ratio


def test_rounds_interleave_and_keep_the_best(monkeypatch) -> None:
    calls: list[str] = []
    clock = iter(range(100))
    monkeypatch.setattr(interleave.time, "perf_counter", lambda: float(next(clock)))
    monkeypatch.setattr(interleave, "read_load", lambda: (1.0, 0.5))
    monkeypatch.setattr(interleave, "others_since", lambda mark, children: 0.25)
    figures = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3)
    assert calls == ["a", "b"] * 4  # one warm-up each, then three rounds of a, b
    assert figures["a"] == Figure(1.0, 1.0, 0.25) and figures["b"].seconds == 1.0  # others' load during the run


def test_the_load_after_a_run_where_none_can_be_measured_during_it(monkeypatch) -> None:
    monkeypatch.setattr(interleave, "read_load", lambda: (1.0, 0.5))
    monkeypatch.setattr(interleave, "others_since", lambda mark, children: None)
    assert interleave.best_of_rounds({"a": lambda: 2.0}, repeats=1)["a"] == Figure(2.0, 1.0, 0.5)


def test_ratio_only_under_like_loads() -> None:
    fast, slow = Figure(1.0, 2.0, 0.1), Figure(2.0, 2.2, 0.3)
    assert comparable(fast, slow) and ratio(fast, slow) == "2.00x"
    loaded = Figure(2.0, 3.0, 1.5)
    assert not comparable(fast, loaded)
    assert ratio(fast, loaded).startswith("(no ratio: loads 0.10 vs 1.50")
