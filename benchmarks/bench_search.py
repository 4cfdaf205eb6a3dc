"""Search: p99 latency of ``Workspace.search`` over 10,000 catalog entries (goal < 20 ms),
against the raw FTS5 query on the same SQLite file."""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import QUICK, percentile, row  # noqa: E402

from eolab import search  # noqa: E402
from eolab.access import find_project  # noqa: E402
from eolab.workspace import Workspace  # noqa: E402

ENTRIES = 1_000 if QUICK else 10_000
QUERIES = 50 if QUICK else 500
WORDS = [
    "sentinel",
    "arctic",
    "iceberg",
    "ship",
    "scene",
    "chip",
    "band",
    "calibrated",
    "polar",
    "ocean",
    "svalbard",
    "greenland",
    "barents",
    "radar",
    "backscatter",
    "tile",
    "mosaic",
    "winter",
    "summer",
]


def build(home: Path) -> Workspace:
    ws = Workspace.open(home, user="bench")
    ws.create_project("Bench")
    rng = random.Random(0)
    with ws.tx() as s:
        project_id = find_project(s, "Bench").id
        for i in range(ENTRIES):
            words = " ".join(rng.sample(WORDS, 4))
            search.index(
                s,
                "file",
                f"Bench/eodata/f{i}.tif",
                project_id,
                f"f{i}_{words.split()[0]}.tif",
                words,
            )
    return ws


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = build(Path(tmp))
        rng = random.Random(1)
        terms = [" ".join(rng.sample(WORDS, rng.choice([1, 2]))) for _ in range(QUERIES)]
        ours = []
        for term in terms:
            start = time.perf_counter()
            ws.search(term, limit=20)
            ours.append(time.perf_counter() - start)
        raw = sqlite3.connect(Path(tmp) / "catalog.db")
        base = []
        for term in terms:
            start = time.perf_counter()
            raw.execute(
                "SELECT e.* FROM search_fts f JOIN search_entries e ON e.id = f.rowid "
                "WHERE search_fts MATCH ? ORDER BY f.rank LIMIT 20",
                (search.fts_query(term),),
            ).fetchall()
            base.append(time.perf_counter() - start)
        row(
            "search",
            f"p99 of {QUERIES} queries, {ENTRIES} entries (goal < 20 ms)",
            percentile(ours, 99) * 1e3,
            percentile(base, 99) * 1e3,
            "ms",
        )
        row("search", "p50", percentile(ours, 50) * 1e3, percentile(base, 50) * 1e3, "ms")


if __name__ == "__main__":
    main()
