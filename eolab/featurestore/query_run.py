"""Running queries: one snapshot per feature group, then one SQL statement over them.

Each feature group of a query is read at one Delta version (the latest, or the one ``as_of``
names; with ``exclude_until``, the rows its commits wrote). The python engine gives DuckDB each
snapshot as a pyarrow dataset (no DuckDB extension, no file access: the connection is opened
with ``enable_external_access=false``); the spark engine registers the snapshot DataFrames of
:class:`~eolab.featurestore.offline_spark.SparkDeltaStore` as temporary views and runs Spark
SQL. Online reads and ``fs.sql`` use the same runners. A query of one feature group with no
filter skips SQL: the snapshot's columns are read directly.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.dataset as ds

from eolab.errors import Forbidden, InvalidInput, NotFound
from eolab.featurestore import schema as fschema
from eolab.featurestore.query import Column, Node, Query, _node_of

if TYPE_CHECKING:
    from eolab.featurestore.feature_group import FeatureGroup
    from eolab.featurestore.feature_store import FeatureStore


@dataclass
class Snapshot:
    """What one node reads: the Delta version, its columns and its data (None until read)."""

    version: int | None
    schema: pa.Schema
    data: Any = None  # a pyarrow Dataset or Table, or a Spark DataFrame


# ---- runners: one SQL statement over registered snapshots ----------------------------------------


class Runner(ABC):
    """Runs one SQL statement over named snapshots; the query code never asks which engine."""

    dialect = ""

    @abstractmethod
    def register(self, name: str, data: Any, exact: bool = False) -> str:
        """Make ``data`` a table; returns the name the SQL must use (``name`` when exact)."""

    @abstractmethod
    def run(self, sql: str, params: list[Any] | None) -> Any:
        """The statement's result: an Arrow table or a Spark DataFrame."""

    @abstractmethod
    def close(self) -> None:
        """Forget the registered tables."""

    def errors(self, exc: Exception) -> Exception | None:
        """``exc`` as an eolab error, when it is the SQL's fault (None otherwise)."""
        return None


_database: tuple[int, Any] | None = None
_database_lock = threading.Lock()


def _duckdb_cursor() -> Any:
    """A cursor of this process's in-memory DuckDB database (opening a database costs
    10-30 ms, a cursor about 1 ms; registered tables stay private to their cursor)."""
    global _database
    with _database_lock:
        if _database is None or _database[0] != os.getpid():  # not shared across a fork
            import duckdb

            _database = (os.getpid(), duckdb.connect(config={"enable_external_access": False}))
        return _database[1].cursor()


class DuckDBRunner(Runner):
    """A DuckDB cursor that can read only what is registered with it (no file access)."""

    dialect = "duckdb"

    def __init__(self) -> None:
        self.connection = _duckdb_cursor()

    def register(self, name: str, data: Any, exact: bool = False) -> str:
        self.connection.register(name, data)
        return name

    def run(self, sql: str, params: list[Any] | None) -> pa.Table:
        return self.connection.sql(sql, params=params or None).to_arrow_table()

    def close(self) -> None:
        self.connection.close()

    def errors(self, exc: Exception) -> Exception | None:
        import duckdb

        if isinstance(exc, duckdb.PermissionException):
            return Forbidden(f"SQL on the feature store reads feature groups only: {exc}")
        if isinstance(exc, duckdb.CatalogException) and "does not exist" in str(exc):
            return NotFound(str(exc).splitlines()[0])
        if isinstance(exc, duckdb.Error):
            return InvalidInput(f"the SQL failed: {str(exc).splitlines()[0]}")
        return None


class SparkRunner(Runner):
    """Temporary views of the session, dropped once the statement is analysed."""

    dialect = "spark"

    def __init__(self, session: Any) -> None:
        self.spark = session
        self.token = uuid.uuid4().hex[:12]
        self.views: list[str] = []

    def register(self, name: str, data: Any, exact: bool = False) -> str:
        view = name if exact else f"eolab_{self.token}_{name}"
        data.createOrReplaceTempView(view)
        self.views.append(view)
        return view

    def run(self, sql: str, params: list[Any] | None) -> Any:
        return self.spark.sql(sql, args=params or None)  # analysed now: views may go after

    def close(self) -> None:
        for view in self.views:
            self.spark.catalog.dropTempView(view)

    def errors(self, exc: Exception) -> Exception | None:
        from pyspark.errors import AnalysisException

        if not isinstance(exc, AnalysisException):
            return None
        condition = getattr(exc, "getCondition", lambda: None)() or ""
        first = str(exc).strip().splitlines()[0]
        if condition == "TABLE_OR_VIEW_NOT_FOUND":
            return NotFound(first)
        return InvalidInput(f"the SQL failed: {first}")


def _runner(engine: Any, online: bool) -> Runner:
    if engine.name == "spark" and not online:
        return SparkRunner(engine.session)
    return DuckDBRunner()


@contextmanager
def _running(runner: Runner) -> Iterator[Runner]:
    try:
        yield runner
    except Exception as exc:
        mapped = runner.errors(exc)
        if mapped is None:
            raise
        raise mapped from exc
    finally:
        runner.close()


# ---- results as the dataframe type asked for -------------------------------------------------


DATAFRAME_TYPES = ("default", "pandas", "pyarrow", "spark", "numpy", "python")


def resolve_dataframe_type(dataframe_type: str, engine: Any) -> str:
    """The dataframe type a read returns ("default": Spark on the spark engine, else pandas)."""
    if dataframe_type not in DATAFRAME_TYPES:
        raise InvalidInput(
            f"dataframe_type must be one of {list(DATAFRAME_TYPES)}, got {dataframe_type!r}"
        )
    if dataframe_type == "default":
        return "spark" if engine.name == "spark" else "pandas"
    return dataframe_type


def output(frame: Any, schema: pa.Schema | None, wanted: str, engine: Any) -> Any:
    """An Arrow table or Spark DataFrame as ``wanted``, with the types of ``schema`` (the
    stored ones; a frame that has them already is not cast again)."""
    if fschema.is_spark(frame):
        if wanted == "spark":
            return frame
        frame = frame.toArrow()
    if schema is None or _has_schema(frame, schema):
        table = frame
    else:
        table = fschema.conform(frame, schema)
    if wanted == "pyarrow":
        return table
    if wanted == "spark":
        return engine.session.createDataFrame(table)
    df = table.to_pandas()
    if wanted == "numpy":
        return df.to_numpy()
    return df.values.tolist() if wanted == "python" else df


def _has_schema(table: pa.Table, schema: pa.Schema) -> bool:
    """Exactly these columns and types, list item names included (Arrow's type equality
    ignores them)."""
    given = table.schema
    return given.names == schema.names and all(
        str(a.type) == str(b.type) for a, b in zip(given, schema, strict=True)
    )


# ---- snapshots ----------------------------------------------------------------------------------


def _is_spark(fg: FeatureGroup) -> bool:
    return fg.feature_store.engine.name == "spark"


def _offline(node: Node, with_data: bool) -> Snapshot:
    fg = node.feature_group
    spark = _is_spark(fg)
    if node.exclude_until is not None:
        end = node.wallclock_time or datetime.now(UTC).replace(tzinfo=None)
        rows = fg.read_changes(node.exclude_until, end, "pyarrow") if with_data else None
        store = fg._store()
        versions = [c.version for c in store.history() if c.committed_on <= end]
        schema = rows.schema if rows is not None else fg._columns(store)
        data = rows if rows is None or not spark else fg._output(rows, schema, "spark")
        return Snapshot(max(versions) if versions else None, schema, data)
    fg._require_saved()
    store = fg._store()
    try:
        if node.wallclock_time is None:
            table = store.table()
        else:
            table = store.table(fg._version_at(store, node.wallclock_time))
    except NotFound:  # registered, first commit not written (yet)
        schema = fg._columns(store)
        data = schema.empty_table() if with_data else None
        if with_data and spark:
            data = fg._output(data, schema, "spark")
        return Snapshot(None, schema, data)
    schema = fg._columns(store, table)
    data = store.snapshot(table, schema) if with_data else None
    return Snapshot(table.version(), schema, data)


def _online(node: Node) -> Snapshot:
    from eolab.featurestore.feature_group import _fill

    fg = node.feature_group
    fg._require_saved()
    if not fg.online_enabled:
        raise InvalidInput(
            f"{fg._what} is not online_enabled, so the query cannot read it online; read it "
            "offline (online=False) or create the group with online_enabled=True"
        )
    if node.wallclock_time is not None or node.exclude_until is not None:
        raise InvalidInput(
            f"the online store of {fg._what} holds only the latest values: read a query with "
            "as_of offline"
        )
    schema = fschema.schema_from_features(fg._features)
    frame = fg._read_online()
    rows = fschema.to_arrow(frame)
    rows = rows.select([n for n in rows.column_names if n in schema.names])
    return Snapshot(None, schema, _fill(rows, schema))


def _provenance(nodes: list[Node], snapshots: list[Snapshot]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for node, snapshot in zip(nodes, snapshots, strict=True):
        fg = node.feature_group
        entry = {"name": fg.name, "version": fg.version, "commit_id": snapshot.version}
        if entry not in found:
            found.append(entry)
    return found


def resolve_versions(query: Query) -> list[dict[str, Any]]:
    """The provenance a read would have now (no data is read)."""
    nodes = query._plan()
    return _provenance(nodes, [_offline(n, with_data=False) for n in nodes])


def _check_present(query: Query, nodes: list[Node], snapshots: list[Snapshot]) -> None:
    """Filters and join keys must name columns the snapshots have."""

    def require(index: int, name: str, role: str) -> None:
        if name not in snapshots[index].schema.names:
            fg = nodes[index].feature_group
            raise InvalidInput(
                f"{role} {name!r} of {fg._what} is not in the snapshot read (version "
                f"{snapshots[index].version}): it was added later",
                details={"feature": name},
            )

    condition = query._condition()
    for f in condition.filters() if condition is not None else []:
        require(_node_of(nodes, f.feature), f.feature.name, "filtered feature")
    for i, node in enumerate(nodes[1:], start=1):
        for left, right in zip(node.left_on, node.right_on, strict=True):
            require(node.parent or 0, left, "join key")
            require(i, right, "join key")


# ---- reading a query ----------------------------------------------------------------------------


def read_query(query: Query, online: bool, dataframe_type: str, limit: int | None = None) -> Any:
    """The rows of ``query`` as ``dataframe_type`` (see :meth:`Query.read`)."""
    fg0 = query.left_feature_group
    fg0._dataframe_type(dataframe_type)  # refuse a bad type before reading anything
    nodes = query._plan()
    snapshots = [_online(n) if online else _offline(n, with_data=True) for n in nodes]
    columns = Query._columns(nodes, [s.schema.names for s in snapshots])
    if not columns:
        raise InvalidInput("the query selects no features; select at least one")
    _check_present(query, nodes, snapshots)
    if not online:
        query._versions = _provenance(nodes, snapshots)
    schema = pa.schema(
        [pa.field(c.name, snapshots[c.node].schema.field(c.feature).type) for c in columns]
    )
    if len(nodes) == 1 and query._condition() is None and limit is None:
        return fg0._output(_select(snapshots[0].data, columns), schema, dataframe_type)
    with _running(_runner(fg0.feature_store.engine, online)) as runner:
        names = [runner.register(n.table, s.data) for n, s in zip(nodes, snapshots, strict=True)]
        params: list[Any] = []
        sql = query._sql(nodes, columns, runner.dialect, names, params, limit)
        frame = runner.run(sql, params)
    return fg0._output(frame, schema, dataframe_type)


def _select(data: Any, columns: list[Column]) -> Any:
    """The columns of one snapshot, without SQL."""
    names = [c.feature for c in columns]
    if isinstance(data, ds.Dataset):
        return data.to_table(columns=names)
    if isinstance(data, pa.Table):
        return data.select(names)
    return data.select(*[f"`{n}`" for n in names])


# ---- online feature vectors -------------------------------------------------------------------


def feature_vectors(query: Query, entries: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Feature vectors of ``query`` for primary-key ``entries``, from the online stores."""
    if not isinstance(entries, list | tuple) or not all(isinstance(e, dict) for e in entries):
        raise InvalidInput(
            f"entries must be a list of {{primary key: value}} dicts, got {entries!r}"
        )
    nodes = query._plan()
    for node in nodes:
        _online_node(node)
    columns = Query._columns(nodes)
    rows: list[list[dict[str, Any] | None]] = []
    for i, node in enumerate(nodes):
        keys = [
            _key_of(node, entry, rows[node.parent][j] if i else entry, i == 0)
            for j, entry in enumerate(entries)
        ]
        rows.append(_lookup(node.feature_group, keys))
    condition = query._condition()
    vectors: list[dict[str, Any] | None] = []
    for j in range(len(entries)):
        found = [r[j] for r in rows]
        if found[0] is None or any(
            found[i] is None and node.join_type == "inner" for i, node in enumerate(nodes)
        ):
            vectors.append(None)
            continue

        def value_of(feature: Any, found: list[Any] = found) -> Any:
            row = found[_node_of(nodes, feature)]
            return None if row is None else row.get(feature.name)

        if condition is not None and not condition.matches(value_of):
            vectors.append(None)
            continue
        vectors.append(
            {
                c.name: None if found[c.node] is None else found[c.node].get(c.feature)
                for c in columns
            }
        )
    return vectors


def _online_node(node: Node) -> None:
    fg = node.feature_group
    fg._require_saved()
    if not fg.online_enabled:
        raise InvalidInput(
            f"feature vectors come from the online store, and {fg._what} is not online_enabled"
        )
    if node.wallclock_time is not None or node.exclude_until is not None:
        raise InvalidInput("feature vectors are the latest values: drop as_of from the query")


def _key_of(node: Node, entry: dict[str, Any], parent: dict[str, Any] | None, first: bool) -> Any:
    """The primary key of ``node``'s row for one entry (None when its parent row is missing)."""
    fg = node.feature_group
    if not first and parent is None:
        return None
    key = {}
    for column in fg.primary_key:
        if not first and column in node.right_on:
            key[column] = parent.get(node.left_on[node.right_on.index(column)])  # type: ignore[union-attr]
        elif column in entry:
            key[column] = entry[column]
        else:
            raise InvalidInput(
                f"the entry {entry!r} lacks primary key column {column!r} of {fg._what} "
                f"(its primary key is {fg.primary_key})",
                details={"column": column},
            )
    return None if any(v is None for v in key.values()) else key


def _lookup(fg: FeatureGroup, keys: list[Any]) -> list[dict[str, Any] | None]:
    wanted = [k for k in keys if k is not None]
    found = iter(fg._online().get_many(fg._online_table, wanted) if wanted else [])
    return [None if k is None else next(found) for k in keys]


# ---- fs.sql ------------------------------------------------------------------------------------

_COMMENTS = re.compile(r"(--[^\n]*\n?|/\*.*?\*/|\s+)", re.DOTALL)
_READING = re.compile(r"^\(*\s*(SELECT|WITH|FROM|VALUES|TABLE)\b", re.IGNORECASE)


def run_sql(fs: FeatureStore, query: str, dataframe_type: str) -> Any:
    """A read-only SQL statement over the project's feature groups, each the table
    ``<name>_<version>`` at its latest commit."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidInput(f"sql() takes an SQL SELECT statement, got {query!r}")
    start = _COMMENTS.sub(" ", query).strip()
    if not _READING.match(start):
        raise InvalidInput(
            f"sql() runs one read-only SELECT (or WITH) statement, got {start[:40]!r}"
        )
    engine = fs.engine
    wanted = resolve_dataframe_type(dataframe_type, engine)
    groups = fs.get_feature_groups()
    named = [
        fg
        for fg in groups
        if re.search(rf"(?<!\w){re.escape(f'{fg.name}_{fg.version}')}(?!\w)", query, re.I)
    ]
    tables = [f"{fg.name}_{fg.version}" for fg in groups]
    with _running(_runner(engine, online=False)) as runner:
        for fg in named:
            node = Node(fg, None, None, None, "")
            runner.register(f"{fg.name}_{fg.version}", _offline(node, True).data, exact=True)
        try:
            frame = runner.run(query, None)
        except Exception as exc:
            mapped = runner.errors(exc)
            if isinstance(mapped, NotFound):
                raise NotFound(
                    f"{mapped.message}; the feature groups of {fs.project.name!r} are the "
                    f"tables {tables}",
                    details={"tables": tables},
                ) from exc
            raise
    if fschema.is_spark(frame) and wanted != "spark":
        frame = frame.toArrow()
    if not fschema.is_spark(frame):
        frame = _plain_types(frame)
    return output(frame, None, wanted, engine)


def _plain_types(table: pa.Table) -> pa.Table:
    """DuckDB's result with the types a feature group reads back (UTC timestamps, lists)."""
    arrays, fields = [], []
    for i, f in enumerate(table.schema):
        column = table.column(i)
        try:
            wanted = fschema.canonical_type(f.type, f.name)
        except InvalidInput:
            wanted = f.type
        if not wanted.equals(f.type):
            column = column.cast(wanted)
        arrays.append(column)
        fields.append(pa.field(f.name, wanted))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
