"""The spark engine's runner: every raw aggregate of a validation in one ``agg`` pass, plus
one ``groupBy`` per column set (uniqueness, distinctness, entropy, mutual information) and
one ``explode`` per array feature with quantile rules.

The cleaning and the aggregates mirror :mod:`eolab.validation.duckdb_runner` (NaN as NULL,
array elements without NULL/NaN, exact quantiles with linear interpolation), so that the
measured values are the same on both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eolab.validation.compute import GROUPED_OPS, TEXT_TYPES, Kind, Raw


def _src(name: str) -> Any:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _predicate(kind: Kind, predicate: tuple[Any, ...]) -> Callable[[Any], Any]:
    what = predicate[0]
    if what == "non_negative":
        return lambda x: x >= 0
    if what == "positive":
        return lambda x: x > 0
    if what == "contained_in":
        values = list(predicate[1])
        if kind.type in ("string", "boolean") or (
            kind.type == "integer" and all(isinstance(v, int) for v in values)
        ):
            return lambda x: x.isin(values)
        legal = [float(v) for v in values]
        return lambda x: x.cast("double").isin(legal)
    if what == "pattern":
        return lambda x: x.rlike(predicate[1])
    if what == "text_type":
        return lambda x: x.rlike(TEXT_TYPES[predicate[1]])
    raise AssertionError(f"unknown predicate {what}")


def _scalar(raw: Raw, alias: dict[str, str], kinds: dict[str, Kind]) -> Any:
    from pyspark.sql import functions as F

    op = raw.op
    if op == "rows":
        return F.count(F.lit(1))
    col, kind = F.col(alias[raw.columns[0]]), kinds[raw.columns[0]]
    if op == "nonnull":
        return F.count(col)
    if kind.array:
        zero = F.lit(0.0).cast("double")
        if op == "values":
            return F.sum(F.when(col.isNotNull(), F.size(col)))
        if op == "min":
            return F.min(F.array_min(col))
        if op == "max":
            return F.max(F.array_max(col))
        if op == "sum":
            return F.sum(F.aggregate(col, zero, lambda acc, e: acc + e))
        if op == "sumsq":
            return F.sum(F.aggregate(col, zero, lambda acc, e: acc + e * e))
        if op == "satisfying":
            keep = _predicate(kind, raw.param)
            return F.sum(F.when(col.isNotNull(), F.size(F.filter(col, keep))))
    if op == "values":
        return F.count(col)
    if op == "min":
        return F.min(col)
    if op == "max":
        return F.max(col)
    if op == "sum":
        return F.sum(col)
    if op == "avg":
        return F.avg(col)
    if op == "stddev":
        return F.stddev_pop(col)
    if op == "quantile":
        return F.percentile(col, float(raw.param))
    if op == "approx_distinct":
        return F.approx_count_distinct(col)
    if op == "satisfying":
        return F.count(F.when(_predicate(kind, raw.param)(col), 1))
    other = F.col(alias[raw.columns[1]])
    if op == "corr":
        return F.corr(col, other)
    if op == "both":
        return F.count(F.when(col.isNotNull() & other.isNotNull(), 1))
    if op == "compare":
        compare = {
            "lt": col < other,
            "le": col <= other,
            "gt": col > other,
            "ge": col >= other,
        }[raw.param]
        return F.count(F.when(compare, 1))
    raise AssertionError(f"no Spark aggregate for raw {raw}")


def compute(df: Any, raws: set[Raw], kinds: dict[str, Kind]) -> dict[Raw, Any]:
    """Every raw of ``raws`` over the Spark DataFrame ``df``."""
    from pyspark.sql import functions as F

    columns = sorted({c for raw in raws for c in raw.columns})
    alias = {c: f"c{i}" for i, c in enumerate(columns)}
    base = []
    for name, a in alias.items():
        kind, s = kinds[name], _src(name)
        if kind.array:
            if kind.nan:
                keep: Callable[[Any], Any] = lambda e: e.isNotNull() & ~F.isnan(e)  # noqa: E731
            else:
                keep = lambda e: e.isNotNull()  # noqa: E731
            base.append(F.filter(s.cast("array<double>"), keep).alias(a))
        elif kind.type == "double":
            d = s.cast("double")
            base.append((F.when(F.isnan(d), F.lit(None)).otherwise(d) if kind.nan else d).alias(a))
        else:
            base.append(s.alias(a))
    frame = df.select(*base) if base else df.select(F.lit(1).alias("dummy"))
    scalar = sorted((r for r in raws if r.op not in GROUPED_OPS), key=repr)
    names = {f"r{i}": raw for i, raw in enumerate(scalar)}
    row = frame.agg(*[_scalar(raw, alias, kinds).alias(n) for n, raw in names.items()]).first()
    out: dict[Raw, Any] = {raw: row[name] for name, raw in names.items()}
    entropy = {r.columns for r in raws if r.op == "group" and r.param == "entropy"}
    found: dict[tuple[str, tuple[str, ...]], Any] = {}
    for raw in raws:
        key = (raw.op, raw.columns)
        if raw.op in ("group", "mi"):
            if key not in found:
                aliases = [alias[c] for c in raw.columns]
                found[key] = _grouping(frame, aliases, raw.op, raw.columns in entropy)
            out[raw] = found[key]
    quantiles: dict[str, list[float]] = {}
    for raw in raws:
        if raw.op == "element_quantile":
            quantiles.setdefault(raw.columns[0], []).append(raw.param)
    for column, qs in quantiles.items():
        qs.sort()
        got = (
            frame.select(F.explode(alias[column]).alias("e"))
            .agg(F.percentile("e", qs).alias("q"))
            .first()["q"]
        ) or [None] * len(qs)
        for q, v in zip(qs, got, strict=True):
            out[Raw("element_quantile", (column,), q)] = v
    return out


def _grouping(frame: Any, aliases: list[str], op: str, entropy: bool) -> Any:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    present = F.lit(True)
    for a in aliases:
        present = present & F.col(a).isNotNull()
    counts = frame.where(present).groupBy(*aliases).agg(F.count(F.lit(1)).alias("k"))
    k = F.col("k")
    if op == "group":
        stats = [
            F.count(F.lit(1)).alias("distinct"),
            F.count(F.when(k == 1, 1)).alias("unique"),
            F.sum(k).alias("total"),
        ]
        if entropy:
            stats.append(F.sum(k * F.log(k)).alias("nlogn"))
        return {"nlogn": None, **counts.agg(*stats).first().asDict()}
    a, b = aliases
    k = k.cast("double")
    spread = counts.select(
        k.alias("k"),
        F.sum(k).over(Window.partitionBy(a)).alias("ka"),
        F.sum(k).over(Window.partitionBy(b)).alias("kb"),
        F.sum(k).over(Window.partitionBy()).alias("t"),
    )
    kk, t = F.col("k"), F.col("t")
    row = spread.agg(
        (F.sum(kk * F.log(kk * t / (F.col("ka") * F.col("kb")))) / F.first(t)).alias("mi")
    ).first()
    return row["mi"]
