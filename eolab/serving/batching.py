"""Dynamic batching, as TF Serving's ``--enable_batching``: requests wait in a queue until
``max_batch_size`` rows are there or the first has waited ``batch_timeout_micros``, then run as
one model call, and each request gets its own rows of the outputs back.

Requests are batched together only when they can be concatenated: same signature, same input
names, dtypes and shapes past the 0-th dimension. A request larger than ``max_batch_size`` runs
alone. One thread runs the batches, so the model is never called concurrently by the batcher.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from eolab.errors import InvalidInput

RunFn = Callable[[str, dict[str, np.ndarray]], dict[str, np.ndarray]]


@dataclass(frozen=True)
class BatchingConfig:
    """TF Serving's batching parameters."""

    max_batch_size: int = 32
    batch_timeout_micros: int = 2000

    def __post_init__(self) -> None:
        for name, low, high in (("max_batch_size", 1, 4096), ("batch_timeout_micros", 0, 10**7)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(
                    f"BatchingConfig.{name} must be an integer in [{low}, {high}], got {value!r}",
                    details={"field": name},
                )

    @classmethod
    def from_value(cls, value: Any) -> BatchingConfig | None:
        """False/None: no batching; True: the defaults; a dict of fields or a config."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            unknown = set(value) - set(cls.__dataclass_fields__)
            if unknown:
                raise InvalidInput(
                    f"unknown batching settings {sorted(unknown)}; expected some of "
                    f"{sorted(cls.__dataclass_fields__)}",
                    details={"field": "batching"},
                )
            return cls(**value)
        raise InvalidInput(
            f"batching must be False, True, a dict or a BatchingConfig, got {value!r}",
            details={"field": "batching"},
        )

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _Item:
    signature_name: str
    inputs: dict[str, np.ndarray]
    rows: int
    key: tuple[Any, ...]
    enqueued: float
    future: Future


def _key(signature_name: str, inputs: dict[str, np.ndarray]) -> tuple[Any, ...]:
    return (signature_name, *sorted((k, v.dtype.str, v.shape[1:]) for k, v in inputs.items()))


class Batcher:
    """The queue and the thread that runs its batches through ``run``."""

    def __init__(
        self,
        run: RunFn,
        config: BatchingConfig,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._run = run
        self.config = config
        self._on_batch = on_batch
        self._queue: deque[_Item] = deque()
        self._queued_rows = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="eolab-batcher", daemon=True)
        self._thread.start()

    @property
    def queued_rows(self) -> int:
        """Rows waiting for a batch (the queue depth metric)."""
        return self._queued_rows

    def submit(self, signature_name: str, inputs: dict[str, np.ndarray], rows: int) -> Future:
        """Queue one request; the future gets its own rows of every output."""
        future: Future = Future()
        item = _Item(
            signature_name, inputs, rows, _key(signature_name, inputs), time.monotonic(), future
        )
        with self._cond:
            if self._closed:
                raise RuntimeError("the batcher is closed")
            self._queue.append(item)
            self._queued_rows += rows
            self._cond.notify()
        return future

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _ready_rows(self, key: tuple[Any, ...]) -> int:
        return sum(item.rows for item in self._queue if item.key == key)

    def _take(self) -> list[_Item] | None:
        """Wait for a full batch or the first item's deadline; pop the batch."""
        timeout = self.config.batch_timeout_micros / 1e6
        limit = self.config.max_batch_size
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None
            first = self._queue[0]
            deadline = first.enqueued + timeout
            while not self._closed and self._ready_rows(first.key) < limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch, rows, keep = [], 0, deque()
            while self._queue:
                item = self._queue.popleft()
                if item.key == first.key and (not batch or rows + item.rows <= limit):
                    batch.append(item)
                    rows += item.rows
                else:
                    keep.append(item)
            self._queue = keep
            self._queued_rows -= rows
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            self._execute(batch)

    def _execute(self, batch: list[_Item]) -> None:
        total = sum(item.rows for item in batch)
        try:
            if len(batch) == 1:
                inputs = batch[0].inputs
            else:
                inputs = {
                    name: np.concatenate([item.inputs[name] for item in batch])
                    for name in batch[0].inputs
                }
            outputs = self._run(batch[0].signature_name, inputs)
            if self._on_batch is not None:
                self._on_batch(total)
            bad = {k: v.shape for k, v in outputs.items() if v.ndim == 0 or v.shape[0] != total}
            if bad and len(batch) > 1:
                raise ValueError(
                    f"the model's outputs {bad} do not have the batch ({total} rows) as their "
                    "0-th dimension, so they cannot be split back to the requests"
                )
        except BaseException as exc:  # noqa: BLE001 - every waiting request gets the error
            for item in batch:
                item.future.set_exception(exc)
            return
        start = 0
        for item in batch:
            end = start + item.rows
            if len(batch) == 1:
                item.future.set_result(outputs)
            else:
                item.future.set_result({k: v[start:end] for k, v in outputs.items()})
            start = end
