"""Compute engines: ``python`` (process pool) and ``spark`` (PySpark), one interface.

engine = eolab.engine.get_engine("spark", master="local[2]")
engine.map_items(fn, items)
"""

from __future__ import annotations

from typing import Any

from eolab.config import ENGINES, Settings, load_settings
from eolab.engine.base import Engine, split
from eolab.engine.python import PythonEngine
from eolab.engine.spark import SparkConfig, SparkEngine, get_session, parse_conf, stop_session
from eolab.errors import ConfigurationError

_python_engines: dict[int, PythonEngine] = {}


def get_engine(name: str | None = None, settings: Settings | None = None, **spark: Any) -> Engine:
    """The engine called ``name`` (default: the settings' engine), shared per process."""
    settings = settings or load_settings()
    name = name or settings.engine
    if name not in ENGINES:
        raise ConfigurationError(f"engine must be one of {ENGINES}, got {name!r}")
    if name == "python":
        workers = settings.workers or 0
        if workers not in _python_engines:
            _python_engines[workers] = PythonEngine(workers)
        return _python_engines[workers]
    if spark or settings.spark_master != "local[*]":
        spark.setdefault("master", settings.spark_master)
        return SparkEngine(SparkConfig(**spark))
    return SparkEngine()


__all__ = [
    "Engine",
    "PythonEngine",
    "SparkConfig",
    "SparkEngine",
    "get_engine",
    "get_session",
    "parse_conf",
    "split",
    "stop_session",
]
