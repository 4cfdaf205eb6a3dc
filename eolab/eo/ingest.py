"""Ingest EO data into a project dataset: the objects under an S3 prefix (STAC items: ``stac.py``).

Every file lands through the dataset API's uploads (staged under ``.staging/uploads``, then
renamed into place), so nobody ever sees a partial file. Everything that can be checked before
the first byte moves is checked first (paths, filters, asset keys, sizes, clashes with files
already there), so bad input writes nothing. Files already present with the same size are
skipped: running an interrupted ingestion again finishes it. Large S3 objects travel in ranged,
resumable chunks pinned to the object's ETag.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from eolab.config import Settings
from eolab.datasets.api import DatasetApi, FileInfo
from eolab.datasets.paths import clean_parts
from eolab.eo.s3 import parse_s3_url, s3_client, translate_s3_error
from eolab.errors import (
    Conflict,
    EolabError,
    InvalidInput,
    InvalidPath,
    NotFound,
    PayloadTooLarge,
)
from eolab.widgets.progress import progress_bar

if TYPE_CHECKING:
    from eolab.projects import Project

log = logging.getLogger(__name__)

BLOCK = 1024 * 1024
HTTP_TIMEOUT_S = 30


class IngestResult(list[FileInfo]):
    """The files an ingestion covers, in source order; ``skipped`` of them were already there."""

    def __init__(self, files: Iterable[FileInfo] = (), skipped: int = 0) -> None:
        super().__init__(files)
        self.skipped = skipped

    @property
    def copied(self) -> int:
        return len(self) - self.skipped

    def __repr__(self) -> str:
        return f"IngestResult({len(self)} files: {self.copied} copied, {self.skipped} skipped)"


# ---- the dataset side ----------------------------------------------------------------------


def _base_path(api: DatasetApi, dataset: str, dest_folder: str) -> str:
    """``dataset/dest_folder`` once the dataset is known to exist and the folder is a clean path."""
    if not isinstance(dest_folder, str):
        raise InvalidPath(f"dest_folder is a relative folder path, got {dest_folder!r}")
    api.get(dataset)  # NotFound (or Forbidden) before anything else
    return "/".join([dataset, *clean_parts(dest_folder)])


def _relative(name: str, what: str) -> str:
    """A source-side relative path made safe for a dataset (no '..', no absolute paths)."""
    try:
        parts = clean_parts(name)
    except InvalidPath as exc:
        raise InvalidPath(f"{what} cannot become a dataset path: {exc.message}") from exc
    if not parts:
        raise InvalidPath(f"{what} gives an empty file name")
    return "/".join(parts)


class _Landing:
    """Where ingested files land: checks targets first, makes folders on demand, and removes
    the folders it made that are still empty when an ingestion fails."""

    def __init__(self, api: DatasetApi) -> None:
        self.api = api
        self._folders: set[str] = set()
        self._created: list[str] = []

    def _entry(self, path: str) -> FileInfo | str | None:
        """The file at ``path``, ``'dir'`` for a folder, None when nothing is there."""
        try:
            found = self.api.ls(path)
        except NotFound:
            return None
        if len(found) == 1 and found[0].path == path and not found[0].is_dir:
            return found[0]
        return "dir"

    def plan(self, targets: Sequence[tuple[str, int | None]]) -> list[FileInfo | None]:
        """Per target: the file already there with the same size (skip it), or None (fetch it).

        A clash (a folder where a file goes, a file where a folder goes, a file of another
        size) raises Conflict before anything is written.
        """
        seen: set[str] = set()
        for path, _ in targets:
            if path in seen:
                raise Conflict(f"two sources land on the same file {path!r}", {"path": path})
            seen.add(path)
        folders = {str(p) for path, _ in targets for p in PurePosixPath(path).parents}
        for folder in sorted(f for f in folders if "/" in f):
            if isinstance(self._entry(folder), FileInfo):
                raise Conflict(f"{folder!r} is a file, a folder is needed there", {"path": folder})
        present: list[FileInfo | None] = []
        for path, size in targets:
            entry = self._entry(path)
            if entry == "dir":
                raise Conflict(f"{path!r} is a folder, a file is needed there", {"path": path})
            if isinstance(entry, FileInfo) and size is not None and entry.size != size:
                raise Conflict(
                    f"{path!r} already exists with {entry.size} bytes, the source has {size}; "
                    "remove it to ingest it again",
                    {"path": path, "size": entry.size, "source_size": size},
                )
            present.append(entry if isinstance(entry, FileInfo) else None)
        return present

    def make_parent(self, path: str) -> None:
        parents = [str(p) for p in reversed(PurePosixPath(path).parents) if "/" in str(p)]
        for folder in parents:
            if folder in self._folders:
                continue
            if not self.api.exists(folder):
                self.api.mkdir(folder)
                self._created.append(folder)
            self._folders.add(folder)

    @contextmanager
    def writing(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            for folder in reversed(self._created):
                try:
                    if not self.api.ls(folder):
                        self.api.remove(folder)
                except EolabError:
                    pass
            raise


class _Counted:
    """A readable stream that reports each block it hands out (for the progress bar)."""

    def __init__(self, stream: Any, advance: Callable[[int], None]) -> None:
        self._stream = stream
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._advance(len(data))
        return data


# ---- S3 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _S3Object:
    key: str
    size: int
    etag: str
    dest: str


def _list_objects(client: Any, bucket: str, prefix: str, settings: Settings) -> list[dict]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [obj for page in pages for obj in page.get("Contents", [])]
    except (BotoCoreError, ClientError) as exc:
        raise translate_s3_error(exc, f"s3://{bucket}/{prefix}", settings) from exc


def ingest_s3(
    project: Project,
    bucket: str,
    prefix: str,
    dataset: str,
    dest_folder: str = "",
    endpoint_url: str | None = None,
    progress: bool = True,
) -> IngestResult:
    """Copy every object under ``s3://bucket/prefix`` into ``dataset/dest_folder``.

    Keys keep their path below the prefix's last ``/`` (prefix ``raw/`` puts ``raw/a/b.tif``
    at ``a/b.tif``; prefix ``raw/S1`` puts ``raw/S1_x.tif`` at ``S1_x.tif``), folders are
    created as needed, and objects already present with the same size are skipped.
    ``endpoint_url`` overrides the ``s3_endpoint_url`` setting for this call.
    """
    api = project.get_dataset_api()
    base = _base_path(api, dataset, dest_folder)
    if not isinstance(prefix, str):
        raise InvalidInput(f"prefix is a string (may be empty), got {prefix!r}")
    where = f"s3://{bucket}/{prefix}"
    parse_s3_url(where)  # a bad bucket name is InvalidInput before any request
    settings = project.workspace.settings.with_overrides(s3_endpoint_url=endpoint_url)
    client = s3_client(settings)
    listed = [o for o in _list_objects(client, bucket, prefix, settings) if o["Key"][-1] != "/"]
    if not listed:
        raise NotFound(f"no objects under {where}", details={"bucket": bucket, "prefix": prefix})
    cut = prefix.rfind("/") + 1
    objects = [
        _S3Object(
            o["Key"],
            int(o["Size"]),
            o.get("ETag", ""),
            base + "/" + _relative(o["Key"][cut:], f"S3 key {o['Key']!r}"),
        )
        for o in listed
    ]
    limit = project.workspace.settings.upload_max_bytes
    too_big = [o.key for o in objects if o.size > limit]
    if too_big:
        raise PayloadTooLarge(
            f"{len(too_big)} object(s) under {where} are over the upload limit of {limit} bytes, "
            f"e.g. {too_big[0]!r}",
            details={"limit": limit, "keys": too_big[:20]},
        )
    landing = _Landing(api)
    present = landing.plan([(o.dest, o.size) for o in objects])
    todo = [o for o, p in zip(objects, present, strict=True) if p is None]
    files: list[FileInfo] = []
    with (
        landing.writing(),
        progress_bar(sum(o.size for o in todo), f"ingest {where}", progress, unit="B") as bar,
    ):
        advance = bar.update
        for obj, there in zip(objects, present, strict=True):
            if there is None:
                landing.make_parent(obj.dest)
                there = _copy_object(api, client, bucket, obj, settings, advance)
            files.append(there)
    result = IngestResult(files, skipped=len(objects) - len(todo))
    log.info("ingested %s into %s: %r", where, base, result)
    return result


def _copy_object(
    api: DatasetApi,
    client: Any,
    bucket: str,
    obj: _S3Object,
    settings: Settings,
    advance: Callable[[int], None],
) -> FileInfo:
    """Stream one object into its dataset file; objects over one upload chunk go in resumable
    ranged chunks, each GET pinned to the listed ETag so that a changed object is refused."""
    from botocore.exceptions import BotoCoreError, ClientError

    chunk = api.ws.settings.upload_chunk_bytes
    pin = {"IfMatch": obj.etag} if obj.etag else {}
    where = f"s3://{bucket}/{obj.key}"
    upload_id = None
    try:
        if obj.size <= chunk:
            body = client.get_object(Bucket=bucket, Key=obj.key, **pin)["Body"]
            with body:
                return api.upload_stream(_Counted(body, advance), obj.dest, obj.size)
        key = "|".join(
            [api.caller.name, api.project.name, obj.dest, settings.s3_endpoint_url, where]
            + [obj.etag, str(obj.size), str(chunk)]
        )
        upload_id = hashlib.sha256(key.encode()).hexdigest()[:32]
        status = api.start_upload(obj.dest, upload_id, obj.size, chunk)
        advance(sum(min(chunk, obj.size - i * chunk) for i in status.received))
        for index in sorted(set(range(status.total_chunks)) - set(status.received)):
            first, last = index * chunk, min((index + 1) * chunk, obj.size) - 1
            body = client.get_object(
                Bucket=bucket, Key=obj.key, Range=f"bytes={first}-{last}", **pin
            )["Body"]
            writer = api.open_chunk(upload_id, index)
            try:
                with body:
                    while block := body.read(BLOCK):
                        writer.write(block)
                        advance(len(block))
                writer.commit()
            except BaseException:
                writer.abort()
                raise
        info = api.finish_upload(upload_id)
        assert info is not None  # every chunk was written above
        return info
    except (BotoCoreError, ClientError) as exc:
        error = translate_s3_error(exc, where, settings)
        if upload_id and isinstance(error, Conflict):  # the object changed: resuming is moot
            api.uploads.discard(upload_id)
        raise error from exc


__all__ = ["IngestResult", "ingest_s3"]
