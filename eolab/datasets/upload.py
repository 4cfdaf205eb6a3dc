"""Chunked, resumable, atomic uploads.

An upload is identified by an id the client chooses (the SDK derives it from the file, so
that running the same upload again resumes it). Chunk *i* is written at offset
``i * chunk_size`` of one staging file under ``<project>/.staging/uploads/<id>/``; a marker
file records each chunk once all its bytes arrived. When every chunk is there, the staging
file is renamed into place: no partial file is ever visible in a dataset, and a chunk cut off
half-way is simply sent again.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from eolab.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge

UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
STALE_AFTER_S = 7 * 24 * 3600


@dataclass(frozen=True)
class UploadPlan:
    upload_id: str
    dest: str  # project-datasets-relative path of the final file
    total_size: int
    chunk_size: int
    total_chunks: int
    overwrite: bool = False

    def chunk_length(self, index: int) -> int:
        if index == self.total_chunks - 1:
            return self.total_size - index * self.chunk_size
        return self.chunk_size


@dataclass(frozen=True)
class UploadStatus:
    upload_id: str
    dest: str
    total_chunks: int
    received: list[int]

    @property
    def complete(self) -> bool:
        return len(self.received) == self.total_chunks


def plan_upload(
    upload_id: str,
    dest: str,
    total_size: int,
    chunk_size: int,
    total_chunks: int | None,
    max_bytes: int,
    overwrite: bool = False,
) -> UploadPlan:
    """Check an upload's declared shape before a byte is written."""
    if not isinstance(upload_id, str) or not UPLOAD_ID.match(upload_id):
        raise InvalidInput(f"upload id must match {UPLOAD_ID.pattern}, got {upload_id!r}")
    if total_size < 0 or chunk_size <= 0:
        raise InvalidInput(
            f"total_size >= 0 and chunk_size > 0 expected, got {total_size}, {chunk_size}"
        )
    if total_size > max_bytes:
        raise PayloadTooLarge(
            f"upload of {total_size} bytes is over the limit of {max_bytes} bytes",
            details={"limit": max_bytes, "size": total_size},
        )
    expected = max(1, math.ceil(total_size / chunk_size))
    if total_chunks is not None and total_chunks != expected:
        raise InvalidInput(
            f"{total_size} bytes in chunks of {chunk_size} make {expected} chunks, not {total_chunks}"
        )
    return UploadPlan(upload_id, dest, total_size, chunk_size, expected, overwrite)


class ChunkWriter:
    """Receives the bytes of one chunk; :meth:`commit` marks it received if it is whole."""

    def __init__(self, staging: Path, plan: UploadPlan, index: int) -> None:
        self._staging = staging
        self._expected = plan.chunk_length(index)
        self._index = index
        self._offset = index * plan.chunk_size
        self._written = 0
        self._fd = os.open(staging / "data", os.O_WRONLY)

    def write(self, data: bytes | memoryview) -> None:
        if self._written + len(data) > self._expected:
            self.abort()
            raise InvalidInput(
                f"chunk {self._index} is longer than the {self._expected} bytes declared"
            )
        os.pwrite(self._fd, data, self._offset + self._written)
        self._written += len(data)

    def commit(self) -> None:
        os.close(self._fd)
        self._fd = -1
        if self._written != self._expected:
            raise InvalidInput(
                f"chunk {self._index} has {self._written} bytes, {self._expected} were declared"
            )
        (self._staging / f"{self._index}.done").touch()

    def abort(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class Uploads:
    """The staging area of one project."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, upload_id: str) -> Path:
        if not UPLOAD_ID.match(upload_id):
            raise InvalidInput(f"upload id must match {UPLOAD_ID.pattern}, got {upload_id!r}")
        return self.root / upload_id

    def begin(self, plan: UploadPlan) -> Path:
        """Create the staging area of a new upload, or check a resumed one matches."""
        staging = self._dir(plan.upload_id)
        meta = staging / "plan.json"
        if meta.exists():
            known = UploadPlan(**json.loads(meta.read_text()))
            if (known.dest, known.total_size, known.chunk_size) != (
                plan.dest,
                plan.total_size,
                plan.chunk_size,
            ):
                raise Conflict(
                    f"upload {plan.upload_id!r} was started for {known.dest!r} "
                    f"({known.total_size} bytes, chunks of {known.chunk_size}); start a new id"
                )
            return staging
        self.prune()
        staging.mkdir(parents=True, exist_ok=True)
        with open(staging / "data", "wb") as fh:
            fh.truncate(plan.total_size)
        tmp = staging / "plan.json.tmp"
        tmp.write_text(json.dumps(asdict(plan)))
        tmp.replace(meta)
        return staging

    def plan(self, upload_id: str) -> UploadPlan:
        meta = self._dir(upload_id) / "plan.json"
        if not meta.exists():
            raise NotFound(f"no upload in progress with id {upload_id!r}")
        return UploadPlan(**json.loads(meta.read_text()))

    def status(self, upload_id: str) -> UploadStatus:
        plan = self.plan(upload_id)
        staging = self._dir(upload_id)
        received = sorted(int(p.name.split(".")[0]) for p in staging.glob("*.done"))
        return UploadStatus(upload_id, plan.dest, plan.total_chunks, received)

    def open_chunk(self, upload_id: str, index: int) -> ChunkWriter:
        plan = self.plan(upload_id)
        if not 0 <= index < plan.total_chunks:
            raise InvalidInput(f"chunk index must be 0..{plan.total_chunks - 1}, got {index}")
        return ChunkWriter(self._dir(upload_id), plan, index)

    def finished_file(self, upload_id: str) -> Path | None:
        """The assembled staging file when every chunk arrived, else None."""
        if self.status(upload_id).complete:
            return self._dir(upload_id) / "data"
        return None

    def discard(self, upload_id: str) -> None:
        shutil.rmtree(self._dir(upload_id), ignore_errors=True)

    def prune(self, max_age_s: float = STALE_AFTER_S) -> None:
        """Drop uploads abandoned for longer than ``max_age_s``."""
        if not self.root.exists():
            return
        cutoff = time.time() - max_age_s
        for staging in self.root.iterdir():
            if staging.is_dir() and staging.stat().st_mtime < cutoff:
                shutil.rmtree(staging, ignore_errors=True)
