"""Multi-worker training set-up: ports, ``TF_CONFIG`` per worker, and who is the chief.

TensorFlow's ``MultiWorkerMirroredStrategy`` reads the cluster from ``TF_CONFIG``; worker 0 is
the chief (it alone writes checkpoints and exports). An evaluator, when asked for, runs beside
the cluster and is not part of it.
"""

from __future__ import annotations

import json
import os
import socket

CHIEF_INDEX = 0


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on ``host`` now (the worker binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def tf_config(workers: list[str], index: int) -> str:
    """``TF_CONFIG`` of task ``index``: a worker when below ``len(workers)``, else the evaluator."""
    if index < len(workers):
        task = {"type": "worker", "index": index}
    else:
        task = {"type": "evaluator", "index": 0}
    return json.dumps({"cluster": {"worker": workers}, "task": task})


def task_of(environ: dict[str, str] | None = None) -> tuple[str, int] | None:
    """This process's ``(type, index)`` from ``TF_CONFIG``, or None outside a cluster."""
    raw = (environ if environ is not None else os.environ).get("TF_CONFIG")
    if not raw:
        return None
    try:
        task = json.loads(raw)["task"]
        return str(task["type"]), int(task.get("index", 0))
    except (ValueError, KeyError, TypeError):
        return None


def is_chief(environ: dict[str, str] | None = None) -> bool:
    """True outside a multi-worker cluster, and on its chief (worker 0 or a "chief" task)."""
    task = task_of(environ)
    return task is None or task in (("worker", CHIEF_INDEX), ("chief", 0))
