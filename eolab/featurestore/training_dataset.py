"""Training datasets: files of features (TFRecord, Parquet, CSV/TSV, npy) cut into splits.

td = fs.create_training_dataset("train_iceberg", version=1, data_format="tfrecords",
                                splits={"train": 0.8, "test": 0.2}, seed=42, label=["is_iceberg"],
                                feature_shapes={"band_1": [75, 75], "band_2": [75, 75]})
td.save(fg.select_all())        # or a pandas/pyarrow/Spark DataFrame
td.read("test")                 # pandas (Spark on the spark engine)
td.tf_data("is_iceberg", split="train").tf_record_dataset(batch_size=32, num_epochs=1,
                                                           process=True)

Names and semantics follow hsfs. The files live in ``FeatureStore/<name>_<version>_td/``
(``td.location``): one folder per split, ``part-*`` files inside, ``_schema.json`` (features,
array shapes, splits, sizes, the exact Arrow schema) and ``_statistics/<split>.json``.
Rows go to splits by a hash of their key and the seed (:mod:`eolab.featurestore.splits`);
the key is the ``primary_key`` given here, else the query's primary key, else the whole row.
Each write builds the new contents in a staging folder and swaps it in with renames inside the
catalog transaction that records it, so a failed write leaves the previous version intact.
The catalog row records the format, splits and their sizes, the seed, the features and the
provenance: the feature groups, versions and Delta commit ids a query read.
"""

from __future__ import annotations

import json
import shutil
import uuid
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy.exc import IntegrityError

from eolab import search
from eolab.access import require_creator_or_owner
from eolab.catalog.models import TrainingDatasetRow, utcnow
from eolab.datasets import tags as tag_store
from eolab.datasets.taggable import Taggable
from eolab.errors import Conflict, InvalidInput, NotFound
from eolab.featurestore import schema as fschema
from eolab.featurestore import td_formats, td_schema, td_write
from eolab.featurestore.statistics import StatisticsView, compute_statistics
from eolab.featurestore.td_catalog import KIND, exists_error, index, row_at, row_for_write, rows

if TYPE_CHECKING:
    from eolab.featurestore.feature_store import FeatureStore
    from eolab.featurestore.tf_data import TFData

DATAFRAME_TYPES = ("default", "pandas", "pyarrow", "spark", "numpy", "python")
_STATISTICS = "_statistics"


def _split_folder(location: Path, split: str) -> Path:
    return location / split if split else location


class TrainingDataset(Taggable):
    """A handle on one training dataset version; unsaved until its first save/insert."""

    def __init__(
        self,
        feature_store: FeatureStore,
        name: str,
        version: int | None,
        description: str = "",
        data_format: str = "tfrecords",
        splits: dict[str, float] | None = None,
        seed: int = 0,
        label: list[str] | None = None,
        statistics_config: dict[str, Any] | None = None,
        feature_shapes: dict[str, list[int]] | None = None,
        primary_key: list[str] | None = None,
    ) -> None:
        self.feature_store = feature_store
        self.name = name
        self.version = version
        self.description = description
        self.data_format = data_format
        self._splits = splits
        self.seed = seed
        self.label = list(label or [])
        self.statistics_config = statistics_config or {"enabled": False}
        self.feature_shapes = dict(feature_shapes or {})
        self.primary_key = list(primary_key or [])
        self.id: int | None = None
        self._location: str | None = None
        self._sizes: dict[str, int] = {}
        self._features: list[dict[str, Any]] = []
        self._provenance: list[dict[str, Any]] = []
        self.creator: str | None = None
        self.created_at: Any = None
        self.updated_at: Any = None

    @classmethod
    def _from_row(cls, fs: FeatureStore, row: TrainingDatasetRow, creator: str) -> TrainingDataset:
        td = cls(fs, row.name, row.version)
        td._load(row, creator)
        return td

    def _load(self, row: TrainingDatasetRow, creator: str | None = None) -> None:
        self.id, self.version, self._location = row.id, row.version, row.location
        self.description, self.data_format = row.description, row.data_format
        self._splits = dict(row.splits) if row.splits else None
        self.seed, self.label = row.seed, list(row.label)
        self.statistics_config = dict(row.statistics_config or {"enabled": False})
        self.primary_key = list(row.primary_key)
        self._sizes = dict(row.split_sizes)
        self._features = [dict(f) for f in row.features]
        self.feature_shapes = {
            f["name"]: f["shape"] for f in self._features if f["shape"] != f["dims"]
        }
        self._provenance = [dict(p) for p in row.provenance]
        self.created_at, self.updated_at = row.created_at, row.updated_at
        self.creator = creator or self.creator

    # ---- description --------------------------------------------------------------------------

    @property
    def _what(self) -> str:
        return f"training dataset {self.name!r} version {self.version}"

    @property
    def _ref(self) -> str:
        return f"{self.feature_store.project.name}/{self.name}/{self.version}"

    @property
    def _root(self) -> Path:
        return Path(self.feature_store.project.root)

    @property
    def location(self) -> str | None:
        """The folder of its files (None until saved)."""
        return str(self._root / self._location) if self._location else None

    @property
    def splits(self) -> dict[str, float]:
        """``{split: fraction}`` ({} when unsplit), as hsfs gives it."""
        return dict(self._splits or {})

    @property
    def split_sizes(self) -> dict[str, int]:
        """Rows written per split ({} when unsplit: see ``row_count``)."""
        return {k: v for k, v in self._sizes.items() if k}

    @property
    def row_count(self) -> int:
        return sum(self._sizes.values())

    @property
    def features(self) -> list[dict[str, Any]]:
        """One dict per column: name, type, kind, dims, shape, nullable, label."""
        return [dict(f) for f in self._features]

    schema = features

    @property
    def provenance(self) -> list[dict[str, Any]]:
        """The feature groups it was built from: ``[{"name", "version", "commit_id"}]``."""
        return [dict(p) for p in self._provenance]

    def to_dict(self) -> dict[str, Any]:
        """Everything a panel shows, JSON-ready."""
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "data_format": self.data_format,
            "splits": self.splits,
            "split_sizes": self.split_sizes,
            "row_count": self.row_count,
            "seed": self.seed,
            "label": list(self.label),
            "primary_key": list(self.primary_key),
            "features": self.features,
            "provenance": self.provenance,
            "statistics_config": dict(self.statistics_config),
            "location": self.location,
            "created": self.created_at.isoformat() if self.created_at else None,
            "updated": self.updated_at.isoformat() if self.updated_at else None,
            "creator": self.creator,
            "saved": self.id is not None,
        }

    # ---- catalog ------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Check the caller may use this training dataset, and reload its catalog row."""
        fs = self.feature_store
        with fs._tx(write=False) as (s, project):
            if self.id is None:
                return
            found = [r for r in rows(s, project, self.name) if r[0].version == self.version]
            if not found:
                raise NotFound(f"{self._what} no longer exists in {project.name!r}")
            self._load(*found[0])

    def _require_saved(self) -> None:
        self._refresh()
        if self.id is None:
            raise NotFound(
                f"training dataset {self.name!r} is not saved yet: call save(features) first"
            )

    def _commit(
        self,
        staging: Path,
        features: list[dict[str, Any]],
        sizes: dict[str, int],
        provenance: list[dict[str, Any]],
        key: list[str],
    ) -> None:
        """Record the write in the catalog and swap the staged files in, as one step."""
        fs = self.feature_store
        trash = self._root / ".staging" / "trash" / uuid.uuid4().hex
        undo = None
        try:
            with fs._tx() as (s, project):
                row = row_for_write(self, s, project)
                row.split_sizes, row.features = sizes, features
                row.provenance, row.primary_key = provenance, key
                row.updated_at = utcnow()
                s.flush()
                index(s, project, row)
                undo = td_write.swap_in(staging, self._root / row.location, trash)
        except IntegrityError as exc:
            if undo is not None:
                undo()
            raise exists_error(self.name, self.version, fs) from exc
        except BaseException:
            if undo is not None:
                undo()
            raise
        shutil.rmtree(trash, ignore_errors=True)
        self._load(row)

    # ---- writes -------------------------------------------------------------------------------

    def save(self, features: Any, write_options: dict[str, Any] | None = None) -> TrainingDataset:
        """Register the training dataset and write its files (hsfs ``save``).

        ``features``: a query (anything with ``read``; its ``provenance()`` and
        ``primary_key`` are used when it has them) or a pandas/pyarrow/Spark DataFrame.
        ``write_options`` are accepted for hsfs compatibility and ignored.
        """
        del write_options
        self._refresh()
        if self.id is not None:
            raise Conflict(f"{self._what} is already saved; use insert() to add or replace data")
        self._write(features, overwrite=True)
        return self

    def insert(
        self, features: Any, overwrite: bool = False, write_options: dict[str, Any] | None = None
    ) -> TrainingDataset:
        """Append ``features`` (split with the same seed and key), or with ``overwrite=True``
        replace the contents; an unsaved training dataset is saved."""
        del write_options
        self._refresh()
        self._write(features, overwrite=bool(overwrite) or self.id is None)
        return self

    def _frame(self, data: Any) -> tuple[Any, pa.Schema, list[dict[str, Any]], list[str]]:
        """The data as the engine's frame, its schema, its provenance and its primary key."""
        spark = self.feature_store.engine.name == "spark"
        provenance: list[dict[str, Any]] = []
        key: list[str] = []
        if _is_query(data):
            frame = data.read(dataframe_type="spark" if spark else "pyarrow")
            if callable(getattr(data, "provenance", None)):
                provenance = [
                    {"name": p["name"], "version": p["version"], "commit_id": p.get("commit_id")}
                    for p in data.provenance()
                ]
            key = list(getattr(data, "primary_key", None) or [])
        else:
            frame = data
        if spark and not fschema.is_spark(frame):
            table = fschema.to_arrow(frame)
            table = fschema.conform(table, fschema.frame_schema(table))
            frame = self.feature_store.engine.session.createDataFrame(table)  # type: ignore[attr-defined]
        elif not spark:
            frame = fschema.to_arrow(frame)
        schema = fschema.frame_schema(frame)
        return fschema.conform(frame, schema), schema, provenance, key

    def _write(self, data: Any, overwrite: bool) -> None:
        frame, schema, provenance, query_key = self._frame(data)
        key = self.primary_key or query_key
        missing = [k for k in key if k not in schema.names]
        if missing:
            raise InvalidInput(
                f"split key column {missing[0]!r} of {self._what} is not a column of the data "
                f"(columns: {schema.names})",
                details={"field": "primary_key", "column": missing[0]},
            )
        found = td_schema.profile(frame, schema)
        if found["rows"] == 0:
            raise InvalidInput(
                f"the data for {self._what} has no rows: a training dataset needs at least one "
                "(check the query's filters and time travel)",
                details={"rows": 0},
            )
        shapes = self.feature_shapes
        features = td_schema.describe(schema, found, self.label, shapes)
        features = td_schema.check_for_format(features, self.data_format)
        appending = self.id is not None and not overwrite
        location = Path(self.location) if self.location else None
        if appending and location is not None:
            features = td_schema.merge(self._features, features, self._what)
            _, schema = td_write.read_schema(location)
            frame = fschema.conform(frame, schema)
            provenance = _union(self._provenance, provenance)
            key = self.primary_key  # the recorded split key keeps rows where they were
        staging = self._root / ".staging" / f"td-{uuid.uuid4().hex}"
        try:
            names = list(self._splits) if self._splits else [""]
            if appending and location is not None:
                td_write.link_parts(location, staging, self.data_format, names)
            sizes = td_write.write_files(
                frame, staging, self.data_format, features, schema, key, self.seed, self._splits
            )
            if appending:
                sizes = {n: sizes[n] + self._sizes.get(n, 0) for n in names}
            self._write_statistics(staging, features, schema, names)
            td_write.write_schema(
                staging,
                {
                    "data_format": self.data_format,
                    "splits": self._splits,
                    "split_sizes": sizes,
                    "seed": self.seed,
                    "primary_key": key,
                    "features": features,
                },
                schema,
            )
            self._commit(staging, features, sizes, provenance, key)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # ---- statistics ---------------------------------------------------------------------------

    def _write_statistics(
        self, folder: Path, features: list[dict[str, Any]], schema: pa.Schema, names: list[str]
    ) -> None:
        if not self.statistics_config.get("enabled"):
            return
        engine = self.feature_store.engine.name
        (folder / _STATISTICS).mkdir()
        for name in names:
            table = _read_folder(_split_folder(folder, name), self.data_format, features, schema)
            stats = compute_statistics(table, self.statistics_config, engine=engine)
            target = folder / _STATISTICS / f"{name or 'all'}.json"
            target.write_text(json.dumps({"split": name or None, **stats}))

    def get_statistics(self, split: str | None = None) -> Any:
        """The statistics of one split (a StatisticsView); with ``split=None``, of the whole
        unsplit dataset, or ``{split: StatisticsView}`` for every split."""
        self._require_saved()
        folder = Path(str(self.location)) / _STATISTICS
        if not folder.exists():
            raise NotFound(
                f"no statistics for {self._what}: it was written with statistics_config disabled"
            )
        if split is None and self._splits:
            return {n: self.get_statistics(n) for n in self._splits}
        name = self._check_split(split) or "all"
        return StatisticsView(json.loads((folder / f"{name}.json").read_text()))

    # ---- reads --------------------------------------------------------------------------------

    def _check_split(self, split: str | None) -> str:
        if split is None:
            return ""
        if not self._splits or split not in self._splits:
            known = list(self._splits or [])
            raise InvalidInput(
                f"{self._what} has no split {split!r}; "
                + (f"its splits are {known}" if known else "it is not split (pass split=None)"),
                details={"field": "split", "splits": known},
            )
        return split

    def _split_names(self, split: str | None) -> list[str]:
        if split is not None:
            return [self._check_split(split)]
        return list(self._splits) if self._splits else [""]

    def _files(self, split: str | None) -> list[Path]:
        """The part files of ``split`` (of every split when None)."""
        self._require_saved()
        location = Path(str(self.location))
        return [
            path
            for name in self._split_names(split)
            for path in td_formats.part_files(_split_folder(location, name), self.data_format)
        ]

    def _arrow_schema(self) -> pa.Schema:
        return td_write.read_schema(Path(str(self.location)))[1]

    def read(
        self,
        split: str | None = None,
        dataframe_type: str = "default",
        read_options: dict[str, Any] | None = None,
    ) -> Any:
        """The rows of ``split`` (all splits when None) as ``dataframe_type``: "default"
        (pandas, or Spark on the spark engine), "pandas", "pyarrow", "spark", "numpy",
        "python". ``read_options`` are accepted for hsfs compatibility and ignored."""
        del read_options
        wanted = self._dataframe_type(dataframe_type)
        files = self._files(split)
        schema = self._arrow_schema()
        parts = [td_formats.read_part(self.data_format, p, self._features, schema) for p in files]
        table = pa.concat_tables(parts) if parts else schema.empty_table()
        return self._output(table, wanted)

    def show(self, n: int = 20, split: str | None = None) -> Any:
        """The first ``n`` rows of ``split`` as pandas."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidInput(f"n must be a non-negative integer, got {n!r}")
        return self.read(split, "pyarrow").slice(0, n).to_pandas()

    def _dataframe_type(self, dataframe_type: str) -> str:
        if dataframe_type not in DATAFRAME_TYPES:
            raise InvalidInput(
                f"dataframe_type must be one of {list(DATAFRAME_TYPES)}, got {dataframe_type!r}"
            )
        if dataframe_type == "default":
            return "spark" if self.feature_store.engine.name == "spark" else "pandas"
        return dataframe_type

    def _output(self, table: pa.Table, wanted: str) -> Any:
        if wanted == "pyarrow":
            return table
        if wanted == "spark":
            return self.feature_store.engine.session.createDataFrame(table)  # type: ignore[attr-defined]
        df = table.to_pandas()
        if wanted == "numpy":
            return df.to_numpy()
        return df.values.tolist() if wanted == "python" else df

    def tf_data(
        self,
        target_name: str,
        split: str | None = None,
        feature_names: list[str] | None = None,
        is_training: bool = True,
        cycle_length: int = 2,
        deterministic: bool = False,
    ) -> TFData:
        """hsfs' ``tf_data``: a reader of ``split`` for TensorFlow (``tf_record_dataset``,
        ``tf_csv_dataset``); ``feature_names`` default to every column but the target."""
        from eolab.featurestore.tf_data import TFData

        return TFData(
            self, target_name, split, feature_names, is_training, cycle_length, deterministic
        )

    def numpy_batches(
        self,
        split: str | None = None,
        batch_size: int = 32,
        feature_names: list[str] | None = None,
        shuffle: bool = False,
        seed: int | None = None,
        drop_remainder: bool = False,
    ) -> Any:
        """Batches of ``split`` as ``{column: numpy array (batch, *shape)}``, for PyTorch or
        plain numpy: no TensorFlow needed, whatever the format."""
        from eolab.featurestore.tf_data import numpy_batches

        return numpy_batches(self, split, batch_size, feature_names, shuffle, seed, drop_remainder)

    # ---- delete -------------------------------------------------------------------------------

    def delete(self) -> None:
        """Delete this version: its files, catalog row, search entry and tags (creator or
        data owner)."""
        self._require_saved()
        fs = self.feature_store
        folder = Path(str(self.location))
        trash = self._root / ".staging" / "trash" / uuid.uuid4().hex
        try:
            with fs._tx() as (s, project):
                row = row_at(s, project, self.name, self.version)
                if row is None:
                    raise NotFound(f"{self._what} no longer exists")
                require_creator_or_owner(
                    s, fs.project.workspace.caller, project, row.created_by, self._what
                )
                search.unindex(s, KIND, self._ref)
                tag_store.delete_all_tags(s, KIND, self._ref)
                s.delete(row)
                if folder.exists():
                    trash.parent.mkdir(parents=True, exist_ok=True)
                    folder.rename(trash)  # last step: a failure before it rolls back the catalog
        except BaseException:
            if trash.exists() and not folder.exists():
                trash.rename(folder)
            raise
        shutil.rmtree(trash, ignore_errors=True)
        self.id = None

    # ---- tags ---------------------------------------------------------------------------------

    _tag_kind = KIND

    def _tag_ref(self) -> str:
        return self._ref

    def _tag_what(self) -> str:
        return self._what

    def _tag_caller(self) -> Any:
        return self.feature_store.project.workspace.caller

    def _tag_tx(self, write: bool) -> Any:
        self._require_saved()
        return self.feature_store._tx(write)

    # ---- display ------------------------------------------------------------------------------

    def __repr__(self) -> str:
        state = "" if self.id is not None else ", unsaved"
        return (
            f"TrainingDataset({self.name!r}, version={self.version}, "
            f"data_format={self.data_format!r}{state})"
        )

    def _repr_html_(self) -> str:
        sizes = (
            ", ".join(
                f"{escape(n)}: {self._sizes.get(n, 0)} rows ({f:.0%})"
                for n, f in self.splits.items()
            )
            or f"{self.row_count} rows, unsplit"
        )
        rows = "".join(
            f"<tr><td>{escape(f['name'])}</td><td>{escape(f['type'])}</td>"
            f"<td>{escape(str(f['shape']))}</td><td>{'✔' if f['label'] else ''}</td></tr>"
            for f in self._features
        )
        sources = (
            ", ".join(
                f"{escape(str(p['name']))} v{p['version']} @ commit {p['commit_id']}"
                for p in self._provenance
            )
            or "a DataFrame"
        )
        return (
            f"<b>training dataset</b> {escape(self.name)} v{self.version} "
            f"({escape(self.data_format)}) <i>{escape(self.description)}</i>"
            f"<p>{sizes}; built from {sources}</p><table><tr><th>feature</th><th>type</th>"
            f"<th>shape</th><th>label</th></tr>{rows}</table>"
        )


# ---- helpers ----------------------------------------------------------------------------------


def _is_query(data: Any) -> bool:
    import pandas as pd

    if isinstance(data, pd.DataFrame | pa.Table | pa.RecordBatch) or fschema.is_spark(data):
        return False
    return callable(getattr(data, "read", None))


def _union(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = [dict(p) for p in old]
    for p in new:
        if p not in merged:
            merged.append(dict(p))
    return merged


def _read_folder(
    folder: Path, data_format: str, features: list[dict[str, Any]], schema: pa.Schema
) -> pa.Table:
    parts = [
        td_formats.read_part(data_format, p, features, schema)
        for p in td_formats.part_files(folder, data_format)
    ]
    return pa.concat_tables(parts) if parts else schema.empty_table()
