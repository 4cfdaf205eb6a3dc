"""Inference log backends behind one interface (embedded by default; kafka when configured).

``KafkaBackend`` is exported lazily: it needs confluent-kafka (the ``kafka`` extra), which the
embedded default does not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eolab.serving.inference_log.base import (
    INFERENCE_SCHEMA,
    InferenceLogger,
    LogBackend,
    LogEntry,
    LogWriter,
    decode,
    encode,
    open_backend,
)
from eolab.serving.inference_log.embedded import EmbeddedLog, Retention

if TYPE_CHECKING:
    from eolab.serving.inference_log.kafka import KafkaBackend

__all__ = [
    "INFERENCE_SCHEMA",
    "EmbeddedLog",
    "InferenceLogger",
    "KafkaBackend",
    "LogBackend",
    "LogEntry",
    "LogWriter",
    "Retention",
    "decode",
    "encode",
    "open_backend",
]


def __getattr__(name: str) -> Any:
    if name == "KafkaBackend":
        from eolab.serving.inference_log.kafka import KafkaBackend

        return KafkaBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
