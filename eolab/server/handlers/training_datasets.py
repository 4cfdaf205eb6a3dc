"""Training datasets over REST: list, versions, describe, delete, statistics per split, a
bounded preview per split, tags.

Thin over :class:`eolab.featurestore.TrainingDataset`; like the feature group handlers they
open the project on the python engine, so nothing here starts Spark or imports TensorFlow
(TFRecord files are parsed by :mod:`eolab.featurestore.tfrecord`). The preview reads only the
first rows of the first part files it needs, never a whole split.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import pyarrow as pa

from eolab.errors import InvalidInput, NotFound
from eolab.featurestore import td_formats, td_write, tfrecord
from eolab.featurestore.training_dataset import TrainingDataset
from eolab.server.handlers.featurestore import (
    PREVIEW_DEFAULT,
    FeatureStoreScoped,
    aware,
    is_array,
    parse_version,
    preview_rows,
    preview_size,
)
from eolab.server.models import (
    DescribeFeatureStatistics,
    DescribePreviewColumn,
    DescribeProvenance,
    DescribeSplit,
    DescribeTrainingDataset,
    DescribeTrainingDatasetFeature,
    DescribeTrainingDatasetStatistics,
    DescribeTrainingDatasetSummary,
    DescribeTrainingDatasetVersion,
    ListTrainingDatasetsResponse,
    ListTrainingDatasetVersionsResponse,
    PreviewTrainingDatasetResponse,
    SetTag,
    TagsResponse,
)

WHAT = "training dataset"


# ---- views ------------------------------------------------------------------------------------


def splits(td: TrainingDataset) -> list[DescribeSplit]:
    """Each split with the fraction asked for and the rows written; one '' entry if unsplit."""
    if not td.splits:
        return [DescribeSplit(name="", fraction=None, size=td.row_count)]
    sizes = td.split_sizes
    return [DescribeSplit(name=n, fraction=f, size=sizes.get(n, 0)) for n, f in td.splits.items()]


def _relative_location(td: TrainingDataset) -> str | None:
    if td.location is None:
        return None
    root = Path(td.feature_store.project.root)
    try:
        return Path(td.location).relative_to(root).as_posix()
    except ValueError:
        return td.location


def summarize(datasets: list[TrainingDataset]) -> list[DescribeTrainingDatasetSummary]:
    """One entry per training dataset name, described by its latest version."""
    by_name: dict[str, list[TrainingDataset]] = {}
    for td in datasets:
        by_name.setdefault(td.name, []).append(td)
    out = []
    for name, versions in sorted(by_name.items()):
        latest = max(versions, key=lambda t: t.version or 0)
        out.append(
            DescribeTrainingDatasetSummary(
                name=name,
                versions=sorted(t.version for t in versions if t.version is not None),
                latest_version=latest.version or 0,
                description=latest.description,
                data_format=latest.data_format,
                row_count=latest.row_count,
                created=aware(latest.created_at),
            )
        )
    return out


def describe_version(td: TrainingDataset) -> DescribeTrainingDatasetVersion:
    return DescribeTrainingDatasetVersion(
        name=td.name,
        version=td.version or 0,
        description=td.description,
        data_format=td.data_format,
        splits=splits(td),
        row_count=td.row_count,
        creator=td.creator,
        created=aware(td.created_at),
    )


def describe(td: TrainingDataset) -> DescribeTrainingDataset:
    tags = td.get_tags()  # first: it checks the caller may still see it
    return DescribeTrainingDataset(
        name=td.name,
        version=td.version or 0,
        description=td.description,
        data_format=td.data_format,
        splits=splits(td),
        row_count=td.row_count,
        features=[
            DescribeTrainingDatasetFeature(
                name=f["name"],
                type=f["type"],
                kind=f.get("kind"),
                dims=f.get("dims"),
                shape=f.get("shape"),
                nullable=bool(f.get("nullable")),
                label=bool(f.get("label")),
            )
            for f in td.features
        ],
        label=list(td.label),
        primary_key=list(td.primary_key),
        seed=td.seed,
        provenance=[
            DescribeProvenance(name=p["name"], version=p["version"], commit_id=p.get("commit_id"))
            for p in td.provenance
        ],
        statistics_config=dict(td.statistics_config),
        location=_relative_location(td),
        creator=td.creator,
        created=aware(td.created_at),
        updated=aware(td.updated_at),
        tags=tags,
    )


def _one_split(td: TrainingDataset, split: str | None, what: str) -> str | None:
    """``split`` checked against the dataset's splits; a split dataset needs one named."""
    if split is None and td.splits:
        raise InvalidInput(
            f"{WHAT} {td.name!r} version {td.version} is split: give ?split= one of "
            f"{list(td.splits)} to see its {what}",
            details={"field": "split", "splits": list(td.splits)},
        )
    if split is not None and split not in td.splits:
        known = list(td.splits)
        raise InvalidInput(
            f"{WHAT} {td.name!r} version {td.version} has no split {split!r}; "
            + (f"its splits are {known}" if known else "it is not split (leave out ?split=)"),
            details={"field": "split", "given": split, "splits": known},
        )
    return split


def statistics(td: TrainingDataset, split: str | None) -> DescribeTrainingDatasetStatistics:
    split = _one_split(td, split, "statistics")
    stats = td.get_statistics(split).stats
    columns: dict[str, dict[str, Any]] = stats.get("columns", {})
    order = [f["name"] for f in td.features if f["name"] in columns]
    order += [name for name in columns if name not in order]
    return DescribeTrainingDatasetStatistics(
        name=td.name,
        version=td.version or 0,
        split=split,
        row_count=int(stats.get("row_count", 0)),
        features=[DescribeFeatureStatistics(name=n, **columns[n]) for n in order],
        correlations=stats.get("correlations") or {},
    )


def _head_of_part(
    data_format: str, path: Path, n: int, features: list[dict[str, Any]], schema: pa.Schema
) -> pa.Table:
    """At most the first ``n`` rows of one part file, reading no more of it than needed
    where the format allows (TFRecord records one by one, Parquet in batches)."""
    if data_format == "tfrecords":
        records = list(islice(tfrecord.read_records(str(path)), n))
        return tfrecord.examples_to_arrow(records, features, schema)
    if data_format == "parquet":
        import pyarrow.parquet as pq

        batches = pq.ParquetFile(path).iter_batches(batch_size=n)
        first = next(batches, None)
        table = pa.Table.from_batches([first]) if first is not None else schema.empty_table()
        return table.cast(schema)
    return td_formats.read_part(data_format, path, features, schema).slice(0, n)


def preview(td: TrainingDataset, split: str | None, n: int) -> PreviewTrainingDatasetResponse:
    """The first ``n`` rows of ``split`` (of every split, in order, when None)."""
    if split is not None:
        _one_split(td, split, "preview")
    td.get_tags()  # checks the caller may still see it
    location = Path(str(td.location))
    if td.location is None or not location.is_dir():
        raise NotFound(f"{WHAT} {td.name!r} version {td.version} has no files any more")
    _, schema = td_write.read_schema(location)
    features = td.features
    names = [split] if split is not None else (list(td.splits) or [""])
    parts: list[pa.Table] = []
    wanted = n
    for name in names:
        folder = location / name if name else location
        for path in td_formats.part_files(folder, td.data_format):
            if wanted <= 0:
                break
            head = _head_of_part(td.data_format, path, wanted, features, schema)
            parts.append(head)
            wanted -= head.num_rows
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    types = {f["name"]: f["type"] for f in features}
    sizes = td.split_sizes
    return PreviewTrainingDatasetResponse(
        name=td.name,
        version=td.version or 0,
        split=split,
        num_rows=sizes.get(split, 0) if split is not None else td.row_count,
        columns=[
            DescribePreviewColumn(
                name=field.name,
                type=types.get(field.name, str(field.type)),
                array=is_array(field.type),
            )
            for field in schema
        ],
        rows=preview_rows(table.slice(0, n)),
    )


# ---- handlers ---------------------------------------------------------------------------------


class TrainingDatasetScoped(FeatureStoreScoped):
    async def training_dataset(self, project: str, name: str, v: str) -> TrainingDataset:
        version = parse_version(v, WHAT)
        fs = await self.feature_store(project)
        return await self.run(fs.get_training_dataset, name, version)


class TrainingDatasetsResource(TrainingDatasetScoped):
    async def get(self, project: str) -> None:
        fs = await self.feature_store(project)
        datasets = await self.run(fs.get_training_datasets)
        self.send_model(ListTrainingDatasetsResponse(training_datasets=summarize(datasets)))


class TrainingDatasetResource(TrainingDatasetScoped):
    async def get(self, project: str, name: str) -> None:
        fs = await self.feature_store(project)
        datasets = await self.run(fs.get_training_datasets, name)
        if not datasets:
            raise NotFound(
                f"no training dataset {name!r} in project {project!r}", details={"name": name}
            )
        versions = [describe_version(td) for td in datasets]
        self.send_model(ListTrainingDatasetVersionsResponse(name=name, versions=versions))


class TrainingDatasetVersionResource(TrainingDatasetScoped):
    async def get(self, project: str, name: str, v: str) -> None:
        await self.send_view(describe, await self.training_dataset(project, name, v))

    async def delete(self, project: str, name: str, v: str) -> None:
        td = await self.training_dataset(project, name, v)
        await self.run(td.delete)
        self.set_status(204)
        self.finish()


class TrainingDatasetStatisticsResource(TrainingDatasetScoped):
    async def get(self, project: str, name: str, v: str) -> None:
        split = self.query("split")
        td = await self.training_dataset(project, name, v)
        await self.send_view(statistics, td, split)


class TrainingDatasetPreviewResource(TrainingDatasetScoped):
    async def get(self, project: str, name: str, v: str) -> None:
        n = preview_size(self.query("n", PREVIEW_DEFAULT, int))
        split = self.query("split")
        td = await self.training_dataset(project, name, v)
        await self.send_view(preview, td, split, n)


class TrainingDatasetTagsResource(TrainingDatasetScoped):
    def _path(self, td: TrainingDataset) -> str:
        return f"featurestore/trainingdatasets/{td.name}/versions/{td.version}"

    async def get(self, project: str, name: str, v: str) -> None:
        td = await self.training_dataset(project, name, v)
        tags = await self.run(td.get_tags)
        self.send_model(TagsResponse(path=self._path(td), tags=tags))

    async def put(self, project: str, name: str, v: str) -> None:
        body = self.parse_body(SetTag)
        td = await self.training_dataset(project, name, v)
        await self.run(td.add_tag, body.schema_, body.value)
        tags = await self.run(td.get_tags)
        self.send_model(TagsResponse(path=self._path(td), tags=tags))

    async def delete(self, project: str, name: str, v: str) -> None:
        schema = self.query("schema")
        if not schema:
            raise InvalidInput("give the tag to delete as ?schema=<tag schema name>")
        td = await self.training_dataset(project, name, v)
        await self.run(td.delete_tag, schema)
        self.set_status(204)
        self.finish()
