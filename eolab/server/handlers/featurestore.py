"""Feature groups over REST: list, versions, describe, delete, commits, statistics, preview, tags.

The handlers open the project on the python engine: they read catalog rows, Delta logs and
small previews, and a table reads the same whichever engine wrote it, so a REST call never
starts Spark. The few read-only views the SDK has no method for (a bounded preview, a row
count) are built here from the feature group's public attributes and its Delta table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from eolab.errors import InvalidInput, NotFound
from eolab.featurestore import FeatureGroup, FeatureStore
from eolab.featurestore.feature_group import utc
from eolab.server.base import ApiHandler
from eolab.server.models import (
    DescribeCommit,
    DescribeFeature,
    DescribeFeatureGroup,
    DescribeFeatureGroupStatistics,
    DescribeFeatureGroupSummary,
    DescribeFeatureGroupVersion,
    DescribeFeatureStatistics,
    DescribePreviewColumn,
    ListCommitsResponse,
    ListFeatureGroupsResponse,
    ListFeatureGroupVersionsResponse,
    PreviewFeatureGroupResponse,
    SetTag,
    TagsResponse,
)
from eolab.workspace import Workspace

PREVIEW_DEFAULT = 20
PREVIEW_MAX = 1000
ARRAY_HEAD = 8  # values of an array feature sent in a preview (a 75×75 band is 5625)
_VERSION = re.compile(r"[0-9]{1,9}")


# ---- parsing ----------------------------------------------------------------------------------


def parse_version(raw: str, what: str = "feature group") -> int:
    """The ``{v}`` path segment as a version number (integers from 1)."""
    if not _VERSION.fullmatch(raw) or int(raw) < 1:
        raise InvalidInput(
            f"a {what} version is an integer from 1, got {raw!r}",
            details={"field": "version", "given": raw},
        )
    return int(raw)


def preview_size(n: int) -> int:
    if not 1 <= n <= PREVIEW_MAX:
        raise InvalidInput(
            f"n must be between 1 and {PREVIEW_MAX} rows, got {n}",
            details={"field": "n", "given": n},
        )
    return n


def aware(value: datetime | None) -> datetime | None:
    """Catalog and Delta times are naive UTC; say so on the wire."""
    return None if value is None else value.replace(tzinfo=UTC)


# ---- views ------------------------------------------------------------------------------------


def feature_store(ws: Workspace, project: str) -> FeatureStore:
    from eolab.projects import get_project

    return get_project(ws, project, engine="python").get_feature_store()


def _commits(fg: FeatureGroup, limit: int | None = None, until: Any = None) -> list[DescribeCommit]:
    return [
        DescribeCommit(
            commit_id=commit_id,
            committed_on=aware(c["committedOn"]),
            rows_inserted=c["rowsInserted"],
            rows_updated=c["rowsUpdated"],
            rows_deleted=c["rowsDeleted"],
            operation=c.get("operation"),
        )
        for commit_id, c in fg.commit_details(wallclock_time=until, limit=limit).items()
    ]


def _latest_commit(fg: FeatureGroup) -> DescribeCommit | None:
    commits = _commits(fg, limit=1)
    return commits[0] if commits else None


def summarize(groups: list[FeatureGroup]) -> list[DescribeFeatureGroupSummary]:
    """One entry per feature group name, described by its latest version."""
    by_name: dict[str, list[FeatureGroup]] = {}
    for fg in groups:
        by_name.setdefault(fg.name, []).append(fg)
    out = []
    for name, versions in sorted(by_name.items()):
        latest = max(versions, key=lambda g: g.version or 0)
        out.append(
            DescribeFeatureGroupSummary(
                name=name,
                versions=sorted(g.version for g in versions if g.version is not None),
                latest_version=latest.version or 0,
                description=latest.description,
                online_enabled=latest.online_enabled,
                latest_commit=_latest_commit(latest),
            )
        )
    return out


def describe_version(fg: FeatureGroup) -> DescribeFeatureGroupVersion:
    return DescribeFeatureGroupVersion(
        name=fg.name,
        version=fg.version or 0,
        description=fg.description,
        online_enabled=fg.online_enabled,
        num_features=len(fg.features),
        creator=fg.creator,
        created=aware(fg.created_at),
        latest_commit=_latest_commit(fg),
    )


def _table_path(fg: FeatureGroup) -> Path:
    return fg.feature_store.project.root / (fg.location or "")


def _snapshot(fg: FeatureGroup, version: int | None = None) -> Any:
    """The Delta snapshot as a pyarrow dataset (None while the table has no data)."""
    from deltalake import DeltaTable

    path = str(_table_path(fg))
    if not DeltaTable.is_deltatable(path):
        return None
    return DeltaTable(path, version=version).to_pyarrow_dataset()


def describe(fg: FeatureGroup) -> DescribeFeatureGroup:
    latest = _latest_commit(fg)  # first: it checks the caller may still see the group
    dataset = _snapshot(fg)
    return DescribeFeatureGroup(
        name=fg.name,
        version=fg.version or 0,
        description=fg.description,
        features=[
            DescribeFeature(
                name=f.name,
                type=f.type,
                primary=f.primary,
                partition=f.partition,
                event_time=f.name == fg.event_time,
            )
            for f in fg.features
        ],
        primary_key=fg.primary_key,
        event_time=fg.event_time,
        partition_key=fg.partition_key,
        online_enabled=fg.online_enabled,
        statistics_config=dict(fg.statistics_config),
        location=fg.location,
        creator=fg.creator,
        created=aware(fg.created_at),
        row_count=dataset.count_rows() if dataset is not None else 0,
        latest_commit=latest,
        tags=fg.get_tags(),
    )


def statistics(fg: FeatureGroup, commit_time: str | None) -> DescribeFeatureGroupStatistics:
    stats = fg.get_statistics(commit_time).stats
    columns: dict[str, dict[str, Any]] = stats.get("columns", {})
    order = [f.name for f in fg.features if f.name in columns]
    order += [name for name in columns if name not in order]
    commit_id = int(stats["commit_id"])
    times = {c.commit_id: c.committed_on for c in _commits(fg)}
    return DescribeFeatureGroupStatistics(
        name=fg.name,
        version=fg.version or 0,
        commit_id=commit_id,
        commit_time=times.get(commit_id),
        row_count=int(stats.get("row_count", 0)),
        features=[DescribeFeatureStatistics(name=n, **columns[n]) for n in order],
        correlations=stats.get("correlations") or {},
    )


def is_array(kind: pa.DataType) -> bool:
    return (
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    )


def _cell(value: Any) -> Any:
    """A JSON-safe preview value: NaN kept apart from null, arrays shortened."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if hasattr(value, "tolist") and not isinstance(value, (list, tuple, dict)):
        value = value.tolist()  # numpy scalars and arrays from the online store
        if not isinstance(value, (list, float)):
            return _cell(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, Decimal):
        return _cell(float(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict):
        return {str(k): _cell(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return {"length": len(value), "head": [_cell(v) for v in value[:ARRAY_HEAD]]}
    return str(value)


def preview_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows of ``table`` with every array column cut to its length and first values in Arrow
    (so a thousand 75×75 bands never become Python lists)."""
    lengths: dict[str, list[int | None]] = {}
    for i, field in enumerate(table.schema):
        if is_array(field.type):
            column = table.column(i)
            lengths[field.name] = pc.list_value_length(column).to_pylist()
            table = table.set_column(i, field.name, pc.list_slice(column, 0, ARRAY_HEAD))
    rows = table.to_pylist()
    for name, sizes in lengths.items():
        for row, size in zip(rows, sizes, strict=True):
            head = row[name]
            row[name] = None if head is None else {"length": size, "head": head}
    return [
        {k: _cell(v) if k not in lengths else _array_cell(v) for k, v in r.items()} for r in rows
    ]


def _array_cell(value: dict[str, Any] | None) -> Any:
    if value is None:
        return None
    return {"length": value["length"], "head": [_cell(v) for v in value["head"]]}


def _first_commit_time(fg: FeatureGroup) -> datetime | None:
    commits = _commits(fg)
    return commits[-1].committed_on if commits else None


def preview(
    fg: FeatureGroup, n: int, as_of: str | None, online: bool
) -> PreviewFeatureGroupResponse:
    """The first ``n`` rows, offline (as of a time) or online; arrays as length + head."""
    types = {f.name: f.type for f in fg.features}
    if online:
        if as_of is not None:
            raise InvalidInput(
                "the online store keeps only the latest values: as_of reads the offline store, "
                "leave out online=true",
                details={"field": "as_of"},
            )
        frame = fg.read(online=True)
        names = [c for c in types if c in frame.columns]
        columns = [
            DescribePreviewColumn(name=c, type=types[c], array=types[c].startswith("list<"))
            for c in names
        ]
        rows = [{c: _cell(r[c]) for c in names} for r in frame.head(n).to_dict("records")]
        return PreviewFeatureGroupResponse(
            name=fg.name,
            version=fg.version or 0,
            storage="online",
            as_of=None,
            commit_id=None,
            num_rows=len(frame),
            columns=columns,
            rows=rows,
        )
    when = None if as_of is None else utc(as_of, "as_of")
    commits = _commits(fg, limit=1, until=when)  # checks access, and the snapshot to read
    if when is not None and not commits:
        first = _first_commit_time(fg)
        raise InvalidInput(
            f"{fg.name!r} version {fg.version} has no data as of {when} UTC: "
            + (f"its first commit was at {first:%Y-%m-%d %H:%M:%S} UTC" if first else "no commit")
            + " yet",
            details={"field": "as_of", "first_commit": first.isoformat() if first else None},
        )
    commit_id = commits[0].commit_id if commits else None
    dataset = _snapshot(fg, commit_id if when is not None else None)
    names = [c for c in types if dataset is not None and c in dataset.schema.names]
    table = dataset.head(n, columns=names) if dataset is not None else pa.table({})
    return PreviewFeatureGroupResponse(
        name=fg.name,
        version=fg.version or 0,
        storage="offline",
        as_of=aware(when),
        commit_id=commit_id,
        num_rows=dataset.count_rows() if dataset is not None else 0,
        columns=[
            DescribePreviewColumn(
                name=c, type=types[c], array=is_array(dataset.schema.field(c).type)
            )
            for c in names
        ],
        rows=preview_rows(table),
    )


def delete(fg: FeatureGroup, force: bool) -> None:
    if fg.online_enabled:
        # FeatureGroup.delete() opens the online store only after unregistering the group, and
        # opening it checks that the group exists: open it first. (SDK bug, reported.)
        fg._online()
    fg.delete(force)


# ---- handlers ---------------------------------------------------------------------------------


class FeatureStoreScoped(ApiHandler):
    async def feature_store(self, project: str) -> FeatureStore:
        return await self.run(feature_store, self.ws, project)

    async def feature_group(self, project: str, name: str, v: str) -> FeatureGroup:
        version = parse_version(v)
        fs = await self.feature_store(project)
        return await self.run(fs.get_feature_group, name, version)

    async def send_view(self, view: Callable[..., Any], *args: Any) -> None:
        self.send_model(await self.run(view, *args))


class FeatureGroupsResource(FeatureStoreScoped):
    async def get(self, project: str) -> None:
        fs = await self.feature_store(project)
        groups = await self.run(fs.get_feature_groups)
        summaries = await self.run(summarize, groups)
        self.send_model(ListFeatureGroupsResponse(feature_groups=summaries))


class FeatureGroupResource(FeatureStoreScoped):
    async def get(self, project: str, name: str) -> None:
        fs = await self.feature_store(project)
        groups = await self.run(fs.get_feature_groups, name)
        if not groups:
            raise NotFound(
                f"no feature group {name!r} in project {project!r}", details={"name": name}
            )
        versions = [await self.run(describe_version, g) for g in groups]
        self.send_model(ListFeatureGroupVersionsResponse(name=name, versions=versions))


class FeatureGroupVersionResource(FeatureStoreScoped):
    async def get(self, project: str, name: str, v: str) -> None:
        await self.send_view(describe, await self.feature_group(project, name, v))

    async def delete(self, project: str, name: str, v: str) -> None:
        force = self.query("force", False, bool)
        fg = await self.feature_group(project, name, v)
        await self.run(delete, fg, force)
        self.set_status(204)
        self.finish()


class FeatureGroupCommitsResource(FeatureStoreScoped):
    async def get(self, project: str, name: str, v: str) -> None:
        limit = self.query("limit", None, int)
        until = self.query("wallclock_time")
        fg = await self.feature_group(project, name, v)
        commits = await self.run(_commits, fg, limit, until)
        self.send_model(ListCommitsResponse(name=fg.name, version=fg.version, commits=commits))


class FeatureGroupStatisticsResource(FeatureStoreScoped):
    async def get(self, project: str, name: str, v: str) -> None:
        commit_time = self.query("commit_time")
        fg = await self.feature_group(project, name, v)
        await self.send_view(statistics, fg, commit_time)


class FeatureGroupPreviewResource(FeatureStoreScoped):
    async def get(self, project: str, name: str, v: str) -> None:
        n = preview_size(self.query("n", PREVIEW_DEFAULT, int))
        as_of = self.query("as_of")
        online = self.query("online", False, bool)
        fg = await self.feature_group(project, name, v)
        await self.send_view(preview, fg, n, as_of, online)


class FeatureGroupTagsResource(FeatureStoreScoped):
    def _path(self, name: str, version: int | None) -> str:
        return f"featurestore/featuregroups/{name}/versions/{version}"

    async def get(self, project: str, name: str, v: str) -> None:
        fg = await self.feature_group(project, name, v)
        tags = await self.run(fg.get_tags)
        self.send_model(TagsResponse(path=self._path(fg.name, fg.version), tags=tags))

    async def put(self, project: str, name: str, v: str) -> None:
        body = self.parse_body(SetTag)
        fg = await self.feature_group(project, name, v)
        await self.run(fg.add_tag, body.schema_, body.value)
        tags = await self.run(fg.get_tags)
        self.send_model(TagsResponse(path=self._path(fg.name, fg.version), tags=tags))

    async def delete(self, project: str, name: str, v: str) -> None:
        schema = self.query("schema")
        if not schema:
            raise InvalidInput("give the tag to delete as ?schema=<tag schema name>")
        fg = await self.feature_group(project, name, v)
        await self.run(fg.delete_tag, schema)
        self.set_status(204)
        self.finish()
