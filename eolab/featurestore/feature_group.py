"""A feature group: a versioned, schema-enforced table of features keyed by a primary key.

fg = fs.get_or_create_feature_group("iceberg", version=1, primary_key=["id"])
fg.insert(df)                                   # upsert by primary key, one Delta commit
fg.read(wallclock_time="2024-01-01 12:00:00")   # the table as it was then (UTC)
fg.commit_details()                             # {commit_id: {"committedOn", "rowsInserted", ...}}

Names and semantics follow hsfs. A commit id is the Delta table version. Every call checks
the caller's membership and API-key scope through the feature store. Online writes and
statistics are called through two hooks (:meth:`FeatureGroup._write_online`,
:meth:`FeatureGroup._compute_statistics`) that do nothing yet.
"""

from __future__ import annotations

import shutil
import uuid
import warnings
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from eolab.access import require_creator_or_owner
from eolab.datasets.taggable import Taggable
from eolab.errors import Conflict, InvalidInput, NotFound
from eolab.featurestore import offline
from eolab.featurestore import schema as fschema
from eolab.featurestore.feature_queries import FeatureQueries
from eolab.featurestore.feature_statistics import FeatureStatistics
from eolab.featurestore.feature_validation import FeatureValidation
from eolab.featurestore.online_features import OnlineFeatures
from eolab.featurestore.query import Query
from eolab.featurestore.query_run import output, resolve_dataframe_type
from eolab.featurestore.schema import Feature

if TYPE_CHECKING:
    from eolab.catalog.models import FeatureGroupRow
    from eolab.featurestore.feature_store import FeatureStore

OPERATIONS = ("upsert", "insert")
STORAGES = (None, "offline", "online")
_COMPACT_TIMES = ("%Y%m%d", "%Y%m%d%H", "%Y%m%d%H%M", "%Y%m%d%H%M%S")


def utc(value: Any, what: str = "wallclock_time") -> datetime:
    """A point in time as a naive UTC datetime (naive inputs are UTC already).

    Accepts datetimes, dates, ISO strings ('YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD', with optional
    fraction and offset), hsfs' compact 'YYYYMMDD[hh[mm[ss]]]' and integers (ms since epoch).
    """
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC).replace(tzinfo=None)
    if isinstance(value, str):
        text = value.strip()
        try:
            return utc(datetime.fromisoformat(text), what)
        except ValueError:
            pass
        for pattern in _COMPACT_TIMES:
            try:
                return datetime.strptime(text, pattern)
            except ValueError:
                continue
    raise InvalidInput(
        f"{what} must be a datetime, 'YYYY-MM-DD HH:MM:SS' (UTC) or milliseconds since the "
        f"epoch, got {value!r}",
        details={"field": what},
    )


@dataclass(frozen=True)
class WriteResult:
    """What one write did: its counts and the Delta commit that holds it."""

    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    commit_id: int | None  # the Delta table version; None when nothing was committed
    committed_on: datetime | None  # UTC
    online_error: str | None = None  # set when the online store could not follow the commit


def _result(commit: offline.Commit | None) -> WriteResult:
    if commit is None:
        return WriteResult(0, 0, 0, None, None)
    return WriteResult(
        commit.rows_inserted,
        commit.rows_updated,
        commit.rows_deleted,
        commit.version,
        commit.committed_on,
    )


class FeatureGroup(OnlineFeatures, FeatureStatistics, FeatureValidation, FeatureQueries, Taggable):
    """A handle on one feature group version; unsaved until its first save/insert."""

    def __init__(
        self,
        feature_store: FeatureStore,
        name: str,
        version: int | None,
        description: str = "",
        primary_key: list[str] | None = None,
        event_time: str | None = None,
        partition_key: list[str] | None = None,
        online_enabled: bool = False,
        statistics_config: dict[str, Any] | None = None,
    ) -> None:
        self.feature_store = feature_store
        self.name = name
        self.version = version
        self.description = description
        self.primary_key = list(primary_key or [])
        self.event_time = event_time
        self.partition_key = list(partition_key or [])
        self.online_enabled = online_enabled
        self.statistics_config = statistics_config or {"enabled": False}
        self.id: int | None = None
        self.location: str | None = None
        self.creator: str | None = None
        self.created_at: datetime | None = None
        self._features: list[dict[str, Any]] = []

    @classmethod
    def _from_row(cls, fs: FeatureStore, row: FeatureGroupRow, creator: str) -> FeatureGroup:
        fg = cls(fs, row.name, row.version)
        fg._load(row, creator)
        return fg

    def _load(self, row: FeatureGroupRow, creator: str | None = None) -> None:
        self.id, self.version, self.location = row.id, row.version, row.location
        self.description = row.description
        self.primary_key, self.event_time = list(row.primary_key), row.event_time
        self.partition_key, self.online_enabled = list(row.partition_key), row.online_enabled
        self.statistics_config = dict(row.statistics_config or {"enabled": False})
        self._features = [dict(f) for f in row.features]
        self.created_at = row.created_at
        self.creator = creator or self.creator

    # ---- description (features and queries: FeatureQueries) ---------------------------------

    @property
    def _what(self) -> str:
        return f"feature group {self.name!r} version {self.version}"

    @property
    def _ref(self) -> str:
        return f"{self.feature_store.project.name}/{self.name}/{self.version}"

    def _path(self) -> Path:
        return self.feature_store.project.root / (self.location or "")

    def _refresh(self) -> None:
        """Check the caller may use this feature group, and reload its catalog row."""
        fs = self.feature_store
        with fs._tx(write=False) as (s, project):
            if self.id is None:
                return
            rows = [r for r in fs._rows(s, project, self.name) if r[0].version == self.version]
            if not rows:
                raise NotFound(f"{self._what} no longer exists in {project.name!r}")
            self._load(*rows[0])

    def _require_saved(self) -> None:
        self._refresh()
        if self.id is None:
            raise NotFound(
                f"feature group {self.name!r} is not saved yet: call save(df) or insert(df) first"
            )

    def _store(self) -> offline.DeltaStore:
        return offline.open_store(self._path(), self._what, self.feature_store.engine)

    def _columns(self, store: offline.DeltaStore, snapshot: Any = None) -> pa.Schema:
        """The schema in feature order (plus any column the table has that the catalog lacks).

        With ``snapshot`` (a DeltaTable at some version): only the columns it has.
        """
        catalog = fschema.schema_from_features(self._features)
        if snapshot is None and not store.exists():
            return catalog
        table = store.schema(snapshot)
        if snapshot is not None:
            known = [table.field(n) for n in catalog.names if n in table.names]
        else:
            known = [
                table.field(n) if n in table.names else catalog.field(n) for n in catalog.names
            ]
        return pa.schema(known + [f for f in table if f.name not in catalog.names])

    # ---- writes -------------------------------------------------------------------------------

    def save(self, features: Any, write_options: dict[str, Any] | None = None) -> WriteResult:
        """Register the feature group and write its first data (hsfs ``save``)."""
        self._refresh()
        if self.id is not None:
            raise Conflict(f"{self._what} is already saved; use insert() to add data")
        return self._write(features, "upsert", False, None, write_options, False)

    def insert(
        self,
        features: Any,
        overwrite: bool = False,
        operation: str = "upsert",
        storage: str | None = None,
        write_options: dict[str, Any] | None = None,
        allow_new_nullable_columns: bool = False,
    ) -> WriteResult:
        """Write ``features`` in one commit: ``upsert`` by primary key, ``insert`` (refused
        when a key exists) or, with ``overwrite=True``, replace the table's contents.

        ``write_options``: ``target_file_size`` (bytes, python engine appends); other keys
        (hsfs/Spark options such as ``wait_for_job``) are accepted and ignored.
        """
        if operation not in OPERATIONS:
            raise InvalidInput(f"operation must be one of {list(OPERATIONS)}, got {operation!r}")
        if storage not in STORAGES:
            raise InvalidInput(f"storage must be one of {list(STORAGES)}, got {storage!r}")
        if storage == "online" and not self.online_enabled:
            raise InvalidInput(f"{self._what} is not online_enabled; it has no online storage")
        self._refresh()
        if storage == "online":
            self._require_saved()  # the schema to check against comes from the offline table
        return self._write(
            features, operation, bool(overwrite), storage, write_options, allow_new_nullable_columns
        )

    def _write(
        self,
        data: Any,
        operation: str,
        overwrite: bool,
        storage: str | None,
        write_options: dict[str, Any] | None,
        evolve: bool,
    ) -> WriteResult:
        store = self._store()
        frame = store.frame(data)
        given = fschema.frame_schema(frame)
        first = self.id is None
        if first:
            self._check_key_columns(given)
            expected = target = given
        else:
            expected = self._columns(store)
            target = fschema.check(expected, given, self.primary_key, self._what, evolve)
        frame = fschema.conform(frame, target)
        frame = fschema.check_keys(frame, self.primary_key, self.event_time, self._what)
        self._validate_insert(frame)  # may reject the insert: nothing is written yet
        if storage == "online":  # the online store alone (e.g. a fresh value to serve now)
            self._write_online(frame, "overwrite" if overwrite else operation)
            return WriteResult(0, 0, 0, None, None)
        if first:
            self._load(self.feature_store._register(self, self._feature_dicts(target)))
            store = self._store()
        try:
            commit = self._commit(store, frame, target, operation, overwrite, evolve, write_options)
        except BaseException:
            if first and not store.exists():
                self._forget_registration()
            raise
        if len(target) > len(expected):
            self._features = self._feature_dicts(target)
            self.feature_store._update_features(self, self._features)
        result = _result(commit)
        return self._after_write(frame, result, storage, "overwrite" if overwrite else operation)

    def _commit(self, store, frame, schema, operation, overwrite, evolve, options):
        if overwrite or not store.exists():
            return store.append(frame, schema, self.partition_key, overwrite, evolve, options)
        if operation == "insert":
            existing = store.existing_keys(frame, self.primary_key)
            if existing:
                raise Conflict(
                    f"keys of the data already exist in {self._what}, e.g. {existing}; "
                    "nothing was written (use operation='upsert' to update them)",
                    details={"existing": [{k: str(v) for k, v in e.items()} for e in existing]},
                )
            return store.append(frame, schema, self.partition_key, False, evolve, options)
        return store.upsert(frame, schema, self.primary_key, evolve)

    def _check_key_columns(self, given: pa.Schema) -> None:
        named = [("primary key", k) for k in self.primary_key]
        named += [("partition key", k) for k in self.partition_key]
        named += [("event_time", self.event_time)] if self.event_time else []
        for role, column in named:
            if column not in given.names:
                raise InvalidInput(
                    f"{role} column {column!r} of feature group {self.name!r} is missing from "
                    f"the data (columns: {given.names})",
                    details={"column": column},
                )
        for key in self.primary_key:
            if pa.types.is_nested(given.field(key).type):
                raise InvalidInput(
                    f"primary key column {key!r} has type "
                    f"{fschema.type_name(given.field(key).type)}; keys must be scalars",
                    details={"column": key},
                )
        if self.event_time:
            kind = given.field(self.event_time).type
            if not (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
                raise InvalidInput(
                    f"event_time column {self.event_time!r} must be a timestamp or a date, "
                    f"got {fschema.type_name(kind)}"
                )
        fschema.check_partition_key(given, self.partition_key, f"feature group {self.name!r}")

    def _feature_dicts(self, schema: pa.Schema) -> list[dict[str, Any]]:
        return [
            f.to_dict() for f in fschema.features_of(schema, self.primary_key, self.partition_key)
        ]

    def _forget_registration(self) -> None:
        fs = self.feature_store
        with fs._tx() as (s, project):
            row = fs._rows_at(s, project, self.name, self.version)
            if row is not None:
                fs._unregister(s, project, row)
        self.id = self.location = None

    def commit_delete_record(
        self, delete_df: Any, write_options: dict[str, Any] | None = None
    ) -> WriteResult:
        """Delete the rows whose primary key appears in ``delete_df``, in one commit."""
        self._require_saved()
        store = self._store()
        frame = store.frame(delete_df)
        given = fschema.frame_schema(frame)
        for key in self.primary_key:
            if key not in given.names:
                raise InvalidInput(
                    f"primary key column {key!r} of {self._what} is missing from the rows to "
                    "delete",
                    details={"column": key},
                )
        expected = self._columns(store)
        keys = pa.schema([expected.field(k) for k in self.primary_key])
        fschema.check(keys, pa.schema([given.field(k) for k in self.primary_key]), [], self._what)
        frame = fschema.conform(frame, keys)
        frame = fschema.check_keys(frame, self.primary_key, None, self._what, True)
        result = _result(store.delete_keys(frame, self.primary_key))
        return self._after_write(frame, result, None, "delete")

    def append_features(self, features: list[Feature] | Feature) -> FeatureGroup:
        """Add nullable features (``Feature(name, type)``) to the schema; old rows hold null."""
        self._require_saved()
        new = [features] if isinstance(features, Feature) else list(features)
        store = self._store()
        current = self._columns(store)
        added = pa.schema([pa.field(f.name, fschema.parse_type(f.type)) for f in new])
        schema = fschema.check(
            current, pa.schema(list(current) + list(added)), [], self._what, True
        )
        if store.exists():
            from deltalake.schema import Schema as DeltaSchema

            with offline.delta_errors(self._what):
                store.table().alter.add_columns(DeltaSchema.from_arrow(added).fields)
        self._features = self._feature_dicts(schema)
        self.feature_store._update_features(self, self._features)
        return self

    def delete(self, force: bool = False) -> None:
        """Delete this version: its Delta table and catalog row (creator or data owner)."""
        self._require_saved()
        users = self._referenced_by_training_datasets()
        if users and not force:
            raise Conflict(
                f"{self._what} is used by training datasets {users}; delete them first, or "
                "pass force=True",
                details={"training_datasets": users},
            )
        fs = self.feature_store
        folder = self._path()
        trash = fs.project.root / ".staging" / "trash" / uuid.uuid4().hex
        # opened while the group still exists: opening checks access through the catalog row
        online = self._online() if self.online_enabled else None
        try:
            with fs._tx() as (s, project):
                row = fs._rows_at(s, project, self.name, self.version)
                if row is None:
                    raise NotFound(f"{self._what} no longer exists")
                require_creator_or_owner(
                    s, fs.project.workspace.caller, project, row.created_by, self._what
                )
                fs._unregister(s, project, row)
                if folder.exists():
                    trash.parent.mkdir(parents=True, exist_ok=True)
                    folder.rename(trash)  # last step: a failure before it rolls back the catalog
        except BaseException:
            if trash.exists():
                trash.rename(folder)
            raise
        shutil.rmtree(trash, ignore_errors=True)
        if online is not None:
            online.drop(self._online_table)
        self.id = None

    # ---- hooks ------------------------------------------------------------------------------

    def _referenced_by_training_datasets(self) -> list[str]:
        """Training datasets (``"name vN"``) whose recorded provenance names this version."""
        from eolab.featurestore.td_catalog import referencing

        return referencing(self.feature_store, self.name, self.version)

    def _after_write(
        self, frame: Any, result: WriteResult, storage: str | None, operation: str
    ) -> WriteResult:
        if self.online_enabled and storage != "offline":
            try:
                self._write_online(frame, operation)
            except Exception as exc:  # noqa: BLE001 - the offline commit stands; say so
                message = f"online write failed ({exc}); fg.sync_online() repairs it"
                warnings.warn(f"{self._what}: {message}", stacklevel=3)
                result = replace(result, online_error=message)
        if self.statistics_config.get("enabled") and result.commit_id is not None:
            self._compute_statistics(result)
        return result

    # ---- reads --------------------------------------------------------------------------------

    def _dataframe_type(self, dataframe_type: str) -> str:
        return resolve_dataframe_type(dataframe_type, self.feature_store.engine)

    def _output(self, frame: Any, schema: pa.Schema, dataframe_type: str) -> Any:
        wanted = self._dataframe_type(dataframe_type)
        return output(frame, schema, wanted, self.feature_store.engine)

    def read(
        self, wallclock_time: Any = None, dataframe_type: str = "default", online: bool = False
    ) -> Any:
        """All features, as of ``wallclock_time`` (UTC) or now; ``online=True`` reads the
        online store (the latest row per key). The same read as ``select_all().read()``."""
        if online:
            self._require_saved()
            if wallclock_time is not None:
                raise InvalidInput("the online store has only the latest values: no wallclock_time")
            return self._read_online()
        return Query(self, None, wallclock_time).read(dataframe_type=dataframe_type)

    def _version_at(self, store: offline.DeltaStore, wallclock_time: Any) -> int:
        when = utc(wallclock_time)
        commits = store.history()
        eligible = [c for c in commits if c.committed_on <= when]
        if not commits:
            raise InvalidInput(f"{self._what} has no commits yet: nothing to read as of {when} UTC")
        if not eligible:
            raise InvalidInput(
                f"{self._what} has no data as of {when} UTC: its first commit was at "
                f"{commits[0].committed_on} UTC",
                details={"first_commit": commits[0].committed_on.isoformat(sep=" ")},
            )
        return eligible[-1].version

    def commit_details(
        self, wallclock_time: Any = None, limit: int | None = None
    ) -> dict[int, dict[str, Any]]:
        """The commits up to ``wallclock_time`` (all when None), newest first."""
        self._require_saved()
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise InvalidInput(f"limit must be a positive integer or None, got {limit!r}")
        until = None if wallclock_time is None else utc(wallclock_time)
        commits = [
            c
            for c in reversed(self._store().history())
            if c.data_change and (until is None or c.committed_on <= until)
        ]
        return {
            c.version: {
                "committedOn": c.committed_on,
                "rowsInserted": c.rows_inserted,
                "rowsUpdated": c.rows_updated,
                "rowsDeleted": c.rows_deleted,
                "operation": c.operation,
            }
            for c in commits[:limit]
        }

    def read_changes(
        self,
        start_wallclock_time: Any,
        end_wallclock_time: Any,
        dataframe_type: str = "default",
    ) -> Any:
        """The rows written (inserted or updated) by commits in (start, end], in commit order."""
        self._require_saved()
        start = utc(start_wallclock_time, "start_wallclock_time")
        end = utc(end_wallclock_time, "end_wallclock_time")
        if start > end:
            raise InvalidInput(f"start_wallclock_time {start} is after end_wallclock_time {end}")
        store = self._store()
        schema = self._columns(store)
        parts = []
        for commit in store.history():
            if commit.data_change and start < commit.committed_on <= end:
                rows = store.changes(commit, schema.names)
                if rows is not None and rows.num_rows:
                    parts.append(_fill(rows, schema))
        table = pa.concat_tables(parts) if parts else schema.empty_table()
        return self._output(table, schema, dataframe_type)

    # ---- tags ---------------------------------------------------------------------------------

    _tag_kind = "featuregroup"

    def _tag_ref(self) -> str:
        return self._ref

    def _tag_what(self) -> str:
        return self._what

    def _tag_caller(self) -> Any:
        return self.feature_store.project.workspace.caller

    def _tag_tx(self, write: bool) -> Any:
        self._require_saved()
        return self.feature_store._tx(write)

    def __repr__(self) -> str:
        state = "" if self.id is not None else ", unsaved"
        return f"FeatureGroup({self.name!r}, version={self.version}{state})"

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(
            f"<tr><td>{escape(f.name)}</td><td>{escape(f.type)}</td>"
            f"<td>{'✔' if f.primary else ''}</td><td>{'✔' if f.partition else ''}</td></tr>"
            for f in self.features
        )
        return (
            f"<b>feature group</b> {escape(self.name)} v{self.version} "
            f"<i>{escape(self.description)}</i><table><tr><th>feature</th><th>type</th>"
            f"<th>primary</th><th>partition</th></tr>{rows}</table>"
        )


def _fill(rows: pa.Table, schema: pa.Schema) -> pa.Table:
    """``rows`` with every column of ``schema`` (nulls for features added later)."""
    columns = [
        rows.column(f.name) if f.name in rows.column_names else pa.nulls(rows.num_rows, f.type)
        for f in schema
    ]
    return fschema.conform(pa.Table.from_arrays(columns, names=schema.names), schema)
