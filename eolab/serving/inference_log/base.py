"""Inference logging: the Avro record, the backend interface, and the asynchronous logger.

Every request a model server answers becomes one Avro record with Hopsworks' inference log
schema (``modelId``, ``modelName``, ``modelVersion``, ``requestTimestamp``,
``responseHttpCode``, ``inferenceRequest``, ``inferenceResponse``) plus ``latency`` (ms) and
``instance``. ``modelId`` is the serving's catalog id. Backends (embedded, kafka) implement
:class:`LogBackend`; the rest of the code never asks which one it has.

:class:`InferenceLogger` never blocks or fails a prediction: ``log`` puts the record in a
bounded queue (a full queue drops it and counts it), and a thread encodes and writes batches.
When the backend fails (broker down, disk full) the batch in hand is retried with backoff while
new records wait in the queue; what never gets written is counted in ``dropped``.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import queue
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import fastavro

from eolab.errors import ConfigurationError

INFERENCE_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "inferencelog",
    "namespace": "eolab.serving",
    "fields": [
        {"name": "modelId", "type": "int"},
        {"name": "modelName", "type": "string"},
        {"name": "modelVersion", "type": "int"},
        {"name": "requestTimestamp", "type": "long", "doc": "ms since the epoch, UTC"},
        {"name": "responseHttpCode", "type": "int"},
        {"name": "inferenceRequest", "type": "string"},
        {"name": "inferenceResponse", "type": "string"},
        {"name": "latency", "type": "double", "doc": "ms from request to response"},
        {"name": "instance", "type": "int", "doc": "index of the model server instance"},
    ],
}
_PARSED = fastavro.parse_schema(INFERENCE_SCHEMA)
_log = logging.getLogger("eolab.serving.log")


def encode(record: dict[str, Any]) -> bytes:
    """One record as schemaless Avro (the schema is stored with the topic)."""
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, _PARSED, record)
    return buffer.getvalue()


def decode(payload: bytes) -> dict[str, Any]:
    return fastavro.schemaless_reader(io.BytesIO(payload), _PARSED)  # type: ignore[return-value]


@dataclass(frozen=True)
class LogEntry:
    """One stored record: where it is and its encoded bytes."""

    partition: int
    offset: int
    timestamp_ms: int
    payload: bytes


class LogWriter(ABC):
    """Appends to one partition; a partition has one writer at a time."""

    @abstractmethod
    def append(self, payloads: list[bytes], timestamp_ms: int | list[int] | None = None) -> int:
        """Append in order, stamped (Kafka's CreateTime) with one time, one per record, or
        now; return the last record's offset."""

    @abstractmethod
    def close(self) -> None: ...


class LogBackend(ABC):
    """One topic of an inference log: partitions of records addressed by offset."""

    topic: str

    @abstractmethod
    def create(self, schema: dict[str, Any]) -> None:
        """Create the topic (with its schema) if it does not exist."""

    @abstractmethod
    def partitions(self) -> list[int]: ...

    @abstractmethod
    def open_writer(self, partition: int) -> LogWriter: ...

    @abstractmethod
    def begin_offset(self, partition: int) -> int: ...

    @abstractmethod
    def end_offset(self, partition: int) -> int: ...

    @abstractmethod
    def read(
        self,
        partition: int,
        from_offset: int = 0,
        limit: int | None = None,
        since_ms: int | None = None,
    ) -> list[LogEntry]: ...

    @abstractmethod
    def delete(self) -> None: ...


LOG_BACKEND_ENV = "EOLAB_LOG_BACKEND"


def log_config(root: str, topic: str, partitions: int = 1) -> dict[str, Any]:
    """The log config of a serving's topic from ``$EOLAB_LOG_BACKEND``: empty (or
    ``embedded``) is the embedded log under ``root``, ``kafka://host:port[,host:port]`` a
    Kafka topic with one partition per instance."""
    url = os.environ.get(LOG_BACKEND_ENV, "").strip()
    if url in ("", "embedded"):
        from eolab.serving.inference_log.embedded import Retention

        return {
            "backend": "embedded",
            "root": root,
            "topic": topic,
            "retention": Retention().to_dict(),
        }
    if url.startswith("kafka://") and url[len("kafka://") :].strip("/"):
        bootstrap = url[len("kafka://") :].strip("/")
        return {
            "backend": "kafka",
            "bootstrap": bootstrap,
            "topic": topic,
            "partitions": partitions,
        }
    raise ConfigurationError(
        f"{LOG_BACKEND_ENV} must be empty, 'embedded' or kafka://HOST:PORT, got {url!r}",
        details={"url": url},
    )


def open_backend(config: dict[str, Any]) -> LogBackend:
    """The backend a serving's spec names: ``{"backend": "embedded", "root", "topic",
    "retention": {...}}`` or ``{"backend": "kafka", "bootstrap", "topic", "partitions",
    "replication"}``."""
    kind = config.get("backend", "embedded")
    if kind == "embedded":
        from eolab.serving.inference_log.embedded import EmbeddedLog, Retention

        return EmbeddedLog(
            config["root"], config["topic"], Retention(**config.get("retention", {}))
        )
    if kind == "kafka":
        from eolab.serving.inference_log.kafka import KafkaBackend  # confluent-kafka: lazily

        return KafkaBackend(
            config.get("bootstrap", ""),
            config["topic"],
            partitions=config.get("partitions", 1),
            replication=config.get("replication", 1),
        )
    raise ValueError(f"unknown inference log backend {kind!r}; this build has 'embedded', 'kafka'")


class InferenceLogger:
    """The bounded, asynchronous writer of one model server instance's records."""

    def __init__(
        self,
        backend: LogBackend,
        partition: int,
        capacity: int = 10_000,
        max_batch: int = 512,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.backend = backend
        self.partition = partition
        self.max_batch = max_batch
        self.max_backoff_s = max_backoff_s
        self.written = 0
        self.dropped = 0
        self.last_error = ""
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=capacity)
        self._pending: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="eolab-inference-log", daemon=True)
        self._thread.start()

    @property
    def lag(self) -> int:
        """Records accepted but not yet written."""
        return self._queue.qsize() + len(self._pending)

    def log(self, record: dict[str, Any]) -> None:
        """Queue one record; never blocks, never raises (a full queue drops and counts it)."""
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1

    def _next_batch(self) -> None:
        try:
            self._pending.append(self._queue.get(timeout=0.1))
        except queue.Empty:
            return
        while len(self._pending) < self.max_batch:
            try:
                self._pending.append(self._queue.get_nowait())
            except queue.Empty:
                return

    def _encode(self) -> tuple[list[bytes], list[int]]:
        """The pending records encoded, with their request times as the log's timestamps."""
        payloads, stamps = [], []
        for record in self._pending:
            try:
                payloads.append(encode(record))
                stamps.append(int(record["requestTimestamp"]))
            except Exception as exc:  # noqa: BLE001 - a bad record is dropped, not retried
                self.dropped += 1
                self.last_error = f"record not encodable: {exc}"
        return payloads, stamps

    def _loop(self) -> None:
        writer: LogWriter | None = None
        backoff = 0.05
        while not (self._stop.is_set() and not self._pending and self._queue.empty()):
            if not self._pending:
                self._next_batch()
                if not self._pending:
                    continue
            try:
                if writer is None:
                    writer = self.backend.open_writer(self.partition)
                payloads, stamps = self._encode()
                writer.append(payloads, stamps)
                self.written += len(payloads)
                self._pending = []
                backoff = 0.05
            except Exception as exc:  # noqa: BLE001 - the backend is down: retry, then count
                self.last_error = f"{type(exc).__name__}: {exc}"
                _log.warning("inference log %s/%d: %s; retrying in %.2f s", self.backend.topic,
                             self.partition, self.last_error, backoff)  # fmt: skip
                if writer is not None:
                    with contextlib.suppress(Exception):  # it is broken already
                        writer.close()
                    writer = None
                if self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, self.max_backoff_s)
        if writer is not None:
            writer.close()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (for up to ``timeout``); what is left is counted as dropped."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        self._thread.join(max(0.0, deadline - time.monotonic()))
        left = self.lag
        if left:
            self.dropped += left
            _log.warning("inference log %s/%d: %d record(s) not written at shutdown",
                         self.backend.topic, self.partition, left)  # fmt: skip
