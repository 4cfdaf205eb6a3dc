"""The model registry of a project: versioned models under ``Models/<name>/<version>/``.

A version is a copy of a model file or folder (a SavedModel folder lands as the version folder
itself, so that ``Models/<name>/`` is a TensorFlow Serving base path), with numeric metrics, an
optional signature and input example, the run (and trial) that produced it and that run's
training datasets. Versions count from 1; the copy is staged and renamed into place in the
catalog transaction that registers it, so a failed export leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from eolab import search
from eolab.access import require_creator_or_owner
from eolab.catalog.models import ModelRow, ServingRow, User
from eolab.catalog.models import Project as ProjectRow
from eolab.catalog.versions import next_version
from eolab.datasets import tags as tag_store
from eolab.datasets.taggable import Taggable
from eolab.errors import Conflict, InvalidInput, NotFound
from eolab.experiments import context
from eolab.experiments.cluster import is_chief
from eolab.experiments.launch import check_direction
from eolab.experiments.tracking import find_run, project_tx
from eolab.names import check_name

if TYPE_CHECKING:
    from eolab.projects import Project

SCOPE = "models"
FOLDER = "Models"
SEARCH_KIND = "model"
INPUT_EXAMPLE_FILE = "input_example.json"


@dataclass(frozen=True)
class ModelVersion(Taggable):
    """One registered version of a model."""

    name: str
    version: int
    description: str
    metrics: dict[str, Any]
    signature: dict[str, Any] | None
    run_id: str | None
    trial_id: str | None
    training_datasets: list[dict[str, Any]]
    created_by: str
    created_at: datetime
    directory: Path
    project: Project = field(repr=False, compare=False)

    @property
    def model_path(self) -> str:
        return str(self.directory)

    def input_example(self) -> Any:
        path = self.directory / INPUT_EXAMPLE_FILE
        return json.loads(path.read_text()) if path.exists() else None

    def download(self, path: str | Path | None = None) -> str:
        """Copy this version's files to ``path`` (default: a new temporary folder); return it."""
        return ModelRegistry(self.project).download(self.name, self.version, path)

    def delete(self) -> None:
        ModelRegistry(self.project).delete(self.name, self.version)

    def _ref(self) -> str:
        return model_ref(self.project.name, self.name, self.version)

    _tag_kind = SEARCH_KIND

    def _tag_ref(self) -> str:
        return self._ref()

    def _tag_what(self) -> str:
        return f"model {self.name} v{self.version}"

    def _tag_caller(self) -> Any:
        return self.project.workspace.caller

    @contextmanager
    def _tag_tx(self, write: bool) -> Iterator[tuple[Any, Any]]:
        with project_tx(self.project, SCOPE, write=write) as (s, prow):
            _find(s, prow, self.name, self.version)
            yield s, prow

    def _view(self) -> Any:
        from eolab.widgets import Properties

        return Properties(
            [
                ("version", self.version),
                ("description", self.description),
                ("metrics", self.metrics),
                ("run", f"{self.run_id} {self.trial_id or ''}".strip() if self.run_id else ""),
                ("training datasets", self.training_datasets),
                ("created", f"{self.created_at:%Y-%m-%d %H:%M:%S} by {self.created_by}"),
                ("folder", str(self.directory)),
            ],
            title=f"model {self.name}",
        )

    def _repr_html_(self) -> str:
        return self._view()._repr_html_()

    def __repr__(self) -> str:
        return self._view().to_text()


def model_ref(project: str, name: str, version: int) -> str:
    return f"{project}/{name}/{version}"


def _find(s: Session, prow: ProjectRow, name: str, version: int | None) -> ModelRow:
    query = select(ModelRow).where(ModelRow.project_id == prow.id, ModelRow.name == name)
    if version is None:
        row = s.scalar(query.order_by(ModelRow.version.desc()).limit(1))
    else:
        row = s.scalar(query.where(ModelRow.version == version))
    if row is None:
        which = "any version" if version is None else f"version {version}"
        raise NotFound(
            f"no model {name!r} ({which}) in project {prow.name!r}",
            details={"model": name, "version": version},
        )
    return row


def _refuse_if_served(s: Session, prow: ProjectRow, name: str, version: int) -> None:
    """A version that a serving serves stays (409) until the serving is deleted or switched."""
    servings = list(
        s.scalars(
            select(ServingRow.name).where(
                ServingRow.project_id == prow.id,
                ServingRow.model_name == name,
                ServingRow.model_version == version,
            )
        )
    )
    if servings:
        raise Conflict(
            f"model {name} v{version} is served by {servings}; delete those servings or switch "
            "them to another version first",
            details={"model": name, "version": version, "servings": servings},
        )


def _check_version(version: Any, allow_none: bool = True) -> int | None:
    if version is None and allow_none:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(f"model versions are integers from 1, got {version!r}")
    return version


def _check_metrics(metrics: Any) -> dict[str, Any]:
    if metrics is None:
        return {}
    if not isinstance(metrics, dict):
        raise InvalidInput(f"metrics must be a dict of name -> number, got {metrics!r}")
    checked = {}
    for name, value in metrics.items():
        context.check_metric_name(name)
        try:
            checked[name] = context.as_number(value)
        except InvalidInput as exc:
            raise InvalidInput(f"metric {name!r}: {exc.message}") from None
    return checked


def _jsonable(value: Any) -> Any:
    """NumPy arrays (and nested lists/dicts of them) as plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _infer_signature(example: Any) -> dict[str, Any]:
    """``{"inputs": {"shape": [-1, ...], "dtype": ...}}`` of an array-like input example."""
    import numpy as np

    array = np.asarray(example)
    return {"inputs": {"shape": [-1, *array.shape[1:]], "dtype": str(array.dtype)}}


class ModelRegistry:
    """The registry of one project, bound to the project's caller (API-key scope ``models``)."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def _version(self, row: ModelRow, creator: str) -> ModelVersion:
        return ModelVersion(
            row.name,
            row.version,
            row.description,
            row.metrics,
            row.signature,
            row.run_id,
            row.trial_id,
            row.training_datasets,
            creator,
            row.created_at,
            self.project.root / row.location,
            self.project,
        )

    def _load(self, s: Session, row: ModelRow) -> ModelVersion:
        user = s.get(User, row.created_by)
        return self._version(row, user.name if user else "")

    # ---- export --------------------------------------------------------------------------

    def export(
        self,
        path: str | Path,
        name: str,
        model_version: int | None = None,
        metrics: dict[str, Any] | None = None,
        description: str = "",
        signature: dict[str, Any] | None = None,
        input_example: Any = None,
        run_id: str | None = None,
    ) -> ModelVersion | None:
        """Register the model file or folder at ``path`` as a new version of ``name``.

        Inside a train function the producing run and trial are taken from the trial; on the
        workers of a mirrored run other than the chief nothing is exported (returns None)."""
        check_name(name, "model")
        version = _check_version(model_version)
        checked = _check_metrics(metrics)
        if not isinstance(description, str):
            raise InvalidInput(f"description must be a string, got {description!r}")
        if signature is not None and not isinstance(signature, dict):
            raise InvalidInput(f"signature must be a dict (inputs/outputs), got {signature!r}")
        source = Path(path) if isinstance(path, str | Path) else None
        if source is None or not source.exists():
            raise NotFound(f"no model file or folder at {path!r} to export")
        example = _jsonable(input_example) if input_example is not None else None
        if example is not None:
            if source.is_dir() and (source / INPUT_EXAMPLE_FILE).exists():
                raise Conflict(f"{source} already holds an {INPUT_EXAMPLE_FILE}")
            if signature is None:
                signature = _infer_signature(input_example)
        trial_id = None
        trial = context.current()
        if trial is not None and not is_chief():
            print(f"eolab: not the chief worker: model {name!r} not exported", file=sys.stderr)
            return None
        if run_id is None and trial is not None:
            run_id, trial_id = trial.run_id, trial.trial_id
        if run_id is not None and not isinstance(run_id, str):
            raise InvalidInput(f"run_id must be a run id string, got {run_id!r}")
        staging = self.project.root / ".staging" / "models" / uuid.uuid4().hex
        try:
            self._stage(source, staging, example)
            return self._register(
                staging, name, version, checked, description, signature, run_id, trial_id
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _stage(self, source: Path, staging: Path, example: Any) -> None:
        staging.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, staging, symlinks=False)
        else:
            staging.mkdir()
            shutil.copy2(source, staging / source.name)
        if example is not None:
            (staging / INPUT_EXAMPLE_FILE).write_text(json.dumps(example))

    def _register(
        self,
        staging: Path,
        name: str,
        version: int | None,
        metrics: dict[str, Any],
        description: str,
        signature: dict[str, Any] | None,
        run_id: str | None,
        trial_id: str | None,
    ) -> ModelVersion:
        final: Path | None = None
        try:
            with project_tx(self.project, SCOPE) as (s, prow):
                datasets: list[dict[str, Any]] = []
                if run_id is not None:
                    datasets = self._run_datasets(s, prow, run_id, trial_id)
                if version is None:
                    version = next_version(s, ModelRow, prow.id, name)
                elif s.scalar(
                    select(ModelRow.id).where(
                        ModelRow.project_id == prow.id,
                        ModelRow.name == name,
                        ModelRow.version == version,
                    )
                ):
                    raise Conflict(
                        f"model {name!r} version {version} already exists; export without "
                        f"model_version to get version {next_version(s, ModelRow, prow.id, name)}",
                        details={"model": name, "version": version},
                    )
                location = f"{FOLDER}/{name}/{version}"
                row = ModelRow(
                    project_id=prow.id,
                    name=name,
                    version=version,
                    description=description,
                    metrics=metrics,
                    signature=signature,
                    run_id=run_id,
                    trial_id=trial_id,
                    training_datasets=datasets,
                    location=location,
                    created_by=self.project.workspace.caller.user_id,
                )
                s.add(row)
                s.flush()
                search.index(
                    s,
                    SEARCH_KIND,
                    model_ref(self.project.name, name, version),
                    prow.id,
                    name,
                    f"{description} version {version}".strip(),
                )
                target = self.project.root / location
                if target.exists():
                    raise Conflict(f"{target} exists on disk but not in the catalog; move it away")
                target.parent.mkdir(parents=True, exist_ok=True)
                staging.rename(target)
                final = target
                result = self._load(s, row)
        except BaseException:
            if final is not None and final.exists():
                shutil.rmtree(final, ignore_errors=True)
            raise
        return result

    def _run_datasets(
        self, s: Session, prow: ProjectRow, run_id: str, trial_id: str | None
    ) -> list[dict[str, Any]]:
        """The training datasets of the producing run (inside a trial: that trial's, so far)."""
        run = find_run(s, prow, run_id)
        trial = context.current()
        if trial_id is not None and trial is not None:
            return context.read_datasets(trial.directory) or list(run.training_datasets)
        return list(run.training_datasets)

    # ---- reading -------------------------------------------------------------------------

    def get_model(self, name: str, version: int | None = None) -> ModelVersion:
        """Version ``version`` of ``name``, or its latest version."""
        version = _check_version(version)
        with project_tx(self.project, SCOPE, write=False) as (s, prow):
            return self._load(s, _find(s, prow, name, version))

    def list_models(self, name: str | None = None) -> list[ModelVersion]:
        """Every version of every model (or of ``name``), by name then version."""
        with project_tx(self.project, SCOPE, write=False) as (s, prow):
            query = (
                select(ModelRow, User.name)
                .join(User, User.id == ModelRow.created_by)
                .where(ModelRow.project_id == prow.id)
                .order_by(ModelRow.name, ModelRow.version)
            )
            if name is not None:
                query = query.where(ModelRow.name == name)
            return [self._version(row, user) for row, user in s.execute(query).all()]

    def get_best_model(self, name: str, metric: str, direction: str = "max") -> ModelVersion:
        """The version of ``name`` with the highest (``max``) or lowest (``min``) ``metric``."""
        direction = check_direction(direction)
        context.check_metric_name(metric)
        versions = self.list_models(name)
        if not versions:
            raise NotFound(f"no model {name!r} in project {self.project.name!r}")
        scored = [v for v in versions if isinstance(v.metrics.get(metric), int | float)]
        if not scored:
            raise NotFound(
                f"no version of model {name!r} has metric {metric!r} (versions have "
                f"{sorted({k for v in versions for k in v.metrics})})"
            )
        pick = max if direction == "max" else min
        return pick(scored, key=lambda v: v.metrics[metric])

    def download(
        self, name: str, version: int | None = None, path: str | Path | None = None
    ) -> str:
        """Copy a version's files into ``path`` (default: a new temporary folder); return it."""
        model = self.get_model(name, version)
        if path is None:
            target = Path(tempfile.mkdtemp(prefix=f"{name}_{model.version}_"))
        else:
            target = Path(path)
            if target.exists() and (not target.is_dir() or any(target.iterdir())):
                raise Conflict(f"{target} exists and is not an empty folder; download elsewhere")
        shutil.copytree(model.directory, target, dirs_exist_ok=True)
        return str(target)

    def delete(self, name: str, version: int) -> None:
        """Remove one version (its creator or a data owner): files, row, tags, search entry."""
        version = _check_version(version, allow_none=False)
        trash = self.project.root / ".staging" / "trash" / uuid.uuid4().hex
        folder: Path | None = None
        try:
            with project_tx(self.project, SCOPE) as (s, prow):
                row = _find(s, prow, name, version)
                caller = self.project.workspace.caller
                what = f"model {name} v{version}"
                require_creator_or_owner(s, caller, prow, row.created_by, what)
                _refuse_if_served(s, prow, name, version)
                ref = model_ref(self.project.name, name, version)
                tag_store.delete_all_tags(s, SEARCH_KIND, ref)
                search.unindex(s, SEARCH_KIND, ref)
                s.delete(row)
                if (self.project.root / row.location).exists():
                    folder = self.project.root / row.location
                    trash.parent.mkdir(parents=True, exist_ok=True)
                    folder.rename(trash)
        except BaseException:
            if folder is not None and trash.exists():
                trash.rename(folder)
            raise
        shutil.rmtree(trash, ignore_errors=True)
