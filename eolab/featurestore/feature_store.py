"""The feature store of a project: feature groups by name and version, as hsfs names them.

fs = project.get_feature_store()
fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
fg.save(df)                     # registers the metadata, then writes the first Delta commit
fs.get_feature_group("iceberg")  # the latest version

A feature group's catalog row (``FeatureGroupRow``) and its search entries (one
``featuregroup`` entry, one ``feature`` entry per column) change in one catalog transaction.
Every call checks the caller's membership of the project and the API-key scope
``featurestore``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from eolab import search
from eolab.access import find_project, membership
from eolab.catalog.models import FeatureGroupRow, User
from eolab.catalog.models import Project as ProjectRow
from eolab.catalog.versions import next_version
from eolab.datasets import tags as tag_store
from eolab.errors import Conflict, InvalidInput, NotFound
from eolab.featurestore.feature_group import FeatureGroup
from eolab.names import check_name
from eolab.validation.expectation import Expectation, get_expectation, get_expectations

if TYPE_CHECKING:
    from eolab.engine import Engine
    from eolab.featurestore.training_dataset import TrainingDataset
    from eolab.projects import Project

SCOPE = "featurestore"
FOLDER = "FeatureStore"
STATISTICS_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "histograms": False,
    "correlations": False,
    "exact_uniqueness": False,
    "columns": None,  # every column
}


class VersionWarning(UserWarning):
    """A version was chosen for the caller (hsfs warns the same way)."""


def _statistics_config(value: Any) -> dict[str, Any]:
    """hsfs' statistics_config: None (defaults), a bool (enabled) or a dict of options."""
    if value is None:
        return dict(STATISTICS_DEFAULTS)
    if isinstance(value, bool):
        return {**STATISTICS_DEFAULTS, "enabled": value}
    if isinstance(value, dict):
        unknown = set(value) - set(STATISTICS_DEFAULTS)
        if unknown:
            raise InvalidInput(
                f"statistics_config has unknown keys {sorted(unknown)}; "
                f"known: {sorted(STATISTICS_DEFAULTS)}"
            )
        return {**STATISTICS_DEFAULTS, **value}
    raise InvalidInput(f"statistics_config must be a dict, a bool or None, got {value!r}")


def _key_list(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        if len(set(value)) != len(value):
            raise InvalidInput(f"{what} lists a column twice: {list(value)}")
        return list(value)
    raise InvalidInput(f"{what} must be a list of column names, got {value!r}")


def _version(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"versions are integers from 1, got {value!r}")
    return value


class FeatureStore:
    """The feature store of one project, bound to the project's caller and engine."""

    def __init__(self, project: Project) -> None:
        self.project = project
        with self._tx(write=False):
            pass  # membership and scope, checked once up front too

    @property
    def name(self) -> str:
        return f"{self.project.name.lower()}_featurestore"

    @property
    def engine(self) -> Engine:
        """The project's engine, as chosen now (``project.engine`` may be rebound)."""
        return self.project.get_engine()

    # ---- catalog ------------------------------------------------------------------------------

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[tuple[Session, ProjectRow]]:
        workspace = self.project.workspace
        workspace.caller.require_scope(SCOPE)
        with workspace.tx(write) as s:
            row = find_project(s, self.project.name)
            membership(s, workspace.caller, row)
            yield s, row

    def _rows(self, s: Session, project: ProjectRow, name: str | None = None) -> list[Any]:
        query = (
            select(FeatureGroupRow, User.name)
            .join(User, User.id == FeatureGroupRow.created_by)
            .where(FeatureGroupRow.project_id == project.id)
            .order_by(FeatureGroupRow.name, FeatureGroupRow.version)
        )
        if name is not None:
            query = query.where(FeatureGroupRow.name == name)
        return list(s.execute(query).all())

    def _handle(self, row: FeatureGroupRow, creator: str) -> FeatureGroup:
        return FeatureGroup._from_row(self, row, creator)

    def _ref(self, name: str, version: int) -> str:
        return f"{self.project.name}/{name}/{version}"

    def _register(self, fg: FeatureGroup, features: list[dict[str, Any]]) -> FeatureGroupRow:
        """Write the catalog row and search entries of a new feature group version."""
        try:
            with self._tx() as (s, project):
                version = fg.version
                if version is None:
                    version = next_version(s, FeatureGroupRow, project.id, fg.name)
                    warnings.warn(
                        f"No version provided for creating feature group `{fg.name}`, "
                        f"incremented version to `{version}`.",
                        VersionWarning,
                        stacklevel=4,
                    )
                elif self._rows_at(s, project, fg.name, version):
                    raise self._exists(fg.name, version)
                row = FeatureGroupRow(
                    project_id=project.id,
                    name=fg.name,
                    version=version,
                    description=fg.description,
                    primary_key=fg.primary_key,
                    event_time=fg.event_time,
                    partition_key=fg.partition_key,
                    online_enabled=fg.online_enabled,
                    statistics_config=fg.statistics_config,
                    features=features,
                    location=f"{FOLDER}/{fg.name}_{version}",
                    created_by=self.project.workspace.caller.user_id,
                )
                s.add(row)
                s.flush()
                self._index(s, project, row)
                fg._register_validation(s, project, row)  # its expectations, validation type
                return row
        except IntegrityError as exc:
            raise self._exists(fg.name, fg.version) from exc

    def _rows_at(self, s: Session, project: ProjectRow, name: str, version: int) -> Any:
        return s.scalar(
            select(FeatureGroupRow).where(
                FeatureGroupRow.project_id == project.id,
                FeatureGroupRow.name == name,
                FeatureGroupRow.version == version,
            )
        )

    def _exists(self, name: str, version: int | None) -> Conflict:
        return Conflict(
            f"feature group {name!r} version {version} already exists in {self.project.name!r}; "
            "use get_feature_group(), or create another version",
            details={"name": name, "version": version},
        )

    def _index(self, s: Session, project: ProjectRow, row: FeatureGroupRow) -> None:
        ref = self._ref(row.name, row.version)
        search.index(s, "featuregroup", ref, project.id, row.name, row.description)
        search.unindex(s, "feature", ref + "/", prefix=True)
        for feature in row.features:
            role = " primary key" if feature["primary"] else ""
            text = f"{feature['type']}{role} feature of {row.name} version {row.version}"
            search.index(
                s, "feature", f"{ref}/{feature['name']}", project.id, feature["name"], text
            )

    def _update_features(self, fg: FeatureGroup, features: list[dict[str, Any]]) -> None:
        with self._tx() as (s, project):
            row = self._rows_at(s, project, fg.name, fg.version)
            if row is None:
                raise NotFound(f"feature group {fg.name!r} version {fg.version} was deleted")
            row.features = features
            self._index(s, project, row)

    def _unregister(self, s: Session, project: ProjectRow, row: FeatureGroupRow) -> None:
        ref = self._ref(row.name, row.version)
        search.unindex(s, "featuregroup", ref)
        search.unindex(s, "feature", ref + "/", prefix=True)
        tag_store.delete_all_tags(s, "featuregroup", ref)
        s.delete(row)

    # ---- hsfs API -----------------------------------------------------------------------------

    def create_feature_group(
        self,
        name: str,
        version: int | None = None,
        description: str = "",
        primary_key: list[str] | None = None,
        event_time: str | None = None,
        partition_key: list[str] | None = None,
        online_enabled: bool = False,
        statistics_config: dict[str, Any] | bool | None = None,
        expectations: list[Any] | None = None,
        validation_type: str = "NONE",
    ) -> FeatureGroup:
        """A new, unsaved feature group: its metadata is registered by the first save/insert.

        ``version=None`` takes the next free version at that point (with a VersionWarning).
        ``expectations`` (saved expectations or their names) are attached and
        ``validation_type`` (NONE, STRICT, WARNING, ALL) set when it is registered.
        """
        check_name(name, "feature group")
        version = _version(version)
        primary = _key_list(primary_key, "primary_key")
        if not primary:
            raise InvalidInput(
                f"feature group {name!r} needs a primary_key (one or more columns)",
                details={"field": "primary_key"},
            )
        if event_time is not None and not isinstance(event_time, str):
            raise InvalidInput(f"event_time must be a column name, got {event_time!r}")
        if not isinstance(description, str):
            raise InvalidInput(f"description must be a string, got {type(description).__name__}")
        if version is not None:
            with self._tx(write=False) as (s, project):
                if self._rows_at(s, project, name, version):
                    raise self._exists(name, version)
        fg = FeatureGroup(
            self,
            name,
            version,
            description=description,
            primary_key=primary,
            event_time=event_time,
            partition_key=_key_list(partition_key, "partition_key"),
            online_enabled=bool(online_enabled),
            statistics_config=_statistics_config(statistics_config),
        )
        fg._set_validation(expectations, validation_type)
        return fg

    def get_feature_group(self, name: str, version: int | None = None) -> FeatureGroup:
        """Version ``version`` of feature group ``name``; the latest when None."""
        version = _version(version)
        with self._tx(write=False) as (s, project):
            rows = self._rows(s, project, name)
            if version is not None:
                rows = [r for r in rows if r[0].version == version]
            if not rows:
                at = f" version {version}" if version is not None else ""
                raise NotFound(
                    f"no feature group {name!r}{at} in project {self.project.name!r}",
                    details={"name": name, "version": version},
                )
            return self._handle(*rows[-1])

    def get_feature_groups(self, name: str | None = None) -> list[FeatureGroup]:
        """Every version of feature group ``name`` (of every feature group when None)."""
        with self._tx(write=False) as (s, project):
            return [self._handle(*r) for r in self._rows(s, project, name)]

    def get_or_create_feature_group(
        self,
        name: str,
        version: int | None = None,
        description: str = "",
        primary_key: list[str] | None = None,
        event_time: str | None = None,
        partition_key: list[str] | None = None,
        online_enabled: bool = False,
        statistics_config: dict[str, Any] | bool | None = None,
        expectations: list[Any] | None = None,
        validation_type: str = "NONE",
    ) -> FeatureGroup:
        """The feature group if it exists (the latest version when None), else a new one."""
        check_name(name, "feature group")
        try:
            return self.get_feature_group(name, version)
        except NotFound:
            return self.create_feature_group(
                name,
                version,
                description,
                primary_key,
                event_time,
                partition_key,
                online_enabled,
                statistics_config,
                expectations,
                validation_type,
            )

    # ---- expectations (eolab.validation) --------------------------------------------------

    def create_expectation(
        self,
        name: str,
        description: str = "",
        features: list[str] | None = None,
        rules: list[Any] | None = None,
    ) -> Expectation:
        """A new expectation of this project; ``save()`` checks and stores it."""
        return Expectation(name, description, features, rules, feature_store=self)

    def get_expectation(self, name: str) -> Expectation:
        return get_expectation(self, name)

    def get_expectations(self) -> list[Expectation]:
        return get_expectations(self)

    # ---- training datasets (eolab.featurestore.training_dataset) ----------------------------

    def create_training_dataset(
        self,
        name: str,
        version: int | None = None,
        description: str = "",
        data_format: str = "tfrecords",
        splits: dict[str, float] | None = None,
        seed: int | None = None,
        label: list[str] | str | None = None,
        statistics_config: dict[str, Any] | bool | None = None,
        feature_shapes: dict[str, list[int]] | None = None,
        primary_key: list[str] | None = None,
    ) -> TrainingDataset:
        """A new, unsaved training dataset (hsfs names); ``save(query | df)`` writes it.

        ``data_format``: tfrecords (or tfrecord), parquet, csv, tsv, npy. ``splits``:
        ``{"train": 0.8, "test": 0.2}`` (positive, summing to 1), rows assigned by a hash of
        their ``primary_key`` (default: the query's; without one, the whole row) and ``seed``
        (random and recorded when None). ``feature_shapes``: ``{"band_1": [75, 75]}`` reshapes
        fixed-length arrays for the readers. ``version=None`` takes the next free version at
        save time (with a VersionWarning).
        """
        from eolab.featurestore import td_catalog

        return td_catalog.create(
            self,
            name,
            version,
            description,
            data_format,
            splits,
            seed,
            label,
            statistics_config,
            feature_shapes,
            primary_key,
        )

    def get_training_dataset(self, name: str, version: int | None = None) -> TrainingDataset:
        """Version ``version`` of training dataset ``name``; the latest when None."""
        from eolab.featurestore import td_catalog

        return td_catalog.get(self, name, version)

    def get_training_datasets(self, name: str | None = None) -> list[TrainingDataset]:
        """Every version of training dataset ``name`` (of every training dataset when None)."""
        from eolab.featurestore import td_catalog

        return td_catalog.get_all(self, name)

    def sql(self, query: str, dataframe_type: str = "default") -> Any:
        """Run one read-only SELECT over the feature groups, each the table
        ``<name>_<version>`` at its latest commit (as hsfs); DuckDB or Spark SQL."""
        from eolab.featurestore.query_run import run_sql

        return run_sql(self, query, dataframe_type)

    def __repr__(self) -> str:
        return f"FeatureStore({self.name!r}, engine={self.project.engine!r})"
