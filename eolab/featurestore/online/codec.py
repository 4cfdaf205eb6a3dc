"""How an online-store row is encoded, shared by every backend.

A row is stored as **one compact JSON array** of its values, in the order of the table's
columns (``[3, "ship", 1.5, NaN, null, [0.1, 0.2]]``); the column names, the primary key and
each column's *kind* live once per table in a schema, never in the rows. JSON is chosen
because ``json.loads`` of a short array is a few microseconds in CPython (C accelerated, no
dependency), and it keeps what the brief needs: ints stay ints (``1`` vs ``1.0``), ``NaN``
stays ``NaN`` (written as the ``NaN`` token, which Python's json reads back), ``None`` stays
``null``. Values JSON cannot hold, or holds slowly, are written in a plain form and turned
back by the column's kind on read:

=============  ======================================  ===================================
kind           stored as                               read back as
=============  ======================================  ===================================
``value``      the JSON value itself                   int/float/bool/str/list/dict
``array``      numeric arrays packed (below), other    ndarray (same dtype and shape) or
               lists as JSON lists                     list, as it was written
``timestamp``  int since the epoch, in ``unit``        ``pandas.Timestamp`` (with tz)
``timedelta``  int in ``unit``                         ``pandas.Timedelta``
``date``       ISO string                              ``datetime.date``
``bytes``      base64 string                           ``bytes``
``decimal``    string                                  ``decimal.Decimal``
``null``       (no value seen yet: the first write     as stored
               with values sets the kind)
=============  ======================================  ===================================

Packed arrays: parsing thousands of floats from JSON text is what makes a row slow to read
(a SAR chip row of 2×75×75 floats takes ~4 ms as JSON), so numeric arrays travel as raw bytes.
A row that holds any is stored as bytes: ``0x00``, the length of its JSON (4 bytes,
little-endian), the JSON, then the arrays' bytes; in the JSON each array is a placeholder
``{"$a": [dtype, shape, offset, nbytes, as_list]}`` (only ``array`` columns are looked at, and
they hold no dicts of their own, so a placeholder is never confused with a value). Numeric
ndarrays are always packed and read back as ndarrays of the same dtype and shape; lists of at
least 16 Python floats are packed and read back as lists; both bit-exact, NaN included.
Lists holding ``None`` (or ints, or nested lists) stay JSON lists, so ``None`` inside a list
survives too. A row without arrays is plain JSON text (it starts with ``[``).

Columns are only ever appended to a table's schema, so an older (shorter) row reads back with
``None`` for the newer columns. A column's kind cannot change once written; a timestamp
written in another unit is converted to the stored one.

Primary-key values are normalised the same way on write and on lookup (numpy scalars to
Python, integral floats and booleans to ints, timestamps to UTC ISO strings), so that
``get({"id": np.int64(3)})`` finds the row written with ``3``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from eolab.errors import InvalidInput

TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,127}$")
KINDS = ("value", "array", "timestamp", "timedelta", "date", "bytes", "decimal", "null")


def check_table_name(table: str) -> str:
    """``table`` if it is a valid table key (a letter, then letters, digits, ``_``)."""
    if not isinstance(table, str) or not TABLE_NAME.match(table):
        raise InvalidInput(
            f"online table key must match {TABLE_NAME.pattern}, got {table!r}",
            details={"table": table},
        )
    return table


# ---- values ---------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    """What json cannot encode by itself, found inside ``value`` columns."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, dt.date):  # datetime and pandas.Timestamp too
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"a value of type {type(value).__name__} cannot be stored online")


PACK_MIN = 16  # float lists shorter than this stay plain JSON (as small, as fast)
FRAMED = 0  # first byte of a row that carries a binary tail (a JSON row starts with "[")
_ARRAY = "$a"  # the placeholder key of a packed array inside a framed row's JSON


class Packed:
    """A numeric array to store as raw bytes in the row's binary tail."""

    __slots__ = ("array", "as_list")

    def __init__(self, array: np.ndarray, as_list: bool) -> None:
        self.array = array if array.flags.c_contiguous else array.copy(order="C")
        self.as_list = as_list


def pack_array(value: Any) -> Any:
    """A value of an ``array`` column, ready to encode: numeric arrays become :class:`Packed`.

    A numeric ndarray reads back as an ndarray of the same dtype and shape; a list of at least
    ``PACK_MIN`` floats reads back as a list. Lists holding None, ints or nested lists stay
    JSON lists.
    """
    if isinstance(value, np.ndarray):
        return Packed(value, False) if value.dtype.kind in "biuf" else value.tolist()
    if type(value) is list and len(value) >= PACK_MIN and all(type(x) is float for x in value):
        return Packed(np.array(value, dtype="<f8"), True)
    return value


def _unpack(ref: dict, tail: memoryview) -> Any:
    dtype, shape, offset, nbytes, as_list = ref[_ARRAY]
    dtype = np.dtype(dtype)
    flat = np.frombuffer(tail, dtype, nbytes // dtype.itemsize, offset)
    if as_list:
        return flat.tolist()
    return flat.reshape(shape).copy()  # a writable array that owns its memory


def _arrow_lists(col: pa.ChunkedArray | pa.Array) -> list:
    """A list<float> column's values, packed straight from Arrow's buffers (no copies)."""
    out: list = []
    for chunk in col.chunks if isinstance(col, pa.ChunkedArray) else [col]:
        child = chunk.values
        if child.null_count or not pa.types.is_floating(child.type):
            out += chunk.to_pylist()  # null elements or ints: plain JSON lists
            continue
        flat = child.to_numpy()
        offsets = chunk.offsets.to_numpy()
        valid = chunk.is_valid().to_numpy(zero_copy_only=False)
        for i in range(len(chunk)):
            lo, hi = offsets[i], offsets[i + 1]
            if not valid[i]:
                out.append(None)
            elif hi - lo < PACK_MIN:
                out.append(flat[lo:hi].tolist())
            else:
                out.append(Packed(flat[lo:hi], True))
    return out


_ENCODER = json.JSONEncoder(
    separators=(",", ":"), default=_json_default, check_circular=False, allow_nan=True
)
encode_row: Callable[[Sequence[Any]], str] = _ENCODER.encode
decode_row: Callable[[str | bytes], list[Any]] = json.loads


@dataclass
class ColumnSpec:
    """One column of an online table: its name, kind, and the pandas dtype it had."""

    name: str
    kind: str = "value"
    dtype: str = "object"
    unit: str | None = None
    tz: str | None = None

    def decoder(self) -> Callable[[Any], Any] | None:
        """The function that turns the stored JSON value back (None: no conversion)."""
        if self.kind == "timestamp":
            unit, tz = self.unit or "ns", self.tz
            return lambda v: pd.Timestamp(v, unit=unit, tz=tz)
        if self.kind == "timedelta":
            unit = self.unit or "ns"
            return lambda v: pd.Timedelta(v, unit=unit)
        if self.kind == "date":
            return dt.date.fromisoformat
        if self.kind == "bytes":
            return base64.b64decode
        if self.kind == "decimal":
            return Decimal
        return None


@dataclass
class TableSchema:
    """The primary key and columns of one online table (stored once per table)."""

    primary_key: list[str]
    columns: list[ColumnSpec]
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)
    decoders: tuple[tuple[str, Callable[[Any], Any]], ...] = field(
        init=False, repr=False, compare=False
    )
    arrays: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.names = tuple(c.name for c in self.columns)
        self.arrays = tuple(i for i, c in enumerate(self.columns) if c.kind == "array")
        self.decoders = tuple((c.name, fn) for c in self.columns if (fn := c.decoder()) is not None)

    # -- persistence
    def to_json(self) -> str:
        return json.dumps(
            {"primary_key": self.primary_key, "columns": [asdict(c) for c in self.columns]}
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> TableSchema:
        raw = json.loads(text)
        return cls(raw["primary_key"], [ColumnSpec(**c) for c in raw["columns"]])

    # -- rows
    def values(self, blob: str | bytes) -> list[Any]:
        """The stored values of one row, packed arrays unpacked."""
        if type(blob) is str or blob[0] != FRAMED:
            return decode_row(blob)
        size = int.from_bytes(blob[1:5], "little")
        values = decode_row(blob[5 : 5 + size])
        tail = memoryview(blob)[5 + size :]
        for i in self.arrays:
            if i < len(values) and type(values[i]) is dict:
                values[i] = _unpack(values[i], tail)
        return values

    def decode(self, blob: str | bytes) -> dict[str, Any] | None:
        """The row dict of a stored blob; None when the blob has columns this schema lacks."""
        values = self.values(blob)
        names = self.names
        if len(values) != len(names):
            if len(values) > len(names):
                return None  # written by a newer schema: the caller reloads it
            values += [None] * (len(names) - len(values))
        row = dict(zip(names, values, strict=True))
        for name, fn in self.decoders:
            v = row[name]
            if v is not None:
                row[name] = fn(v)
        return row

    def encode(self, row: Sequence[Any]) -> str | bytes:
        """One row (values in this schema's order) as stored.

        Plain JSON text when it holds no packed array; otherwise ``FRAMED``, the JSON's length
        (4 bytes, little-endian), the JSON (each packed array replaced by
        ``{"$a": [dtype, shape, offset, nbytes, as_list]}``) and the arrays' raw bytes.
        """
        packed = [i for i in self.arrays if type(row[i]) is Packed]
        if not packed:
            return encode_row(row)
        row = list(row)
        tail, offset = [], 0
        for i in packed:
            a = row[i].array
            row[i] = {_ARRAY: [a.dtype.str, list(a.shape), offset, a.nbytes, row[i].as_list]}
            tail.append(a.data)
            offset += a.nbytes
        text = encode_row(row).encode()
        return b"".join([bytes([FRAMED]), len(text).to_bytes(4, "little"), text, *tail])

    def merged(self, primary_key: list[str], specs: list[ColumnSpec]) -> TableSchema:
        """This schema with the columns of a new write appended (kinds must agree)."""
        if list(primary_key) != self.primary_key:
            raise InvalidInput(
                f"online table has primary key {self.primary_key}, the write gives "
                f"{list(primary_key)}",
                details={"expected": self.primary_key, "given": list(primary_key)},
            )
        known = {c.name: c for c in self.columns}
        columns = list(self.columns)
        for spec in specs:
            old = known.get(spec.name)
            if old is None:
                columns.append(spec)
            elif old.kind == "null":  # only nulls so far: the first real values decide
                columns[columns.index(old)] = spec
            elif spec.kind not in ("null", old.kind):
                raise InvalidInput(
                    f"column {spec.name!r} of the online table holds {old.kind} values; "
                    f"the write gives {spec.kind} values",
                    details={"column": spec.name, "expected": old.kind, "given": spec.kind},
                )
            # same kind: the stored unit and tz stay (EncodedFrame.blobs rescales)
        return TableSchema(list(primary_key), columns)

    def frame(self, blobs: list[str | bytes]) -> pd.DataFrame:
        """The stored blobs as a DataFrame with this schema's columns and dtypes."""
        n = len(self.names)
        if all(type(b) is str for b in blobs):
            rows = decode_row("[" + ",".join(blobs) + "]")  # one parse for all rows
        elif all(type(b) is bytes and b[:1] == b"[" for b in blobs):
            rows = decode_row(b"[" + b",".join(blobs) + b"]")
        else:
            rows = [self.values(b) for b in blobs]
        rows = [r if len(r) == n else (r + [None] * n)[:n] for r in rows]
        columns = list(zip(*rows, strict=True)) if rows else [()] * n
        data = {
            c.name: _restore(c, list(values))
            for c, values in zip(self.columns, columns, strict=True)
        }
        return pd.DataFrame(data, columns=list(self.names))


_NUMPY_DTYPES = {
    "bool",
    *(f"int{b}" for b in (8, 16, 32, 64)),
    *(f"uint{b}" for b in (8, 16, 32, 64)),
    "float16",
    "float32",
    "float64",
}


def _restore(spec: ColumnSpec, values: list[Any]) -> pd.Series:
    """One column of ``read_all``: decoded values, in the dtype the column was written with."""
    if spec.kind in ("timestamp", "timedelta"):
        unit = spec.unit or "ns"
        arrow = pa.timestamp(unit, spec.tz) if spec.kind == "timestamp" else pa.duration(unit)
        series = pa.array(values, pa.int64()).cast(arrow).to_pandas()
    else:
        fn = spec.decoder()
        if fn is not None:
            values = [None if v is None else fn(v) for v in values]
        series = pd.Series(values, dtype=object) if not values else pd.Series(values)
    if str(series.dtype) != spec.dtype:
        if spec.dtype in _NUMPY_DTYPES and series.isna().any() and spec.dtype[0] != "f":
            return series  # ints or bools with nulls (from older rows) stay as inferred
        with contextlib.suppress(TypeError, ValueError):
            series = series.astype(spec.dtype)
    return series


# ---- data frames → columns --------------------------------------------------------------------


def _is_missing(v: Any) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v))


def _arrow_column(
    name: str, col: pa.ChunkedArray | pa.Array, dtype: str
) -> tuple[ColumnSpec, list]:
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_timestamp(t):
        return ColumnSpec(name, "timestamp", dtype, t.unit, t.tz), col.cast(pa.int64()).to_pylist()
    if pa.types.is_duration(t):
        return ColumnSpec(name, "timedelta", dtype, t.unit), col.cast(pa.int64()).to_pylist()
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and (
        pa.types.is_floating(t.value_type) or pa.types.is_integer(t.value_type)
    ):
        return ColumnSpec(name, "array", dtype), _arrow_lists(col)
    values = col.to_pylist()
    if pa.types.is_date(t):
        return ColumnSpec(name, "date", dtype), [
            None if v is None else v.isoformat() for v in values
        ]
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return ColumnSpec(name, "bytes", dtype), [
            None if v is None else base64.b64encode(v).decode("ascii") for v in values
        ]
    if pa.types.is_decimal(t):
        return ColumnSpec(name, "decimal", dtype), [None if v is None else str(v) for v in values]
    if t == pa.null():
        return ColumnSpec(name, "null", dtype), values
    return ColumnSpec(name, "value", dtype), values


def _pandas_column(name: str, ser: pd.Series) -> tuple[ColumnSpec, list]:
    dtype = ser.dtype
    dname = str(dtype)
    if dtype.kind in "mM" or isinstance(dtype, pd.ArrowDtype):
        return _arrow_column(name, pa.array(ser), dname)
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return ColumnSpec(name, "value", dname), ser.tolist()
    if isinstance(dtype, pd.StringDtype):
        return ColumnSpec(name, "value", dname), [
            v if isinstance(v, str) else None for v in ser.tolist()
        ]
    if isinstance(dtype, pd.CategoricalDtype):
        ser = ser.astype(object)
    values = ser.tolist()
    if not (
        isinstance(dtype, np.dtype) and dtype.kind == "O"
    ):  # nullable Int64/boolean/Float64 and other extension dtypes
        return ColumnSpec(name, "value", dname), [None if v is pd.NA else v for v in values]
    present = [v for v in values if not _is_missing(v)]
    if not present:
        return ColumnSpec(name, "null", dname), values
    first = present[0]
    if all(isinstance(v, (list, tuple, np.ndarray)) for v in present):
        return ColumnSpec(name, "array", dname), [
            None if v is None else pack_array(v) for v in values
        ]
    if isinstance(first, (bytes, bytearray, memoryview)):
        return ColumnSpec(name, "bytes", dname), [
            None if _is_missing(v) else base64.b64encode(bytes(v)).decode("ascii") for v in values
        ]
    if isinstance(first, dt.date) and not isinstance(first, dt.datetime):
        return ColumnSpec(name, "date", dname), [
            None if _is_missing(v) else v.isoformat() for v in values
        ]
    if isinstance(first, Decimal):
        return ColumnSpec(name, "decimal", dname), [
            None if _is_missing(v) else str(v) for v in values
        ]
    return ColumnSpec(name, "value", dname), values


@dataclass
class EncodedFrame:
    """A frame split into what a backend stores: column specs, key tuples, column values."""

    specs: list[ColumnSpec]
    keys: list[tuple]
    values: dict[str, list]
    num_rows: int

    def blobs(self, schema: TableSchema) -> list[str | bytes]:
        """One encoded row per input row, in ``schema``'s column order."""
        missing = [None] * self.num_rows
        mine = {spec.name: spec for spec in self.specs}
        columns = []
        for col in schema.columns:
            values = self.values.get(col.name, missing)
            spec = mine.get(col.name)
            if spec is not None and spec.unit and col.unit and spec.unit != col.unit:
                values = _rescale(values, spec.unit, col.unit)
            columns.append(values)
        try:
            return [schema.encode(row) for row in zip(*columns, strict=True)]
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"row cannot be stored online: {exc}") from exc


_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _rescale(values: list, unit: str, to: str) -> list:
    """Integer times in ``unit`` as integers in ``to`` (truncated toward the past)."""
    a, b = _PER_SECOND[unit], _PER_SECOND[to]
    if b >= a:
        return [None if v is None else v * (b // a) for v in values]
    return [None if v is None else v // (a // b) for v in values]


def _columns_of(data: Any) -> tuple[list[str], int]:
    if isinstance(data, pd.DataFrame):
        names = list(data.columns)
        count = len(data)
    elif isinstance(data, (pa.Table, pa.RecordBatch)):
        names = list(data.column_names)
        count = data.num_rows
    else:
        raise InvalidInput(
            f"online store expects a pandas.DataFrame or pyarrow.Table, got {type(data).__name__}"
        )
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise InvalidInput(f"column names must be strings, got {bad!r}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InvalidInput(f"duplicate column names {dupes}")
    return names, count


def _check_primary_key(primary_key: Sequence[str], names: Sequence[str], what: str) -> list[str]:
    if isinstance(primary_key, str):
        primary_key = [primary_key]
    primary_key = list(primary_key or [])
    if not primary_key:
        raise InvalidInput("an online table needs a primary key (at least one column)")
    for col in primary_key:
        if col not in names:
            raise InvalidInput(
                f"primary key column {col!r} is missing from the {what}; it has {list(names)}",
                details={"column": col},
            )
    return primary_key


def encode_frame(data: Any, primary_key: Sequence[str]) -> EncodedFrame:
    """Split ``data`` (pandas or Arrow) into column specs, normalised keys and values."""
    names, num_rows = _columns_of(data)
    primary_key = _check_primary_key(primary_key, names, "data")
    specs: list[ColumnSpec] = []
    values: dict[str, list] = {}
    raw_keys: dict[str, list] = {}
    if isinstance(data, pd.DataFrame):
        for name in names:
            ser = data[name]
            spec, vals = _pandas_column(name, ser)
            specs.append(spec)
            values[name] = vals
            if name in primary_key:
                raw_keys[name] = ser.tolist()
    else:
        dtypes = data.schema.empty_table().to_pandas().dtypes
        for name in names:
            col = data.column(name)
            spec, vals = _arrow_column(name, col, str(dtypes[name]))
            specs.append(spec)
            values[name] = vals
            if name in primary_key:
                raw_keys[name] = col.to_pylist()
    columns = [raw_keys[k] for k in primary_key]
    keys = [
        tuple(_key_value(v, primary_key[i], row) for i, v in enumerate(key_row))
        for row, key_row in enumerate(zip(*columns, strict=True))
    ]
    return EncodedFrame(specs, keys, values, num_rows)


def encode_keys(data: Any, primary_key: list[str]) -> list[tuple]:
    """The normalised key tuples of ``data``'s primary-key columns (for deletes)."""
    names, _ = _columns_of(data)
    _check_primary_key(primary_key, names, "keys")
    if isinstance(data, pd.DataFrame):
        columns = [data[k].tolist() for k in primary_key]
    else:
        columns = [data.column(k).to_pylist() for k in primary_key]
    return [
        tuple(_key_value(v, primary_key[i], row) for i, v in enumerate(key_row))
        for row, key_row in enumerate(zip(*columns, strict=True))
    ]


# ---- primary keys ----------------------------------------------------------------------------


def _key_value(v: Any, column: str, row: int | None = None) -> int | float | str | bytes:
    """A primary-key value as stored: int, float, str or bytes; missing ones are refused."""
    tv = type(v)
    if tv is int or tv is str:
        return v
    if _is_missing(v):
        where = f" in row {row}" if row is not None else ""
        raise InvalidInput(
            f"primary key column {column!r} is null{where}",
            details={"column": column, "row": row},
        )
    if isinstance(v, np.generic):
        return _key_value(v.item(), column, row)
    if isinstance(v, (bool, int)):
        return int(v)
    if isinstance(v, float):
        return int(v) if v.is_integer() else v
    if isinstance(v, str):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, dt.datetime):
        ts = pd.Timestamp(v)
        if ts.tz is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return ts.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return _key_value(float(v), column, row)
    raise InvalidInput(
        f"primary key column {column!r} has a value of type {tv.__name__}; expected an int, "
        f"float, string, bytes, date or timestamp",
        details={"column": column, "row": row},
    )


def entry_key(entry: dict[str, Any], primary_key: list[str]) -> tuple:
    """The normalised key tuple of a lookup entry ``{pk: value, ...}``."""
    try:
        return tuple([_key_value(entry[k], k) for k in primary_key])
    except KeyError as exc:
        raise InvalidInput(
            f"lookup entry lacks primary key column {exc.args[0]!r}; expected {primary_key}, "
            f"got {sorted(entry) if isinstance(entry, dict) else entry!r}",
            details={"column": exc.args[0]},
        ) from None
    except TypeError:
        raise InvalidInput(
            f"lookup entry must be a dict of {primary_key}, got {type(entry).__name__}"
        ) from None
