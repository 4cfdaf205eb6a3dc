"""Shared by the benchmark scripts: the quick switch and the row format the runner reads."""

from __future__ import annotations

import os
import statistics

QUICK = os.environ.get("EOLAB_BENCH_QUICK") == "1"


def row(area: str, measure: str, ours: float, baseline: float, unit: str) -> None:
    """Print one table row: ``area | measure | ours | baseline | ratio`` (ratio = ours/baseline)."""
    ratio = ours / baseline if baseline else float("nan")
    print(
        f"{area} | {measure} | {ours:.3g} {unit} | {baseline:.3g} {unit} | {ratio:.2f}", flush=True
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values)
