"""Descriptive statistics of feature data, computed by the python (DuckDB) or spark engine.

``compute_statistics(data, config, engine)`` returns a JSON-serialisable dict shaped like
hsfs' ``FeatureDescriptiveStatistics``::

    {"row_count": 1604,
     "columns": {"inc_angle": {"type": "double", "count": 1471, "num_non_null_values": 1471,
                               "num_null_values": 133, "completeness": 0.917,
                               "approx_num_distinct_values": 879, "min": 24.7, "max": 45.9,
                               "sum": 58001.2, "mean": 39.4, "stddev": 3.8,
                               "histogram": [{"lower": 24.7, "upper": 25.8, "count": 3}, ...]},
                 "band_1": {"type": "array<float>", "count": 9022500, ...}},
     "correlations": {"inc_angle": {"inc_angle": 1.0, "is_iceberg": -0.1}, ...}}

Conventions (identical in both engines, so that they give the same numbers):

- ``count`` is the number of non-null values; for array columns, of non-null *elements*
  (``num_non_null_values``, ``num_null_values`` and ``completeness`` count rows). ``NaN``
  counts as missing, as in pandas.
- ``stddev`` is the population standard deviation (as Deequ, which hsfs uses). For arrays it is
  computed from the sum of squares of the elements.
- ``approx_num_distinct_values`` is each engine's HyperLogLog estimate (a few % off on large
  cardinalities); ``exact_uniqueness`` adds ``exact_num_distinct_values``, ``distinctness``
  (distinct / count), ``uniqueness`` (values seen once / count) and ``entropy`` (natural log).
- Histograms: 20 equal-width bins between min and max of each numeric column (all values in one
  bin when min == max); correlations: Pearson, over the rows where both columns are present.
- Timestamps are reported as ISO strings in UTC without an offset; naive timestamps are UTC.

The python engine runs **one** DuckDB statement over the Arrow table registered as a view (no
extension is installed or loaded). The spark engine runs one ``agg`` pass for everything but
histograms (a second pass, once min and max are known) and exact uniqueness (one shuffle
counting every column's values).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

from eolab.errors import InvalidInput

BINS = 20
_EPOCH = dt.datetime(1970, 1, 1)


@dataclass
class StatisticsConfig:
    """What to compute (hsfs' ``StatisticsConfig``); ``columns`` None means every column."""

    enabled: bool = True
    correlations: bool = False
    histograms: bool = False
    exact_uniqueness: bool = False
    columns: list[str] | None = None

    @classmethod
    def from_value(cls, value: StatisticsConfig | dict | bool | None) -> StatisticsConfig:
        """A config from what hsfs accepts: a config, a dict of its fields, a bool or None."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, bool):
            return cls(enabled=value)
        if isinstance(value, dict):
            unknown = set(value) - set(cls.__dataclass_fields__)
            if unknown:
                raise InvalidInput(
                    f"unknown statistics settings {sorted(unknown)}; expected some of "
                    f"{sorted(cls.__dataclass_fields__)}"
                )
            return cls(**value)
        raise InvalidInput(
            f"statistics config must be a StatisticsConfig, dict or bool, got "
            f"{type(value).__name__}"
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- column plan ------------------------------------------------------------------------------


@dataclass
class _Column:
    """One column to describe: its name, neutral type and alias prefix in the queries."""

    name: str
    type: str  # integer, double, boolean, string, timestamp, date, array<float|integer>, other
    alias: str
    ntz: bool = False  # spark TimestampNTZType
    float_like: bool = False  # NaN possible (float columns and float arrays)

    @property
    def numeric(self) -> bool:
        return self.type in ("integer", "double")

    @property
    def array(self) -> bool:
        return self.type.startswith("array<")

    @property
    def groupable(self) -> bool:
        return not self.array and self.type != "other"


def _arrow_type(t: pa.DataType) -> tuple[str, bool]:
    if pa.types.is_dictionary(t):
        return _arrow_type(t.value_type)
    if pa.types.is_boolean(t):
        return "boolean", False
    if pa.types.is_integer(t):
        return "integer", False
    if pa.types.is_floating(t):
        return "double", True
    if pa.types.is_decimal(t):
        return "double", False
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string", False
    if pa.types.is_timestamp(t):
        return "timestamp", False
    if pa.types.is_date(t):
        return "date", False
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        inner, nan = _arrow_type(t.value_type)
        if inner == "integer":
            return "array<integer>", False
        if inner == "double":
            return "array<float>", nan
    return "other", False


def _spark_type(t: Any) -> tuple[str, bool, bool]:
    from pyspark.sql import types as T

    if isinstance(t, T.BooleanType):
        return "boolean", False, False
    if isinstance(t, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return "integer", False, False
    if isinstance(t, (T.FloatType, T.DoubleType)):
        return "double", True, False
    if isinstance(t, T.DecimalType):
        return "double", False, False
    if isinstance(t, (T.StringType, T.VarcharType, T.CharType)):
        return "string", False, False
    if isinstance(t, T.TimestampNTZType):
        return "timestamp", False, True
    if isinstance(t, T.TimestampType):
        return "timestamp", False, False
    if isinstance(t, T.DateType):
        return "date", False, False
    if isinstance(t, T.ArrayType):
        inner, nan, _ = _spark_type(t.elementType)
        if inner == "integer":
            return "array<integer>", False, False
        if inner == "double":
            return "array<float>", nan, False
    return "other", False, False


def _select(names: list[str], config: StatisticsConfig) -> list[str]:
    if config.columns is None:
        return names
    missing = [c for c in config.columns if c not in names]
    if missing:
        raise InvalidInput(
            f"statistics columns {missing} are not in the data; it has {names}",
            details={"missing": missing},
        )
    return [n for n in names if n in set(config.columns)]


# ---- entry point ------------------------------------------------------------------------------


def _is_spark(data: Any) -> bool:
    return type(data).__module__.startswith("pyspark.")


def compute_statistics(
    data: Any, config: StatisticsConfig | dict | bool | None = None, engine: Any = "python"
) -> dict[str, Any]:
    """Statistics of ``data`` (pandas DataFrame, pyarrow Table or Spark DataFrame).

    ``engine`` is ``"python"`` or ``"spark"`` (or an eolab engine object); data of the other
    kind is converted (a Spark DataFrame through Arrow, pandas/Arrow data into the active
    SparkSession). Returns ``{}`` when ``config.enabled`` is false.
    """
    config = StatisticsConfig.from_value(config)
    if not config.enabled:
        return {}
    name = engine if isinstance(engine, str) else getattr(engine, "name", None)
    if name not in ("python", "spark"):
        raise InvalidInput(f"statistics engine must be 'python' or 'spark', got {engine!r}")
    if name == "spark":
        return _spark_statistics(_to_spark(data, engine), config)
    return _python_statistics(_to_arrow(data), config)


def _to_arrow(data: Any) -> pa.Table:
    import pandas as pd

    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pd.DataFrame):
        bad = [c for c in data.columns if not isinstance(c, str)]
        if bad:
            raise InvalidInput(f"column names must be strings, got {bad!r}")
        return pa.Table.from_pandas(data, preserve_index=False)
    if _is_spark(data):
        return data.toArrow()
    raise InvalidInput(
        f"statistics need a pandas DataFrame, pyarrow Table or Spark DataFrame, got "
        f"{type(data).__name__}"
    )


def _to_spark(data: Any, engine: Any) -> Any:
    if _is_spark(data):
        return data
    table = _to_arrow(data)
    session = getattr(engine, "session", None)
    if session is None:
        from eolab.engine.spark import get_session

        session = get_session()
    return session.createDataFrame(table)


# ---- python engine: one DuckDB statement ------------------------------------------------------


def _qd(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _python_statistics(table: pa.Table, config: StatisticsConfig) -> dict[str, Any]:
    import duckdb

    names = _select(list(table.column_names), config)
    columns = []
    for i, name in enumerate(names):
        kind, nan = _arrow_type(table.schema.field(name).type)
        columns.append(_Column(name, kind, f"c{i}", float_like=nan))
    base, aggs, hist_bins, hist_aggs, uniq = [], ["count(*) AS n"], [], [], []
    for c in columns:
        a, src = c.alias, _qd(c.name)
        if c.array:
            keep = "e IS NOT NULL" + (" AND NOT isnan(e)" if c.float_like else "")
            base.append(f"list_filter(CAST({src} AS DOUBLE[]), lambda e: {keep}) AS {a}")
        elif c.type == "double":
            expr = f"CAST({src} AS DOUBLE)"
            base.append(f"CASE WHEN isnan({expr}) THEN NULL ELSE {expr} END AS {a}")
        else:
            base.append(f"{src} AS {a}")
        aggs.append(f"count({a}) AS {a}__nn")
        if c.array:
            aggs += [
                f"sum(len({a})) AS {a}__count",
                f"min(list_min({a})) AS {a}__min",
                f"max(list_max({a})) AS {a}__max",
                f"sum(list_sum({a})) AS {a}__sum",
                f"sum(list_sum(list_transform({a}, lambda e: e * e))) AS {a}__sumsq",
            ]
            continue
        if c.type != "other":
            aggs.append(f"approx_count_distinct({a}) AS {a}__approx")
        if c.numeric:
            aggs += [
                f"min({a}) AS {a}__min",
                f"max({a}) AS {a}__max",
                f"sum({a}) AS {a}__sum",
                f"avg({a}) AS {a}__mean",
                f"stddev_pop({a}) AS {a}__stddev",
            ]
        elif c.type == "boolean":
            aggs.append(f"avg(CAST({a} AS INTEGER)) AS {a}__mean")
        elif c.type == "timestamp":
            aggs += [f"epoch_us(min({a})) AS {a}__min", f"epoch_us(max({a})) AS {a}__max"]
        elif c.type == "date":
            aggs += [f"min({a}) AS {a}__min", f"max({a}) AS {a}__max"]
        if c.numeric and config.histograms:
            lo, hi = f"CAST({a}__min AS DOUBLE)", f"CAST({a}__max AS DOUBLE)"
            hist_bins.append(
                f"CASE WHEN {a} IS NULL OR NOT isfinite({hi} - {lo}) THEN NULL "
                f"WHEN {hi} = {lo} THEN 0 "
                f"ELSE least(CAST(floor((CAST({a} AS DOUBLE) - {lo}) * {BINS} / ({hi} - {lo})) "
                f"AS BIGINT), {BINS - 1}) END AS {a}__bin"
            )
            hist_aggs += [
                f"count(*) FILTER (WHERE {a}__bin = {k}) AS {a}__h{k}" for k in range(BINS)
            ]
        if config.exact_uniqueness and c.groupable:
            uniq.append(
                f"u_{a} AS (SELECT count(*) AS {a}__exact, "
                f"count(*) FILTER (WHERE n = 1) AS {a}__unique, "
                f"sum(n * ln(n)) AS {a}__nlogn "
                f"FROM (SELECT {a}, count(*) AS n FROM base WHERE {a} IS NOT NULL GROUP BY {a}))"
            )
    numeric = [c for c in columns if c.numeric]
    if config.correlations:
        for i, x in enumerate(numeric):
            for y in numeric[i + 1 :]:
                aggs.append(f"corr({x.alias}, {y.alias}) AS {x.alias}__corr__{y.alias}")
    ctes = [
        f"base AS (SELECT {', '.join(base) or '1 AS dummy'} FROM data)",
        f"agg AS (SELECT {', '.join(aggs)} FROM base)",
    ]
    sources = ["agg"]
    if hist_aggs:
        ctes.append(f"hb AS (SELECT {', '.join(hist_bins)} FROM base, agg)")
        ctes.append(f"hist AS (SELECT {', '.join(hist_aggs)} FROM hb)")
        sources.append("hist")
    ctes += uniq
    sources += [u.split(" AS ", 1)[0] for u in uniq]
    sql = f"WITH {', '.join(ctes)} SELECT * FROM {', '.join(sources)}"
    con = duckdb.connect()
    try:
        con.register("data", table)
        cursor = con.execute(sql)
        row = cursor.fetchone()
        values = dict(zip([d[0] for d in cursor.description], row, strict=True))
    finally:
        con.close()
    return _assemble(values, columns, config)


# ---- spark engine -----------------------------------------------------------------------------


def _spark_statistics(df: Any, config: StatisticsConfig) -> dict[str, Any]:
    from pyspark.sql import functions as F

    names = _select(list(df.columns), config)
    fields = {f.name: f.dataType for f in df.schema.fields}
    columns = []
    for i, name in enumerate(names):
        kind, nan, ntz = _spark_type(fields[name])
        columns.append(_Column(name, kind, f"c{i}", ntz=ntz, float_like=nan))

    def src(name: str) -> Any:
        return F.col("`" + name.replace("`", "``") + "`")

    base = []
    for c in columns:
        s = src(c.name)
        if c.array:
            if c.float_like:
                keep: Callable[[Any], Any] = lambda e: e.isNotNull() & ~F.isnan(e)  # noqa: E731
            else:
                keep = lambda e: e.isNotNull()  # noqa: E731
            base.append(F.filter(s.cast("array<double>"), keep).alias(c.alias))
        elif c.type == "double":
            d = s.cast("double")
            base.append(F.when(F.isnan(d), F.lit(None)).otherwise(d).alias(c.alias))
        else:
            base.append(s.alias(c.alias))
    frame = df.select(*base) if base else df.select(F.lit(1).alias("dummy"))

    aggs = [F.count(F.lit(1)).alias("n")]
    for c in columns:
        a, col = c.alias, F.col(c.alias)
        aggs.append(F.count(col).alias(f"{a}__nn"))
        if c.array:
            zero = F.lit(0.0).cast("double")
            aggs += [
                F.sum(F.when(col.isNotNull(), F.size(col))).alias(f"{a}__count"),
                F.min(F.array_min(col)).alias(f"{a}__min"),
                F.max(F.array_max(col)).alias(f"{a}__max"),
                F.sum(F.aggregate(col, zero, lambda acc, e: acc + e)).alias(f"{a}__sum"),
                F.sum(F.aggregate(col, zero, lambda acc, e: acc + e * e)).alias(f"{a}__sumsq"),
            ]
            continue
        if c.type != "other":
            aggs.append(F.approx_count_distinct(col).alias(f"{a}__approx"))
        if c.numeric:
            aggs += [
                F.min(col).alias(f"{a}__min"),
                F.max(col).alias(f"{a}__max"),
                F.sum(col).alias(f"{a}__sum"),
                F.avg(col).alias(f"{a}__mean"),
                F.stddev_pop(col).alias(f"{a}__stddev"),
            ]
        elif c.type == "boolean":
            aggs.append(F.avg(col.cast("int")).alias(f"{a}__mean"))
        elif c.type == "timestamp" and not c.ntz:
            aggs += [
                F.unix_micros(F.min(col)).alias(f"{a}__min"),
                F.unix_micros(F.max(col)).alias(f"{a}__max"),
            ]
        elif c.type in ("timestamp", "date"):
            aggs += [F.min(col).alias(f"{a}__min"), F.max(col).alias(f"{a}__max")]
    numeric = [c for c in columns if c.numeric]
    if config.correlations:
        for i, x in enumerate(numeric):
            for y in numeric[i + 1 :]:
                aggs.append(F.corr(x.alias, y.alias).alias(f"{x.alias}__corr__{y.alias}"))
    values = frame.agg(*aggs).collect()[0].asDict()

    if config.histograms:
        bins, hist_aggs = [], []
        for c in numeric:
            lo, hi = values[f"{c.alias}__min"], values[f"{c.alias}__max"]
            if lo is None or not math.isfinite(float(hi) - float(lo)):
                continue
            lo, hi = float(lo), float(hi)
            x = F.col(c.alias).cast("double")
            if hi == lo:
                b = F.when(x.isNotNull(), F.lit(0))
            else:
                b = F.when(
                    x.isNotNull(),  # least() skips nulls: keep them out of the last bin
                    F.least(F.floor((x - F.lit(lo)) * BINS / F.lit(hi - lo)), F.lit(BINS - 1)),
                )
            # bins computed once per row, then counted (not one bin expression per count)
            bins.append(b.alias(f"{c.alias}__bin"))
            hist_aggs += [
                F.count(F.when(F.col(f"{c.alias}__bin") == k, 1)).alias(f"{c.alias}__h{k}")
                for k in range(BINS)
            ]
        if hist_aggs:
            values.update(frame.select(*bins).agg(*hist_aggs).collect()[0].asDict())
    groupable = [c for c in columns if c.groupable] if config.exact_uniqueness else []
    if groupable:
        # one shuffle for every column: (column index, value as text) pairs, counted
        pairs = F.explode(
            F.array(
                *[
                    F.struct(F.lit(i).alias("i"), F.col(c.alias).cast("string").alias("v"))
                    for i, c in enumerate(groupable)
                ]
            )
        )
        counts = (
            frame.select(pairs.alias("p"))
            .select("p.i", "p.v")
            .where(F.col("v").isNotNull())
            .groupBy("i", "v")
            .count()
        )
        n = F.col("count")
        for row in (
            counts.groupBy("i")
            .agg(
                F.count(F.lit(1)).alias("exact"),
                F.count(F.when(n == 1, 1)).alias("unique"),
                F.sum(n * F.log(n)).alias("nlogn"),
            )
            .collect()
        ):
            a = groupable[row["i"]].alias
            values.update(
                {
                    f"{a}__exact": row["exact"],
                    f"{a}__unique": row["unique"],
                    f"{a}__nlogn": row["nlogn"],
                }
            )
    return _assemble(values, columns, config)


# ---- shared: raw aggregates → the statistics dict -----------------------------------------------


def _clean(v: Any) -> Any:
    """A JSON-safe scalar: numpy/Decimal to Python, NaN and infinities to None."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if hasattr(v, "item") and not isinstance(v, (int, float)):
        v = v.item()
    if isinstance(v, Decimal):
        v = float(v)
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, int):
        return int(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def _iso_us(us: Any) -> str | None:
    if us is None:
        return None
    return (_EPOCH + dt.timedelta(microseconds=int(us))).isoformat()


def _assemble(values: dict[str, Any], columns: list[_Column], config: StatisticsConfig) -> dict:
    n = int(values["n"])
    out: dict[str, Any] = {}
    for c in columns:
        a = c.alias
        nn = int(values[f"{a}__nn"])
        s: dict[str, Any] = {
            "type": c.type,
            "count": nn,
            "num_non_null_values": nn,
            "num_null_values": n - nn,
            "completeness": nn / n if n else None,
        }
        if c.array:
            count = int(values[f"{a}__count"] or 0)
            total = float(values[f"{a}__sum"] or 0.0)
            mean = total / count if count else None
            sumsq = float(values[f"{a}__sumsq"] or 0.0)
            var = max(sumsq / count - mean * mean, 0.0) if count else None
            s.update(
                count=count,
                min=_clean(values[f"{a}__min"]),
                max=_clean(values[f"{a}__max"]),
                sum=_clean(total) if count else None,
                mean=_clean(mean),
                stddev=_clean(math.sqrt(var)) if var is not None else None,
            )
            out[c.name] = s
            continue
        if c.type != "other":
            s["approx_num_distinct_values"] = _clean(values[f"{a}__approx"])
        if c.numeric:
            for key in ("min", "max", "sum", "mean", "stddev"):
                s[key] = _clean(values[f"{a}__{key}"])
            if c.type == "double" and s["sum"] is not None:
                s["sum"] = float(s["sum"])
        elif c.type == "boolean":
            s["mean"] = _clean(values[f"{a}__mean"])
        elif c.type == "timestamp":
            lo, hi = values[f"{a}__min"], values[f"{a}__max"]
            if c.ntz:
                s["min"], s["max"] = _clean(lo), _clean(hi)
            else:
                s["min"], s["max"] = _iso_us(lo), _iso_us(hi)
        elif c.type == "date":
            s["min"], s["max"] = _clean(values[f"{a}__min"]), _clean(values[f"{a}__max"])
        if c.numeric and config.histograms:
            s["histogram"] = _histogram(values, a, s.get("min"), s.get("max"))
        if config.exact_uniqueness and c.groupable:
            distinct = int(values.get(f"{a}__exact") or 0)
            unique = int(values.get(f"{a}__unique") or 0)
            nlogn = float(values.get(f"{a}__nlogn") or 0.0)
            s.update(
                exact_num_distinct_values=distinct,
                distinctness=distinct / nn if nn else None,
                uniqueness=unique / nn if nn else None,
                entropy=_clean(math.log(nn) - nlogn / nn) if nn else None,
            )
        out[c.name] = s
    correlations: dict[str, dict[str, float | None]] = {}
    if config.correlations:
        numeric = [c for c in columns if c.numeric]
        for x in numeric:
            has_var = bool(out[x.name].get("stddev"))
            correlations[x.name] = {x.name: 1.0 if has_var else None}
        for i, x in enumerate(numeric):
            for y in numeric[i + 1 :]:
                r = _clean(values[f"{x.alias}__corr__{y.alias}"])
                if r is not None:
                    r = max(-1.0, min(1.0, float(r)))
                correlations[x.name][y.name] = r
                correlations[y.name][x.name] = r
    return {"row_count": n, "columns": out, "correlations": correlations}


def _histogram(values: dict[str, Any], alias: str, lo: Any, hi: Any) -> list[dict] | None:
    if lo is None or hi is None or not math.isfinite(float(hi) - float(lo)):
        return None
    lo, hi = float(lo), float(hi)
    counts = [int(values.get(f"{alias}__h{k}") or 0) for k in range(BINS)]
    if hi == lo:
        return [{"lower": lo, "upper": hi, "count": counts[0]}]
    width = (hi - lo) / BINS
    return [
        {
            "lower": lo + k * width,
            "upper": hi if k == BINS - 1 else lo + (k + 1) * width,
            "count": counts[k],
        }
        for k in range(BINS)
    ]


# The notebook and panel views live in statistics_view.py; re-exported for callers of this module.
from eolab.featurestore.statistics_view import (  # noqa: E402
    StatisticsView,
    histogram_svg,
    plot_statistics,
)

__all__ = [
    "StatisticsConfig",
    "StatisticsView",
    "compute_statistics",
    "histogram_svg",
    "plot_statistics",
]
