"""The file formats of training datasets: one part writer and one part reader per format.

Each writing task (the python engine's single writer, or one Spark task) streams its rows of a
split into its own ``part-<uuid>.<ext>`` file in the split's folder:

- ``tfrecords`` (``.tfrecord``): ``tf.train.Example`` records (:mod:`eolab.featurestore.tfrecord`);
  arrays as flat lists, their shape in ``_schema.json``; floats as float32, a null as an absent
  feature.
- ``parquet`` (``.parquet``): the Arrow table as is.
- ``csv`` / ``tsv`` (``.csv`` / ``.tsv``): a header line; null is an empty field, NaN is
  ``nan``, an empty string is ``""``; arrays, structs and maps are JSON text (NaN as ``NaN``),
  binaries base64.
- ``npy`` (``.npz``): one stacked array per column (``(rows, *dims)``), plus ``<column>.null``
  (a boolean mask) for columns holding nulls (their slots hold 0, NaN or ``""``).

Readers give back Arrow tables of the dataset's schema.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eolab.featurestore import tfrecord

EXTENSIONS = {
    "tfrecords": "tfrecord",
    "parquet": "parquet",
    "csv": "csv",
    "tsv": "tsv",
    "npy": "npz",
}
DELIMITERS = {"csv": ",", "tsv": "\t"}


def part_files(folder: Path, data_format: str) -> list[Path]:
    """The part files of one split folder, in name order."""
    return sorted(folder.glob(f"part-*.{EXTENSIONS[data_format]}"))


# ---- writers ----------------------------------------------------------------------------------


class PartWriter:
    """Streams tables into one part file; ``close`` finishes it."""

    def __init__(self, path: str, features: list[dict[str, Any]], schema: pa.Schema) -> None:
        self.path, self.features, self.schema = path, features, schema

    def write(self, table: pa.Table) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class TFRecordPart(PartWriter):
    def __init__(self, path: str, features: list[dict[str, Any]], schema: pa.Schema) -> None:
        super().__init__(path, features, schema)
        self.writer = tfrecord.tfrecord_writer(path)

    def write(self, table: pa.Table) -> None:
        write = self.writer.write
        for record in tfrecord.serialize_examples(table, self.features):
            write(record)

    def close(self) -> None:
        self.writer.close()


class ParquetPart(PartWriter):
    def __init__(self, path: str, features: list[dict[str, Any]], schema: pa.Schema) -> None:
        import pyarrow.parquet as pq

        super().__init__(path, features, schema)
        self.writer = pq.ParquetWriter(path, schema, compression="snappy")

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table)

    def close(self) -> None:
        self.writer.close()


def _is_text_encoded(t: pa.DataType) -> bool:
    return pa.types.is_nested(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return value  # json writes NaN / Infinity, which json.loads reads back
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], tuple) and len(value[0]) == 2:  # map entries
            return [[_json_value(k), _json_value(v)] for k, v in value]
        return [_json_value(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value if not hasattr(value, "as_tuple") else str(value)


def text_columns(table: pa.Table) -> pa.Table:
    """Arrays, structs and maps as JSON text, binaries as base64 (CSV holds text only)."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            column = pa.array(
                [None if v is None else base64.b64encode(v).decode() for v in column.to_pylist()],
                pa.string(),
            )
        elif pa.types.is_nested(field.type):
            column = pa.array(
                [None if v is None else json.dumps(_json_value(v)) for v in column.to_pylist()],
                pa.string(),
            )
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


class CsvPart(PartWriter):
    def __init__(self, path: str, features: list[dict[str, Any]], schema: pa.Schema) -> None:
        import pyarrow.csv as csv

        super().__init__(path, features, schema)
        self.delimiter = DELIMITERS["tsv" if path.endswith(".tsv") else "csv"]
        text_schema = pa.schema(
            [pa.field(f.name, pa.string()) if _is_text_encoded(f.type) else f for f in schema]
        )
        options = csv.WriteOptions(delimiter=self.delimiter)
        self.writer = csv.CSVWriter(path, text_schema, write_options=options)

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(text_columns(table))

    def close(self) -> None:
        self.writer.close()


def stacked(column: pa.Array, feature: dict[str, Any]) -> tuple[np.ndarray, np.ndarray | None]:
    """One column as a stacked numpy array (rows, *dims), and its null mask (None: no nulls)."""
    mask = None
    if column.null_count:
        mask = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    t = column.type
    depth = len(feature["dims"])
    values = column
    for _ in range(depth):
        values = pc.list_flatten(values)
    leaf = values.type
    if pa.types.is_floating(leaf):
        data = values.to_numpy(zero_copy_only=False)
    elif pa.types.is_string(leaf) or pa.types.is_large_string(leaf):
        data = np.array(values.fill_null("").to_pylist(), dtype=str)
    elif pa.types.is_binary(leaf) or pa.types.is_large_binary(leaf):
        data = np.array(values.fill_null(b"").to_pylist(), dtype=bytes)
    elif pa.types.is_decimal(leaf):
        data = np.array(values.cast(pa.string()).fill_null("").to_pylist(), dtype=str)
    elif pa.types.is_timestamp(leaf):
        data = values.cast(pa.timestamp("us", tz=leaf.tz)).cast(pa.int64()).fill_null(0)
        data = data.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    elif pa.types.is_date(leaf):
        data = values.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
        data = data.astype("datetime64[D]")
    else:  # integers, booleans
        data = values.fill_null(0 if not pa.types.is_boolean(leaf) else False)
        data = data.to_numpy(zero_copy_only=False)
    if depth:
        valid_rows = len(column) - column.null_count
        data = data.reshape((valid_rows, *feature["dims"]))
        if mask is not None:  # null rows: zeros of the row shape, in their places
            full = np.zeros((len(column), *feature["dims"]), dtype=data.dtype)
            full[~mask] = data
            data = full
    elif mask is not None and pa.types.is_floating(t):
        data = np.where(mask, np.nan, data)
    return data, mask


class NpyPart(PartWriter):
    """Collects the task's rows of a split and saves them stacked when closed."""

    def __init__(self, path: str, features: list[dict[str, Any]], schema: pa.Schema) -> None:
        super().__init__(path, features, schema)
        self.tables: list[pa.Table] = []

    def write(self, table: pa.Table) -> None:
        self.tables.append(table)

    def close(self) -> None:
        table = pa.concat_tables(self.tables)
        arrays: dict[str, np.ndarray] = {}
        for feature in self.features:
            data, mask = stacked(table.column(feature["name"]).combine_chunks(), feature)
            arrays[feature["name"]] = data
            if mask is not None:
                arrays[f"{feature['name']}.null"] = mask
        with open(self.path, "wb") as f:
            np.savez(f, **arrays)


WRITERS = {
    "tfrecords": TFRecordPart,
    "parquet": ParquetPart,
    "csv": CsvPart,
    "tsv": CsvPart,
    "npy": NpyPart,
}


def part_writer(data_format: str, path: str, features: list[dict[str, Any]], schema: pa.Schema):
    return WRITERS[data_format](path, features, schema)


# ---- readers ----------------------------------------------------------------------------------


def _from_text(column: pa.Array, t: pa.DataType) -> pa.Array:
    text = column.to_pylist()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pa.array([None if v is None else base64.b64decode(v) for v in text], t)
    values = [None if v is None else json.loads(v) for v in text]
    if pa.types.is_map(t):
        values = [None if v is None else [tuple(e) for e in v] for v in values]
    return pa.array(values, t)


def _read_csv(path: Path, schema: pa.Schema, delimiter: str) -> pa.Table:
    import pyarrow.csv as csv

    types = {f.name: pa.string() if _is_text_encoded(f.type) else f.type for f in schema}
    table = csv.read_csv(
        path,
        parse_options=csv.ParseOptions(delimiter=delimiter),
        convert_options=csv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    columns = [
        _from_text(table.column(f.name).combine_chunks(), f.type)
        if _is_text_encoded(f.type)
        else table.column(f.name)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def _read_npz(path: Path, features: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    columns = []
    with np.load(path, allow_pickle=False) as data:
        for feature in features:
            name, field = feature["name"], schema.field(feature["name"])
            values = data[name]
            mask = data[f"{name}.null"] if f"{name}.null" in data.files else None
            rows = len(values)
            valid = np.ones(rows, dtype=bool) if mask is None else ~mask
            leaf_type = field.type
            while pa.types.is_list(leaf_type):
                leaf_type = leaf_type.value_type
            flat = values[valid].reshape(-1) if feature["dims"] else values[valid]
            if flat.dtype.kind == "M":
                unit = "D" if flat.dtype == np.dtype("datetime64[D]") else "us"
                leaf = pa.array(flat.astype(np.int64))
                leaf = (
                    leaf.cast(pa.int32()).cast(pa.date32())
                    if unit == "D"
                    else leaf.cast(pa.timestamp("us", tz=getattr(leaf_type, "tz", None)))
                )
            else:
                leaf = pa.array(flat.tolist() if flat.dtype.kind in "US" else flat)
            leaf = leaf.cast(leaf_type)
            if feature["dims"]:
                counts = np.full(int(valid.sum()), int(np.prod(feature["dims"])), dtype=np.int64)
                column = tfrecord.nest(leaf, counts, feature["dims"], valid)
            else:
                column = tfrecord.scatter(leaf, valid)
            columns.append(column.cast(field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def read_part(
    data_format: str, path: Path, features: list[dict[str, Any]], schema: pa.Schema
) -> pa.Table:
    """One part file as an Arrow table of ``schema``."""
    if data_format == "tfrecords":
        records = list(tfrecord.read_records(str(path)))
        return tfrecord.examples_to_arrow(records, features, schema)
    if data_format == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path, schema=schema)
    if data_format in DELIMITERS:
        return _read_csv(path, schema, DELIMITERS[data_format])
    return _read_npz(path, features, schema)
