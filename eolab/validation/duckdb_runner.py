"""The python engine's runner: every raw aggregate of a validation in one DuckDB statement.

The Arrow table is registered as a view (no copy, no extension installed or loaded). The
statement has one aggregate for every scalar raw, one grouping per column set (uniqueness,
distinctness, entropy; pairs for mutual information) and one unnest per array feature that has
quantile rules; each reads a cleaned projection of its own columns (NaN as NULL, array
elements without NULL/NaN). Values the user gave (patterns, legal values, quantiles) are bound parameters,
never spliced into the SQL.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import pyarrow as pa

from eolab.validation.compute import GROUPED_OPS, TEXT_TYPES, Kind, Raw

_COMPARE = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _qd(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class _Sql:
    """Builds the statement: column aliases and numbered parameters."""

    def __init__(self, kinds: dict[str, Kind], columns: list[str]) -> None:
        self.kinds = kinds
        self.alias = {c: f"c{i}" for i, c in enumerate(columns)}
        self.params: list[Any] = []

    def param(self, value: Any, cast: str = "") -> str:
        self.params.append(value)
        return f"${len(self.params)}{cast}"

    def source(self, columns: list[str], view: str) -> str:
        """The cleaned columns a part of the statement reads (each part projects only its
        own, so that DuckDB scans the Arrow table without materialising a shared copy)."""
        out = []
        for name in columns:
            a, kind, src = self.alias[name], self.kinds[name], _qd(name)
            if kind.array:
                keep = "e IS NOT NULL" + (" AND NOT isnan(e)" if kind.nan else "")
                out.append(f"list_filter(CAST({src} AS DOUBLE[]), lambda e: {keep}) AS {a}")
            elif kind.type == "double":
                d = f"CAST({src} AS DOUBLE)"
                out.append(
                    f"CASE WHEN isnan({d}) THEN NULL ELSE {d} END AS {a}"
                    if kind.nan
                    else f"{d} AS {a}"
                )
            else:
                out.append(f"{src} AS {a}")
        return f"(SELECT {', '.join(out) or '1 AS dummy'} FROM {view})"

    def predicate(self, x: str, kind: Kind, predicate: tuple[Any, ...]) -> str:
        what = predicate[0]
        if what == "non_negative":
            return f"{x} >= 0"
        if what == "positive":
            return f"{x} > 0"
        if what == "contained_in":
            values = list(predicate[1])
            if kind.type == "string":
                return f"list_contains({self.param(values, '::VARCHAR[]')}, {x})"
            if kind.type == "boolean":
                return f"list_contains({self.param(values, '::BOOLEAN[]')}, {x})"
            if kind.type == "integer" and all(isinstance(v, int) for v in values):
                return f"list_contains({self.param(values, '::BIGINT[]')}, {x})"
            legal = self.param([float(v) for v in values], "::DOUBLE[]")
            return f"list_contains({legal}, CAST({x} AS DOUBLE))"
        if what == "pattern":
            return f"regexp_matches({x}, {self.param(predicate[1])})"
        if what == "text_type":
            return f"regexp_matches({x}, {self.param(TEXT_TYPES[predicate[1]])})"
        raise AssertionError(f"unknown predicate {what}")

    def scalar(self, raw: Raw) -> str:
        op = raw.op
        if op == "rows":
            return "count(*)"
        a = self.alias[raw.columns[0]]
        kind = self.kinds[raw.columns[0]]
        if op == "nonnull":
            return f"count({a})"
        if kind.array:
            if op == "values":
                return f"sum(len({a}))"
            if op in ("min", "max"):
                return f"{op}(list_{op}({a}))"
            if op == "sum":
                return f"sum(list_sum({a}))"
            if op == "sumsq":
                return f"sum(list_sum(list_transform({a}, lambda e: e * e)))"
            if op == "satisfying":
                return (
                    f"sum(len(list_filter({a}, lambda e: {self.predicate('e', kind, raw.param)})))"
                )
        if op == "values":
            return f"count({a})"
        if op in ("min", "max", "sum", "avg"):
            return f"{op}({a})"
        if op == "stddev":
            return f"stddev_pop({a})"
        if op == "quantile":
            return f"quantile_cont({a}, {self.param(raw.param, '::DOUBLE')})"
        if op == "approx_distinct":
            return f"approx_count_distinct({a})"
        if op == "satisfying":
            return f"count(*) FILTER (WHERE {self.predicate(a, kind, raw.param)})"
        b = self.alias[raw.columns[1]]
        if op == "corr":
            return f"corr({a}, {b})"
        if op == "both":
            return f"count(*) FILTER (WHERE {a} IS NOT NULL AND {b} IS NOT NULL)"
        if op == "compare":
            return f"count(*) FILTER (WHERE {a} {_COMPARE[raw.param]} {b})"
        raise AssertionError(f"no SQL for raw {raw}")


_shared: tuple[int, Any] | None = None
_shared_lock = threading.Lock()


def _cursor() -> Any:
    """A connection to this process's in-memory DuckDB: a new database costs ~30 ms, a cursor
    on a shared one ~1 ms (a forked worker opens its own)."""
    import duckdb

    global _shared
    with _shared_lock:
        if _shared is None or _shared[0] != os.getpid():
            _shared = (os.getpid(), duckdb.connect())
        return _shared[1].cursor()


def compute(table: pa.Table, raws: set[Raw], kinds: dict[str, Kind]) -> dict[Raw, Any]:
    """Every raw of ``raws`` over ``table``, in one DuckDB statement."""
    view = f"validated_{uuid.uuid4().hex}"
    columns = sorted({c for raw in raws for c in raw.columns})
    sql = _Sql(kinds, columns)
    scalar = sorted((r for r in raws if r.op not in GROUPED_OPS), key=repr)
    names = {f"r{i}": raw for i, raw in enumerate(scalar)}
    aggs = ", ".join(f"{sql.scalar(raw)} AS {name}" for name, raw in names.items())
    used = sorted({c for raw in scalar for c in raw.columns})
    ctes = [f"agg AS (SELECT {aggs} FROM {sql.source(used, view)})"]
    sources = ["agg"]
    groups = sorted({(r.op, r.columns) for r in raws if r.op in ("group", "mi")})
    entropy = {r.columns for r in raws if r.op == "group" and r.param == "entropy"}
    for i, (op, cols) in enumerate(groups):
        source = sql.source(list(cols), view)
        aliases = [sql.alias[c] for c in cols]
        ctes.append(_grouping(f"g{i}", aliases, op, source, cols in entropy))
        sources.append(f"g{i}")
    quantiles: dict[str, list[float]] = {}
    for raw in raws:
        if raw.op == "element_quantile":
            quantiles.setdefault(raw.columns[0], []).append(raw.param)
    for i, (column, qs) in enumerate(sorted(quantiles.items())):
        qs.sort()
        ctes.append(
            f"q{i} AS (SELECT quantile_cont(e, {sql.param(qs, '::DOUBLE[]')}) AS q{i} "
            f"FROM (SELECT unnest({sql.alias[column]}) AS e FROM {sql.source([column], view)}))"
        )
        sources.append(f"q{i}")
    statement = f"WITH {', '.join(ctes)} SELECT * FROM {', '.join(sources)}"
    con = _cursor()
    try:
        con.register(view, table)
        cursor = con.execute(statement, sql.params)
        (row,) = cursor.fetchall()
        values = dict(zip([d[0] for d in cursor.description], row, strict=True))
    finally:
        con.unregister(view)
        con.close()
    out: dict[Raw, Any] = {raw: values[name] for name, raw in names.items()}
    found = {
        key: values[f"g{i}_mi"]
        if key[0] == "mi"
        else {k: values.get(f"g{i}_{k}") for k in ("distinct", "unique", "nlogn", "total")}
        for i, key in enumerate(groups)
    }
    for raw in raws:
        if raw.op in ("group", "mi"):
            out[raw] = found[(raw.op, raw.columns)]
    for i, (column, qs) in enumerate(sorted(quantiles.items())):
        got = values[f"q{i}"] or [None] * len(qs)
        for q, v in zip(qs, got, strict=True):
            out[Raw("element_quantile", (column,), q)] = v
    return out


def _grouping(name: str, aliases: list[str], op: str, source: str, entropy: bool) -> str:
    """One grouping of the cleaned rows by ``aliases`` (rows with a NULL in them left out)."""
    keys = ", ".join(aliases)
    present = " AND ".join(f"{a} IS NOT NULL" for a in aliases)
    counts = f"SELECT {keys}, count(*) AS k FROM {source} WHERE {present} GROUP BY {keys}"
    if op == "group":
        nlogn = f"sum(k * ln(k)) AS {name}_nlogn, " if entropy else ""
        return (
            f"{name} AS (SELECT count(*) AS {name}_distinct, "
            f"count(*) FILTER (WHERE k = 1) AS {name}_unique, "
            f"{nlogn}sum(k) AS {name}_total FROM ({counts}))"
        )
    a, b = aliases
    return (
        f"{name} AS (SELECT sum(k * ln(k * t / (ka * kb))) / any_value(t) AS {name}_mi FROM ("
        f"SELECT CAST(k AS DOUBLE) AS k, CAST(sum(k) OVER (PARTITION BY {a}) AS DOUBLE) AS ka, "
        f"CAST(sum(k) OVER (PARTITION BY {b}) AS DOUBLE) AS kb, "
        f"CAST(sum(k) OVER () AS DOUBLE) AS t FROM ({counts})))"
    )
