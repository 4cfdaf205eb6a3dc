"""The ``spark`` engine: one SparkSession per process, from any master URL.

``local[*]`` by default; a standalone, YARN, Kubernetes or ``local-cluster`` master by
configuration. Executor memory/cores and GPU resources are passed through as Spark config.
A session is created once and reused; asking for a different configuration stops it and
starts a new one (Spark cannot reconfigure a running context).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eolab.engine.base import Engine
from eolab.errors import ConfigurationError, InvalidInput
from eolab.widgets.progress import progress_bar

_lock = threading.Lock()
_session: Any = None
_session_config: SparkConfig | None = None


@dataclass(frozen=True)
class SparkConfig:
    """What a SparkSession is built from; ``conf`` holds any extra ``spark.*`` settings."""

    master: str = "local[*]"
    app_name: str = "eolab"
    executors: int | None = None
    executor_memory: str | None = None
    executor_cores: int | None = None
    gpus: int = 0  # GPUs per executor; each task gets one
    gpu_discovery_script: str | None = None
    conf: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def spark_conf(self) -> dict[str, str]:
        conf = {
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.driver.host": "127.0.0.1",
        }
        if self.executors:
            conf["spark.executor.instances"] = str(self.executors)
        if self.executor_memory:
            conf["spark.executor.memory"] = self.executor_memory
        if self.executor_cores:
            conf["spark.executor.cores"] = str(self.executor_cores)
        if self.gpus:
            script = self.gpu_discovery_script or nvidia_discovery_script()
            conf.update(
                {
                    "spark.executor.resource.gpu.amount": str(self.gpus),
                    "spark.task.resource.gpu.amount": "1",
                    "spark.executor.resource.gpu.discoveryScript": script,
                    "spark.worker.resource.gpu.amount": str(self.gpus),
                    "spark.worker.resource.gpu.discoveryScript": script,
                }
            )
        conf.update(dict(self.conf))
        return conf


def has_gpus() -> bool:
    return shutil.which("nvidia-smi") is not None


def nvidia_discovery_script() -> str:
    """A Spark GPU discovery script that asks nvidia-smi for the GPU indices."""
    if not has_gpus():
        raise ConfigurationError(
            "no GPU on this machine (nvidia-smi not found); run without --gpus, or pass a "
            "discovery script for the cluster's executors"
        )
    path = Path(tempfile.gettempdir()) / "eolab-gpu-discovery.sh"
    if not path.exists():
        path.write_text(
            "#!/usr/bin/env bash\n"
            "ids=$(nvidia-smi --query-gpu=index --format=csv,noheader | sed 's/.*/\"&\"/' | paste -sd,)\n"
            'echo "{\\"name\\": \\"gpu\\", \\"addresses\\": [$ids]}"\n'
        )
        path.chmod(0o755)
    return str(path)


def parse_conf(pairs: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``["spark.x=1", ...]`` → ``(("spark.x", "1"), ...)``; a pair without ``=`` is refused."""
    out = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"Spark config must be key=value, got {pair!r}")
        out.append((key.strip(), value.strip()))
    return tuple(out)


def get_session(config: SparkConfig | None = None) -> Any:
    """The process's SparkSession for ``config`` (started on first use, reused after)."""
    global _session, _session_config
    config = config or _session_config or SparkConfig()
    with _lock:
        if _session is not None and _session_config == config:
            return _session
        if _session is not None:
            _session.stop()
            _session = None
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # executors run this interpreter, so they import the same eolab and libraries
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        try:
            from pyspark.sql import SparkSession
        except ImportError as exc:
            raise ConfigurationError(
                "the spark engine needs pyspark: pip install 'eolab[spark]'"
            ) from exc
        builder = SparkSession.builder.master(config.master).appName(config.app_name)
        for key, value in config.spark_conf().items():
            builder = builder.config(key, value)
        _session = builder.getOrCreate()
        _session_config = config
        return _session


def stop_session() -> None:
    global _session, _session_config
    with _lock:
        if _session is not None:
            _session.stop()
        _session = None
        _session_config = None


class SparkEngine(Engine):
    """Parallel work as Spark tasks; progress follows the job's completed tasks."""

    name = "spark"

    def __init__(self, config: SparkConfig | None = None) -> None:
        self.config = config

    @property
    def session(self) -> Any:
        return get_session(self.config)

    @property
    def parallelism(self) -> int:
        return int(self.session.sparkContext.defaultParallelism)

    def map_partitions(
        self,
        fn: Callable[[list[Any]], Iterable[Any]],
        partitions: Sequence[list[Any]],
        desc: str = "",
        progress: bool = True,
    ) -> list[Any]:
        if not partitions:
            return []
        sc = self.session.sparkContext
        rdd = sc.parallelize(list(partitions), len(partitions)).mapPartitions(_PartitionRunner(fn))
        group = f"eolab-{id(rdd)}-{time.monotonic_ns()}"
        result: dict[str, Any] = {}

        def collect() -> None:
            sc.setJobGroup(group, desc or "eolab")
            try:
                result["rows"] = rdd.collect()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                result["error"] = exc

        worker = threading.Thread(target=collect, daemon=True)
        with progress_bar(len(partitions), desc, progress) as bar:
            worker.start()
            shown = 0
            while worker.is_alive():
                worker.join(0.2)
                done = _completed_tasks(sc, group)
                if done > shown:
                    bar.update(done - shown)
                    shown = done
            if shown < len(partitions) and "error" not in result:
                bar.update(len(partitions) - shown)
        if "error" in result:
            raise result["error"]
        return result["rows"]

    def close(self) -> None:
        stop_session()


def _completed_tasks(sc: Any, group: str) -> int:
    tracker = sc.statusTracker()
    total = 0
    for job_id in tracker.getJobIdsForGroup(group):
        job = tracker.getJobInfo(job_id)
        for stage_id in job.stageIds if job else []:
            stage = tracker.getStageInfo(stage_id)
            total += stage.numCompletedTasks if stage else 0
    return total


class _PartitionRunner:
    """Spark's partition iterator holds one element: the partition list we parallelized."""

    def __init__(self, fn: Callable[[list[Any]], Iterable[Any]]) -> None:
        self.fn = fn

    def __call__(self, iterator: Iterable[list[Any]]) -> Iterable[Any]:
        for part in iterator:  # always consume the iterator: Spark reuses the Python worker then
            yield from self.fn(part)
