"""Rows to splits by a hash of their key and the seed, identically on every engine.

Each row's *key* is the values of the split key columns (the query's primary key, or the
``primary_key`` given to ``create_training_dataset``; **without either, every column of the
row**, in column order) in a canonical byte encoding: integers and booleans as int64, floats as
float64 (one NaN), timestamps as microseconds since the epoch UTC, dates as days, strings and
binaries with their length, arrays as their length and elements, nulls as a marker. The key is
hashed with BLAKE2b (8-byte digest, keyed by the seed); the top 53 bits give a number ``u`` in
[0, 1), and the row goes to the first split whose cumulative fraction exceeds ``u``.

The same function runs on the python engine and inside Spark tasks (``mapInArrow``), so a
given seed sends the same rows to the same splits on both, and a row keeps its split when rows
are appended later. Split sizes are what the hash gives (close to the fractions, not exact).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from eolab.errors import InvalidInput

SPLIT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
TOLERANCE = 1e-6
MAX_SEED = 2**31


def check_splits(splits: Any) -> dict[str, float] | None:
    """hsfs' ``splits``: None or {} (no split), else ``{name: fraction}`` with positive
    fractions that sum to 1 (within 1e-6)."""
    if splits is None or splits == {}:
        return None
    if not isinstance(splits, dict):
        raise InvalidInput(
            f"splits must be a dict of split name to fraction, e.g. {{'train': 0.8, 'test': 0.2}}, "
            f"got {splits!r}",
            details={"field": "splits"},
        )
    checked: dict[str, float] = {}
    for name, fraction in splits.items():
        if not isinstance(name, str) or not SPLIT_NAME.match(name):
            raise InvalidInput(
                f"split names must match {SPLIT_NAME.pattern}, got {name!r}",
                details={"field": "splits", "split": repr(name)},
            )
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise InvalidInput(
                f"split {name!r} needs a fraction (a number), got {fraction!r}",
                details={"field": "splits", "split": name},
            )
        if not (math.isfinite(fraction) and fraction > 0):
            raise InvalidInput(
                f"split fractions must be positive, got {fraction!r} for {name!r}",
                details={"field": "splits", "split": name},
            )
        checked[name] = float(fraction)
    total = sum(checked.values())
    if abs(total - 1.0) > TOLERANCE:
        raise InvalidInput(
            f"split fractions must sum to 1, got {total:.6g} from {checked}",
            details={"field": "splits", "sum": total},
        )
    return checked


def check_seed(seed: Any) -> int:
    """The seed to record: the given one, or a random one when None (hsfs draws one too)."""
    if seed is None:
        return random.SystemRandom().randrange(MAX_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < MAX_SEED:
        raise InvalidInput(
            f"seed must be an integer in [0, 2**31), got {seed!r}", details={"field": "seed"}
        )
    return seed


# ---- the assignment (run by the python writer and by Spark tasks) --------------------------------------------------


def _tagged(tag: bytes, raw: bytes, size: int, rows: int) -> list[bytes]:
    return [tag + raw[i * size : (i + 1) * size] for i in range(rows)]


def _numbers(array: pa.Array, rows: int) -> list[bytes]:
    t = array.type
    if pa.types.is_floating(t):
        values = array.fill_null(0).to_numpy(zero_copy_only=False).astype("<f8")
        values = np.where(np.isnan(values), np.nan, values)  # one NaN bit pattern
        return _tagged(b"f", values.tobytes(), 8, rows)
    if pa.types.is_timestamp(t):
        array = array.cast(pa.timestamp("us", tz=t.tz)).cast(pa.int64())
        tag = b"t"
    elif pa.types.is_date(t):
        array, tag = array.cast(pa.date32()).cast(pa.int32()), b"d"
    elif pa.types.is_boolean(t):
        array, tag = array.cast(pa.int8()), b"i"
    else:
        tag = b"i"
    values = array.fill_null(0).to_numpy(zero_copy_only=False).astype("<i8")
    return _tagged(tag, values.tobytes(), 8, rows)


def _is_number(t: pa.DataType) -> bool:
    types = pa.types
    return (
        types.is_integer(t)
        or types.is_floating(t)
        or types.is_boolean(t)
        or types.is_timestamp(t)
        or types.is_date(t)
    )


def _numeric_lists(array: pa.Array, rows: int) -> list[bytes] | None:
    """Lists of numbers without null elements: count, then the elements as float64."""
    values = array
    lengths = np.ones(len(array), dtype=np.int64)
    while (
        pa.types.is_list(values.type)
        or pa.types.is_large_list(values.type)
        or (pa.types.is_fixed_size_list(values.type))
    ):
        inner = pc.list_value_length(values).fill_null(0).to_numpy(zero_copy_only=False)
        if values is array:
            lengths = inner.astype(np.int64)
        else:
            ends = np.concatenate(([0], np.cumsum(inner)))
            bounds = np.cumsum(lengths)
            lengths = ends[bounds] - ends[bounds - lengths]
        values = pc.list_flatten(values)
    if not _is_number(values.type) or values.null_count:
        return None
    if pa.types.is_timestamp(values.type) or pa.types.is_date(values.type):
        return None
    data = values.to_numpy(zero_copy_only=False).astype("<f8")
    data = np.where(np.isnan(data), np.nan, data).tobytes()
    ends = np.cumsum(lengths) * 8
    starts = ends - lengths * 8
    return [
        b"l" + int(n).to_bytes(8, "little") + data[s:e]
        for n, s, e in zip(lengths.tolist(), starts.tolist(), ends.tolist(), strict=True)
    ]


def _json(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def column_keys(array: pa.Array) -> list[bytes]:
    """The canonical bytes of every value of one column (see the module docstring)."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    rows, t = len(array), array.type
    if _is_number(t):
        keys = _numbers(array, rows)
    elif (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or (pa.types.is_large_binary(t))
    ):
        raw = [v if isinstance(v, bytes) else v.encode() for v in array.fill_null("").to_pylist()]
        keys = [b"s" + len(v).to_bytes(8, "little") + v for v in raw]
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        keys = _numeric_lists(array, rows) or _json_keys(array)
    else:
        keys = _json_keys(array)
    if array.null_count:
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        keys = [k if ok else b"\x00" for k, ok in zip(keys, valid.tolist(), strict=True)]
    return keys


def _json_keys(array: pa.Array) -> list[bytes]:
    if pa.types.is_decimal(array.type):
        return [b"D" + str(v).encode() + b"\x00" for v in array.to_pylist()]
    return [
        b"j" + json.dumps(_json(v), sort_keys=True, default=str).encode() + b"\x00"
        for v in array.to_pylist()
    ]


def uniform(keys: list[bytes], seed: int) -> np.ndarray:
    """A number in [0, 1) per key: the top 53 bits of its seeded BLAKE2b digest."""
    secret = seed.to_bytes(8, "big")
    digests = b"".join(hashlib.blake2b(k, digest_size=8, key=secret).digest() for k in keys)
    top = np.frombuffer(digests, dtype=">u8") >> np.uint64(11)
    return top.astype(np.float64) * 2.0**-53


def assign(
    table: pa.Table | pa.RecordBatch, columns: list[str], seed: int, fractions: list[float]
) -> np.ndarray:
    """The split index (into ``fractions``) of every row of ``table``."""
    rows = table.num_rows
    if len(fractions) <= 1 or rows == 0:
        return np.zeros(rows, dtype=np.int64)
    names = columns or list(table.schema.names)
    per_column = [column_keys(table.column(name)) for name in names]
    keys = (
        per_column[0]
        if len(per_column) == 1
        else [b"".join(p) for p in zip(*per_column, strict=True)]
    )
    bounds = np.cumsum(np.asarray(fractions, dtype=np.float64))[:-1]
    return np.searchsorted(bounds, uniform(keys, seed), side="right").astype(np.int64)
