"""The model registry (hops' ``model``): versioned models with metrics, signature and provenance.

from eolab import models                       # bound to the current project
models.export("/tmp/cnn", "ship_iceberg_classifier", metrics={"accuracy": 0.9})
best = models.get_best_model("ship_iceberg_classifier", "accuracy", "max")
best.model_path, best.run_id, best.training_datasets
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eolab.models.registry import ModelRegistry, ModelVersion


def _registry() -> ModelRegistry:
    import eolab

    return ModelRegistry(eolab.current_project())


def export(
    path: str | Path,
    name: str,
    model_version: int | None = None,
    metrics: dict[str, Any] | None = None,
    description: str = "",
    signature: dict[str, Any] | None = None,
    input_example: Any = None,
    run_id: str | None = None,
) -> ModelVersion | None:
    """Register the model file or folder at ``path`` as version ``model_version`` (default: the
    next) of ``name``; inside a train function the producing run is recorded on its own (and a
    mirrored run's workers other than the chief export nothing: None)."""
    return _registry().export(
        path, name, model_version, metrics, description, signature, input_example, run_id
    )


def get_model(name: str, version: int | None = None) -> ModelVersion:
    """Version ``version`` of model ``name`` (default: its latest)."""
    return _registry().get_model(name, version)


def get_best_model(name: str, metric: str, direction: str = "max") -> ModelVersion:
    """The version of ``name`` with the best ``metric`` ("max" or "min")."""
    return _registry().get_best_model(name, metric, direction)


def list_models(name: str | None = None) -> list[ModelVersion]:
    """Every version of every model in the current project (or of ``name``)."""
    return _registry().list_models(name)


def download(name: str, version: int | None = None, path: str | Path | None = None) -> str:
    """Copy a version's files to ``path`` (default: a new temporary folder); return the path."""
    return _registry().download(name, version, path)


def delete(name: str, version: int) -> None:
    """Remove one version of a model (its creator or a data owner may)."""
    _registry().delete(name, version)


__all__ = [
    "ModelRegistry",
    "ModelVersion",
    "delete",
    "download",
    "export",
    "get_best_model",
    "get_model",
    "list_models",
]
