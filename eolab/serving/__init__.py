"""Model serving (hops' ``serving``): TF-Serving REST servers for registered models, inference
logging and monitoring. The functions here act on the current project (``eolab.connect``);
``project.serving`` is the same API bound to a given project.

from eolab import serving
serving.create_or_update("ShipIcebergClassifier", "ship_iceberg_classifier", 1, instances=2)
serving.start("ShipIcebergClassifier")
serving.make_inference_request("ShipIcebergClassifier", {"instances": [chip]})
serving.get_inference_log("ShipIcebergClassifier", limit=10)
serving.monitor("ShipIcebergClassifier", reference=train_td)

The processes that serve (supervisor, instances) import only this package's server modules,
so this module imports the catalog side lazily.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from eolab.serving.batching import BatchingConfig

if TYPE_CHECKING:
    from eolab.serving.consumer import InferenceLogConsumer, InferenceRecord
    from eolab.serving.monitoring import MonitorReport
    from eolab.serving.servings import Serving, Servings


def _servings() -> Servings:
    import eolab
    from eolab.serving.servings import Servings

    return Servings(eolab.current_project())


def create_or_update(
    name: str,
    model_name: str,
    model_version: int | None = None,
    model_server: str = "tensorflow",
    instances: int = 1,
    batching: bool | BatchingConfig | dict[str, int] | None = False,
    inference_logging: bool = True,
    topic: str | None = None,
) -> Serving:
    """Create serving ``name`` for a registered model version, or change it (a running
    serving switches one instance at a time)."""
    return _servings().create_or_update(
        name, model_name, model_version, model_server, instances, batching, inference_logging,
        topic,
    )  # fmt: skip


def start(name: str, timeout_s: float = 300.0, progress: bool = True) -> Serving:
    """Start it and wait until every instance answers."""
    return _servings().start(name, timeout_s, progress)


def stop(name: str) -> Serving:
    return _servings().stop(name)


def get_status(name: str) -> str:
    """Starting, Running, Stopping, Stopped or Failed."""
    return _servings().get_status(name)


def get_serving(name: str) -> Serving:
    return _servings().get_serving(name)


def get_servings() -> list[Serving]:
    return _servings().get_servings()


def exists(name: str) -> bool:
    return _servings().exists(name)


def delete(name: str) -> None:
    _servings().delete(name)


def make_inference_request(name: str, data: Any, verb: str = ":predict") -> Any:
    """A TF-Serving request (``{"instances": …}`` or a list of instances) to the serving."""
    return _servings().make_inference_request(name, data, verb)


def get_inference_log(
    name: str, from_offset: int | None = None, since: datetime | None = None, limit: int = 100
) -> list[InferenceRecord]:
    """Decoded inference records, oldest first (by default the last ``limit``)."""
    return _servings().get_inference_log(name, from_offset, since, limit)


def consumer(name: str, group: str) -> InferenceLogConsumer:
    """A consumer group on the serving's inference log, offsets committed in the catalog."""
    return _servings().consumer(name, group)


def monitor(name: str, reference: Any = None, **options: Any) -> MonitorReport:
    """Request rate, errors, latency percentiles, predictions and input drift against
    ``reference`` (a training dataset)."""
    return _servings().monitor(name, reference, **options)


__all__ = [
    "BatchingConfig",
    "consumer",
    "create_or_update",
    "delete",
    "exists",
    "get_inference_log",
    "get_serving",
    "get_servings",
    "get_status",
    "make_inference_request",
    "monitor",
    "start",
    "stop",
]
