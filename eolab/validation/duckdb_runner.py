"""The python engine's runner: every raw aggregate of a validation in one DuckDB statement.

The Arrow table is registered as a view (no copy, no extension installed or loaded). The
statement has one cleaned projection of the used columns (NaN as NULL, array elements without
NULL/NaN), one aggregate over it for every scalar raw, one grouping per column set (uniqueness,
distinctness, entropy; pairs for mutual information) and one unnest per array feature that has
quantile rules. Values the user gave (patterns, legal values, quantiles) are bound parameters,
never spliced into the SQL.
"""

from __future__ import annotations

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

    def base(self) -> str:
        out = []
        for name, a in self.alias.items():
            kind, src = self.kinds[name], _qd(name)
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
        return ", ".join(out) or "1 AS dummy"

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


def compute(table: pa.Table, raws: set[Raw], kinds: dict[str, Kind]) -> dict[Raw, Any]:
    """Every raw of ``raws`` over ``table``, in one DuckDB statement."""
    import duckdb

    columns = sorted({c for raw in raws for c in raw.columns})
    sql = _Sql(kinds, columns)
    scalar = sorted((r for r in raws if r.op not in GROUPED_OPS), key=repr)
    names = {f"r{i}": raw for i, raw in enumerate(scalar)}
    aggs = ", ".join(f"{sql.scalar(raw)} AS {name}" for name, raw in names.items())
    ctes = [
        f"base AS NOT MATERIALIZED (SELECT {sql.base()} FROM data)",
        f"agg AS (SELECT {aggs} FROM base)",
    ]
    sources = ["agg"]
    groups = sorted({r for r in raws if r.op in ("group", "mi")}, key=repr)
    for i, raw in enumerate(groups):
        ctes.append(_grouping(f"g{i}", [sql.alias[c] for c in raw.columns], raw.op))
        sources.append(f"g{i}")
    quantiles: dict[str, list[float]] = {}
    for raw in raws:
        if raw.op == "element_quantile":
            quantiles.setdefault(raw.columns[0], []).append(raw.param)
    for i, (column, qs) in enumerate(sorted(quantiles.items())):
        qs.sort()
        ctes.append(
            f"q{i} AS (SELECT quantile_cont(e, {sql.param(qs, '::DOUBLE[]')}) AS q{i} "
            f"FROM (SELECT unnest({sql.alias[column]}) AS e FROM base))"
        )
        sources.append(f"q{i}")
    statement = f"WITH {', '.join(ctes)} SELECT * FROM {', '.join(sources)}"
    con = duckdb.connect()
    try:
        con.register("data", table)
        cursor = con.execute(statement, sql.params)
        row = cursor.fetchone()
        values = dict(zip([d[0] for d in cursor.description], row or (), strict=True))
    finally:
        con.close()
    out: dict[Raw, Any] = {raw: values[name] for name, raw in names.items()}
    for i, raw in enumerate(groups):
        if raw.op == "mi":
            out[raw] = values[f"g{i}_mi"]
        else:
            out[raw] = {k: values[f"g{i}_{k}"] for k in ("distinct", "unique", "nlogn", "total")}
    for i, (column, qs) in enumerate(sorted(quantiles.items())):
        got = values[f"q{i}"] or [None] * len(qs)
        for q, v in zip(qs, got, strict=True):
            out[Raw("element_quantile", (column,), q)] = v
    return out


def _grouping(name: str, aliases: list[str], op: str) -> str:
    """One grouping of the cleaned rows by ``aliases`` (rows with a NULL in them left out)."""
    keys = ", ".join(aliases)
    present = " AND ".join(f"{a} IS NOT NULL" for a in aliases)
    counts = f"SELECT {keys}, count(*) AS k FROM base WHERE {present} GROUP BY {keys}"
    if op == "group":
        return (
            f"{name} AS (SELECT count(*) AS {name}_distinct, "
            f"count(*) FILTER (WHERE k = 1) AS {name}_unique, "
            f"sum(k * ln(k)) AS {name}_nlogn, sum(k) AS {name}_total FROM ({counts}))"
        )
    a, b = aliases
    return (
        f"{name} AS (SELECT sum(k * ln(k * t / (ka * kb))) / any_value(t) AS {name}_mi FROM ("
        f"SELECT CAST(k AS DOUBLE) AS k, CAST(sum(k) OVER (PARTITION BY {a}) AS DOUBLE) AS ka, "
        f"CAST(sum(k) OVER (PARTITION BY {b}) AS DOUBLE) AS kb, "
        f"CAST(sum(k) OVER () AS DOUBLE) AS t FROM ({counts})))"
    )
