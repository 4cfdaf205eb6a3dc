"""Feature schemas: inferred from the first DataFrame as Arrow types, enforced on every write.

Every frame (pandas, pyarrow or Spark) is described by a *canonical* Arrow schema, the one a
Delta table stores and gives back: 64-bit offsets and views become plain strings and lists,
unsigned integers widen to the next signed type, timestamps become ``timestamp[us, tz=UTC]``
(naive ones are UTC, DESIGN's 'Times'), list items are called ``element`` and every field is
nullable (primary keys are checked for nulls separately). Two frames fit when their canonical
types are equal; no silent casts between feature types.

NaN in a float feature is a value and null is a missing value: a pandas float column keeps its
NaNs as NaN (use a nullable ``Float64`` column, or pyarrow, for nulls).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eolab.errors import InvalidInput, ValidationFailed

FEATURE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
PARTITION_TYPES = ("string", "int8", "int16", "int32", "int64", "bool", "date32[day]")
UTC_US = pa.timestamp("us", tz="UTC")
_WIDER = {pa.uint8(): pa.int16(), pa.uint16(): pa.int32(), pa.uint32(): pa.int64()}


@dataclass(frozen=True)
class Feature:
    """One column of a feature group, as hsfs describes it.

    Comparing a feature to a value builds a filter (``fg.inc_angle > 30``, ``fg.id == 3``,
    ``fg.id.isin([1, 2])``, ``fg.name.like("S1%")``; see :mod:`eolab.featurestore.filter`).
    Comparing two features with ``==`` stays a plain comparison of their descriptions, so
    lists of features and their hashes behave as before. ``fg.get_feature`` (``fg.x``,
    ``fg["x"]``) returns the feature bound to its feature group, which queries use.
    """

    name: str
    type: str
    primary: bool = False
    partition: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def feature_group(self) -> Any:
        """The feature group this feature was taken from (None for a bare description)."""
        return self.__dict__.get("_feature_group")

    def bound(self, feature_group: Any) -> Feature:
        """This feature, bound to ``feature_group``."""
        feature = Feature(self.name, self.type, self.primary, self.partition)
        object.__setattr__(feature, "_feature_group", feature_group)
        return feature

    def _key(self) -> tuple[str, str, bool, bool]:
        return (self.name, self.type, self.primary, self.partition)

    def __hash__(self) -> int:
        return hash(self._key())

    def _filter(self, condition: str, value: Any) -> Any:
        from eolab.featurestore.filter import Filter

        return Filter(self, condition, value)

    def __eq__(self, other: object) -> Any:  # type: ignore[override]
        if isinstance(other, Feature):
            return self._key() == other._key()
        return self._filter("EQUALS", other)

    def __ne__(self, other: object) -> Any:  # type: ignore[override]
        if isinstance(other, Feature):
            return self._key() != other._key()
        return self._filter("NOT_EQUALS", other)

    def __lt__(self, other: Any) -> Any:
        return self._filter("LESS_THAN", other)

    def __le__(self, other: Any) -> Any:
        return self._filter("LESS_THAN_OR_EQUAL", other)

    def __gt__(self, other: Any) -> Any:
        return self._filter("GREATER_THAN", other)

    def __ge__(self, other: Any) -> Any:
        return self._filter("GREATER_THAN_OR_EQUAL", other)

    def isin(self, values: Any) -> Any:
        """A filter: the feature's value is one of ``values``."""
        return self._filter("IN", values)

    def like(self, pattern: str) -> Any:
        """A filter: the (string) feature matches ``pattern`` (``%`` any text, ``_`` one
        character, ``\\`` escapes)."""
        return self._filter("LIKE", pattern)


# ---- types --------------------------------------------------------------------------------


def canonical_type(t: pa.DataType, column: str) -> pa.DataType:
    """The type a Delta table stores for ``t``; InvalidInput for types it cannot hold."""
    types = pa.types
    if types.is_dictionary(t):
        return canonical_type(t.value_type, column)
    if types.is_string(t) or types.is_large_string(t) or types.is_string_view(t):
        return pa.string()
    if types.is_binary(t) or types.is_large_binary(t) or types.is_binary_view(t):
        return pa.binary()
    if t in _WIDER:
        return _WIDER[t]
    if t == pa.uint64():
        return pa.int64()
    if types.is_float16(t):
        return pa.float32()
    if types.is_timestamp(t):
        return UTC_US
    if types.is_date(t):
        return pa.date32()
    if types.is_list(t) or types.is_large_list(t) or types.is_fixed_size_list(t):
        return pa.list_(pa.field("element", canonical_type(t.value_type, column)))
    if types.is_list_view(t) or types.is_large_list_view(t):
        return pa.list_(pa.field("element", canonical_type(t.value_type, column)))
    if types.is_struct(t):
        return pa.struct([pa.field(f.name, canonical_type(f.type, column)) for f in t])
    if types.is_map(t):
        return pa.map_(canonical_type(t.key_type, column), canonical_type(t.item_type, column))
    if types.is_null(t):
        raise InvalidInput(
            f"column {column!r} holds only nulls, so its type is unknown: give it a type "
            "(e.g. df[col].astype('Float64')) before the first write",
            details={"column": column},
        )
    if types.is_integer(t) or types.is_floating(t) or types.is_boolean(t) or types.is_decimal128(t):
        return t
    raise InvalidInput(
        f"column {column!r} has type {t}, which a feature group cannot store "
        "(no time-of-day, duration, interval or union types)",
        details={"column": column, "type": str(t)},
    )


def type_name(t: pa.DataType) -> str:
    """A short, stable name: ``int64``, ``float``, ``list<float>``, ``timestamp[us, tz=UTC]``."""
    if pa.types.is_list(t):
        return f"list<{type_name(t.value_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ", ".join(f"{f.name}: {type_name(f.type)}" for f in t) + ">"
    if pa.types.is_map(t):
        return f"map<{type_name(t.key_type)}, {type_name(t.item_type)}>"
    return str(t)


_PRIMITIVES = {
    str(t): t
    for t in (
        pa.int8(),
        pa.int16(),
        pa.int32(),
        pa.int64(),
        pa.float32(),
        pa.float64(),
        pa.bool_(),
        pa.string(),
        pa.binary(),
        pa.date32(),
        UTC_US,
    )
}


def parse_type(name: str) -> pa.DataType:
    """The inverse of :func:`type_name` for primitives, decimals and lists of them."""
    name = name.strip()
    if name in _PRIMITIVES:
        return _PRIMITIVES[name]
    if name.startswith("list<") and name.endswith(">"):
        return pa.list_(pa.field("element", parse_type(name[5:-1])))
    decimal = re.fullmatch(r"decimal128\((\d+), (\d+)\)", name)
    if decimal:
        return pa.decimal128(int(decimal.group(1)), int(decimal.group(2)))
    raise InvalidInput(f"unknown feature type {name!r}")


def canonical_schema(schema: pa.Schema) -> pa.Schema:
    """Check the column names and give every column its canonical, nullable type."""
    seen: dict[str, str] = {}
    fields = []
    for f in schema:
        if not isinstance(f.name, str) or not FEATURE_NAME.match(f.name):
            raise InvalidInput(
                f"feature name must match {FEATURE_NAME.pattern}, got {f.name!r}",
                details={"column": str(f.name), "pattern": FEATURE_NAME.pattern},
            )
        if f.name.lower() in seen:
            raise InvalidInput(
                f"columns {seen[f.name.lower()]!r} and {f.name!r} differ only in case; feature "
                "names are case-insensitive",
                details={"column": f.name},
            )
        seen[f.name.lower()] = f.name
        fields.append(pa.field(f.name, canonical_type(f.type, f.name)))
    return pa.schema(fields)


def schema_from_features(features: list[dict[str, Any]]) -> pa.Schema:
    return pa.schema([pa.field(f["name"], parse_type(f["type"])) for f in features])


def features_of(
    schema: pa.Schema, primary_key: list[str], partition_key: list[str]
) -> list[Feature]:
    return [
        Feature(f.name, type_name(f.type), f.name in primary_key, f.name in partition_key)
        for f in schema
    ]


# ---- frames -------------------------------------------------------------------------------


def is_spark(frame: Any) -> bool:
    return type(frame).__module__.startswith("pyspark.sql")


def to_arrow(data: Any) -> pa.Table:
    """A pandas DataFrame, pyarrow Table/RecordBatch or Spark DataFrame as an Arrow table."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if is_spark(data) and hasattr(data, "toArrow"):
        return data.toArrow()
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return _from_pandas(data)
    raise InvalidInput(
        "features must be a pandas DataFrame, a pyarrow Table or a Spark DataFrame, "
        f"got {type(data).__name__}"
    )


def _from_pandas(df: Any) -> pa.Table:
    names = [str(c) if not isinstance(c, str) else c for c in df.columns]
    if len(set(names)) != len(names):
        raise InvalidInput(f"the DataFrame has duplicate column names: {names}")
    arrays = []
    for position, name in enumerate(names):
        series = df.iloc[:, position]
        try:
            if isinstance(series.dtype, np.dtype) and series.dtype.kind == "f":
                # numpy floats: NaN is a value, not a missing one
                arrays.append(pa.array(series.to_numpy(), from_pandas=False))
            else:
                arrays.append(pa.array(series, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InvalidInput(f"column {name!r} cannot be stored as a feature: {exc}") from exc
    return pa.Table.from_arrays(arrays, names=names)


def frame_schema(frame: Any) -> pa.Schema:
    """The canonical Arrow schema of an Arrow table or Spark DataFrame."""
    if is_spark(frame):
        from pyspark.sql.pandas.types import to_arrow_schema

        try:
            return canonical_schema(to_arrow_schema(frame.schema, timezone="UTC"))
        except (TypeError, NotImplementedError) as exc:
            raise InvalidInput(
                f"the Spark DataFrame has a column eolab cannot store: {exc}"
            ) from exc
    return canonical_schema(frame.schema)


def spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema, prefer_timestamp_ntz=False)


def conform(frame: Any, schema: pa.Schema) -> Any:
    """``frame`` with exactly the columns of ``schema``, in its order, cast to its types."""
    if is_spark(frame):
        from pyspark.sql import functions as F

        return frame.select(*[F.col(f"`{name}`") for name in schema.names])
    columns = []
    for f in schema:
        column = frame.column(f.name)
        if not column.type.equals(f.type):
            try:
                options = pc.CastOptions(f.type, allow_time_truncate=True)
                column = pc.cast(column, options=options)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise InvalidInput(
                    f"column {f.name!r} cannot be stored as {type_name(f.type)}: {exc}",
                    details={"column": f.name},
                ) from exc
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=schema)


def check(
    expected: pa.Schema,
    given: pa.Schema,
    primary_key: list[str],
    what: str,
    allow_new_nullable_columns: bool = False,
) -> pa.Schema:
    """The schema to write ``given`` into a table of ``expected``, or the error saying why not.

    A missing primary key is InvalidInput; a type mismatch, a missing feature or (unless
    ``allow_new_nullable_columns``) an extra column is ValidationFailed.
    """
    for key in primary_key:
        if key not in given.names:
            raise InvalidInput(
                f"primary key column {key!r} of {what} is missing from the data "
                f"(columns: {given.names})",
                details={"column": key},
            )
    mismatched = [
        {
            "column": f.name,
            "expected": type_name(f.type),
            "given": type_name(given.field(f.name).type),
        }
        for f in expected
        if f.name in given.names and not given.field(f.name).type.equals(f.type)
    ]
    if mismatched:
        first = mismatched[0]
        raise ValidationFailed(
            f"column {first['column']!r} has type {first['given']}, but {what} stores "
            f"{first['expected']}"
            + (f" ({len(mismatched) - 1} more mismatch(es))" if len(mismatched) > 1 else ""),
            details={"mismatches": mismatched},
        )
    missing = [name for name in expected.names if name not in given.names]
    if missing:
        raise ValidationFailed(
            f"feature(s) {missing} of {what} are missing from the data; every feature must be "
            "present (fill unknown values with nulls)",
            details={"missing": missing},
        )
    extra = [f for f in given if f.name not in expected.names]
    if extra and not allow_new_nullable_columns:
        raise ValidationFailed(
            f"column(s) {[f.name for f in extra]} are not features of {what}; pass "
            "allow_new_nullable_columns=True to add them as nullable features",
            details={"extra": [f.name for f in extra]},
        )
    return pa.schema(list(expected) + extra)


def check_partition_key(schema: pa.Schema, partition_key: list[str], what: str) -> None:
    for key in partition_key:
        name = type_name(schema.field(key).type)
        if name not in PARTITION_TYPES:
            raise InvalidInput(
                f"partition key {key!r} of {what} has type {name}; partition keys must be one "
                f"of {list(PARTITION_TYPES)}",
                details={"column": key},
            )


# ---- rows ---------------------------------------------------------------------------------


def check_keys(
    frame: Any,
    primary_key: list[str],
    event_time: str | None,
    what: str,
    allow_duplicates: bool = False,
) -> Any:
    """``frame`` with one row per primary key, or InvalidInput.

    Null (or NaN) keys are refused, naming the column. Several rows with one key are refused
    unless there is an ``event_time`` (the row with the latest one wins; on a tie, the last)
    or ``allow_duplicates``.
    """
    if is_spark(frame):
        return _check_spark_keys(frame, primary_key, event_time, what, allow_duplicates)
    nulls, rows = {}, {}
    for key in primary_key:
        missing = pc.is_null(frame.column(key), nan_is_null=True)
        count = pc.sum(missing).as_py() or 0
        if count:
            nulls[key] = count
            rows[key] = pc.indices_nonzero(missing)[:5].to_pylist()
    if nulls:
        _refuse_nulls(nulls, f" (rows {next(iter(rows.values()))})", what)
    if allow_duplicates or frame.num_rows < 2:
        return frame
    import pandas as pd

    columns = primary_key + ([event_time] if event_time else [])
    keys = pd.DataFrame({c: frame.column(c).to_pandas() for c in columns})
    duplicated = keys.duplicated(primary_key, keep=False)
    if not duplicated.any():
        return frame
    if event_time is None:
        examples = keys[duplicated].drop_duplicates(primary_key).head(5)
        _refuse_duplicates(examples.to_dict("records"), what)
    keys["__row"] = range(len(keys))
    ordered = keys.sort_values([event_time, "__row"], na_position="first", kind="stable")
    keep = ordered.drop_duplicates(primary_key, keep="last")["__row"].sort_values()
    return frame.take(pa.array(keep.to_numpy()))


def _check_spark_keys(
    frame: Any, primary_key: list[str], event_time: str | None, what: str, allow: bool
) -> Any:
    """One Spark job counts null keys and duplicated keys together."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    keys = [F.col(f"`{k}`") for k in primary_key]
    per_key = frame.groupBy(*keys).count()
    checks = [F.sum(F.when(F.col(f"`{k}`").isNull(), F.col("count"))).alias(k) for k in primary_key]
    checks.append(F.sum(F.when(F.col("count") > 1, 1)).alias("__eolab_duplicated"))
    found = per_key.agg(*checks).first()
    nulls = {k: found[k] for k in primary_key if found and found[k]}
    if nulls:
        _refuse_nulls(nulls, "", what)
    if allow or not (found and found["__eolab_duplicated"]):
        return frame
    if event_time is None:
        examples = per_key.filter("count > 1").limit(5).collect()
        _refuse_duplicates([{k: row[k] for k in primary_key} for row in examples], what)
    order = Window.partitionBy(*keys).orderBy(
        F.col(f"`{event_time}`").desc_nulls_last(), F.col("__eolab_seq").desc()
    )
    return (
        frame.withColumn("__eolab_seq", F.monotonically_increasing_id())
        .withColumn("__eolab_rank", F.row_number().over(order))
        .filter("__eolab_rank = 1")
        .drop("__eolab_seq", "__eolab_rank")
    )


def _refuse_nulls(nulls: dict[str, int], where: str, what: str) -> None:
    key = next(iter(nulls))
    raise InvalidInput(
        f"primary key column {key!r} of {what} has {nulls[key]} null value(s){where}; "
        "primary keys may not be null",
        details={"nulls": nulls},
    )


def _refuse_duplicates(examples: list[dict[str, Any]], what: str) -> None:
    raise InvalidInput(
        f"the data has several rows for the same primary key of {what}, e.g. {examples}; "
        "remove the duplicates, or give the feature group an event_time so that the latest "
        "row per key wins",
        details={"duplicates": [{k: str(v) for k, v in e.items()} for e in examples]},
    )


def key_count(frame: Any) -> int:
    return frame.count() if is_spark(frame) else frame.num_rows
