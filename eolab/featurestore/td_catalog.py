"""The catalog side of training datasets: rows, versions, the search entry, and the feature
store's ``create/get/get_training_dataset(s)``.

Each version is one ``TrainingDatasetRow`` (format, splits and sizes, seed, label, split key,
features, provenance, location) and one search entry of kind ``trainingdataset``
(``<project>/<name>/<version>``), written in the transaction that swaps its files in.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from eolab import search
from eolab.catalog.models import Project as ProjectRow
from eolab.catalog.models import TrainingDatasetRow, User
from eolab.catalog.versions import next_version
from eolab.errors import Conflict, InvalidInput, NotFound
from eolab.featurestore import splits as splitting
from eolab.featurestore import td_schema

if TYPE_CHECKING:
    from eolab.featurestore.feature_store import FeatureStore
    from eolab.featurestore.training_dataset import TrainingDataset

KIND = "trainingdataset"


def rows(s: Session, project: ProjectRow, name: str | None = None) -> list[Any]:
    query = (
        select(TrainingDatasetRow, User.name)
        .join(User, User.id == TrainingDatasetRow.created_by)
        .where(TrainingDatasetRow.project_id == project.id)
        .order_by(TrainingDatasetRow.name, TrainingDatasetRow.version)
    )
    if name is not None:
        query = query.where(TrainingDatasetRow.name == name)
    return list(s.execute(query).all())


def row_at(s: Session, project: ProjectRow, name: str, version: int | None) -> Any:
    return s.scalar(
        select(TrainingDatasetRow).where(
            TrainingDatasetRow.project_id == project.id,
            TrainingDatasetRow.name == name,
            TrainingDatasetRow.version == version,
        )
    )


def exists_error(name: str, version: int | None, fs: FeatureStore) -> Conflict:
    return Conflict(
        f"training dataset {name!r} version {version} already exists in "
        f"{fs.project.name!r}; use get_training_dataset(), or create another version",
        details={"name": name, "version": version},
    )


def index(s: Session, project: ProjectRow, row: TrainingDatasetRow) -> None:
    names = ", ".join(f["name"] for f in row.features)
    text = f"{row.description} ({row.data_format} training dataset; features {names})".strip()
    ref = f"{project.name}/{row.name}/{row.version}"
    search.index(s, KIND, ref, project.id, row.name, text)


# ---- the feature store's side -----------------------------------------------------------------


def create(
    fs: FeatureStore,
    name: str,
    version: int | None,
    description: str,
    data_format: str,
    splits: Any,
    seed: Any,
    label: Any,
    statistics_config: Any,
    feature_shapes: Any,
    primary_key: Any,
) -> TrainingDataset:
    """A new, unsaved training dataset, its arguments checked (see ``create_training_dataset``)."""
    from eolab.featurestore.feature_store import _key_list, _statistics_config, _version
    from eolab.names import check_name

    check_name(name, "training dataset")
    version = _version(version)
    if not isinstance(description, str):
        raise InvalidInput(f"description must be a string, got {type(description).__name__}")
    if feature_shapes is not None and not isinstance(feature_shapes, dict):
        raise InvalidInput(
            f"feature_shapes must be a dict of column name to shape, got {feature_shapes!r}",
            details={"field": "feature_shapes"},
        )
    from eolab.featurestore.training_dataset import TrainingDataset

    td = TrainingDataset(
        fs,
        name,
        version,
        description=description,
        data_format=td_schema.check_format(data_format),
        splits=splitting.check_splits(splits),
        seed=splitting.check_seed(seed),
        label=_key_list(label, "label"),
        statistics_config=_statistics_config(statistics_config),
        feature_shapes=feature_shapes,
        primary_key=_key_list(primary_key, "primary_key"),
    )
    if version is not None:
        with fs._tx(write=False) as (s, project):
            if row_at(s, project, name, version) is not None:
                raise exists_error(name, version, fs)
    return td


def get(fs: FeatureStore, name: str, version: int | None = None) -> TrainingDataset:
    """Version ``version`` of training dataset ``name``; the latest when None."""
    from eolab.featurestore.feature_store import _version
    from eolab.featurestore.training_dataset import TrainingDataset

    version = _version(version)
    with fs._tx(write=False) as (s, project):
        found = rows(s, project, name)
        if version is not None:
            found = [r for r in found if r[0].version == version]
        if not found:
            at = f" version {version}" if version is not None else ""
            raise NotFound(
                f"no training dataset {name!r}{at} in project {fs.project.name!r}",
                details={"name": name, "version": version},
            )
        return TrainingDataset._from_row(fs, *found[-1])


def get_all(fs: FeatureStore, name: str | None = None) -> list[TrainingDataset]:
    """Every version of training dataset ``name`` (of every training dataset when None)."""
    from eolab.featurestore.training_dataset import TrainingDataset

    with fs._tx(write=False) as (s, project):
        return [TrainingDataset._from_row(fs, *r) for r in rows(s, project, name)]


def referencing(fs: FeatureStore, name: str, version: int) -> list[str]:
    """The training datasets (``"name vN"``) whose provenance names feature group
    ``name`` version ``version``."""
    with fs._tx(write=False) as (s, project):
        return [
            f"{row.name} v{row.version}"
            for row, _creator in rows(s, project)
            if any(p.get("name") == name and p.get("version") == version for p in row.provenance)
        ]


def row_for_write(td: TrainingDataset, s: Session, project: ProjectRow) -> TrainingDatasetRow:
    """The catalog row a write updates; for a first write, a new row (its version chosen now
    when None, with a VersionWarning)."""
    fs = td.feature_store
    if td.id is not None:
        row = row_at(s, project, td.name, td.version)
        if row is None:
            raise NotFound(f"{td._what} was deleted")
        return row
    version = td.version
    if version is None:
        version = next_version(s, TrainingDatasetRow, project.id, td.name)
        from eolab.featurestore.feature_store import VersionWarning

        warnings.warn(
            f"No version provided for creating training dataset `{td.name}`, "
            f"incremented version to `{version}`.",
            VersionWarning,
            stacklevel=5,
        )
    elif row_at(s, project, td.name, version) is not None:
        raise exists_error(td.name, version, fs)
    row = TrainingDatasetRow(
        project_id=project.id,
        name=td.name,
        version=version,
        description=td.description,
        data_format=td.data_format,
        splits=td._splits,
        split_sizes={},
        seed=td.seed,
        label=td.label,
        primary_key=td.primary_key,
        statistics_config=td.statistics_config,
        features=[],
        provenance=[],
        location=f"FeatureStore/{td.name}_{version}_td",
        created_by=fs.project.workspace.caller.user_id,
    )
    s.add(row)
    s.flush()
    td.version, td.creator = version, fs.project.workspace.caller.name
    return row
