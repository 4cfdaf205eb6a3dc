"""``make bench``: run every ``benchmarks/bench_*.py`` and print one table of their rows."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = ("area", "measure", "ours", "baseline", "ratio")


def collect(script: Path) -> tuple[list[tuple[str, ...]], str]:
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=HERE.parent, timeout=1800
    )
    rows = [
        tuple(cell.strip() for cell in line.split(" | "))
        for line in proc.stdout.splitlines()
        if line.count(" | ") == 4
    ]
    if proc.returncode != 0:
        return rows, f"{script.name} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    if not rows:
        return rows, f"{script.name} printed no rows"
    return rows, ""


def render(rows: list[tuple[str, ...]]) -> str:
    cells = [HEADER, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(HEADER))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main() -> int:
    rows: list[tuple[str, ...]] = []
    failures = []
    for script in sorted(HERE.glob("bench_*.py")):
        start = time.perf_counter()
        found, problem = collect(script)
        rows += found
        print(
            f"{script.name}: {len(found)} row(s) in {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )
        if problem:
            failures.append(problem)
    print(render(rows))
    for problem in failures:
        print(problem, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
