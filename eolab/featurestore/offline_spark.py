"""The spark engine's offline store: Spark executors write Parquet, the driver commits with delta-rs.

Executors write pyarrow Parquet files straight into the table folder (``mapInArrow``, unique
names); the driver commits them with delta-rs ``create_write_transaction`` (AddAction /
RemoveAction), so no Delta jar is needed. An upsert or delete rewrites only the files that hold
a matched key, in one Remove+Add commit. Snapshots are read with ``spark.read.parquet`` over the
snapshot's file list.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from eolab.featurestore import schema as fschema
from eolab.featurestore.offline import (
    TABLE_CONFIG,
    Commit,
    DeltaStore,
    _now_ms,
    _properties,
    delta_errors,
)

_FILE = "__eolab_file"
_CHANGED = "__eolab_changed"
_WRITTEN = (
    "path string, size long, rows long, partition_values string, stats string, changed boolean"
)


def parquet_writer(location: str, schema: pa.Schema, partition_by: list[str]) -> Any:
    """The function Spark executors run (``mapInArrow``) to write a task's rows as Parquet.

    One file per (changed flag, partition values) per task, ``part-<uuid>-spark.snappy.parquet``
    at the table root (partition values live in the Delta log, not in folder names), streamed
    batch by batch, with Delta statistics (row count; nulls, min and max of integer and string
    columns). It yields one description per file for the driver to commit. It is a closure so
    that Spark pickles it by value: executors then import only pyarrow, not eolab.
    """
    schema_bytes = schema.serialize().to_pybytes()
    changed_column = _CHANGED

    def partition_value(value: Any) -> str | None:  # _partition_string, pickled by value
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return value.isoformat() if hasattr(value, "isoformat") else str(value)

    def statistics(table: Any, into: dict[str, Any]) -> None:
        import pyarrow as pa

        into["numRecords"] = into.get("numRecords", 0) + table.num_rows
        nulls, low, high = (into.setdefault(k, {}) for k in ("nullCount", "minValues", "maxValues"))
        for name in table.column_names:
            column = table.column(name)
            if pa.types.is_nested(column.type):
                continue
            nulls[name] = nulls.get(name, 0) + column.null_count
            if column.null_count < len(column) and (
                pa.types.is_integer(column.type) or pa.types.is_string(column.type)
            ):
                bounds = pc.min_max(column).as_py()
                low[name] = min(low.get(name, bounds["min"]), bounds["min"])
                high[name] = max(high.get(name, bounds["max"]), bounds["max"])

    def write(batches: Iterator[Any]) -> Iterator[Any]:
        import json
        import os
        import uuid

        import pyarrow as pa
        import pyarrow.parquet as pq

        target = pa.ipc.read_schema(pa.py_buffer(schema_bytes))
        file_schema = pa.schema([f for f in target if f.name not in partition_by])
        files: dict[tuple, dict[str, Any]] = {}
        for batch in batches:  # always consume the iterator
            if batch.num_rows == 0:
                continue
            data = pa.Table.from_batches([batch])
            flagged = changed_column in data.column_names
            groups = data.select(partition_by + ([changed_column] if flagged else []))
            keys = groups.to_pylist() if groups.num_columns else [{}] * data.num_rows
            rows_of: dict[tuple, list[int]] = {}
            for row, key in enumerate(keys):
                rows_of.setdefault(tuple(key.items()), []).append(row)
            for key, rows in rows_of.items():
                part = data if len(rows_of) == 1 else data.take(pa.array(rows))
                part = part.select(file_schema.names).cast(file_schema)
                if key not in files:
                    name = f"part-{uuid.uuid4()}-spark.snappy.parquet"
                    path = os.path.join(location, name)
                    files[key] = {
                        "name": name,
                        "path": path,
                        "writer": pq.ParquetWriter(path, file_schema, compression="snappy"),
                        "stats": {},
                    }
                files[key]["writer"].write_table(part)
                statistics(part, files[key]["stats"])
        for key, file in files.items():
            file["writer"].close()
            values = dict(key)
            changed = bool(values.pop(changed_column, True))
            yield pa.RecordBatch.from_pylist(
                [
                    {
                        "path": file["name"],
                        "size": os.path.getsize(file["path"]),
                        "rows": file["stats"]["numRecords"],
                        "partition_values": json.dumps(
                            {k: partition_value(v) for k, v in values.items()}
                        ),
                        "stats": json.dumps(file["stats"]),
                        "changed": changed,
                    }
                ]
            )

    return write


class SparkDeltaStore(DeltaStore):
    """Spark computes and its executors write Parquet; the driver commits with delta-rs."""

    engine = "spark"

    def __init__(self, location: Path, what: str, session: Any) -> None:
        super().__init__(location, what)
        self.spark = session

    def frame(self, data: Any) -> Any:
        if fschema.is_spark(data):
            return data
        table = fschema.to_arrow(data)
        return self.spark.createDataFrame(fschema.conform(table, fschema.frame_schema(table)))

    # ---- writing files, then committing them ----

    def _write_files(self, frame: Any, schema: pa.Schema, partition_by: list[str]) -> list[dict]:
        self.location.mkdir(parents=True, exist_ok=True)
        writer = parquet_writer(str(self.location), schema, partition_by)
        rows = frame.mapInArrow(writer, _WRITTEN).collect()
        return [r.asDict() for r in rows]

    def _commit(
        self,
        table: DeltaTable | None,
        written: list[dict],
        removed: list[dict],
        schema: pa.Schema,
        partition_by: list[str],
        mode: str,
        **meta: Any,
    ) -> Commit:
        from deltalake.schema import Schema as DeltaSchema
        from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

        now, token = _now_ms(), uuid.uuid4().hex
        actions: list[Any] = [
            AddAction(
                w["path"], w["size"], json.loads(w["partition_values"]), now, True, w["stats"]
            )
            for w in written
        ]
        actions += [
            RemoveAction(r["path"], True, now, r["size"], r["partition_values"]) for r in removed
        ]
        meta["changedFiles"] = [w["path"] for w in written if w["changed"]]
        with delta_errors(self.what):
            if table is None:
                create_table_with_add_actions(
                    str(self.location),
                    DeltaSchema.from_arrow(schema),
                    actions,
                    mode="error",
                    partition_by=partition_by or None,
                    configuration=TABLE_CONFIG,
                    commit_properties=_properties(token, **meta),
                )
                return self.commit(token)
            if not set(schema.names) <= set(self.schema(table).names):
                # delta-rs file commits keep the table schema: add the new nullable columns first
                new = [f for f in schema if f.name not in self.schema(table).names]
                table.alter.add_columns(DeltaSchema.from_arrow(pa.schema(new)).fields)
            table.create_write_transaction(
                actions,
                mode=mode,
                schema=schema,
                partition_by=partition_by or None,
                commit_properties=_properties(token, **meta),
            )
        return self.commit(token)

    def _flagged(self, frame: Any, changed: bool) -> Any:
        from pyspark.sql import functions as F

        return frame.withColumn(_CHANGED, F.lit(changed))

    def append(self, frame, schema, partition_by, overwrite=False, evolve=False, options=None):
        table = self.table() if self.exists() else None
        deleted = self.row_count(table) if table is not None and overwrite else 0
        written = self._write_files(self._flagged(frame, True), schema, partition_by)
        return self._commit(
            table,
            written,
            [],
            schema,
            partition_by,
            "overwrite" if overwrite else "append",
            operation="overwrite" if overwrite else "insert",
            rowsInserted=sum(w["rows"] for w in written),
            rowsUpdated=0,
            rowsDeleted=deleted,
        )

    def _matched_files(self, table: DeltaTable, frame: Any, primary_key: list[str]) -> Any:
        """The snapshot's rows (with their file) and, per file, how many keys of ``frame`` it
        holds."""
        current = self._read_snapshot(table, self.schema(table), with_file=True)
        keys = frame.select(*[f"`{k}`" for k in primary_key]).distinct()
        matched = current.join(keys, primary_key, "left_semi").groupBy(_FILE).count().collect()
        return current, keys, {row[_FILE]: row["count"] for row in matched}

    def _rewrite(self, table, frame, schema, primary_key, partition_by, upsert: bool) -> Commit:
        from pyspark.sql import functions as F

        current, keys, matched = self._matched_files(table, frame, primary_key)
        kept = (
            current.filter(F.col(_FILE).isin(list(matched)))
            .join(keys, primary_key, "left_anti")
            .drop(_FILE)
        )
        for f in schema:  # features an evolving upsert adds are null in the kept rows
            if f.name not in kept.columns:
                spark_type = fschema.spark_schema(pa.schema([f]))[0].dataType
                kept = kept.withColumn(f.name, F.lit(None).cast(spark_type))
        kept = self._flagged(fschema.conform(kept, schema), False)
        to_write = (
            kept.unionByName(self._flagged(fschema.conform(frame, schema), True))
            if upsert
            else kept
        )
        written = self._write_files(to_write, schema, partition_by)
        by_file = {_uri_path(uri) for uri in matched}
        removed = [f for f in self.files(table) if f["file"] in by_file]
        updated = sum(matched.values())
        changed_rows = sum(w["rows"] for w in written if w["changed"])
        return self._commit(
            table,
            written,
            removed,
            schema,
            partition_by,
            "append",
            operation="upsert" if upsert else "delete",
            rowsInserted=changed_rows - updated if upsert else 0,
            rowsUpdated=updated if upsert else 0,
            rowsDeleted=0 if upsert else updated,
        )

    def upsert(self, frame, schema, primary_key, evolve):
        table = self.table()
        partition_by = list(table.metadata().partition_columns)
        if evolve:
            table_schema = self.schema(table)
            schema = pa.schema(
                list(table_schema) + [f for f in schema if f.name not in table_schema.names]
            )
        return self._rewrite(table, frame, schema, primary_key, partition_by, upsert=True)

    def existing_keys(self, frame, primary_key, limit=5):
        if not self.exists():
            return []
        table = self.table()
        current = self._read_snapshot(table, self.schema(table))
        keys = frame.select(*[f"`{k}`" for k in primary_key])
        found = keys.join(current.select(*primary_key), primary_key, "left_semi").limit(limit)
        return [r.asDict() for r in found.collect()]

    def delete_keys(self, frame, primary_key):
        if not self.exists():
            return None
        table = self.table()
        schema = self.schema(table)
        partition_by = list(table.metadata().partition_columns)
        return self._rewrite(table, frame, schema, primary_key, partition_by, upsert=False)

    # ---- reading ----

    def _read_snapshot(self, table: DeltaTable, schema: pa.Schema, with_file: bool = False) -> Any:
        from pyspark.sql import functions as F

        partition_by = list(table.metadata().partition_columns)
        file_schema = pa.schema([f for f in schema if f.name not in partition_by])
        groups: dict[tuple, list[str]] = {}
        for f in self.files(table):
            key = tuple(f["partition_values"].get(c) for c in partition_by)
            groups.setdefault(key, []).append(f["file"])
        frames = []
        for values, paths in groups.items():
            df = self.spark.read.schema(fschema.spark_schema(file_schema)).parquet(*paths)
            for column, value in zip(partition_by, values, strict=True):
                spark_type = fschema.spark_schema(pa.schema([schema.field(column)]))[0].dataType
                df = df.withColumn(column, F.lit(value).cast(spark_type))
            if with_file:
                df = df.withColumn(_FILE, F.input_file_name())
            frames.append(df.select(*schema.names, *([_FILE] if with_file else [])))
        if not frames:
            empty = self.spark.createDataFrame([], fschema.spark_schema(schema))
            return empty.withColumn(_FILE, F.lit(None).cast("string")) if with_file else empty
        result = frames[0]
        for df in frames[1:]:
            result = result.unionByName(df)
        return result

    def read(self, version, columns):
        table = self.table(version)
        schema = self.schema(table)
        return self._read_snapshot(table, schema).select(*[f"`{c}`" for c in columns])

    def snapshot(self, table, schema):
        return self._read_snapshot(table, self.schema(table)).select(
            *[f"`{c}`" for c in schema.names]
        )


def _uri_path(uri: str) -> str:
    """A file URI as Spark's input_file_name() gives it, as a local path."""
    return str(Path(unquote(urlparse(uri).path))) if "://" in uri else str(Path(uri))
