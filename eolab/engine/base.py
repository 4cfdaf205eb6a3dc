"""The engine interface: parallel work over items or partitions, with a progress bar.

Two implementations (DESIGN 'Engines'): ``python`` (a process pool on this machine) and
``spark`` (a SparkSession, any master URL). Callers never branch on which one they have.
Functions given to an engine must be importable top-level functions (they are pickled to
worker processes or Spark executors); partitions are plain lists.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def split(items: Sequence[T], parts: int) -> list[list[T]]:
    """``items`` cut into at most ``parts`` contiguous, nearly equal, non-empty lists."""
    if not items:
        return []
    parts = max(1, min(parts, len(items)))
    size = math.ceil(len(items) / parts)
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class Engine(ABC):
    """Parallel map over items or partitions; results come back in input order."""

    name: str

    @property
    @abstractmethod
    def parallelism(self) -> int:
        """How many tasks run at once."""

    @abstractmethod
    def map_partitions(
        self,
        fn: Callable[[list[T]], Iterable[R]],
        partitions: Sequence[list[T]],
        desc: str = "",
        progress: bool = True,
    ) -> list[R]:
        """Apply ``fn`` to each partition (a list); concatenate what each returns."""

    def map_items(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        desc: str = "",
        progress: bool = True,
        partitions: int | None = None,
    ) -> list[R]:
        """Apply ``fn`` to every item, ``partitions`` batches at a time (default: 4 per slot)."""
        batches = split(list(items), partitions or self.parallelism * 4)
        return self.map_partitions(_ItemMapper(fn), batches, desc, progress)

    def close(self) -> None:  # noqa: B027 - optional hook, most engines hold nothing
        """Release workers (the engine may be used again: it restarts them)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(parallelism={self.parallelism})"


class _ItemMapper:
    """Picklable adapter: apply an item function over a partition."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn

    def __call__(self, partition: Iterable[Any]) -> list[Any]:
        return [self.fn(item) for item in partition]
