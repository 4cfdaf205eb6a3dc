"""The columns of a training dataset, as its files and readers need them.

One feature dict per column, recorded in the catalog and in ``_schema.json`` beside the files::

    {"name": "band_1", "type": "list<float>", "kind": "float", "dims": [5625],
     "shape": [75, 75], "nullable": false, "label": false}

``type`` is the canonical Arrow type (``eolab.featurestore.schema``); ``kind`` is how a
``tf.train.Example`` holds it (``float``, ``int64``, ``bytes``; None for structs and maps);
``dims`` are the array lengths per nesting level, the same in every row (``[]`` for scalars,
``[-1]`` for one-level arrays of varying length); ``shape`` is the tensor shape readers give
each value: ``dims``, unless ``feature_shapes`` asked for another shape of the same size
(``{"band_1": [75, 75]}`` turns 5,625 floats into a 75×75 image). ``nullable`` says whether
the data holds nulls.

The dims and null counts come from one profile pass over the data: pyarrow compute on the
python engine, one ``agg`` on the spark engine.
"""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from eolab.errors import InvalidInput, ValidationFailed
from eolab.featurestore import schema as fschema

FORMATS = ("tfrecords", "parquet", "csv", "tsv", "npy")
_ALIASES = {"tfrecord": "tfrecords"}


def check_format(value: Any) -> str:
    """hsfs' ``data_format`` (``tfrecord`` is taken for ``tfrecords``)."""
    name = _ALIASES.get(value, value) if isinstance(value, str) else value
    if name not in FORMATS:
        raise InvalidInput(
            f"data_format must be one of {list(FORMATS)} (or 'tfrecord'), got {value!r}",
            details={"field": "data_format"},
        )
    return name


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def depth_of(t: pa.DataType) -> int:
    depth = 0
    while _is_list(t):
        t, depth = t.value_type, depth + 1
    return depth


def leaf_of(t: pa.DataType) -> pa.DataType:
    while _is_list(t):
        t = t.value_type
    return t


def kind_of(t: pa.DataType) -> str | None:
    """How a ``tf.train.Example`` holds values of (the leaf of) ``t``."""
    leaf, types = leaf_of(t), pa.types
    if types.is_floating(leaf):
        return "float"
    if types.is_integer(leaf) or types.is_boolean(leaf):
        return "int64"
    if types.is_timestamp(leaf) or types.is_date(leaf):
        return "int64"
    if types.is_string(leaf) or types.is_binary(leaf) or types.is_decimal(leaf):
        return "bytes"
    return None


# ---- profile ----------------------------------------------------------------------------------


def profile(frame: Any, schema: pa.Schema) -> dict[str, Any]:
    """Rows, and per column: nulls, (min, max) array length per level, null elements."""
    if fschema.is_spark(frame):
        return _spark_profile(frame, schema)
    columns = {}
    for field in schema:
        column = frame.column(field.name)
        levels, element_nulls, values = [], 0, column
        for level in range(depth_of(field.type)):
            if level:
                element_nulls += values.null_count
            bounds = pc.min_max(pc.list_value_length(values)).as_py()
            levels.append([bounds["min"], bounds["max"]])
            values = pc.list_flatten(values)
        if levels:
            element_nulls += values.null_count
        columns[field.name] = {
            "nulls": column.null_count,
            "levels": levels,
            "element_nulls": element_nulls,
        }
    return {"rows": frame.num_rows, "columns": columns}


def _spark_profile(df: Any, schema: pa.Schema) -> dict[str, Any]:
    from pyspark.sql import functions as F

    exprs = [F.count(F.lit(1)).alias("rows")]
    plan: dict[str, int] = {}
    for i, field in enumerate(schema):
        column = F.col(f"`{field.name}`")
        exprs.append(F.sum(F.when(column.isNull(), 1).otherwise(0)).alias(f"n{i}"))
        depth = depth_of(field.type)
        plan[field.name] = depth
        elements, nulls = column, []
        for level in range(depth):
            if level == 0:
                low = high = F.when(column.isNotNull(), F.size(column))
            else:
                sizes = F.transform(elements, lambda x: F.size(x))
                low, high = F.array_min(sizes), F.array_max(sizes)
                nulls.append(F.size(F.filter(elements, lambda x: x.isNull())))
                elements = F.flatten(elements)
            exprs += [F.min(low).alias(f"lo{i}_{level}"), F.max(high).alias(f"hi{i}_{level}")]
        if depth:
            nulls.append(F.size(F.filter(elements, lambda x: x.isNull())))
            total = nulls[0]
            for more in nulls[1:]:
                total = total + more
            exprs.append(F.sum(F.coalesce(total, F.lit(0))).alias(f"e{i}"))
    found = df.agg(*exprs).first()
    columns = {}
    for i, field in enumerate(schema):
        depth = plan[field.name]
        columns[field.name] = {
            "nulls": int(found[f"n{i}"] or 0),
            "levels": [[found[f"lo{i}_{k}"], found[f"hi{i}_{k}"]] for k in range(depth)],
            "element_nulls": int(found[f"e{i}"] or 0) if depth else 0,
        }
    return {"rows": int(found["rows"]), "columns": columns}


# ---- features ---------------------------------------------------------------------------------


def _dims(levels: list[list[Any]]) -> list[int] | None:
    if not levels:
        return []
    if all(lo is not None and lo == hi for lo, hi in levels):
        return [int(lo) for lo, _ in levels]
    return [-1] if len(levels) == 1 else None


def _shape(name: str, given: Any, dims: list[int] | None) -> list[int]:
    if (
        not isinstance(given, list | tuple)
        or not given
        or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in given)
    ):
        raise InvalidInput(
            f"feature_shapes[{name!r}] must be a list of positive integers, got {given!r}",
            details={"field": "feature_shapes", "column": name},
        )
    if not dims or dims is None or -1 in dims:
        raise InvalidInput(
            f"feature_shapes[{name!r}] reshapes arrays of one fixed length, but {name!r} "
            + ("is a scalar" if dims == [] else "has arrays of varying lengths"),
            details={"field": "feature_shapes", "column": name},
        )
    if math.prod(given) != math.prod(dims):
        raise InvalidInput(
            f"feature_shapes[{name!r}] = {list(given)} holds {math.prod(given)} values, but "
            f"{name!r} has {math.prod(dims)} per row (dims {dims})",
            details={"field": "feature_shapes", "column": name},
        )
    return [int(d) for d in given]


def describe(
    schema: pa.Schema,
    found: dict[str, Any],
    label: list[str],
    feature_shapes: dict[str, Any] | None,
) -> list[dict[str, Any]]:
    """The feature dicts of data with ``schema`` and profile ``found``."""
    shapes = dict(feature_shapes or {})
    unknown = [n for n in list(shapes) + label if n not in schema.names]
    if unknown:
        what = "label" if unknown[0] in label else "feature_shapes"
        raise InvalidInput(
            f"{what} names {unknown[0]!r}, which is not a column of the data "
            f"(columns: {schema.names})",
            details={"field": what, "column": unknown[0]},
        )
    features = []
    for field in schema:
        column = found["columns"][field.name]
        dims = _dims(column["levels"])
        shape = _shape(field.name, shapes[field.name], dims) if field.name in shapes else dims
        features.append(
            {
                "name": field.name,
                "type": fschema.type_name(field.type),
                "kind": kind_of(field.type),
                "dims": dims,
                "shape": shape,
                "nullable": column["nulls"] > 0,
                "label": field.name in label,
                "element_nulls": column["element_nulls"],
            }
        )
    return features


def check_for_format(features: list[dict[str, Any]], data_format: str) -> list[dict[str, Any]]:
    """Refuse columns ``data_format`` cannot hold; the features without profile-only keys."""
    for f in features:
        name, array = f["name"], f["dims"] != []
        if data_format in ("tfrecords", "npy"):
            if f["kind"] is None:
                raise InvalidInput(
                    f"column {name!r} has type {f['type']}; {data_format} holds numbers, "
                    "strings and arrays of them: use parquet (or csv) for it, or leave it out",
                    details={"column": name, "format": data_format},
                )
            if array and f["element_nulls"]:
                raise InvalidInput(
                    f"column {name!r} has {f['element_nulls']} null element(s) inside its "
                    f"arrays, which {data_format} cannot hold: fill them (e.g. with NaN) or use "
                    "parquet",
                    details={"column": name, "format": data_format},
                )
            if f["dims"] is None or (data_format == "npy" and -1 in f["dims"]):
                raise InvalidInput(
                    f"column {name!r} has arrays of varying lengths; {data_format} needs "
                    + (
                        "one length per nesting level"
                        if data_format == "tfrecords"
                        else "arrays of one shape to stack"
                    )
                    + ": pad them, or use parquet",
                    details={"column": name, "format": data_format},
                )
    return [{k: v for k, v in f.items() if k != "element_nulls"} for f in features]


def merge(old: list[dict[str, Any]], new: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
    """The features after appending data described by ``new`` to data described by ``old``."""
    by_name = {f["name"]: f for f in new}
    missing = [f["name"] for f in old if f["name"] not in by_name]
    extra = [n for n in by_name if n not in {f["name"] for f in old}]
    if missing or extra:
        raise ValidationFailed(
            f"the data's columns differ from those of {what}: missing {missing}, extra {extra}",
            details={"missing": missing, "extra": extra},
        )
    merged = []
    for f in old:
        g = by_name[f["name"]]
        if g["type"] != f["type"]:
            raise ValidationFailed(
                f"column {f['name']!r} has type {g['type']}, but {what} holds {f['type']}",
                details={"column": f["name"], "expected": f["type"], "given": g["type"]},
            )
        if f["dims"] != g["dims"] and not (f["dims"] == [-1] and g["dims"] is not None):
            raise ValidationFailed(
                f"column {f['name']!r} has arrays of dims {g['dims']}, but {what} holds "
                f"{f['dims']}",
                details={"column": f["name"], "expected": f["dims"], "given": g["dims"]},
            )
        merged.append({**f, "nullable": f["nullable"] or g["nullable"]})
    return merged


def arrow_schema(features: list[dict[str, Any]]) -> pa.Schema:
    """The Arrow schema of data with these features."""
    return pa.schema([pa.field(f["name"], fschema.parse_type(f["type"])) for f in features])
