"""Datasets, their files (streamed chunked uploads, downloads, previews) and tags."""

from __future__ import annotations

import mimetypes
import uuid
from typing import Any
from urllib.parse import quote

from tornado import web

from eolab.datasets.api import DatasetApi, FileInfo
from eolab.datasets.upload import ChunkWriter, UploadStatus
from eolab.errors import EolabError, InvalidInput, PayloadTooLarge
from eolab.server.base import ApiHandler
from eolab.server.models import (
    CreateDataset,
    DescribeDataset,
    DescribeFile,
    DescribeUpload,
    FileOp,
    FileOperation,
    ListDatasetsResponse,
    ListFilesResponse,
    PreviewResponse,
    SetTag,
    TagsResponse,
)

MAX_JSON_BODY = 1024 * 1024
DOWNLOAD_BLOCK = 1024 * 1024


def content_disposition(name: str) -> str:
    """An attachment header safe for any file name (RFC 6266 with an RFC 5987 UTF-8 name)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def describe_upload(status: UploadStatus, info: FileInfo | None = None) -> DescribeUpload:
    return DescribeUpload(
        upload_id=status.upload_id,
        dest=status.dest,
        total_chunks=status.total_chunks,
        received=status.received,
        complete=info is not None or status.complete,
        file=DescribeFile.model_validate(info) if info else None,
    )


class ProjectScoped(ApiHandler):
    async def dataset_api(self, project: str) -> DatasetApi:
        handle = await self.run(self.ws.get_project, project)
        return handle.get_dataset_api()


class DatasetsResource(ProjectScoped):
    async def get(self, project: str) -> None:
        api = await self.dataset_api(project)
        infos = await self.run(api.list)
        self.send_model(
            ListDatasetsResponse(datasets=[DescribeDataset.model_validate(i) for i in infos])
        )

    async def post(self, project: str) -> None:
        body = self.parse_body(CreateDataset)
        api = await self.dataset_api(project)
        info = await self.run(api.create, body.name, body.description, body.searchable)
        self.send_model(DescribeDataset.model_validate(info), 201)


class DatasetResource(ProjectScoped):
    async def get(self, project: str, dataset: str) -> None:
        api = await self.dataset_api(project)
        self.send_model(DescribeDataset.model_validate(await self.run(api.get, dataset)))

    async def delete(self, project: str, dataset: str) -> None:
        api = await self.dataset_api(project)
        await self.run(api.delete, dataset)
        self.set_status(204)
        self.finish()


@web.stream_request_body
class FilesResource(ProjectScoped):
    """``PUT`` streams an upload (whole, or one chunk of a resumable upload) to disk.

    Query of a chunked PUT: ``upload_id``, ``chunk_index``, ``total_chunks``, ``total_size``,
    ``chunk_size``; without ``upload_id`` the body is the whole file.
    """

    _writer: ChunkWriter | None = None
    _stream_error: EolabError | None = None

    async def prepare(self) -> None:
        self._buffer: list[bytes] = []
        self._buffered = 0
        await super().prepare()
        if self.request.method == "PUT":
            await self._begin_upload(**self.path_kwargs)

    def _full_path(self, dataset: str, path: str | None) -> str:
        return f"{dataset}/{path}" if path else dataset

    async def _begin_upload(self, project: str, dataset: str, path: str | None) -> None:
        api = await self.dataset_api(project)
        limit = api.ws.settings.upload_max_bytes
        length = self.request.headers.get("Content-Length")
        if length is None:
            raise InvalidInput("an upload needs a Content-Length header")
        length_i = int(length)
        upload_id = self.query("upload_id")
        if upload_id is None:
            total_size, chunk_size, total_chunks, index = length_i, None, None, 0
            upload_id = uuid.uuid4().hex
        else:
            total_size = self.query("total_size", None, int)
            chunk_size = self.query("chunk_size", None, int)
            total_chunks = self.query("total_chunks", None, int)
            index = self.query("chunk_index", 0, int)
            if total_size is None or chunk_size is None:
                raise InvalidInput("a chunked upload needs total_size and chunk_size")
        if length_i > limit or total_size > limit:
            raise PayloadTooLarge(
                f"upload of {max(length_i, total_size)} bytes is over the limit of {limit} bytes",
                details={"limit": limit},
            )
        self.request.connection.set_max_body_size(max(length_i, 1))
        dest = self._full_path(dataset, path)
        overwrite = self.query("overwrite", False, bool)
        await self.run(
            api.start_upload, dest, upload_id, total_size, chunk_size, total_chunks, overwrite
        )
        self._upload_id, self._api = upload_id, api
        self._writer = await self.run(api.open_chunk, upload_id, index)

    def data_received(self, chunk: bytes) -> None:
        if self._stream_error is not None:
            return
        try:
            if self._writer is not None:
                self._writer.write(chunk)
                return
            self._buffered += len(chunk)
            if self._buffered > MAX_JSON_BODY:
                raise PayloadTooLarge(f"a JSON body is limited to {MAX_JSON_BODY} bytes")
            self._buffer.append(chunk)
        except EolabError as exc:
            self._stream_error = exc

    def body_bytes(self) -> bytes:
        return b"".join(self._buffer)

    def on_connection_close(self) -> None:
        if self._writer is not None:
            self._writer.abort()  # the chunk stays missing; the client resends it
        super().on_connection_close()

    async def put(self, project: str, dataset: str, path: str | None = None) -> None:
        if self._stream_error is not None:
            raise self._stream_error
        assert self._writer is not None
        writer, self._writer = self._writer, None
        writer.commit()
        status = await self.run(self._api.upload_status, self._upload_id)
        info = await self.run(self._api.finish_upload, self._upload_id)
        self.send_model(describe_upload(status, info), 201 if info else 202)

    async def get(self, project: str, dataset: str, path: str | None = None) -> None:
        api = await self.dataset_api(project)
        full = self._full_path(dataset, path)
        if self.query("quicklook", False, bool):
            png = await self.run(api.quicklook, full, self.query("band", 1, int))
            self.set_header("Content-Type", "image/png")
            self.set_header("Cache-Control", "no-store")
            self.finish(png)
            return
        if self.query("preview", False, bool):
            result = await self.run(api.preview, full, self.query("lines", 20, int))
            self.send_model(PreviewResponse.model_validate(result))
            return
        entries = await self.run(api.ls, full)
        if len(entries) == 1 and not entries[0].is_dir and entries[0].path == full.rstrip("/"):
            await self._download(api, full)
            return
        self.send_model(
            ListFilesResponse(path=full, files=[DescribeFile.model_validate(e) for e in entries])
        )

    async def _download(self, api: DatasetApi, full: str) -> None:
        local = await self.run(api.local_path, full)
        kind = mimetypes.guess_type(local.name)[0] or "application/octet-stream"
        self.set_header("Content-Type", kind)
        self.set_header("Content-Length", str(local.stat().st_size))
        self.set_header("Content-Disposition", content_disposition(local.name))
        with open(local, "rb") as fh:
            while block := fh.read(DOWNLOAD_BLOCK):
                self.write(block)
                await self.flush()
        self.finish()

    async def post(self, project: str, dataset: str, path: str | None = None) -> None:
        if self._stream_error is not None:
            raise self._stream_error
        body = self.parse_body(FileOperation)
        api = await self.dataset_api(project)
        full = self._full_path(dataset, path)
        if body.op is FileOp.mkdir:
            info = await self.run(api.mkdir, full)
        else:
            if not body.to:
                raise InvalidInput(f"{body.op.value} needs 'to', the destination path")
            fn = api.move if body.op is FileOp.move else api.copy
            info = await self.run(fn, full, body.to, body.overwrite)
        self.send_model(DescribeFile.model_validate(info), 201)

    async def delete(self, project: str, dataset: str, path: str | None = None) -> None:
        api = await self.dataset_api(project)
        await self.run(api.remove, self._full_path(dataset, path))
        self.set_status(204)
        self.finish()


class UploadResource(ProjectScoped):
    async def get(self, project: str, upload_id: str) -> None:
        api = await self.dataset_api(project)
        status = await self.run(api.upload_status, upload_id)
        self.send_model(describe_upload(status))


class TagsResource(ProjectScoped):
    async def prepare(self) -> None:
        await super().prepare()
        if not self.path_kwargs.get("path"):
            raise InvalidInput("name the dataset or file: /projects/{project}/tags/{dataset}/...")

    async def get(self, project: str, path: str) -> None:
        api = await self.dataset_api(project)
        self.send_model(TagsResponse(path=path, tags=await self.run(api.get_tags, path)))

    async def put(self, project: str, path: str) -> None:
        body = self.parse_body(SetTag)
        api = await self.dataset_api(project)
        tags: dict[str, Any] = await self.run(api.add_tag, path, body.schema_, body.value)
        self.send_model(TagsResponse(path=path, tags=tags))

    async def delete(self, project: str, path: str) -> None:
        schema = self.query("schema")
        if not schema:
            raise InvalidInput("give the tag to delete as ?schema=<tag schema name>")
        api = await self.dataset_api(project)
        await self.run(api.delete_tag, path, schema)
        self.set_status(204)
        self.finish()
