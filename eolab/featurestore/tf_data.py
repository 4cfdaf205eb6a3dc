"""Readers of a training dataset for model training: ``tf.data`` pipelines and numpy batches.

``td.tf_data(target_name, split, feature_names, is_training)`` gives a :class:`TFData`, as
hsfs does:

- ``tf_record_dataset(batch_size, num_epochs, one_hot_encode_labels, num_classes, process,
  feature_shapes, stack_axis)`` reads a TFRecord training dataset. With ``process=False`` it is
  a dataset of parsed examples (``{name: tensor}``, arrays in their recorded shape) to transform
  and batch yourself. With ``process=True`` it yields ``(features, label)`` batches, prefetched:
  records are batched first and parsed with one vectorised ``parse_example`` per batch; when
  ``is_training`` they are shuffled (a buffer of 16 batches) and repeated ``num_epochs`` times,
  and only full batches are kept.
- ``tf_csv_dataset(...)`` does the same for csv/tsv training datasets of scalar features.

**Stacking** (``process=True``): the features are cast to float32 and stacked on
``stack_axis`` (default -1, the last axis). Scalars give ``(batch, n_features)``; arrays of one
shape ``S`` give ``(batch, *S, n_features)``. So the demonstrator's three bands, recorded with
``feature_shapes={"band_1": [75, 75], ...}`` (or given here), stack into ``(batch, 75, 75, 3)``
channels-last images. ``stack_axis=None`` yields a dict of features instead (several model
inputs). One feature alone is returned as is (cast to float32). The label is
``float32(label)``, or ``one_hot(label, num_classes)``.

A float feature holding nulls parses as NaN; other nullable features cannot be parsed into
fixed-size tensors and are refused (fill them, or leave them out with ``feature_names``).

``td.numpy_batches(split, batch_size, ...)`` needs no TensorFlow: it reads the part files of
any format with eolab's own readers and yields ``{name: numpy array (batch, *shape)}``, for
PyTorch (``torch.from_numpy``) or plain numpy. TensorFlow is imported only by TFData methods.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from eolab.errors import InvalidInput
from eolab.featurestore import td_formats

if TYPE_CHECKING:
    from eolab.featurestore.training_dataset import TrainingDataset

_SHUFFLE_BATCHES = 16


def _positive(value: Any, what: str, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(
            f"{what} must be a positive integer, got {value!r}", details={"field": what}
        )
    return value


def _names(td: TrainingDataset, names: Any, what: str) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise InvalidInput(f"{what} must be a list of column names, got {names!r}")
    known = [f["name"] for f in td.features]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InvalidInput(
            f"{what} names {unknown[0]!r}, which is not a column of {td._what} (columns: {known})",
            details={"field": what, "column": unknown[0]},
        )
    return list(names)


class TFData:
    """hsfs' ``tf_data`` of one training dataset split, for ``tf.data`` pipelines."""

    def __init__(
        self,
        training_dataset: TrainingDataset,
        target_name: str,
        split: str | None = None,
        feature_names: list[str] | None = None,
        is_training: bool = True,
        cycle_length: int = 2,
        deterministic: bool = False,
    ) -> None:
        td = training_dataset
        td._require_saved()
        self.training_dataset = td
        if not isinstance(target_name, str):
            raise InvalidInput(f"target_name must be a column name, got {target_name!r}")
        _names(td, [target_name], "target_name")
        names = _names(td, feature_names, "feature_names")
        if names is None:
            names = [f["name"] for f in td.features if f["name"] != target_name]
        if target_name in names:
            raise InvalidInput(
                f"feature_names include the target {target_name!r}; a label is not a feature",
                details={"field": "feature_names"},
            )
        if not names:
            raise InvalidInput(f"{td._what} has no feature besides the target {target_name!r}")
        self.target_name = target_name
        self.feature_names = names
        self.split = split
        self.is_training = bool(is_training)
        self.cycle_length = _positive(cycle_length, "cycle_length", allow_none=False)
        self.deterministic = bool(deterministic)
        self.input_files = [str(p) for p in td._files(split)]
        self._features = {f["name"]: f for f in td.features}

    # ---- checks -------------------------------------------------------------------------------

    def _require_format(self, method: str, formats: tuple[str, ...], hint: str) -> None:
        fmt = self.training_dataset.data_format
        if fmt not in formats:
            raise InvalidInput(
                f"{method} reads {' or '.join(formats)} training datasets, but "
                f"{self.training_dataset._what} is {fmt}: {hint}",
                details={"format": fmt},
            )

    def _check_batching(self, batch_size, num_epochs, one_hot, num_classes, process) -> None:
        _positive(batch_size, "batch_size")
        _positive(num_epochs, "num_epochs")
        if process and (batch_size is None or num_epochs is None):
            raise InvalidInput(
                "process=True needs batch_size and num_epochs (hsfs semantics), got "
                f"batch_size={batch_size!r}, num_epochs={num_epochs!r}"
            )
        if one_hot and (
            isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2
        ):
            raise InvalidInput(
                f"one_hot_encode_labels needs num_classes > 1, got {num_classes!r}",
                details={"field": "num_classes"},
            )
        if one_hot and self._features[self.target_name]["kind"] != "int64":
            raise InvalidInput(
                f"one_hot_encode_labels needs an integer label; {self.target_name!r} is "
                f"{self._features[self.target_name]['type']}"
            )

    def _shapes(self, names: list[str], feature_shapes: Any) -> dict[str, list[int]]:
        """The tensor shape of each parsed column (recorded, or overridden here)."""
        if feature_shapes is not None and not isinstance(feature_shapes, dict):
            raise InvalidInput(f"feature_shapes must be a dict, got {feature_shapes!r}")
        given = dict(feature_shapes or {})
        stray = [n for n in given if n not in names]
        if stray:
            raise InvalidInput(
                f"feature_shapes names {stray[0]!r}, which is not read here (reading {names})",
                details={"field": "feature_shapes", "column": stray[0]},
            )
        shapes = {}
        for name in names:
            f = self._features[name]
            shape = list(f["shape"]) if f["shape"] is not None else None
            if name in given:
                size = math.prod(f["dims"]) if f["dims"] and -1 not in f["dims"] else None
                wanted = given[name]
                if (
                    size is None
                    or not isinstance(wanted, list | tuple)
                    or not all(isinstance(d, int) and d > 0 for d in wanted)
                    or math.prod(wanted) != size
                ):
                    raise InvalidInput(
                        f"feature_shapes[{name!r}] = {wanted!r} does not fit {name!r}, which "
                        + (f"has {size} values per row" if size else "has no fixed length"),
                        details={"field": "feature_shapes", "column": name},
                    )
                shape = list(wanted)
            shapes[name] = shape
        return shapes

    def _check_parsable(self, names: list[str]) -> None:
        for name in names:
            f = self._features[name]
            if f["nullable"] and f["kind"] != "float":
                raise InvalidInput(
                    f"column {name!r} ({f['type']}) holds nulls, which a fixed-size tensor "
                    "cannot: fill them before writing, or leave it out with feature_names",
                    details={"column": name},
                )

    def _check_stackable(self, shapes: dict[str, list[int]], stack_axis: Any) -> None:
        for name in [*self.feature_names, self.target_name]:
            f = self._features[name]
            if f["kind"] == "bytes":
                raise InvalidInput(
                    f"process=True makes float tensors, but {name!r} is {f['type']}: leave it "
                    "out with feature_names, or use process=False",
                    details={"column": name},
                )
            if shapes[name] is None or -1 in shapes[name]:
                raise InvalidInput(
                    f"process=True batches fixed-size tensors, but {name!r} has arrays of "
                    "varying lengths: use process=False",
                    details={"column": name},
                )
        if self.target_name and shapes[self.target_name]:
            raise InvalidInput(f"the target {self.target_name!r} must be a scalar column")
        if stack_axis is not None and len(self.feature_names) > 1:
            if isinstance(stack_axis, bool) or not isinstance(stack_axis, int):
                raise InvalidInput(f"stack_axis must be an integer or None, got {stack_axis!r}")
            distinct = {tuple(shapes[n]) for n in self.feature_names}
            if len(distinct) > 1:
                raise InvalidInput(
                    "features of different shapes cannot be stacked: "
                    + ", ".join(f"{n} {shapes[n]}" for n in self.feature_names)
                    + "; give feature_shapes, choose feature_names, or pass stack_axis=None "
                    "for a dict of features",
                    details={"shapes": {n: shapes[n] for n in self.feature_names}},
                )
            rank = len(next(iter(distinct)))
            if not -(rank + 2) < stack_axis <= rank + 1:
                raise InvalidInput(
                    f"stack_axis {stack_axis} is out of range for rank {rank} features"
                )

    # ---- TFRecord ---------------------------------------------------------------------------

    def _spec(self, tf: Any, names: list[str], shapes: dict[str, list[int]]) -> dict[str, Any]:
        types = {"float": tf.float32, "int64": tf.int64, "bytes": tf.string}
        spec = {}
        for name in names:
            f, shape = self._features[name], shapes[name]
            dtype = types[f["kind"]]
            if shape == [-1]:
                spec[name] = tf.io.RaggedFeature(dtype)
                continue
            default = None
            if f["nullable"] and f["kind"] == "float":
                default = np.full(shape, np.nan, dtype=np.float32) if shape else np.nan
            spec[name] = tf.io.FixedLenFeature(shape, dtype, default_value=default)
        return spec

    def _records(self, tf: Any) -> Any:
        """The split's serialised records: files in order (one reader per file, up to
        ``cycle_length`` at once), or when training, files shuffled and interleaved."""
        if not self.input_files:
            return tf.data.Dataset.from_tensor_slices(tf.constant([], dtype=tf.string))
        parallel = min(self.cycle_length, len(self.input_files))
        if not self.is_training:
            return tf.data.TFRecordDataset(
                self.input_files, num_parallel_reads=parallel if parallel > 1 else None
            )
        files = tf.data.Dataset.from_tensor_slices(self.input_files)
        return files.shuffle(len(self.input_files)).interleave(
            tf.data.TFRecordDataset,
            cycle_length=parallel,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=self.deterministic,
        )

    def _pipeline(self, tf: Any, dataset: Any, batch_size: int, num_epochs: int) -> Any:
        if self.is_training:
            dataset = dataset.shuffle(batch_size * _SHUFFLE_BATCHES).repeat(num_epochs)
        return dataset.batch(batch_size, drop_remainder=self.is_training)

    def _features_and_label(
        self, tf: Any, parsed: dict[str, Any], one_hot: bool, num_classes: Any, stack_axis: Any
    ) -> tuple[Any, Any]:
        y = parsed[self.target_name]
        y = tf.one_hot(tf.cast(y, tf.int32), num_classes) if one_hot else tf.cast(y, tf.float32)
        columns = [tf.cast(parsed[n], tf.float32) for n in self.feature_names]
        if len(columns) == 1:
            return columns[0], y
        if stack_axis is None:
            return dict(zip(self.feature_names, columns, strict=True)), y
        return tf.stack(columns, axis=stack_axis), y

    def tf_record_dataset(
        self,
        batch_size: int | None = None,
        num_epochs: int | None = None,
        one_hot_encode_labels: bool = False,
        num_classes: int | None = None,
        process: bool = False,
        feature_shapes: dict[str, list[int]] | None = None,
        stack_axis: int | None = -1,
    ) -> Any:
        """A ``tf.data.Dataset`` over the split's TFRecord files (see the module docstring)."""
        self._require_format(
            "tf_record_dataset",
            ("tfrecords",),
            "use tf_csv_dataset for csv/tsv, or td.read() / td.numpy_batches() for any format",
        )
        self._check_batching(batch_size, num_epochs, one_hot_encode_labels, num_classes, process)
        names = [*self.feature_names, self.target_name]
        self._check_parsable(names)
        shapes = self._shapes(names, feature_shapes)
        if process:
            self._check_stackable(shapes, stack_axis)
        import tensorflow as tf

        spec = self._spec(tf, names, shapes)
        records = self._records(tf)
        if not process:
            return records.map(
                lambda r: tf.io.parse_single_example(r, spec), num_parallel_calls=tf.data.AUTOTUNE
            )
        one_hot = bool(one_hot_encode_labels)

        def parse(batch: Any) -> tuple[Any, Any]:
            parsed = tf.io.parse_example(batch, spec)
            return self._features_and_label(tf, parsed, one_hot, num_classes, stack_axis)

        batches = self._pipeline(tf, records, batch_size, num_epochs)  # type: ignore[arg-type]
        return batches.map(parse, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    # ---- CSV --------------------------------------------------------------------------------

    def tf_csv_dataset(
        self,
        batch_size: int | None = None,
        num_epochs: int | None = None,
        one_hot_encode_labels: bool = False,
        num_classes: int | None = None,
        process: bool = False,
    ) -> Any:
        """A ``tf.data.experimental.CsvDataset`` over the split's csv/tsv files, or with
        ``process=True`` its ``(features (batch, n), label)`` batches, prefetched."""
        self._require_format(
            "tf_csv_dataset",
            ("csv", "tsv"),
            "use tf_record_dataset for tfrecords, or td.read() / td.numpy_batches()",
        )
        self._check_batching(batch_size, num_epochs, one_hot_encode_labels, num_classes, process)
        names = [*self.feature_names, self.target_name]
        self._check_parsable(names)
        for name in names:
            f = self._features[name]
            if f["dims"]:
                raise InvalidInput(
                    f"tf_csv_dataset reads scalar columns, but {name!r} is {f['type']} (JSON "
                    "text in CSV): leave it out with feature_names, or use tfrecords",
                    details={"column": name},
                )
        if process:
            self._check_stackable({n: [] for n in names}, -1)
        import tensorflow as tf

        order = [f["name"] for f in self.training_dataset.features]
        selected = sorted(order.index(n) for n in names)
        typed = [self._csv_type(tf, self._features[order[i]]) for i in selected]
        if process:
            text = [order[i] for i, (_, d) in zip(selected, typed, strict=True) if d == tf.string]
            if text:
                raise InvalidInput(
                    f"process=True makes float tensors, but {text[0]!r} is "
                    f"{self._features[text[0]]['type']} in CSV: leave it out with feature_names",
                    details={"column": text[0]},
                )
        if not self.input_files:
            empty = tuple(tf.constant([], dtype=d) for _, d in typed)
            dataset = tf.data.Dataset.from_tensor_slices(empty)
        else:
            dataset = tf.data.experimental.CsvDataset(
                self.input_files,
                [default for default, _ in typed],
                header=True,
                field_delim=td_formats.DELIMITERS[self.training_dataset.data_format],
                select_cols=selected,
            )
        if not process:
            return dataset
        position = {order[i]: k for k, i in enumerate(selected)}
        one_hot = bool(one_hot_encode_labels)

        def to_pair(*columns: Any) -> tuple[Any, Any]:
            parsed = {n: columns[position[n]] for n in names}
            return self._features_and_label(tf, parsed, one_hot, num_classes, -1)

        batches = self._pipeline(tf, dataset, batch_size, num_epochs)  # type: ignore[arg-type]
        return batches.map(to_pair, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    @staticmethod
    def _csv_type(tf: Any, feature: dict[str, Any]) -> tuple[Any, Any]:
        """A CsvDataset record default (a dtype: required; a value: NaN for nulls), and the
        dtype; columns that are not numbers in CSV are read as strings."""
        t = feature["type"]
        if t in ("float", "double"):
            dtype = tf.float64 if t == "double" else tf.float32
            return (tf.constant([np.nan], dtype=dtype) if feature["nullable"] else dtype), dtype
        if t in ("int8", "int16", "int32", "int64"):
            dtype = tf.int64 if t == "int64" else tf.int32
            return dtype, dtype
        return tf.constant([""], dtype=tf.string), tf.string

    def __repr__(self) -> str:
        return (
            f"TFData({self.training_dataset.name!r} v{self.training_dataset.version}, "
            f"split={self.split!r}, target={self.target_name!r}, features={self.feature_names})"
        )


# ---- numpy batches (no TensorFlow) ------------------------------------------------------------


def _numpy_column(column: pa.Array, feature: dict[str, Any]) -> np.ndarray:
    dims = feature["dims"]
    if dims is None or -1 in dims:  # arrays of varying lengths: one array per row
        values = column.to_pylist()
        out = np.empty(len(values), dtype=object)
        out[:] = [None if v is None else np.asarray(v) for v in values]
        return out
    if feature["kind"] is None:
        out = np.empty(len(column), dtype=object)
        out[:] = column.to_pylist()
        return out
    data, mask = td_formats.stacked(column, feature)
    if mask is not None and data.dtype.kind in "iub":
        data = np.where(mask.reshape((-1,) + (1,) * (data.ndim - 1)), np.nan, data)
    if dims and feature["shape"] != dims:
        data = data.reshape((len(data), *feature["shape"]))
    return data


def numpy_batches(
    td: TrainingDataset,
    split: str | None = None,
    batch_size: int = 32,
    feature_names: list[str] | None = None,
    shuffle: bool = False,
    seed: int | None = None,
    drop_remainder: bool = False,
) -> Iterator[dict[str, np.ndarray]]:
    """Batches ``{column: array (batch, *shape)}`` of ``split``, file by file.

    ``shuffle`` shuffles the order of the part files and the rows within each file (a buffer
    of one file), with ``seed``. Floats keep NaN for nulls; integer columns holding nulls
    become float with NaN; arrays of varying lengths come as object arrays of arrays.
    """
    _positive(batch_size, "batch_size", allow_none=False)
    names = _names(td, feature_names, "feature_names") or [f["name"] for f in td.features]
    files = td._files(split)  # checks the split and the caller now, not at the first next()
    features = {f["name"]: f for f in td.features}
    schema = td._arrow_schema()
    data_format, every = td.data_format, td.features
    return _batches(
        files,
        data_format,
        every,
        schema,
        names,
        features,
        batch_size,
        shuffle,
        seed,
        drop_remainder,
    )


def _batches(
    files: list[Any],
    data_format: str,
    every: list[dict[str, Any]],
    schema: pa.Schema,
    names: list[str],
    features: dict[str, dict[str, Any]],
    batch_size: int,
    shuffle: bool,
    seed: int | None,
    drop_remainder: bool,
) -> Iterator[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    if shuffle:
        files = [files[i] for i in rng.permutation(len(files))]
    pending: list[dict[str, np.ndarray]] = []
    pending_rows = 0
    for path in files:
        table = td_formats.read_part(data_format, path, every, schema).select(names)
        columns = {n: _numpy_column(table.column(n).combine_chunks(), features[n]) for n in names}
        if shuffle:
            order = rng.permutation(table.num_rows)
            columns = {n: c[order] for n, c in columns.items()}
        pending.append(columns)
        pending_rows += table.num_rows
        while pending_rows >= batch_size:
            joined = {n: np.concatenate([p[n] for p in pending]) for n in names}
            yield {n: c[:batch_size] for n, c in joined.items()}
            rest = {n: c[batch_size:] for n, c in joined.items()}
            pending, pending_rows = [rest], pending_rows - batch_size
    if pending_rows and not drop_remainder:
        yield {n: np.concatenate([p[n] for p in pending]) for n in names}
