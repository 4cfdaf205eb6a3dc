"""Queries over feature groups, as hsfs builds them: select, filter, join, time travel.

q = (fg.select(["id", "inc_angle"])
       .join(labels.select_all(), on=["id"], join_type="left", prefix="l_")
       .filter((fg.inc_angle > 30) & (labels.is_iceberg == 1)))
q.read()            # DuckDB over each group's Delta snapshot (python) or Spark SQL (spark)
q.to_string()       # the SQL
q.provenance()      # [{"name", "version", "commit_id"}] of the snapshots read

As in hsfs, ``filter``, ``join`` and ``as_of`` change the query and return it. A join without
``on`` uses the right group's primary-key columns that the left group has; the right side's
copy of an ``on`` key is left out of the output, and ``prefix`` renames the right side's other
columns. Joins nest: ``a.join(b.join(c))`` joins ``c`` to ``b`` (flattened into one statement).
Features that a snapshot read with ``as_of`` did not have yet are left out of the output.
Execution lives in :mod:`eolab.featurestore.query_run`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from eolab.errors import InvalidInput
from eolab.featurestore import schema as fschema
from eolab.featurestore.filter import Filter, Logic, _Condition, quote_name
from eolab.featurestore.schema import Feature

if TYPE_CHECKING:
    from eolab.featurestore.feature_group import FeatureGroup

JOIN_TYPES = ("inner", "left")
_PREFIX = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _utc(value: Any, what: str) -> datetime | None:
    from eolab.featurestore.feature_group import utc

    return None if value is None else utc(value, what)


def _names(value: Any, what: str) -> list[str]:
    """Feature names from a name, a Feature, or a list of them."""
    if isinstance(value, str | Feature):
        value = [value]
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"{what} must be a list of feature names, got {value!r}")
    names = []
    for item in value:
        if isinstance(item, Feature):
            item = item.name
        if not isinstance(item, str):
            raise InvalidInput(f"{what} must be a list of feature names, got {value!r}")
        if item in names:
            raise InvalidInput(f"{what} lists feature {item!r} twice")
        names.append(item)
    return names


def _known(fg: FeatureGroup, names: list[str], what: str) -> None:
    features = [f["name"] for f in fg._features]
    unknown = [n for n in names if n not in features]
    if unknown:
        raise InvalidInput(
            f"{what}: {fg._what} has no feature {unknown[0]!r}; its features are {features}",
            details={"unknown": unknown, "features": features},
        )


@dataclass
class Join:
    """One join of a query: the right query, its keys, type and output prefix."""

    query: Query
    left_on: list[str]
    right_on: list[str]
    join_type: str
    prefix: str | None


@dataclass
class Node:
    """One feature group read by a query (flattened from its joins)."""

    feature_group: FeatureGroup
    features: list[str] | None  # None: every feature
    wallclock_time: datetime | None
    exclude_until: datetime | None
    prefix: str
    table: str = ""  # its name in the SQL: <name>_<version>, unique within the query
    parent: int | None = None  # the node it joins to
    left_on: list[str] = field(default_factory=list)
    right_on: list[str] = field(default_factory=list)
    join_type: str = "inner"

    def selected(self, available: list[str]) -> list[str]:
        if self.features is None:
            return list(available)
        return [n for n in self.features if n in available]


@dataclass
class Column:
    """One output column: which node, which feature, what it is called."""

    node: int
    feature: str
    name: str


class Query:
    """A selection of features from one feature group, optionally joined, filtered and read
    as of a point in time. Made by ``fg.select_all()``, ``fg.select([...])``, ``fg.as_of()``."""

    def __init__(
        self,
        left_feature_group: FeatureGroup,
        left_features: list[str] | None = None,
        wallclock_time: Any = None,
        exclude_until: Any = None,
    ) -> None:
        self._left_feature_group = left_feature_group
        self._left_features = None if left_features is None else list(left_features)
        self._wallclock_time = _utc(wallclock_time, "wallclock_time")
        self._exclude_until = _utc(exclude_until, "exclude_until")
        self._joins: list[Join] = []
        self._filter: _Condition | None = None
        self._versions: list[dict[str, Any]] | None = None  # provenance of the last read

    # ---- what it is ---------------------------------------------------------------------------

    @property
    def left_feature_group(self) -> FeatureGroup:
        return self._left_feature_group

    @property
    def joins(self) -> list[Join]:
        return list(self._joins)

    @property
    def filters(self) -> _Condition | None:
        return self._filter

    @property
    def wallclock_time(self) -> datetime | None:
        return self._wallclock_time

    @property
    def exclude_until(self) -> datetime | None:
        return self._exclude_until

    # backwards-compatible name of the old single-group time-travel query
    feature_group = left_feature_group

    @property
    def primary_key(self) -> list[str]:
        """The left feature group's primary-key columns as the output names them (those the
        query selects; a query that leaves a key column out lists only the others)."""
        names = {(c.node, c.feature): c.name for c in self._columns(self._plan())}
        return [names[(0, k)] for k in self._left_feature_group.primary_key if (0, k) in names]

    # ---- building -----------------------------------------------------------------------------

    def filter(self, condition: Filter | Logic) -> Query:
        """Keep the rows that pass ``condition`` (ANDed with earlier filters)."""
        if not isinstance(condition, _Condition):
            hint = (
                " (a feature named like an attribute of the feature group, such as 'name' or "
                "'version', is fg['name'], not fg.name)"
                if isinstance(condition, bool)
                else ""
            )
            raise InvalidInput(
                "filter() takes a feature condition such as fg.inc_angle > 30, got "
                f"{type(condition).__name__} {condition!r}{hint}"
            )
        nodes = self._plan()
        for f in condition.filters():
            _node_of(nodes, f.feature)
        self._filter = condition if self._filter is None else Logic.And(self._filter, condition)
        return self

    def join(
        self,
        sub_query: Query | FeatureGroup,
        on: Any = None,
        left_on: Any = None,
        right_on: Any = None,
        join_type: str = "inner",
        prefix: str | None = None,
    ) -> Query:
        """Join ``sub_query`` (a query or a feature group: all its features) to this query's
        left feature group, on ``on`` (same names) or ``left_on``/``right_on``; without keys,
        on the right group's primary-key columns that the left group has."""
        from eolab.featurestore.feature_group import FeatureGroup

        if isinstance(sub_query, FeatureGroup):
            sub_query = sub_query.select_all()
        if not isinstance(sub_query, Query):
            raise InvalidInput(
                f"join() takes a query or a feature group, got {type(sub_query).__name__}"
            )
        if sub_query is self:
            raise InvalidInput("a query cannot be joined to itself; make a second query")
        if join_type not in JOIN_TYPES:
            raise InvalidInput(f"join_type must be one of {list(JOIN_TYPES)}, got {join_type!r}")
        if prefix is not None and (not isinstance(prefix, str) or not _PREFIX.match(prefix)):
            raise InvalidInput(
                f"prefix must be letters, digits or '_' (not starting with a digit), got {prefix!r}"
            )
        left, right = self._left_feature_group, sub_query._left_feature_group
        left_keys, right_keys = self._join_keys(left, right, on, left_on, right_on)
        joined = Join(sub_query, left_keys, right_keys, join_type, prefix)
        self._joins.append(joined)
        try:
            self._columns(self._plan())  # duplicate output names
        except InvalidInput:
            self._joins.pop()
            raise
        return self

    def _join_keys(
        self, left: FeatureGroup, right: FeatureGroup, on: Any, left_on: Any, right_on: Any
    ) -> tuple[list[str], list[str]]:
        if on is not None and (left_on is not None or right_on is not None):
            raise InvalidInput("give either on or left_on/right_on to join(), not both")
        if (left_on is None) != (right_on is None):
            raise InvalidInput("left_on and right_on go together: give both, or use on")
        if on is not None:
            left_keys = right_keys = _names(on, "on")
        elif left_on is not None:
            left_keys, right_keys = _names(left_on, "left_on"), _names(right_on, "right_on")
            if len(left_keys) != len(right_keys):
                raise InvalidInput(
                    f"left_on and right_on must have the same length, got {left_keys} and "
                    f"{right_keys}"
                )
        else:
            columns = [f["name"] for f in left._features]
            left_keys = right_keys = [k for k in right.primary_key if k in columns]
            if not left_keys:
                raise InvalidInput(
                    f"{left._what} and {right._what} have no common key: the right group's "
                    f"primary key is {right.primary_key} and the left group's features are "
                    f"{columns}; pass on=[...] or left_on=[...], right_on=[...]",
                    details={"left": columns, "right_primary_key": right.primary_key},
                )
        if not left_keys:
            raise InvalidInput("join keys must name at least one feature")
        _known(left, left_keys, "join key")
        _known(right, right_keys, "join key")
        for a, b in zip(left_keys, right_keys, strict=True):
            _check_join_types(left, a, right, b)
        return left_keys, right_keys

    def as_of(self, wallclock_time: Any = None, exclude_until: Any = None) -> Query:
        """Read every feature group of the query as of ``wallclock_time`` (UTC), or with
        ``exclude_until`` only the rows written by commits after it."""
        when = _utc(wallclock_time, "wallclock_time")
        since = _utc(exclude_until, "exclude_until")
        if when is not None and since is not None and since > when:
            raise InvalidInput(f"exclude_until {since} is after wallclock_time {when}")
        self._set_times(when, since)
        return self

    def _set_times(self, when: datetime | None, since: datetime | None) -> None:
        self._wallclock_time, self._exclude_until = when, since
        for join in self._joins:
            join.query._set_times(when, since)

    # ---- the plan: flattened nodes and output columns -----------------------------------------

    def _plan(self) -> list[Node]:
        nodes: list[Node] = []

        def visit(query: Query, prefix: str, parent: int | None, join: Join | None) -> None:
            fg = query._left_feature_group
            node = Node(
                fg, query._left_features, query._wallclock_time, query._exclude_until, prefix
            )
            if join is not None:
                node.parent, node.left_on, node.right_on = parent, join.left_on, join.right_on
                node.join_type = join.join_type
            index = len(nodes)
            nodes.append(node)
            for sub in query._joins:
                visit(sub.query, prefix + (sub.prefix or ""), index, sub)

        visit(self, "", None, None)
        seen: dict[str, int] = {}
        for node in nodes:
            base = f"{node.feature_group.name}_{node.feature_group.version}"
            seen[base] = seen.get(base, 0) + 1
            node.table = base if seen[base] == 1 else f"{base}_{seen[base]}"
        return nodes

    def _conditions(self) -> list[_Condition]:
        found = [self._filter] if self._filter is not None else []
        for join in self._joins:
            found += join.query._conditions()
        return found

    def _condition(self) -> _Condition | None:
        conditions = self._conditions()
        if not conditions:
            return None
        combined = conditions[0]
        for more in conditions[1:]:
            combined = Logic.And(combined, more)
        return combined

    @staticmethod
    def _columns(nodes: list[Node], available: list[list[str]] | None = None) -> list[Column]:
        """The output columns; InvalidInput when two would have one name.

        ``available``: the features each node's snapshot has (default: its current ones).
        """
        columns: list[Column] = []
        owner: dict[str, Column] = {}
        for i, node in enumerate(nodes):
            names = (
                available[i]
                if available is not None
                else [f["name"] for f in node.feature_group._features]
            )
            dropped = {r for r, left in zip(node.right_on, node.left_on, strict=True) if r == left}
            for name in node.selected(names):
                if name in dropped:
                    continue
                column = Column(i, name, node.prefix + name)
                clash = owner.get(column.name.lower())
                if clash is not None:
                    first = nodes[clash.node].feature_group._what
                    raise InvalidInput(
                        f"the query would output column {column.name!r} twice (from {first} "
                        f"and {node.feature_group._what}); pass prefix='...' to join() to "
                        "rename the right side's features, or select fewer features",
                        details={"column": column.name},
                    )
                owner[column.name.lower()] = column
                columns.append(column)
        return columns

    # ---- SQL ------------------------------------------------------------------------------------

    def _sql(
        self,
        nodes: list[Node],
        columns: list[Column],
        dialect: str,
        tables: list[str] | None = None,
        params: list[Any] | None = None,
        limit: int | None = None,
    ) -> str:
        """SELECT ... FROM ... JOIN ... WHERE ...; ``tables`` renames the tables, ``params``
        collects the values (written as ``?``; literals when None)."""

        def q(name: str) -> str:
            return quote_name(name, dialect)

        names = tables or [n.table for n in nodes]
        select = ", ".join(f"{q(f't{c.node}')}.{q(c.feature)} AS {q(c.name)}" for c in columns)
        sql = [f"SELECT {select or '*'}", f"FROM {q(names[0])} AS {q('t0')}"]
        for i, node in enumerate(nodes[1:], start=1):
            on = " AND ".join(
                f"{q(f't{node.parent}')}.{q(a)} = {q(f't{i}')}.{q(b)}"
                for a, b in zip(node.left_on, node.right_on, strict=True)
            )
            kind = "LEFT" if node.join_type == "left" else "INNER"
            sql.append(f"{kind} JOIN {q(names[i])} AS {q(f't{i}')} ON {on}")
        condition = self._condition()
        if condition is not None:

            def column(feature: Feature) -> str:
                return f"{q(f't{_node_of(nodes, feature)}')}.{q(feature.name)}"

            sql.append("WHERE " + condition.to_sql(column, dialect, params))
        if limit is not None:
            sql.append(f"LIMIT {int(limit)}")
        return "\n".join(sql)

    def to_string(self, online: bool = False, dialect: str | None = None) -> str:
        """The SQL of this query, with values as literals, tables named ``<name>_<version>``
        (as ``fs.sql`` knows them); the engine's dialect unless ``dialect`` is given."""
        del online  # one SQL text for both stores
        nodes = self._plan()
        if dialect is None:
            engine = self._left_feature_group.feature_store.engine
            dialect = "spark" if engine.name == "spark" else "duckdb"
        return self._sql(nodes, self._columns(nodes), dialect)

    # ---- reading --------------------------------------------------------------------------------

    def read(
        self,
        online: bool | str = False,
        dataframe_type: str = "default",
        read_options: dict[str, Any] | None = None,
    ) -> Any:
        """The query's rows as ``dataframe_type`` ("default": pandas, or Spark on the spark
        engine; "pandas", "pyarrow", "spark", "numpy", "python"); ``online=True`` reads the
        online stores. ``read("pandas")`` is accepted as ``read(dataframe_type="pandas")``."""
        from eolab.featurestore.query_run import read_query

        del read_options  # hsfs passes engine options; none apply here
        if isinstance(online, str):
            online, dataframe_type = False, online
        return read_query(self, bool(online), dataframe_type)

    def show(self, n: int = 20, online: bool = False) -> Any:
        """The first ``n`` rows, as pandas."""
        from eolab.featurestore.query_run import read_query

        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidInput(f"n must be a non-negative integer, got {n!r}")
        return read_query(self, online, "pandas", limit=n)

    def provenance(self) -> list[dict[str, Any]]:
        """The feature groups, versions and Delta commit ids (``commit_details`` keys) the
        query reads: those of its last ``read`` or, before any, those a read would use now."""
        if self._versions is None:
            from eolab.featurestore.query_run import resolve_versions

            return resolve_versions(self)
        return [dict(v) for v in self._versions]

    # ---- online feature vectors -----------------------------------------------------------------

    def get_feature_vector(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        """The query's features for one primary key ``entry`` from the online stores (None
        when a row is missing from an inner join, or the joined row fails the filter)."""
        return self.get_feature_vectors([entry])[0]

    def get_feature_vectors(self, entries: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        """``get_feature_vector`` for each entry, with one online lookup per feature group."""
        from eolab.featurestore.query_run import feature_vectors

        return feature_vectors(self, entries)

    get_serving_vector = get_feature_vector
    get_serving_vectors = get_feature_vectors

    def __repr__(self) -> str:
        fg = self._left_feature_group
        parts = [f"{fg.name!r} v{fg.version}"]
        parts += [f"{j.join_type} join {j.query!r}" for j in self._joins]
        if self._filter is not None:
            parts.append(f"filter={self._filter!r}")
        if self._wallclock_time is not None or self._exclude_until is not None:
            parts.append(f"as_of={self._wallclock_time}, exclude_until={self._exclude_until}")
        return f"Query({', '.join(parts)})"

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(self.to_string())}</pre>"


def _node_of(nodes: list[Node], feature: Feature) -> int:
    """The node a filter's feature belongs to: its bound group, or the first with the name."""
    group = feature.feature_group
    if group is not None:
        for i, node in enumerate(nodes):
            fg = node.feature_group
            if (fg.name, fg.version, fg.feature_store.project.name) == (
                group.name,
                group.version,
                group.feature_store.project.name,
            ):
                return i
        parts = [n.feature_group._what for n in nodes]
        raise InvalidInput(
            f"the filter on feature {feature.name!r} names {group._what}, which is not part of "
            f"this query ({parts}); join it first",
            details={"feature": feature.name},
        )
    for i, node in enumerate(nodes):
        if feature.name in [f["name"] for f in node.feature_group._features]:
            return i
    known = sorted({f["name"] for n in nodes for f in n.feature_group._features})
    raise InvalidInput(
        f"the query has no feature {feature.name!r}; its features are {known}",
        details={"feature": feature.name, "features": known},
    )


def _check_join_types(left: FeatureGroup, a: str, right: FeatureGroup, b: str) -> None:
    types = (
        {f["name"]: f["type"] for f in left._features},
        {f["name"]: f["type"] for f in right._features},
    )
    ta, tb = fschema.parse_type(types[0][a]), fschema.parse_type(types[1][b])
    for name, t, fg in ((a, ta, left), (b, tb, right)):
        if pa.types.is_nested(t):
            raise InvalidInput(
                f"join key {name!r} of {fg._what} has type {fschema.type_name(t)}, which does "
                "not compare; join on scalar features",
                details={"feature": name},
            )
    same = ta.equals(tb) or all(pa.types.is_integer(t) for t in (ta, tb))
    same = same or all(pa.types.is_floating(t) or pa.types.is_decimal(t) for t in (ta, tb))
    if not same:
        raise InvalidInput(
            f"join keys do not match: {a!r} of {left._what} is {fschema.type_name(ta)} but "
            f"{b!r} of {right._what} is {fschema.type_name(tb)}",
            details={"left": a, "right": b},
        )
