"""Metric direction ("lower is better") comes from one table, ``realsr_cli.scoring.HIGHER_IS_BETTER``."""

from __future__ import annotations

from realsr_cli.scoring import HIGHER_IS_BETTER, METRICS, direction_arrow
from realsr_cli.train.validation import VAL_METRICS, lower_is_better


def test_every_metric_has_one_direction() -> None:
    assert set(METRICS) | set(VAL_METRICS) | {"aim2020"} <= set(HIGHER_IS_BETTER)
    assert [m for m in VAL_METRICS if lower_is_better(m)] == ["l1", "lpips", "niqe", "brisque", "piqe"]
    assert direction_arrow("psnr") == "↑" and direction_arrow("lpips") == "↓"
