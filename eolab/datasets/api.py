"""The dataset API of one project: folders of files under ``DataSets/``, with tags.

Paths are ``<dataset>/<folders>/<file>``. Every call checks the caller's membership and
API-key scope, refuses paths that leave the project, and keeps the catalog (datasets, search
index, tags) in step with the files in the same transaction as the change.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from eolab import search
from eolab.access import Caller, find_project, membership, require_creator_or_owner
from eolab.catalog.models import Dataset, User
from eolab.catalog.models import Project as ProjectRow
from eolab.datasets import tags as tag_store
from eolab.datasets.paths import resolve_inside, split_path
from eolab.datasets.preview import preview as preview_file
from eolab.datasets.upload import ChunkWriter, UploadPlan, Uploads, UploadStatus, plan_upload
from eolab.errors import Conflict, InvalidInput, InvalidPath, NotFound
from eolab.names import DATASET_NAME, check_name
from eolab.widgets.progress import progress_bar

if TYPE_CHECKING:
    from eolab.projects import Project


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    description: str
    searchable: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class FileInfo:
    name: str
    path: str
    is_dir: bool
    size: int
    modified: datetime


def _file_info(path: Path, rel: str) -> FileInfo:
    st = path.stat()
    modified = datetime.fromtimestamp(st.st_mtime, UTC).replace(tzinfo=None)
    return FileInfo(path.name, rel, path.is_dir(), 0 if path.is_dir() else st.st_size, modified)


class DatasetApi:
    """Datasets and their files in one project, as the project's caller."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.ws = project.workspace
        self.root = project.root / "DataSets"
        self.uploads = Uploads(project.root / ".staging" / "uploads")

    # ---- helpers ---------------------------------------------------------------------------

    @property
    def caller(self) -> Caller:
        return self.ws.caller

    @contextmanager
    def _tx(self, scope: str, write: bool = True) -> Iterator[tuple[Session, ProjectRow]]:
        self.caller.require_scope(scope)
        with self.ws.tx(write) as s:
            row = find_project(s, self.project.name)
            membership(s, self.caller, row)
            yield s, row

    def _dataset(self, s: Session, row: ProjectRow, name: str) -> Dataset:
        ds = s.scalar(select(Dataset).where(Dataset.project_id == row.id, Dataset.name == name))
        if ds is None:
            raise NotFound(
                f"no dataset {name!r} in project {row.name!r}",
                details={"project": row.name, "dataset": name},
            )
        return ds

    def _locate(self, s: Session, row: ProjectRow, path: str) -> tuple[Dataset, str, Path]:
        """(dataset, normalised path, absolute path) of a user path; the dataset must exist."""
        name, inner = split_path(path)
        ds = self._dataset(s, row, name)
        resolve_inside(self.root, name)  # the dataset folder itself may not lead outside
        target = resolve_inside(self.root / name, inner)
        return ds, f"{name}/{inner}".rstrip("/"), target

    def _ref(self, rel: str) -> str:
        return f"{self.project.name}/{rel}"

    def _index_tree(self, s: Session, row: ProjectRow, ds: Dataset, rel: str, target: Path) -> None:
        if not ds.searchable:
            return
        items = [(rel, target)]
        if target.is_dir():
            items += [
                (f"{rel}/{p.relative_to(target).as_posix()}", p) for p in sorted(target.rglob("*"))
            ]
        for item_rel, _ in items:
            search.index(s, "file", self._ref(item_rel), row.id, Path(item_rel).name, item_rel)

    def _forget_tree(self, s: Session, rel: str, keep_tags: bool = False) -> None:
        ref = self._ref(rel)
        search.unindex(s, "file", ref)
        search.unindex(s, "file", ref + "/", prefix=True)
        if not keep_tags:
            tag_store.delete_all_tags(s, "file", ref)
            tag_store.delete_all_tags(s, "file", ref + "/", prefix=True)

    # ---- datasets --------------------------------------------------------------------------

    def create(self, name: str, description: str = "", searchable: bool = True) -> DatasetInfo:
        check_name(name, "dataset", DATASET_NAME)
        with self._tx("dataset_create") as (s, row):
            if s.scalar(select(Dataset).where(Dataset.project_id == row.id, Dataset.name == name)):
                raise Conflict(f"dataset {name!r} already exists in {row.name!r}")
            folder = self.root / name
            if folder.exists():
                raise Conflict(
                    f"folder {name!r} already exists in DataSets/ but not in the catalog"
                )
            ds = Dataset(
                project_id=row.id,
                name=name,
                description=description,
                searchable=bool(searchable),
                created_by=self.caller.user_id,
            )
            s.add(ds)
            s.flush()
            search.index(s, "dataset", self._ref(name), row.id, name, description)
            folder.mkdir(parents=True)
            return DatasetInfo(name, description, ds.searchable, self.caller.name, ds.created_at)

    def list(self) -> list[DatasetInfo]:
        with self._tx("dataset_view", write=False) as (s, row):
            rows = s.execute(
                select(Dataset, User.name)
                .join(User, User.id == Dataset.created_by)
                .where(Dataset.project_id == row.id)
                .order_by(Dataset.name)
            ).all()
            return [
                DatasetInfo(d.name, d.description, d.searchable, user, d.created_at)
                for d, user in rows
            ]

    def get(self, name: str) -> DatasetInfo:
        return next((d for d in self.list() if d.name == name), None) or self._missing(name)

    def _missing(self, name: str) -> DatasetInfo:
        raise NotFound(f"no dataset {name!r} in project {self.project.name!r}")

    def delete(self, name: str) -> None:
        """Delete a dataset with all its files (its creator or a data owner may)."""
        trash = self.project.root / ".staging" / "trash" / uuid.uuid4().hex
        folder = self.root / name
        try:
            with self._tx("dataset_delete") as (s, row):
                ds = self._dataset(s, row, name)
                require_creator_or_owner(s, self.caller, row, ds.created_by, f"dataset {name!r}")
                s.delete(ds)
                search.unindex(s, "dataset", self._ref(name))
                tag_store.delete_all_tags(s, "dataset", self._ref(name))
                self._forget_tree(s, name)
                if folder.exists():
                    trash.parent.mkdir(parents=True, exist_ok=True)
                    folder.rename(trash)  # last step: a failure before it rolls the catalog back
        except BaseException:
            if trash.exists():
                trash.rename(folder)
            raise
        shutil.rmtree(trash, ignore_errors=True)

    # ---- files -----------------------------------------------------------------------------

    def ls(self, path: str) -> list[FileInfo]:
        with self._tx("dataset_view", write=False) as (s, row):
            _, rel, target = self._locate(s, row, path)
        if not target.exists():
            raise NotFound(f"no such folder: {rel!r}")
        if not target.is_dir():
            return [_file_info(target, rel)]
        return [_file_info(p, f"{rel}/{p.name}") for p in sorted(target.iterdir())]

    def stat(self, path: str) -> FileInfo:
        """Name, size, kind (file or folder) and modification time of one path."""
        with self._tx("dataset_view", write=False) as (s, row):
            _, rel, target = self._locate(s, row, path)
        if not target.exists():
            raise NotFound(f"no such file or folder: {rel!r}")
        return _file_info(target, rel)

    def exists(self, path: str) -> bool:
        with self._tx("dataset_view", write=False) as (s, row):
            return self._locate(s, row, path)[2].exists()

    def mkdir(self, path: str) -> FileInfo:
        with self._tx("dataset_create") as (s, row):
            ds, rel, target = self._locate(s, row, path)
            if target.exists():
                raise Conflict(f"{rel!r} already exists")
            # index every folder this call creates, not only the last one
            first_new, first_rel = target, rel
            while not first_new.parent.exists():
                first_new, first_rel = first_new.parent, first_rel.rsplit("/", 1)[0]
            target.mkdir(parents=True)
            self._index_tree(s, row, ds, first_rel, first_new)
            return _file_info(target, rel)

    def remove(self, path: str) -> None:
        """Remove a file or folder (the dataset's creator or a data owner may)."""
        trash = self.project.root / ".staging" / "trash" / uuid.uuid4().hex
        target = None
        try:
            with self._tx("dataset_delete") as (s, row):
                ds, rel, target = self._locate(s, row, path)
                if rel == ds.name:
                    raise InvalidPath(f"{rel!r} is a dataset: delete it with delete({ds.name!r})")
                require_creator_or_owner(s, self.caller, row, ds.created_by, f"dataset {ds.name!r}")
                if not target.exists():
                    raise NotFound(f"no such file or folder: {rel!r}")
                self._forget_tree(s, rel)
                trash.parent.mkdir(parents=True, exist_ok=True)
                target.rename(trash)
        except BaseException:
            if target is not None and (trash.exists() or trash.is_symlink()):
                trash.rename(target)
            raise
        if trash.is_dir() and not trash.is_symlink():
            shutil.rmtree(trash, ignore_errors=True)
        else:
            trash.unlink(missing_ok=True)

    def move(self, src: str, dst: str, overwrite: bool = False) -> FileInfo:
        return self._transfer(src, dst, overwrite, move=True)

    def copy(self, src: str, dst: str, overwrite: bool = False) -> FileInfo:
        return self._transfer(src, dst, overwrite, move=False)

    def _transfer(self, src: str, dst: str, overwrite: bool, move: bool) -> FileInfo:
        with self._tx("dataset_create") as (s, row):
            src_ds, src_rel, src_path = self._locate(s, row, src)
            dst_ds, dst_rel, dst_path = self._locate(s, row, dst)
            if src_rel == src_ds.name:
                raise InvalidPath(f"{src_rel!r} is a whole dataset; move or copy what is inside it")
            if not src_path.exists():
                raise NotFound(f"no such file or folder: {src_rel!r}")
            if dst_path.is_dir() and dst_rel != src_rel:
                dst_rel, dst_path = f"{dst_rel}/{src_path.name}", dst_path / src_path.name
            if dst_rel == src_rel or dst_rel.startswith(src_rel + "/"):
                raise InvalidPath(f"cannot {'move' if move else 'copy'} {src_rel!r} into itself")
            if not dst_path.parent.is_dir():
                raise NotFound(f"no such folder: {dst_rel.rsplit('/', 1)[0]!r}")
            if dst_path.exists() and not (overwrite and dst_path.is_file()):
                raise Conflict(f"{dst_rel!r} already exists", details={"path": dst_rel})
            if move:
                self._forget_tree(s, src_rel, keep_tags=True)
                tag_store.move_tags(s, "file", self._ref(src_rel), self._ref(dst_rel))
                os.replace(src_path, dst_path)
            else:
                tmp = dst_path.parent / f".eolab-copy-{uuid.uuid4().hex}"
                if src_path.is_dir():
                    shutil.copytree(src_path, tmp, symlinks=True)  # never pull in outside files
                else:
                    shutil.copy2(src_path, tmp)
                os.replace(tmp, dst_path)
            self._index_tree(s, row, dst_ds, dst_rel, dst_path)
            if move:
                tag_store.refresh_search_tree(s, "file", self._ref(dst_rel))
            return _file_info(dst_path, dst_rel)

    def preview(self, path: str, lines: int = 20) -> dict[str, Any]:
        with self._tx("dataset_view", write=False) as (s, row):
            _, rel, target = self._locate(s, row, path)
        if not target.exists():
            raise NotFound(f"no such file: {rel!r}")
        return {"path": rel, **preview_file(target, lines)}

    def quicklook(self, path: str, band: int = 1, max_size: int = 256) -> bytes:
        """A small PNG of one band of a raster file (2–98 % stretch)."""
        from eolab.eo.raster import quicklook_png

        return quicklook_png(self.local_path(path), band, max_size)

    def local_path(self, path: str) -> Path:
        """The file on disk behind a dataset path (for readers that want a real path)."""
        with self._tx("dataset_view", write=False) as (s, row):
            _, rel, target = self._locate(s, row, path)
        if not target.is_file():
            raise NotFound(f"no such file: {rel!r}")
        return target

    def download(
        self, path: str, local_path: str | Path | None = None, overwrite: bool = False
    ) -> Path:
        """Copy a file out of the project (atomically) and return where it landed."""
        source = self.local_path(path)
        dest = Path(local_path or source.name).expanduser()
        if dest.is_dir():
            dest = dest / source.name
        if dest.exists() and not overwrite:
            raise Conflict(f"{dest} already exists; pass overwrite=True")
        tmp = dest.with_name(f".{dest.name}.eolab-part")
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
        return dest

    # ---- uploads ---------------------------------------------------------------------------

    def start_upload(
        self,
        dest: str,
        upload_id: str,
        total_size: int,
        chunk_size: int | None = None,
        total_chunks: int | None = None,
        overwrite: bool = False,
    ) -> UploadStatus:
        """Declare (or resume) a chunked upload to the file ``dest``."""
        chunk_size = chunk_size or max(total_size, 1)
        with self._tx("dataset_create", write=False) as (s, row):
            _, rel, target = self._locate(s, row, dest)
            self._check_upload_target(rel, target, overwrite)
        plan = plan_upload(
            upload_id,
            rel,
            total_size,
            chunk_size,
            total_chunks,
            self.ws.settings.upload_max_bytes,
            overwrite,
        )
        self.uploads.begin(plan)
        return self.uploads.status(upload_id)

    def _check_upload_target(self, rel: str, target: Path, overwrite: bool) -> None:
        if "/" not in rel:
            raise InvalidPath(f"upload into a dataset: {rel!r} names only the dataset")
        if not target.parent.is_dir():
            raise NotFound(f"no such folder: {rel.rsplit('/', 1)[0]!r}")
        if target.is_dir() or (target.exists() and not overwrite):
            raise Conflict(f"{rel!r} already exists", details={"path": rel})

    def upload_status(self, upload_id: str) -> UploadStatus:
        self.caller.require_scope("dataset_create")
        return self.uploads.status(upload_id)

    def open_chunk(self, upload_id: str, index: int) -> ChunkWriter:
        """A writer for one chunk's bytes (the REST handler streams into it)."""
        self.caller.require_scope("dataset_create")
        return self.uploads.open_chunk(upload_id, index)

    def write_chunk(self, upload_id: str, index: int, data: bytes) -> UploadStatus:
        writer = self.open_chunk(upload_id, index)
        writer.write(data)
        writer.commit()
        return self.uploads.status(upload_id)

    def finish_upload(self, upload_id: str) -> FileInfo | None:
        """Move a complete upload into its dataset; None while chunks are still missing."""
        plan: UploadPlan = self.uploads.plan(upload_id)
        staged = self.uploads.finished_file(upload_id)
        if staged is None:
            return None
        with self._tx("dataset_create") as (s, row):
            ds, rel, target = self._locate(s, row, plan.dest)
            self._check_upload_target(rel, target, plan.overwrite)
            os.replace(staged, target)
            self._index_tree(s, row, ds, rel, target)
            info = _file_info(target, rel)
        self.uploads.discard(upload_id)
        return info

    def upload(
        self,
        local_path: str | Path,
        dest: str,
        overwrite: bool = False,
        chunk_size: int | None = None,
        progress: bool = True,
    ) -> FileInfo:
        """Upload a local file into the folder (or to the file path) ``dest``, resumably.

        Running the same upload again after an interruption sends only the missing chunks.
        """
        source = Path(local_path).expanduser()
        if not source.is_file():
            raise InvalidInput(f"{source} is not a file")
        st = source.stat()
        with self._tx("dataset_view", write=False) as (s, row):
            _, rel, target = self._locate(s, row, dest)
        if target.is_dir():
            rel = f"{rel}/{source.name}"
        chunk_size = chunk_size or self.ws.settings.upload_chunk_bytes
        key = f"{self.caller.name}:{self.project.name}:{rel}:{st.st_size}:{st.st_mtime_ns}:{chunk_size}"
        upload_id = hashlib.sha256(key.encode()).hexdigest()[:32]
        status = self.start_upload(rel, upload_id, st.st_size, chunk_size, None, overwrite)
        missing = sorted(set(range(status.total_chunks)) - set(status.received))
        with (
            open(source, "rb") as fh,
            progress_bar(st.st_size, f"upload {source.name}", progress, unit="B") as bar,
        ):
            advance = bar.update
            advance(len(status.received) * chunk_size if status.received else 0)
            for index in missing:
                fh.seek(index * chunk_size)
                self.write_chunk(upload_id, index, fh.read(chunk_size))
                advance(chunk_size)
        info = self.finish_upload(upload_id)
        assert info is not None  # every chunk was written above
        return info

    def upload_stream(
        self, stream: BinaryIO, dest: str, size: int, overwrite: bool = False
    ) -> FileInfo:
        """Upload ``size`` bytes read from a stream as one chunk (CLI pipes, generated data)."""
        upload_id = uuid.uuid4().hex
        self.start_upload(dest, upload_id, size, None, None, overwrite)
        writer = self.open_chunk(upload_id, 0)
        try:
            while block := stream.read(1024 * 1024):
                writer.write(block)
            writer.commit()
            info = self.finish_upload(upload_id)
        except BaseException:
            writer.abort()
            self.uploads.discard(upload_id)
            raise
        assert info is not None
        return info

    # ---- tags ------------------------------------------------------------------------------

    def _tag_target(self, s: Session, row: ProjectRow, path: str) -> tuple[str, str]:
        ds, rel, target = self._locate(s, row, path)
        if rel == ds.name:
            return "dataset", self._ref(rel)
        if not target.exists():
            raise NotFound(f"no such file or folder: {rel!r}")
        return "file", self._ref(rel)

    def add_tag(self, path: str, schema: str, value: Any) -> dict[str, Any]:
        """Tag a dataset (``'eodata'``) or a file (``'eodata/x.tif'``); returns all its tags."""
        with self._tx("dataset_create") as (s, row):
            kind, ref = self._tag_target(s, row, path)
            return tag_store.add_tag(s, self.caller, row.id, kind, ref, schema, value)

    def get_tags(self, path: str) -> dict[str, Any]:
        with self._tx("dataset_view", write=False) as (s, row):
            return tag_store.get_tags(s, *self._tag_target(s, row, path))

    def delete_tag(self, path: str, schema: str) -> None:
        with self._tx("dataset_create") as (s, row):
            tag_store.delete_tag(s, *self._tag_target(s, row, path), schema)


__all__ = ["DatasetApi", "DatasetInfo", "FileInfo"]
