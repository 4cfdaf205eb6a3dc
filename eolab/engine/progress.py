"""One progress bar for every engine: ipywidgets in a notebook, tqdm in a terminal."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Bar(Protocol):
    def update(self, n: int = 1) -> object: ...


class _Silent:
    def update(self, n: int = 1) -> None:
        return None


class _ThreadSafe:
    """Updates may come from pool callbacks or a Spark status thread."""

    def __init__(self, bar: Bar) -> None:
        self._bar = bar
        self._lock = threading.Lock()

    def update(self, n: int = 1) -> None:
        with self._lock:
            self._bar.update(n)


@contextmanager
def progress_bar(total: int, desc: str, enabled: bool = True, unit: str = "task") -> Iterator[Bar]:
    if not enabled:
        yield _Silent()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc or "eolab", unit=unit, leave=False)
    try:
        yield _ThreadSafe(bar)
    finally:
        bar.close()
