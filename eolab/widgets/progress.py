"""One progress bar for all long work (engines, uploads, ingestion): an ipywidgets bar in a
notebook, tqdm in a terminal (tqdm.auto picks)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Bar(Protocol):
    def update(self, n: int = 1) -> object: ...


class _Silent:
    def update(self, n: int = 1) -> None:
        return None


class _ThreadSafe:
    """Updates may come from pool callbacks or a Spark status thread; never past the total."""

    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._lock = threading.Lock()

    def update(self, n: int = 1) -> None:
        with self._lock:
            self._bar.update(max(0, min(n, self._bar.total - self._bar.n)))


@contextmanager
def progress_bar(total: int, desc: str, enabled: bool = True, unit: str = "task") -> Iterator[Bar]:
    if not enabled:
        yield _Silent()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc or "eolab", unit=unit, unit_scale=unit == "B", leave=False)
    try:
        yield _ThreadSafe(bar)
    finally:
        bar.close()
