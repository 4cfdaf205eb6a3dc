"""Writing a training dataset's files: split assignment and part files, on either engine.

One *task writer* does the work: for each Arrow batch it assigns every row to a split
(:func:`eolab.featurestore.splits.assign`) and streams the split's rows into the task's own part
file of that split (:mod:`eolab.featurestore.td_formats`). The python engine runs it once, in
this process, over the table's batches (TensorFlow's writer and the numpy serialiser are
faster here than shipping rows to worker processes); the spark engine runs it in every task
with ``mapInArrow``, so each partition writes its own files in parallel. Both return one
``(split, file, rows)`` description per file written.

Everything goes to a staging folder; :func:`swap_in` then replaces the dataset's folder with it
by renames, so that a failed write leaves the previous version intact.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from eolab.featurestore import schema as fschema
from eolab.featurestore import splits as splitting
from eolab.featurestore import td_formats

SCHEMA_FILE = "_schema.json"
_WRITTEN = "split string, file string, rows long"
_BATCH_BYTES = 32 * 2**20


def task_writer(
    folder: str,
    data_format: str,
    features: list[dict[str, Any]],
    schema: pa.Schema,
    key_columns: list[str],
    seed: int,
    split_names: list[str],
    fractions: list[float],
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function each task runs over its batches; it yields what it wrote."""
    schema_bytes = schema.serialize().to_pybytes()
    extension = td_formats.EXTENSIONS[data_format]

    def write(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        target = pa.ipc.read_schema(pa.py_buffer(schema_bytes))
        writers: dict[str, Any] = {}
        rows: dict[str, int] = {}
        try:
            for batch in batches:
                if batch.num_rows == 0:
                    continue
                table = pa.Table.from_batches([batch]).select(target.names).cast(target)
                where = splitting.assign(table, key_columns, seed, fractions)
                for index, name in enumerate(split_names):
                    part = table if len(split_names) == 1 else table.filter(where == index)
                    if part.num_rows == 0:
                        continue
                    if name not in writers:
                        split_folder = os.path.join(folder, name) if name else folder
                        os.makedirs(split_folder, exist_ok=True)
                        path = os.path.join(split_folder, f"part-{uuid.uuid4().hex}.{extension}")
                        writers[name] = td_formats.part_writer(data_format, path, features, target)
                        rows[name] = 0
                    writers[name].write(part)
                    rows[name] += part.num_rows
        finally:
            for writer in writers.values():
                writer.close()
        for name, writer in writers.items():
            yield pa.RecordBatch.from_pylist(
                [{"split": name, "file": writer.path, "rows": rows[name]}]
            )

    return write


def write_files(
    frame: Any,
    folder: Path,
    data_format: str,
    features: list[dict[str, Any]],
    schema: pa.Schema,
    key_columns: list[str],
    seed: int,
    splits: dict[str, float] | None,
) -> dict[str, int]:
    """Write ``frame`` (Arrow table or Spark DataFrame, of ``schema``) into ``folder``, one
    sub-folder per split (none when unsplit); the rows written per split."""
    names = list(splits) if splits else [""]
    fractions = list(splits.values()) if splits else [1.0]
    writer = task_writer(
        str(folder), data_format, features, schema, key_columns, seed, names, fractions
    )
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).mkdir(exist_ok=True)
    if fschema.is_spark(frame):
        written = [r.asDict() for r in frame.mapInArrow(writer, _WRITTEN).collect()]
    else:
        per_row = max(1, frame.nbytes // max(1, frame.num_rows))
        size = max(64, min(65_536, _BATCH_BYTES // per_row))
        written = [
            row
            for batch in writer(iter(frame.to_batches(max_chunksize=size)))
            for row in batch.to_pylist()
        ]
    sizes = dict.fromkeys(names, 0)
    for item in written:
        sizes[item["split"]] += item["rows"]
    return sizes


def write_schema(folder: Path, description: dict[str, Any], schema: pa.Schema) -> None:
    """``_schema.json``: the features (shapes...), splits, sizes, and the exact Arrow schema."""
    text = base64.b64encode(schema.serialize().to_pybytes()).decode()
    (folder / SCHEMA_FILE).write_text(json.dumps({**description, "arrow_schema": text}, indent=1))


def read_schema(folder: Path) -> tuple[dict[str, Any], pa.Schema]:
    description = json.loads((folder / SCHEMA_FILE).read_text())
    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(description["arrow_schema"])))
    return description, schema


def link_parts(source: Path, target: Path, data_format: str, split_names: list[str]) -> None:
    """Hard-link (or copy) the part files of ``source`` into ``target`` (for an append)."""
    for name in split_names:
        for path in td_formats.part_files(source / name if name else source, data_format):
            destination = target / name / path.name if name else target / path.name
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, destination)
            except OSError:
                shutil.copy2(path, destination)


def swap_in(staging: Path, final: Path, trash: Path) -> Callable[[], None]:
    """Put ``staging`` in the place of ``final`` (whose old contents go to ``trash``).

    Returns the undo, for a failure after the swap (e.g. the catalog commit).
    """
    had_old = final.exists()
    if had_old:
        trash.parent.mkdir(parents=True, exist_ok=True)
        final.rename(trash)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(final)
    except BaseException:
        if had_old:
            trash.rename(final)
        raise

    def undo() -> None:
        if final.exists():
            final.rename(staging)
        if had_old and trash.exists():
            trash.rename(final)

    return undo
