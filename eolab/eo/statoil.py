"""The Statoil/C-CORE ``train.json`` format: reading it into a frame, and the ``band_avg`` feature.

A user with the real file reads it with :func:`load_statoil`; the synthetic chips of ``sar.py``
are written in the same format. :func:`add_band_avg` is the demonstrator's pre-processing step.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eolab.eo.sar import CHIP, FIELDS, NA, PIXELS, _frame
from eolab.errors import InvalidInput, ValidationFailed

# ----------------------------------------------------------------------------------------------
# Reading the real train.json


def _record_name(record: Any, index: int) -> str:
    if isinstance(record, dict) and isinstance(record.get("id"), str) and record["id"]:
        return f"record {record['id']!r}"
    return f"record #{index}"


def _band(value: Any, field: str) -> np.ndarray | str:
    """The band as float32, or the reason it is not one."""
    if not isinstance(value, list):
        return f"{field} is a {type(value).__name__}, expected a list of {PIXELS} numbers"
    if len(value) != PIXELS:
        return f"{field} has {len(value)} values, expected {PIXELS}"
    try:
        arr = np.array(value)
    except (ValueError, TypeError):  # nested lists of different lengths
        arr = np.array(value, dtype=object)
    if arr.dtype.kind not in "fiu" or arr.ndim != 1:
        bad = next(
            (v for v in value if isinstance(v, bool) or not isinstance(v, int | float)), None
        )
        return f"{field} has a non-numeric value {bad!r}"
    arr32 = arr.astype(np.float32)
    if not np.isfinite(arr32).all():
        return f"{field} has a value that is not a finite float32"
    return arr32


def _angle(value: Any) -> float | str:
    if value == NA and isinstance(value, str):
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f'inc_angle is {value!r}, expected a number of degrees or "na"'
    return float(value)


def load_statoil(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a Statoil/C-CORE ``train.json`` (or one written by :func:`to_json`) into a frame.

    Columns as :func:`iceberg_frame`: ``inc_angle`` keeps ``"na"`` as a string (the feature group
    stores it as a string), ``inc_angle_deg`` has the angle as float with NaN for ``"na"``.
    Every record is checked before anything is returned: a missing field, a band that is not
    5625 numbers, a bad angle, a label other than 0/1 or a duplicate id raises
    :class:`~eolab.errors.ValidationFailed` naming the record's id and the field (``details``
    lists up to 20 problems); a file that is not a JSON array raises
    :class:`~eolab.errors.InvalidInput`.
    """
    source = Path(path)
    try:
        raw = source.read_bytes()
    except FileNotFoundError as exc:
        raise InvalidInput(f"{str(source)!r} does not exist") from exc
    except IsADirectoryError as exc:
        raise InvalidInput(f"{str(source)!r} is a directory, expected a JSON file") from exc
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{source.name} is not JSON: {exc}") from exc
    if not isinstance(data, list):
        raise InvalidInput(
            f"{source.name} holds a JSON {type(data).__name__}, expected an array of records"
        )

    problems: list[str] = []
    ids: list[str] = []
    seen: set[str] = set()
    b1 = np.empty((len(data), PIXELS), dtype=np.float32)
    b2 = np.empty((len(data), PIXELS), dtype=np.float32)
    angle = np.empty(len(data))
    label = np.empty(len(data), dtype=np.int64)
    for i, record in enumerate(data):
        name = _record_name(record, i)
        found: list[str] = []
        if not isinstance(record, dict):
            found.append(f"is a JSON {type(record).__name__}, expected an object")
        else:
            missing = [f for f in FIELDS if f not in record]
            found += [f"missing field {f!r}" for f in missing]
            rid = record.get("id")
            if "id" not in missing:
                if not isinstance(rid, str) or not rid:
                    found.append(f"id is {rid!r}, expected a non-empty string")
                elif rid in seen:
                    found.append("id is a duplicate of an earlier record")
                else:
                    seen.add(rid)
            for field, out in (("band_1", b1), ("band_2", b2)):
                if field not in missing:
                    band = _band(record[field], field)
                    if isinstance(band, str):
                        found.append(band)
                    else:
                        out[i] = band
            if "inc_angle" not in missing:
                a = _angle(record["inc_angle"])
                if isinstance(a, str):
                    found.append(a)
                else:
                    angle[i] = a
            if "is_iceberg" not in missing:
                y = record["is_iceberg"]
                if isinstance(y, bool) or not isinstance(y, int) or y not in (0, 1):
                    found.append(f"is_iceberg is {y!r}, expected 0 or 1")
                else:
                    label[i] = y
            if not found:
                ids.append(rid)
        problems += [f"{name}: {p}" for p in found]
        if len(problems) >= 20:
            break
    if problems:
        more = ""
        if len(problems) > 1:
            at_least = "at least " if len(problems) >= 20 else ""
            more = f" (and {at_least}{len(problems) - 1} more problems)"
        raise ValidationFailed(
            f"{source.name}: {problems[0]}{more}", details={"problems": problems[:20]}
        )
    return _frame(ids, b1, b2, angle, label)


# ----------------------------------------------------------------------------------------------
# Pre-processing


def _rows_of_one_block(cells: np.ndarray) -> np.ndarray | None:
    """The (n, 5625) float32 block whose rows the cells are, if they are all row views of one
    (as :func:`iceberg_frame` and :func:`load_statoil` make them), so that stacking needs no
    copy; None otherwise."""
    first = cells[0]
    if not isinstance(first, np.ndarray):
        return None
    base = first.base
    if not (
        isinstance(base, np.ndarray)
        and base.ndim == 2
        and base.shape[1] == PIXELS
        and base.dtype == np.float32
        and base.flags.c_contiguous
    ):
        return None
    start = base.__array_interface__["data"][0]
    row_bytes = base.strides[0]
    rows = np.empty(len(cells), dtype=np.int64)
    for i, cell in enumerate(cells):
        if (
            not isinstance(cell, np.ndarray)
            or cell.base is not base
            or cell.shape != (PIXELS,)
            or cell.strides != (4,)
        ):
            return None
        row, rest = divmod(cell.__array_interface__["data"][0] - start, row_bytes)
        if rest:
            return None
        rows[i] = row
    if len(rows) == base.shape[0] and (rows == np.arange(len(rows))).all():
        return base
    return base[rows]


def _stack(df: pd.DataFrame, field: str) -> np.ndarray:
    if field not in df.columns:
        raise InvalidInput(f"the frame has no column {field!r}, expected {PIXELS}-value bands")
    cells = df[field].to_numpy()
    if len(cells) == 0:
        return np.empty((0, PIXELS), dtype=np.float32)
    block = _rows_of_one_block(cells)
    if block is not None:
        return block
    try:
        arr = np.stack(cells).astype(np.float32, copy=False)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.ndim != 2 or arr.shape[1] != PIXELS or arr.dtype.kind != "f":
        for pos, cell in enumerate(cells):
            shape = np.shape(cell)
            if shape != (PIXELS,) and shape != (CHIP, CHIP):
                rid = df["id"].iloc[pos] if "id" in df.columns else pos
                raise InvalidInput(
                    f"{field} of row {rid!r} has shape {shape}, expected ({PIXELS},)"
                )
        if arr is not None and arr.ndim == 3:  # (n, 75, 75) chips: flatten row-major
            return arr.reshape(len(cells), PIXELS)
        raise InvalidInput(f"{field} is not numeric, expected {PIXELS} floats per row")
    return arr


def add_band_avg(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with ``band_avg = (band_1 + band_2) / 2`` per pixel, the demonstrator's
    third input channel.

    Computed on the stacked (n, 5625) float32 bands in two numpy operations; bands that are row
    views of one block (as :func:`iceberg_frame` and :func:`load_statoil` return them) are used
    in place, other cells (lists, separate arrays, 75×75 arrays) are stacked once. The new
    cells are float32 row views of one (n, 5625) block. ``df`` itself is not changed; a band
    of the wrong shape raises InvalidInput naming the column and the row.
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidInput(f"expected a pandas DataFrame, got {type(df).__name__}")
    b1 = _stack(df, "band_1")
    b2 = _stack(df, "band_2")
    avg = b1 + b2
    avg *= np.float32(0.5)
    out = df.copy(deep=False)
    out["band_avg"] = pd.Series(list(avg), index=df.index, dtype=object)
    return out
