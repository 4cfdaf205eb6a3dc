"""Inference log backends behind one interface (embedded by default; kafka when configured)."""

from __future__ import annotations

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

__all__ = [
    "INFERENCE_SCHEMA",
    "EmbeddedLog",
    "InferenceLogger",
    "LogBackend",
    "LogEntry",
    "LogWriter",
    "Retention",
    "decode",
    "encode",
    "open_backend",
]
