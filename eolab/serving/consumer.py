"""Reading a serving's inference log back: decoded records, and consumer groups whose offsets
are committed in the catalog (Kafka's ``commit``), so that a monitoring job resumes where it
stopped, in any process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from eolab.catalog.models import ConsumerOffsetRow
from eolab.errors import InvalidInput
from eolab.experiments.tracking import project_tx
from eolab.serving.inference_log.base import LogBackend, LogEntry, decode

if TYPE_CHECKING:
    from eolab.projects import Project

SCOPE = "serving"
MAX_LIMIT = 100_000


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class InferenceRecord:
    """One logged request and its response, where it lies in the topic."""

    partition: int
    offset: int
    timestamp: datetime
    model_id: int
    model_name: str
    model_version: int
    request_timestamp: datetime
    response_http_code: int
    inference_request: str
    inference_response: str
    latency_ms: float
    instance: int

    @classmethod
    def from_entry(cls, entry: LogEntry) -> InferenceRecord:
        r = decode(entry.payload)
        return cls(
            entry.partition,
            entry.offset,
            _utc(entry.timestamp_ms),
            r["modelId"],
            r["modelName"],
            r["modelVersion"],
            _utc(r["requestTimestamp"]),
            r["responseHttpCode"],
            r["inferenceRequest"],
            r["inferenceResponse"],
            r["latency"],
            r["instance"],
        )

    def request(self) -> Any:
        """The request body as JSON (None when it was not JSON)."""
        try:
            return json.loads(self.inference_request)
        except ValueError:
            return None

    def response(self) -> Any:
        try:
            return json.loads(self.inference_response)
        except ValueError:
            return None


def _check(from_offset: Any, since: Any, limit: Any) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be an integer in [1, {MAX_LIMIT}], got {limit!r}")
    if from_offset is not None and (
        isinstance(from_offset, bool) or not isinstance(from_offset, int) or from_offset < 0
    ):
        raise InvalidInput(f"from_offset must be an integer >= 0, got {from_offset!r}")
    if since is not None and not isinstance(since, datetime):
        raise InvalidInput(f"since must be a datetime (UTC), got {since!r}")
    if from_offset is not None and since is not None:
        raise InvalidInput("pass from_offset or since, not both")


def read_records(
    backend: LogBackend,
    from_offset: int | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[InferenceRecord]:
    """Records of every partition, oldest first: from ``from_offset`` in each partition, or
    since ``since``, or else the last ``limit`` of the topic."""
    _check(from_offset, since, limit)
    since_ms = None
    if since is not None:
        aware = since if since.tzinfo else since.replace(tzinfo=UTC)
        since_ms = int(aware.timestamp() * 1000)
    entries: list[LogEntry] = []
    for partition in backend.partitions():
        if from_offset is not None or since_ms is not None:
            entries += backend.read(partition, from_offset or 0, limit, since_ms)
        else:
            start = max(backend.begin_offset(partition), backend.end_offset(partition) - limit)
            entries += backend.read(partition, start, limit)
    entries.sort(key=lambda e: (e.timestamp_ms, e.partition, e.offset))
    chosen = entries[-limit:] if from_offset is None and since is None else entries[:limit]
    return [InferenceRecord.from_entry(e) for e in chosen]


class InferenceLogConsumer:
    """A consumer group on one topic: ``poll`` reads on from the group's positions (the
    committed offsets, or the start of each partition), ``commit`` stores the positions."""

    def __init__(self, project: Project, backend: LogBackend, group: str) -> None:
        if not isinstance(group, str) or not group or len(group) > 255:
            raise InvalidInput(f"group must be a non-empty string (<= 255 chars), got {group!r}")
        self.project = project
        self.backend = backend
        self.group = group
        self.positions = self.committed()

    def committed(self) -> dict[int, int]:
        """The group's committed next offset per partition."""
        with project_tx(self.project, SCOPE, write=False) as (s, prow):
            rows = s.scalars(
                select(ConsumerOffsetRow).where(
                    ConsumerOffsetRow.project_id == prow.id,
                    ConsumerOffsetRow.topic == self.backend.topic,
                    ConsumerOffsetRow.group_id == self.group,
                )
            )
            return {r.partition: r.next_offset for r in rows}

    def lag(self) -> dict[int, int]:
        """Records per partition not yet polled."""
        return {
            p: max(0, self.backend.end_offset(p) - self.positions.get(p, 0))
            for p in self.backend.partitions()
        }

    def poll(self, max_records: int = 500) -> list[InferenceRecord]:
        """The next records of every partition (up to ``max_records`` in all)."""
        if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 1:
            raise InvalidInput(f"max_records must be an integer >= 1, got {max_records!r}")
        out: list[InferenceRecord] = []
        for partition in self.backend.partitions():
            left = max_records - len(out)
            if left <= 0:
                break
            start = max(self.positions.get(partition, 0), self.backend.begin_offset(partition))
            entries = self.backend.read(partition, start, left)
            if entries:
                self.positions[partition] = entries[-1].offset + 1
            out += [InferenceRecord.from_entry(e) for e in entries]
        return out

    def commit(self) -> dict[int, int]:
        """Store the positions in the catalog; returns them."""
        with project_tx(self.project, SCOPE) as (s, prow):
            for partition, offset in self.positions.items():
                row = s.scalar(
                    select(ConsumerOffsetRow).where(
                        ConsumerOffsetRow.project_id == prow.id,
                        ConsumerOffsetRow.topic == self.backend.topic,
                        ConsumerOffsetRow.group_id == self.group,
                        ConsumerOffsetRow.partition == partition,
                    )
                )
                if row is None:
                    row = ConsumerOffsetRow(
                        project_id=prow.id,
                        topic=self.backend.topic,
                        group_id=self.group,
                        partition=partition,
                        next_offset=offset,
                    )
                    s.add(row)
                row.next_offset = offset
        return dict(self.positions)
