"""The embedded online store: one SQLite file (WAL), one SQL table per feature group table.

Layout: ``CREATE TABLE "<table>" (<pk columns>, eolab_row BLOB NOT NULL, PRIMARY KEY (<pk>))``
with the primary-key columns as real, untyped columns (so ``1`` and ``"1"`` stay distinct keys)
and the whole row in ``eolab_row``: JSON text, or bytes when it carries packed numeric arrays
(see :mod:`~eolab.featurestore.online.codec`).
Table schemas live in ``_eolab_online_tables``. Each ``write``/``delete``/``drop`` is one
``BEGIN IMMEDIATE`` transaction; lookups use cached prepared statements. One connection per
store, serialised by a lock, so a store can be shared by the threads of a server.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pandas as pd

from eolab.errors import ConfigurationError, InvalidInput, NotFound
from eolab.featurestore.online.base import DataLike, OnlineStore
from eolab.featurestore.online.codec import (
    TableSchema,
    check_table_name,
    encode_frame,
    encode_keys,
    entry_key,
)

ROW_COLUMN = "eolab_row"
META_TABLE = "_eolab_online_tables"


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class _Table:
    """A table's schema and its SQL statements, cached per store."""

    __slots__ = ("schema", "select", "upsert", "delete", "scan")

    def __init__(self, name: str, schema: TableSchema) -> None:
        self.schema = schema
        pk = schema.primary_key
        where = " AND ".join(f"{_q(k)} = ?" for k in pk)
        cols = ", ".join(_q(k) for k in pk)
        self.select = f"SELECT {ROW_COLUMN} FROM {_q(name)} WHERE {where}"
        self.upsert = (
            f"INSERT INTO {_q(name)} ({cols}, {ROW_COLUMN}) "
            f"VALUES ({', '.join('?' * (len(pk) + 1))}) "
            f"ON CONFLICT ({cols}) DO UPDATE SET {ROW_COLUMN} = excluded.{ROW_COLUMN}"
        )
        self.delete = f"DELETE FROM {_q(name)} WHERE {where}"
        self.scan = f"SELECT {ROW_COLUMN} FROM {_q(name)} ORDER BY {cols}"


class SQLiteOnlineStore(OnlineStore):
    """Online store in one SQLite file (by default ``<project>/FeatureStore/online.db``)."""

    kind = "sqlite"

    def __init__(self, path: str | Path, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                str(self.path),
                isolation_level=None,  # explicit transactions only
                check_same_thread=False,
                cached_statements=512,
                timeout=busy_timeout_s,
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {META_TABLE} "
                "(name TEXT PRIMARY KEY, schema TEXT NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(f"cannot open online store {self.path}: {exc}") from exc
        self._conn = conn
        self._lock = threading.RLock()
        self._tables: dict[str, _Table] = {}

    # ---- schema ----------------------------------------------------------------------------

    def _load(self, table: str) -> _Table | None:
        row = self._conn.execute(
            f"SELECT schema FROM {META_TABLE} WHERE name = ?", (table,)
        ).fetchone()
        if row is None:
            self._tables.pop(table, None)
            return None
        entry = _Table(table, TableSchema.from_json(row[0]))
        self._tables[table] = entry
        return entry

    def _table(self, table: str) -> _Table:
        entry = self._tables.get(table)
        if entry is None:
            entry = self._load(check_table_name(table))
            if entry is None:
                raise NotFound(f"online table {table!r} does not exist", details={"table": table})
        return entry

    def _decode(self, table: str, entry: _Table, blob: str) -> dict[str, Any]:
        row = entry.schema.decode(blob)
        if row is None:  # another process added columns since we cached the schema
            row = self._table_reloaded(table).schema.decode(blob)
        return row  # type: ignore[return-value]

    def _table_reloaded(self, table: str) -> _Table:
        entry = self._load(table)
        if entry is None:
            raise NotFound(f"online table {table!r} does not exist", details={"table": table})
        return entry

    # ---- writes ------------------------------------------------------------------------------

    def write(self, table: str, data: DataLike, primary_key: list[str]) -> int:
        check_table_name(table)
        frame = encode_frame(data, primary_key)
        pk = list(primary_key) if not isinstance(primary_key, str) else [primary_key]
        if ROW_COLUMN in pk:
            raise InvalidInput(f"a primary key column may not be named {ROW_COLUMN!r}")
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                old = self._load(table)
                if old is None:
                    schema = TableSchema(pk, frame.specs)
                    cols = ", ".join(_q(k) for k in pk)
                    conn.execute(
                        f"CREATE TABLE {_q(table)} ({cols}, {ROW_COLUMN} BLOB NOT NULL, "
                        f"PRIMARY KEY ({cols}))"
                    )
                else:
                    schema = old.schema.merged(pk, frame.specs)
                if old is None or schema != old.schema:
                    conn.execute(
                        f"INSERT INTO {META_TABLE} (name, schema) VALUES (?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET schema = excluded.schema",
                        (table, schema.to_json()),
                    )
                entry = _Table(table, schema)
                blobs = frame.blobs(schema)
                conn.executemany(
                    entry.upsert, [(*k, b) for k, b in zip(frame.keys, blobs, strict=True)]
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                self._tables.pop(table, None)
                raise
            self._tables[table] = entry
        return frame.num_rows

    def delete(self, table: str, keys: DataLike) -> int:
        check_table_name(table)
        with self._lock:
            entry = self._tables.get(table) or self._load(table)
            if entry is None:
                return 0
            tuples = encode_keys(keys, entry.schema.primary_key)
            conn = self._conn
            before = conn.total_changes
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(entry.delete, tuples)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return conn.total_changes - before

    def drop(self, table: str) -> None:
        check_table_name(table)
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(f"DROP TABLE IF EXISTS {_q(table)}")
                conn.execute(f"DELETE FROM {META_TABLE} WHERE name = ?", (table,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                self._tables.pop(table, None)

    # ---- reads -------------------------------------------------------------------------------

    def get(self, table: str, entry: dict[str, Any]) -> dict[str, Any] | None:
        with self._lock:
            t = self._tables.get(table) or self._table(table)
            try:
                row = self._conn.execute(
                    t.select, entry_key(entry, t.schema.primary_key)
                ).fetchone()
            except sqlite3.OperationalError:  # dropped by another process
                t = self._table_reloaded(table)
                row = self._conn.execute(
                    t.select, entry_key(entry, t.schema.primary_key)
                ).fetchone()
            if row is None:
                return None
            return self._decode(table, t, row[0])

    def get_many(self, table: str, entries: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        with self._lock:
            t = self._tables.get(table) or self._table(table)
            pk = t.schema.primary_key
            keys = [entry_key(e, pk) for e in entries]
            conn = self._conn
            conn.execute("BEGIN")  # one snapshot for the whole batch
            try:
                blobs = [conn.execute(t.select, k).fetchone() for k in keys]
            except sqlite3.OperationalError:  # dropped by another process
                self._table_reloaded(table)
                raise
            finally:
                conn.execute("COMMIT")
            return [None if b is None else self._decode(table, t, b[0]) for b in blobs]

    def read_all(self, table: str) -> pd.DataFrame:
        with self._lock:
            t = self._table_reloaded(check_table_name(table))
            blobs = [r[0] for r in self._conn.execute(t.scan)]
        return t.schema.frame(blobs)

    def count(self, table: str) -> int:
        check_table_name(table)
        with self._lock:
            if self._load(table) is None:
                return 0
            return self._conn.execute(f"SELECT count(*) FROM {_q(table)}").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            self._tables.clear()

    def __repr__(self) -> str:
        return f"SQLiteOnlineStore({str(self.path)!r})"
