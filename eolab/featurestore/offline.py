"""The offline store: one Delta Lake table per feature group version, written by either engine.

Layout: ``<project root>/FeatureStore/<name>_<version>/`` holds the Parquet files and
``_delta_log/``. Every write is exactly one Delta commit (delta-rs commits atomically: a writer
killed before its commit leaves only unreferenced files behind, never a half-written table).
Tables are created with the change data feed on, so that :meth:`DeltaStore.changes` can tell
new row versions from rows a merge merely copied.

- ``python`` engine: delta-rs does everything (``write_deltalake``, ``DeltaTable.merge``).
- ``spark`` engine (``offline_spark.py``): Spark computes (joins, de-duplication); its executors write Parquet files
  with pyarrow straight into the table folder (unique names), and the driver commits them with
  delta-rs ``create_write_transaction`` (AddAction/RemoveAction). No Delta jar is involved. An
  upsert or delete rewrites only the files that hold a matched key, in one Remove+Add commit.
  Snapshots are read with ``spark.read.parquet`` over the snapshot's file list.

Each eolab commit carries custom commit metadata ``{"eolab": {"operation", "rowsInserted",
"rowsUpdated", "rowsDeleted", "changedFiles"}}`` (counts a merge leaves to its operation
metrics; ``changedFiles`` names the files holding new row versions, for Spark commits).
"""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import CommitProperties

from eolab.errors import Conflict, NotFound
from eolab.featurestore import schema as fschema

TABLE_CONFIG = {"delta.enableChangeDataFeed": "true"}
_DATA_OPERATIONS = {"WRITE", "MERGE", "DELETE", "UPDATE", "CREATE TABLE", "CREATE OR REPLACE TABLE"}
_CDF_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")


@dataclass(frozen=True)
class Commit:
    """One Delta commit, as ``commit_details`` reports it."""

    version: int
    committed_on: datetime  # UTC, naive
    operation: str
    rows_inserted: int
    rows_updated: int
    rows_deleted: int
    data_change: bool
    changed_files: list[str] | None = None


def _commit_of(info: dict[str, Any]) -> Commit:
    meta = info.get("eolab") or {}
    if isinstance(meta, str):
        meta = json.loads(meta)
    metrics = info.get("operationMetrics") or {}
    operation = info.get("operation", "")

    def count(ours: str, *theirs: str) -> int:
        if meta.get(ours) is not None:
            return int(meta[ours])
        return int(next((metrics[t] for t in theirs if metrics.get(t) is not None), 0))

    return Commit(
        version=int(info["version"]),
        committed_on=datetime.fromtimestamp(info["timestamp"] / 1000, UTC).replace(tzinfo=None),
        operation=meta.get("operation", operation.lower()),
        rows_inserted=count("rowsInserted", "num_target_rows_inserted", "num_added_rows"),
        rows_updated=count("rowsUpdated", "num_target_rows_updated", "num_updated_rows"),
        rows_deleted=count("rowsDeleted", "num_target_rows_deleted", "num_deleted_rows"),
        data_change=bool(meta) or operation in _DATA_OPERATIONS,
        changed_files=meta.get("changedFiles"),
    )


def _properties(token: str, **meta: Any) -> CommitProperties:
    meta = {"token": token, **{k: v for k, v in meta.items() if v is not None}}
    return CommitProperties(custom_metadata={"eolab": meta})


def _partition_string(value: Any) -> str | None:
    """A partition value as the Delta log writes it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _now_ms() -> int:
    return int(time.time() * 1000)


class DeltaStore(ABC):
    """The Delta table of one feature group version; engine-specific writes and reads."""

    engine = ""

    def __init__(self, location: Path, what: str) -> None:
        self.location = Path(location)
        self.what = what  # "feature group 'x' version 1", for messages

    # ---- metadata (delta-rs, both engines) --------------------------------------------------

    def exists(self) -> bool:
        return DeltaTable.is_deltatable(str(self.location))

    def table(self, version: int | None = None) -> DeltaTable:
        try:
            return DeltaTable(str(self.location), version=version)
        except TableNotFoundError as exc:
            raise NotFound(f"{self.what} has no data yet: insert some first") from exc

    def schema(self, table: DeltaTable | None = None) -> pa.Schema:
        arrow = pa.schema((table or self.table()).schema().to_arrow())
        return fschema.canonical_schema(arrow)

    def history(self) -> list[Commit]:
        """Every commit, oldest first."""
        if not self.exists():
            return []
        return sorted((_commit_of(i) for i in self.table().history()), key=lambda c: c.version)

    def commit(self, token: str) -> Commit:
        """The commit a write made, found by its token (other writers may have followed it)."""
        for limit in (8, None):
            for info in self.table().history(limit):
                meta = info.get("eolab")
                if isinstance(meta, dict) and meta.get("token") == token:
                    return _commit_of(info)
        raise NotFound(f"the commit of this write to {self.what} is not in its history")

    def row_count(self, table: DeltaTable) -> int:
        actions = pa.table(table.get_add_actions(flatten=True))
        return int(pc.sum(actions.column("num_records")).as_py() or 0)

    def files(self, table: DeltaTable) -> list[dict[str, Any]]:
        """The snapshot's files: log path, size, partition values and file-system path."""
        actions = pa.table(table.get_add_actions(flatten=False))
        has_partitions = "partition" in actions.column_names
        rows = actions.select(["path", "size_bytes"] + (["partition"] if has_partitions else []))
        return [
            {
                "path": r["path"],
                "size": r["size_bytes"],
                "partition_values": {
                    k: _partition_string(v) for k, v in (r.get("partition") or {}).items()
                },
                "file": str(self.location / unquote(r["path"])),
            }
            for r in rows.to_pylist()
        ]

    def arrow_files(self, version: int, paths: list[str], columns: list[str]) -> pa.Table:
        """The rows of some files of a snapshot (with their partition values) as Arrow."""
        dataset = self.table(version).to_pyarrow_dataset()
        wanted = {str(self.location / unquote(p)) for p in paths}
        fragments = [
            f
            for f in dataset.get_fragments()
            if str(self.location / unquote(f.path)) in wanted or f.path in wanted
        ]
        subset = ds.FileSystemDataset(fragments, dataset.schema, dataset.format, dataset.filesystem)
        return subset.to_table(columns=[c for c in columns if c in dataset.schema.names])

    def changes(self, commit: Commit, columns: list[str]) -> pa.Table | None:
        """The new row versions a commit wrote (inserts and updates), or None for none."""
        if commit.changed_files is not None:
            if not commit.changed_files:
                return None
            return self.arrow_files(commit.version, commit.changed_files, columns)
        feed = self.table().load_cdf(starting_version=commit.version, ending_version=commit.version)
        rows = pa.table(feed.read_all())
        kind = pc.cast(rows.column("_change_type"), pa.string())
        data = rows.select([c for c in columns if c in rows.column_names])
        data = fschema.conform(data, fschema.canonical_schema(data.schema))  # no views
        return data.filter(pc.is_in(kind, pa.array(["insert", "update_postimage"])))

    # ---- engine-specific --------------------------------------------------------------------

    @abstractmethod
    def frame(self, data: Any) -> Any:
        """``data`` as this engine's frame (an Arrow table or a Spark DataFrame)."""

    @abstractmethod
    def append(
        self,
        frame: Any,
        schema: pa.Schema,
        partition_by: list[str],
        overwrite: bool = False,
        evolve: bool = False,
        options: dict[str, Any] | None = None,
    ) -> Commit:
        """Append ``frame`` (creating the table on first write) or replace the contents."""

    @abstractmethod
    def upsert(self, frame: Any, schema: pa.Schema, primary_key: list[str], evolve: bool) -> Commit:
        """Update rows whose key matches, insert the others."""

    @abstractmethod
    def existing_keys(self, frame: Any, primary_key: list[str], limit: int = 5) -> list[dict]:
        """Up to ``limit`` keys of ``frame`` that the table already holds."""

    @abstractmethod
    def delete_keys(self, frame: Any, primary_key: list[str]) -> Commit | None:
        """Delete the rows whose key is in ``frame``; None when there is no table yet."""

    @abstractmethod
    def read(self, version: int | None, columns: list[str]) -> Any:
        """The snapshot at ``version`` (latest: None) as this engine's frame."""

    @abstractmethod
    def snapshot(self, table: DeltaTable, schema: pa.Schema) -> Any:
        """The rows of ``table`` (a DeltaTable at one version) for queries to read lazily: a
        pyarrow dataset (python) or a Spark DataFrame with the columns of ``schema``."""


@contextmanager
def delta_errors(what: str) -> Iterator[None]:
    """delta-rs commit conflicts as eolab's retryable Conflict."""
    try:
        yield
    except CommitFailedError as exc:
        raise Conflict(
            f"another writer committed to {what} at the same time; this write was not "
            f"committed and changed nothing: retry it ({exc})",
            details={"retry": True},
        ) from exc
    except DeltaError as exc:
        if "already exists" in str(exc).lower():
            raise Conflict(
                f"another writer created or changed {what} at the same time; retry ({exc})",
                details={"retry": True},
            ) from exc
        raise


def _merge_predicate(primary_key: list[str]) -> str:
    return " AND ".join(f's."{k}" = t."{k}"' for k in primary_key)


class PythonDeltaStore(DeltaStore):
    """delta-rs in this process: write_deltalake for appends, DeltaTable.merge for upserts."""

    engine = "python"

    def frame(self, data: Any) -> pa.Table:
        return fschema.to_arrow(data)

    def append(self, frame, schema, partition_by, overwrite=False, evolve=False, options=None):
        options, token = options or {}, uuid.uuid4().hex
        creating = not self.exists()
        target: Any = str(self.location) if creating else self.table()
        deleted = 0 if creating or not overwrite else self.row_count(target)
        with delta_errors(self.what):
            write_deltalake(
                target,
                frame,
                mode="overwrite" if overwrite else "append",
                partition_by=partition_by or None,
                configuration=TABLE_CONFIG if creating else None,
                schema_mode="merge" if evolve else None,
                target_file_size=options.get("target_file_size"),
                commit_properties=_properties(
                    token,
                    operation="overwrite" if overwrite else "insert",
                    rowsInserted=frame.num_rows,
                    rowsUpdated=0,
                    rowsDeleted=deleted,
                ),
            )
        return self.commit(token)

    def upsert(self, frame, schema, primary_key, evolve):
        table, token = self.table(), uuid.uuid4().hex
        with delta_errors(self.what):
            table.merge(
                frame,
                _merge_predicate(primary_key),
                source_alias="s",
                target_alias="t",
                merge_schema=evolve,
                commit_properties=_properties(token, operation="upsert"),
            ).when_matched_update_all().when_not_matched_insert_all().execute()
        return self.commit(token)

    def existing_keys(self, frame, primary_key, limit=5):
        if not self.exists() or frame.num_rows == 0:
            return []
        stored = self.table().to_pyarrow_dataset().to_table(columns=primary_key)
        found = frame.select(primary_key).join(stored, primary_key, join_type="left semi")
        return found.slice(0, limit).to_pylist()

    def delete_keys(self, frame, primary_key):
        if not self.exists():
            return None
        table, token = self.table(), uuid.uuid4().hex
        with delta_errors(self.what):
            table.merge(
                frame.select(primary_key),
                _merge_predicate(primary_key),
                source_alias="s",
                target_alias="t",
                commit_properties=_properties(token, operation="delete"),
            ).when_matched_delete().execute()
        return self.commit(token)

    def read(self, version, columns):
        return self.table(version).to_pyarrow_dataset().to_table(columns=columns)

    def snapshot(self, table, schema):
        return table.to_pyarrow_dataset()


def open_store(location: Path, what: str, engine: Any) -> DeltaStore:
    """The offline store of one feature group version for the project's engine."""
    if getattr(engine, "name", "python") == "spark":
        from eolab.featurestore.offline_spark import SparkDeltaStore

        return SparkDeltaStore(location, what, engine.session)
    return PythonDeltaStore(location, what)
