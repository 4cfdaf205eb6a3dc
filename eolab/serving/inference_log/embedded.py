"""The embedded inference log: an append-only, segmented log on disk with Kafka's
topic / partition / offset semantics, for one machine and no broker (DESIGN's principle 1).

Layout::

    <root>/<topic>/schema.avsc                      the Avro schema of the records
    <root>/<topic>/<partition>/.lock                held (flock) by the partition's one writer
    <root>/<topic>/<partition>/<base offset>.log    segments, 20-digit base offset names

A segment is a run of frames ``length (u32) | crc32 (u32) | offset (i64) | timestamp ms (i64) |
payload``, big-endian; the CRC covers offset, timestamp and payload. Offsets count from 0 in
each partition without gaps. A writer killed mid-frame (kill -9) leaves a torn tail: readers
stop at the first incomplete or bad frame (it may still be being written), and the next writer
cuts it off before appending. Segments roll at ``segment_bytes``; closed segments are deleted
by retention (total size per partition, and age), never the one being written.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import json
import logging
import os
import shutil
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eolab.serving.inference_log.base import LogBackend, LogEntry, LogWriter

HEADER = struct.Struct(">IIqq")  # length, crc, offset, timestamp ms
SUFFIX = ".log"
SCHEMA_FILE = "schema.avsc"
RETENTION_CHECK_S = 60.0
_log = logging.getLogger("eolab.serving.log")


@dataclass(frozen=True)
class Retention:
    """How much of a partition is kept: total bytes, age of a closed segment, segment size."""

    bytes: int = 1024**3
    ms: int = 7 * 24 * 3600 * 1000
    segment_bytes: int = 64 * 1024**2

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


class PartitionBusy(Exception):
    """Another process holds the partition's writer lock."""


def _crc(offset: int, timestamp: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(struct.pack(">qq", offset, timestamp))) & 0xFFFFFFFF


def frame(offset: int, timestamp: int, payload: bytes) -> bytes:
    """One record as it lies on disk."""
    return HEADER.pack(len(payload), _crc(offset, timestamp, payload), offset, timestamp) + payload


def _segments(folder: Path) -> list[tuple[int, Path]]:
    found = []
    with contextlib.suppress(FileNotFoundError):
        for path in folder.iterdir():
            if path.suffix == SUFFIX and path.stem.isdigit():
                found.append((int(path.stem), path))
    return sorted(found)


def _segment_path(folder: Path, base: int) -> Path:
    return folder / f"{base:020d}{SUFFIX}"


def _scan(
    path: Path, base: int, start: int = 0, payloads: bool = True
) -> Iterator[tuple[int, int, bytes | None, int]]:
    """(offset, timestamp, payload, end position) of each whole, valid frame of a segment;
    frames before offset ``start`` are skipped without reading (or checking) their payload.
    Stops at the first torn or bad frame."""
    expected = base
    try:
        handle = path.open("rb")
    except FileNotFoundError:  # deleted by retention while we looked
        return
    with handle:
        size = os.fstat(handle.fileno()).st_size
        position = 0
        while position + HEADER.size <= size:
            length, crc, offset, timestamp = HEADER.unpack(handle.read(HEADER.size))
            end = position + HEADER.size + length
            if offset != expected or end > size:
                return
            if offset < start or not payloads:
                handle.seek(length, os.SEEK_CUR)
                payload = None
            else:
                payload = handle.read(length)
                if len(payload) != length or _crc(offset, timestamp, payload) != crc:
                    return
            yield offset, timestamp, payload, end
            position = end
            expected += 1


def _valid_end(path: Path, base: int) -> tuple[int, int]:
    """(next offset, byte length of the valid frames) of a segment, every CRC checked."""
    next_offset, end = base, 0
    for offset, _, _, frame_end in _scan(path, base):
        next_offset, end = offset + 1, frame_end
    return next_offset, end


class PartitionWriter(LogWriter):
    """The one writer of a partition: recovers (cuts a torn tail), appends, rolls, retains."""

    def __init__(self, folder: Path, retention: Retention, block: bool = True) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.retention = retention
        self._lock = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(self._lock)
            raise PartitionBusy(f"another process writes partition {folder}") from None
        segments = _segments(folder)
        base, path = segments[-1] if segments else (0, _segment_path(folder, 0))
        self.next_offset, valid = _valid_end(path, base) if segments else (0, 0)
        size = path.stat().st_size if path.exists() else 0
        self.cut_bytes = size - valid
        self._file = path.open("ab", buffering=0)
        if self.cut_bytes:
            self._file.truncate(valid)
            _log.warning("%s: cut a torn tail of %d bytes after offset %d", path, self.cut_bytes,
                         self.next_offset - 1)  # fmt: skip
        self._size = valid
        self._closed_bytes = 0
        self._checked = 0.0
        self.enforce_retention()

    def append(self, payloads: list[bytes], timestamp_ms: int | list[int] | None = None) -> int:
        """Append records in order (with one timestamp, one per record, or now); return the
        offset of the last one."""
        if not payloads:
            return self.next_offset - 1
        stamps = timestamp_ms if isinstance(timestamp_ms, list) else None
        stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        first = self.next_offset
        data = b"".join(
            frame(first + i, stamps[i] if stamps else stamp, p)  # type: ignore[arg-type]
            for i, p in enumerate(payloads)
        )
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written:]
        self.next_offset += len(payloads)
        self._size += len(data)
        if self._size >= self.retention.segment_bytes:
            self._roll()
        elif (
            self._closed_bytes + self._size > self.retention.bytes
            or time.monotonic() - self._checked > RETENTION_CHECK_S
        ):
            self.enforce_retention()
        return self.next_offset - 1

    def _roll(self) -> None:
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = _segment_path(self.folder, self.next_offset).open("ab", buffering=0)
        self._size = 0
        self.enforce_retention()

    def enforce_retention(self, now_ms: int | None = None) -> list[Path]:
        """Delete closed segments, oldest first, past the size or age limit."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self._checked = time.monotonic()
        closed = _segments(self.folder)[:-1]
        sizes = {p: p.stat().st_size for _, p in closed}
        total = sum(sizes.values()) + self._size
        deleted = []
        for _, path in closed:
            old = path.stat().st_mtime * 1000 < now_ms - self.retention.ms
            if total <= self.retention.bytes and not old:
                break
            path.unlink(missing_ok=True)
            total -= sizes[path]
            deleted.append(path)
        self._closed_bytes = total - self._size
        return deleted

    def close(self) -> None:
        if self._file.closed:
            return
        with contextlib.suppress(OSError):
            os.fsync(self._file.fileno())
        self._file.close()
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        os.close(self._lock)


class EmbeddedLog(LogBackend):
    """One topic of the embedded log."""

    def __init__(self, root: str | Path, topic: str, retention: Retention | None = None) -> None:
        self.root = Path(root)
        self.topic = topic
        self.folder = self.root / topic
        self.retention = retention or Retention()

    def create(self, schema: dict[str, Any]) -> None:
        """Create the topic folder with its Avro schema (kept as it was when it exists)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / SCHEMA_FILE
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(schema, indent=1))
            tmp.replace(path)

    def schema(self) -> dict[str, Any] | None:
        path = self.folder / SCHEMA_FILE
        return json.loads(path.read_text()) if path.exists() else None

    def partitions(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(int(p.name) for p in self.folder.iterdir() if p.is_dir() and p.name.isdigit())

    def open_writer(self, partition: int, block: bool = True) -> PartitionWriter:
        return PartitionWriter(self.folder / str(partition), self.retention, block)

    def begin_offset(self, partition: int) -> int:
        segments = _segments(self.folder / str(partition))
        return segments[0][0] if segments else 0

    def end_offset(self, partition: int) -> int:
        """The offset the next record will get (as far as readers can see now)."""
        segments = _segments(self.folder / str(partition))
        if not segments:
            return 0
        base, path = segments[-1]
        last = base - 1
        for offset, _, _, _ in _scan(path, base, payloads=False):
            last = offset
        return last + 1

    def read(
        self,
        partition: int,
        from_offset: int = 0,
        limit: int | None = None,
        since_ms: int | None = None,
    ) -> list[LogEntry]:
        """Whole records from ``from_offset`` (and at or after ``since_ms``), oldest first."""
        segments = _segments(self.folder / str(partition))
        bases = [base for base, _ in segments]
        first = max(0, bisect.bisect_right(bases, from_offset) - 1)
        out: list[LogEntry] = []
        for base, path in segments[first:]:
            if since_ms is not None:
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime * 1000 < since_ms - 1000:
                        continue  # every record in it is older than ``since``
            for offset, timestamp, payload, _ in _scan(path, base, from_offset):
                if offset < from_offset or payload is None:
                    continue
                if since_ms is not None and timestamp < since_ms:
                    continue
                out.append(LogEntry(partition, offset, timestamp, payload))
                if limit is not None and len(out) >= limit:
                    return out
        return out

    def delete(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
