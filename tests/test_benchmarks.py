"""Every benchmark runs at its tiny size (EOLAB_BENCH_QUICK=1) so that none of them rots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "benchmarks").glob("bench_*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
@pytest.mark.timeout(300)
def test_benchmark_prints_rows_with_a_ratio(script):
    env = {**os.environ, "EOLAB_BENCH_QUICK": "1"}
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=280
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line.split(" | ") for line in proc.stdout.splitlines() if line.count(" | ") == 4]
    assert rows, proc.stdout
    for area, _measure, _ours, _baseline, ratio in rows:
        assert area == script.stem.removeprefix("bench_")
        assert float(ratio) > 0


def test_there_are_benchmarks():
    assert {p.stem for p in SCRIPTS} >= {"bench_datasets", "bench_search"}
