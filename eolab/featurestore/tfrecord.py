"""``tf.train.Example`` records built with numpy, and read back without TensorFlow.

Writing a training dataset serialises whole Arrow batches at once: every column becomes, per
row, the bytes of one ``Features.feature`` map entry, assembled from vectorised varints and
the columns' raw little-endian buffers, and the rows' entries are interleaved with one gather.
That avoids building a protobuf object per value (a raw ``tf.train.Example`` loop spends most of
its time there). The TFRecord framing (length + masked CRC32C, with google-crc32c's C
implementation) is written here too, so writing never imports TensorFlow (Spark tasks included).

Reading (``td.read()``, ``td.numpy_batches()``) parses the TFRecord framing and the Example wire
format here, so that PyTorch users and the catalog never need TensorFlow. CRCs are not checked
on this path (TensorFlow's reader checks them).

Encoding, per feature kind (the feature dicts of :mod:`eolab.featurestore.td_schema`):
``float`` → ``FloatList`` (float32), ``int64`` → ``Int64List`` (bools as 0/1, timestamps as
microseconds since the epoch UTC, dates as days), ``bytes`` → ``BytesList`` (UTF-8 strings,
decimals as text). Arrays are flattened in row-major order; a null value is an absent feature.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import google_crc32c
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_U8 = np.uint8
_WIRE_VARINT, _WIRE_FIXED64, _WIRE_LEN, _WIRE_FIXED32 = 0, 1, 2, 5


# ---- vectorised protobuf pieces ---------------------------------------------------------------


def varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Protobuf varints of ``values`` (int64, negatives as 10 bytes): concatenated bytes, and
    the length of each."""
    u = np.ascontiguousarray(values, dtype=np.int64).view(np.uint64)
    lengths = np.ones(len(u), dtype=np.int64)
    for k in range(1, 10):
        lengths += u >= np.uint64(1) << np.uint64(7 * k)
    shifts = np.arange(10, dtype=np.uint64) * np.uint64(7)
    groups = ((u[:, None] >> shifts[None, :]) & np.uint64(0x7F)).astype(_U8)
    position = np.arange(10)[None, :]
    groups |= np.where(position < (lengths[:, None] - 1), 0x80, 0).astype(_U8)
    return groups[position < lengths[:, None]], lengths


def _constant(data: bytes, rows: int) -> tuple[np.ndarray, np.ndarray]:
    return np.tile(np.frombuffer(data, _U8), rows), np.full(rows, len(data), dtype=np.int64)


def interleave(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the concatenation of every part's segment for that row, by one gather.

    Each part is ``(buffer, lengths)``: the rows' segments stored one after another. Meant for
    small segments (headers, scalars): the gather index is 8 bytes per output byte.
    """
    rows = len(parts[0][1])
    lengths = np.stack([p[1] for p in parts], axis=1)  # (rows, parts)
    starts = np.stack([_starts(p[1]) for p in parts], axis=1)
    offsets = np.concatenate(([0], np.cumsum([len(p[0]) for p in parts])[:-1]))
    source = np.concatenate([p[0] for p in parts])
    first = (starts + offsets[None, :]).reshape(-1)
    sizes = lengths.reshape(-1)
    index = np.repeat(first - _starts(sizes), sizes) + np.arange(int(sizes.sum()))
    return source[index], lengths.sum(axis=1) if rows else np.zeros(0, dtype=np.int64)


def _starts(lengths: np.ndarray) -> np.ndarray:
    return (
        np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64) if len(lengths) else lengths
    )


def _prefixed(inner: np.ndarray, tags: list[int]) -> tuple[list[tuple], np.ndarray]:
    """Tag + length headers around per-row payloads of ``inner`` bytes, ``tags`` innermost
    first: the header parts (outermost first) and each row's total length."""
    parts: list[tuple[np.ndarray, np.ndarray]] = []
    length = inner
    for tag in tags:
        prefix = varints(length)
        parts[:0] = [_constant(bytes([tag]), len(inner)), prefix]
        length = length + 1 + prefix[1]
    return parts, length


def _per_row(sizes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-element byte sizes summed per row (``counts`` elements per row)."""
    cumulative = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    ends = np.cumsum(counts)
    return cumulative[ends] - cumulative[ends - counts]


# ---- Arrow columns to feature entries ---------------------------------------------------------


def _leaf_values(column: pa.Array, depth: int) -> tuple[pa.Array, np.ndarray]:
    """The flattened leaf values of the valid rows, and how many each valid row has."""
    values = column.drop_null() if column.null_count else column
    counts = np.ones(len(values), dtype=np.int64)
    for level in range(depth):
        lengths = pc.list_value_length(values).to_numpy(zero_copy_only=False).astype(np.int64)
        counts = lengths if level == 0 else _per_row(lengths, counts)
        values = pc.list_flatten(values)
    return values, counts


def _int64_values(values: pa.Array) -> np.ndarray:
    t = values.type
    if pa.types.is_boolean(t):
        return values.to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_timestamp(t):
        values = values.cast(pa.timestamp("us", tz=t.tz)).cast(pa.int64())
    elif pa.types.is_date(t):
        values = values.cast(pa.date32()).cast(pa.int32())
    return values.to_numpy(zero_copy_only=False).astype(np.int64)


def _bytes_values(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """UTF-8/binary values as (concatenated bytes, length of each)."""
    if pa.types.is_decimal(values.type):
        values = values.cast(pa.string())
    values = values.cast(pa.large_binary())
    first = values.offset
    offsets = np.frombuffer(values.buffers()[1], np.int64)[first : first + len(values) + 1]
    data = values.buffers()[2]
    if data is None or len(offsets) == 0:
        return np.empty(0, _U8), np.zeros(len(values), dtype=np.int64)
    return np.frombuffer(data, _U8)[offsets[0] : offsets[-1]], np.diff(offsets)


def encode_column(column: pa.Array, feature: dict[str, Any]) -> list[tuple]:
    """This column's ``Features.feature`` map entry per row, as two parts: the headers and
    the payload (both empty on null rows)."""
    depth = len(feature["dims"])
    values, counts = _leaf_values(column, depth)
    kind = feature["kind"]
    if kind == "float":
        data = np.ascontiguousarray(values.to_numpy(zero_copy_only=False), dtype="<f4")
        payload = (data.view(_U8), counts * 4)
        tags = [0x0A, 0x12, 0x12]  # FloatList.value (packed), Feature.float_list, entry.value
    elif kind == "int64":
        encoded, sizes = varints(_int64_values(values))
        payload = (encoded, _per_row(sizes, counts))
        tags = [0x0A, 0x1A, 0x12]  # Int64List.value (packed), Feature.int64_list, entry.value
    else:
        blob, sizes = _bytes_values(values)
        each = interleave([_constant(b"\x0a", len(sizes)), varints(sizes), (blob, sizes)])
        payload = (each[0], _per_row(each[1], counts))
        tags = [0x0A, 0x12]  # Feature.bytes_list (BytesList.value repeated), entry.value
    rows = len(counts)
    value_headers, value_length = _prefixed(payload[1], tags)
    key = feature["name"].encode()
    key_field = bytes([0x0A]) + varints(np.array([len(key)]))[0].tobytes() + key
    entry_headers, _ = _prefixed(value_length + len(key_field), [0x0A])  # Features.feature
    parts = [*entry_headers, _constant(key_field, rows), *value_headers]
    header = interleave(parts) if rows else (np.empty(0, _U8), counts)
    if rows == len(column):
        return [header, payload]
    valid = column.is_valid().to_numpy(zero_copy_only=False)
    return [_spread(header, valid), _spread(payload, valid)]


def _spread(part: tuple[np.ndarray, np.ndarray], valid: np.ndarray) -> tuple:
    lengths = np.zeros(len(valid), dtype=np.int64)
    lengths[valid] = part[1]
    return part[0], lengths


_SMALL = 256  # bytes per row below which parts are joined by one vectorised gather


def serialize_examples(table: pa.Table, features: list[dict[str, Any]]) -> list[bytes]:
    """One serialised ``tf.train.Example`` per row of ``table``."""
    rows = table.num_rows
    if rows == 0:
        return []
    columns = [encode_column(table.column(f["name"]).combine_chunks(), f) for f in features]
    body = sum((c[0][1] + c[1][1] for c in columns), np.zeros(rows, dtype=np.int64))
    parts, _ = _prefixed(body, [0x0A])  # Example.features
    parts += [p for c in columns for p in c]
    merged: list[tuple[np.ndarray, np.ndarray]] = []
    run: list[tuple[np.ndarray, np.ndarray]] = []
    for part in parts:
        if part[1].sum() <= _SMALL * rows:
            run.append(part)
            continue
        if run:
            merged.append(interleave(run) if len(run) > 1 else run[0])
            run = []
        merged.append(part)
    if run:
        merged.append(interleave(run) if len(run) > 1 else run[0])
    buffers = [m[0].tobytes() for m in merged]
    bounds = [np.concatenate(([0], np.cumsum(m[1]))).tolist() for m in merged]
    if len(merged) == 1:
        (data,), (b,) = buffers, bounds
        return [data[b[i] : b[i + 1]] for i in range(rows)]
    pairs = list(zip(buffers, bounds, strict=True))
    return [b"".join([d[b[i] : b[i + 1]] for d, b in pairs]) for i in range(rows)]


# ---- TFRecord files ---------------------------------------------------------------------------


def _masked_crc(data: bytes) -> bytes:
    """TFRecord's checksum: CRC32C, rotated right by 15 bits plus a constant (little-endian)."""
    crc = google_crc32c.value(data)
    return struct.pack("<I", (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF)


class TFRecordFileWriter:
    """An uncompressed TFRecord file, written as TensorFlow's ``TFRecordWriter`` writes it."""

    def __init__(self, path: str) -> None:
        self._file = open(path, "wb")  # noqa: SIM115 - closed by close()

    def write(self, record: bytes) -> None:
        length = struct.pack("<Q", len(record))
        self._file.write(length + _masked_crc(length) + record + _masked_crc(record))

    def close(self) -> None:
        self._file.close()


def tfrecord_writer(path: str) -> TFRecordFileWriter:
    """A writer of TFRecord framing for ``path`` (no TensorFlow needed)."""
    return TFRecordFileWriter(path)


def read_records(path: str) -> Iterator[bytes]:
    """The records of one TFRecord file (uncompressed), streamed, without TensorFlow."""
    with open(path, "rb") as f:
        while True:
            header = f.read(12)  # uint64 length + masked CRC32C of the length
            if not header:
                return
            if len(header) < 12:
                raise ValueError(f"{path}: truncated TFRecord header")
            (length,) = struct.unpack("<Q", header[:8])
            data = f.read(length + 4)  # the record + masked CRC32C of the record
            if len(data) < length + 4:
                raise ValueError(f"{path}: truncated TFRecord of {length} bytes")
            yield data[:length]


# ---- Examples back to Arrow -------------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, wire type, start, end-or-value) of each field in buf[start:end]."""
    pos = start
    while pos < end:
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == _WIRE_LEN:
            size, pos = _varint(buf, pos)
            yield number, wire, pos, pos + size
            pos += size
        elif wire == _WIRE_VARINT:
            value, pos = _varint(buf, pos)
            yield number, wire, value, value
        elif wire == _WIRE_FIXED32:
            yield number, wire, pos, pos + 4
            pos += 4
        elif wire == _WIRE_FIXED64:
            yield number, wire, pos, pos + 8
            pos += 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _feature_values(buf: bytes, start: int, end: int) -> tuple[str, Any]:
    """The kind and values of one ``Feature`` message."""
    for number, _wire, s, e in _fields(buf, start, end):
        if number == 2:  # FloatList
            chunks = []
            for _n, _wire, a, b in _fields(buf, s, e):
                chunks.append(np.frombuffer(buf, "<f4", (b - a) // 4, a))
            return "float", np.concatenate(chunks) if chunks else np.empty(0, "<f4")
        if number == 3:  # Int64List
            ints: list[int] = []
            for _n, wire, a, b in _fields(buf, s, e):
                if wire == _WIRE_VARINT:
                    ints.append(_signed(a))
                    continue
                pos = a
                while pos < b:
                    value, pos = _varint(buf, pos)
                    ints.append(_signed(value))
            return "int64", np.array(ints, dtype=np.int64)
        if number == 1:  # BytesList
            return "bytes", [buf[a:b] for _n, _w, a, b in _fields(buf, s, e)]
    return "none", None


def parse_example(record: bytes) -> dict[str, tuple[str, Any]]:
    """``{name: (kind, values)}`` of one serialised Example."""
    found: dict[str, tuple[str, Any]] = {}
    for _n, _w, fs, fe in _fields(record, 0, len(record)):  # Example.features
        for _n2, _w2, es, ee in _fields(record, fs, fe):  # Features.feature entries
            name, value = "", ("none", None)
            for number, _w3, a, b in _fields(record, es, ee):
                if number == 1:
                    name = record[a:b].decode()
                elif number == 2:
                    value = _feature_values(record, a, b)
            found[name] = value
    return found


def _leaf_type(t: pa.DataType) -> pa.DataType:
    while pa.types.is_list(t) or pa.types.is_large_list(t):
        t = t.value_type
    return t


def _leaf_array(values: list[Any], kind: str, leaf: pa.DataType) -> pa.Array:
    if kind == "float":
        data = np.concatenate(values) if values else np.empty(0, "<f4")
        return pa.array(data).cast(leaf)
    if kind == "int64":
        data = np.concatenate(values) if values else np.empty(0, np.int64)
        ints = pa.array(data)
        if pa.types.is_boolean(leaf):
            return pc.not_equal(ints, 0)
        if pa.types.is_timestamp(leaf):
            return ints.cast(pa.timestamp("us", tz=leaf.tz)).cast(leaf)
        if pa.types.is_date(leaf):
            return ints.cast(pa.int32()).cast(pa.date32())
        return ints.cast(leaf)
    flat = [v for row in values for v in row]
    if pa.types.is_decimal(leaf):
        return pa.array([v.decode() for v in flat]).cast(leaf)
    binary = pa.array(flat, type=pa.binary())
    return binary.cast(leaf) if not pa.types.is_binary(leaf) else binary


def examples_to_arrow(
    records: list[bytes], features: list[dict[str, Any]], schema: pa.Schema
) -> pa.Table:
    """Rows parsed from serialised Examples, as ``schema`` (absent features are nulls)."""
    parsed = [parse_example(r) for r in records]
    columns = []
    for feature in features:
        name, field = feature["name"], schema.field(feature["name"])
        present = [p.get(name, ("none", None)) for p in parsed]
        valid = np.array([kind != "none" for kind, _ in present], dtype=bool)
        values = [v for kind, v in present if kind != "none"]
        leaf = _leaf_array(values, feature["kind"], _leaf_type(field.type))
        dims = feature["dims"]
        if not dims:
            array = scatter(leaf, valid)
        else:
            counts = np.array([len(v) for v in values], dtype=np.int64)
            array = nest(leaf, counts, dims, valid)
        columns.append(array.cast(field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def scatter(values: pa.Array, valid: np.ndarray) -> pa.Array:
    """``values`` (one per valid row) spread over all rows, null where not valid."""
    if valid.all():
        return values
    if not valid.any():
        return pa.nulls(len(valid), values.type)
    positions = np.cumsum(valid) - 1
    taken = values.take(pa.array(np.where(valid, positions, 0)))
    return pc.if_else(pa.array(valid), taken, pa.nulls(len(valid), values.type))


def nest(leaf: pa.Array, counts: np.ndarray, dims: list[int], valid: np.ndarray) -> pa.Array:
    """Leaf values back into (nested) lists of ``dims`` per valid row; null rows are null."""
    offsets = np.zeros(len(valid) + 1, dtype=np.int32)
    per_row = np.zeros(len(valid), dtype=np.int64)
    per_row[valid] = counts
    offsets[1:] = np.cumsum(per_row)
    inner = leaf
    for size in reversed(dims[1:]):  # fixed inner dimensions, innermost first
        inner_offsets = np.arange(0, len(inner) + 1, size, dtype=np.int32)
        inner = pa.ListArray.from_arrays(pa.array(inner_offsets), inner)
    if len(dims) > 1:
        offsets = offsets // int(np.prod(dims[1:]))
    mask = pa.array(~valid) if not valid.all() else None
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), inner, mask=mask)
