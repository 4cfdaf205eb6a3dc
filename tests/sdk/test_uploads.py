"""Chunked, resumable, atomic uploads: no partial file is ever visible in a dataset."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

import eolab
from eolab import errors
from eolab.datasets.api import DatasetApi
from eolab.datasets.upload import UploadStatus

SIZE = 10_500
CHUNK = 1000  # 11 chunks, the last one 500 bytes


@pytest.fixture
def payload() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def local_file(tmp_path: Path, payload: bytes) -> Path:
    path = tmp_path / "scene.bin"
    path.write_bytes(payload)
    return path


def chunk(payload: bytes, index: int) -> bytes:
    return payload[index * CHUNK : (index + 1) * CHUNK]


def staging(api: DatasetApi) -> list[str]:
    root = api.project.root / ".staging" / "uploads"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_chunked_upload_lands_byte_identical(
    datasets: DatasetApi, local_file: Path, payload: bytes
) -> None:
    info = datasets.upload(local_file, "eodata", chunk_size=CHUNK, progress=False)
    assert (info.path, info.size, info.is_dir) == ("eodata/scene.bin", SIZE, False)
    assert (datasets.root / "eodata" / "scene.bin").read_bytes() == payload
    assert staging(datasets) == []  # the staging area is cleaned up


def test_upload_with_progress_bar(datasets: DatasetApi, local_file: Path, payload: bytes) -> None:
    datasets.upload(local_file, "eodata", chunk_size=4096, progress=True)
    assert (datasets.root / "eodata" / "scene.bin").read_bytes() == payload


def test_empty_file_upload(datasets: DatasetApi, tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    info = datasets.upload(tmp_path / "empty.txt", "eodata", progress=False)
    assert info.size == 0
    assert (datasets.root / "eodata" / "empty.txt").read_bytes() == b""


def test_interrupted_upload_is_invisible_then_resumes(datasets: DatasetApi, payload: bytes) -> None:
    status = datasets.start_upload("eodata/scene.bin", "upload-0001", SIZE, CHUNK)
    assert (status.total_chunks, status.received, status.dest) == (11, [], "eodata/scene.bin")
    for index in (0, 3, 10):
        datasets.write_chunk("upload-0001", index, chunk(payload, index))

    assert datasets.ls("eodata") == []
    assert datasets.finish_upload("upload-0001") is None
    assert datasets.ls("eodata") == []
    status = datasets.upload_status("upload-0001")
    assert status.received == [0, 3, 10]
    assert not status.complete

    # the same declaration again resumes; the received chunks are kept
    again = datasets.start_upload("eodata/scene.bin", "upload-0001", SIZE, CHUNK)
    assert again.received == [0, 3, 10]
    for index in sorted(set(range(11)) - set(again.received)):
        datasets.write_chunk("upload-0001", index, chunk(payload, index))
    assert datasets.upload_status("upload-0001").complete

    info = datasets.finish_upload("upload-0001")
    assert info is not None and info.path == "eodata/scene.bin"
    assert (datasets.root / "eodata" / "scene.bin").read_bytes() == payload
    assert staging(datasets) == []
    with pytest.raises(errors.NotFound):
        datasets.upload_status("upload-0001")


def test_upload_resumes_with_the_same_id_after_an_interruption(
    datasets: DatasetApi, local_file: Path, payload: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = DatasetApi.write_chunk
    sent: list[tuple[str, int]] = []
    fail_after: list[int] = [4]

    def recording_write(self: DatasetApi, upload_id: str, index: int, data: bytes) -> UploadStatus:
        if len(sent) == fail_after[0]:
            raise ConnectionError("network went away")
        sent.append((upload_id, index))
        return real_write(self, upload_id, index, data)

    monkeypatch.setattr(DatasetApi, "write_chunk", recording_write)
    with pytest.raises(ConnectionError):
        datasets.upload(local_file, "eodata", chunk_size=CHUNK, progress=False)
    upload_id = sent[0][0]
    assert datasets.ls("eodata") == []
    assert datasets.upload_status(upload_id).received == [0, 1, 2, 3]

    sent.clear()
    fail_after[0] = -1  # the network is back
    info = datasets.upload(local_file, "eodata", chunk_size=CHUNK, progress=False)
    assert {u for u, _ in sent} == {upload_id}  # same id derived from the same file
    assert [i for _, i in sent] == list(range(4, 11))  # only the missing chunks
    assert info.size == SIZE
    assert (datasets.root / "eodata" / "scene.bin").read_bytes() == payload
    assert staging(datasets) == []


def test_chunk_longer_than_declared_raises_invalid_input(
    datasets: DatasetApi, payload: bytes
) -> None:
    datasets.start_upload("eodata/scene.bin", "upload-0002", SIZE, CHUNK)
    with pytest.raises(errors.InvalidInput, match="longer"):
        datasets.write_chunk("upload-0002", 0, payload[: CHUNK + 1])
    with pytest.raises(errors.InvalidInput, match="longer"):
        datasets.write_chunk("upload-0002", 10, payload[-600:])  # the last chunk is 500 bytes
    assert datasets.upload_status("upload-0002").received == []
    data = datasets.project.root / ".staging" / "uploads" / "upload-0002" / "data"
    assert data.read_bytes() == b"\x00" * SIZE  # not a byte of the refused chunks was kept
    assert datasets.ls("eodata") == []


def test_chunk_shorter_than_declared_is_not_marked_received(
    datasets: DatasetApi, payload: bytes
) -> None:
    datasets.start_upload("eodata/scene.bin", "upload-0003", SIZE, CHUNK)
    with pytest.raises(errors.InvalidInput):
        datasets.write_chunk("upload-0003", 1, payload[:10])
    assert datasets.upload_status("upload-0003").received == []
    assert datasets.finish_upload("upload-0003") is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"upload_id": "short"}, "upload id"),
        ({"upload_id": "../../../../etc"}, "upload id"),
        ({"total_size": -1}, "total_size"),
        ({"chunk_size": -5}, "chunk_size"),
        ({"total_chunks": 3}, "chunks"),
    ],
)
def test_bad_upload_declaration_raises_invalid_input(
    datasets: DatasetApi, kwargs: dict, match: str
) -> None:
    args = {"dest": "eodata/scene.bin", "upload_id": "upload-0004", "total_size": SIZE}
    args["chunk_size"] = CHUNK
    args.update(kwargs)
    with pytest.raises(errors.InvalidInput, match=match):
        datasets.start_upload(**args)
    assert staging(datasets) == []
    assert datasets.ls("eodata") == []


def test_chunk_index_out_of_range_raises_invalid_input(
    datasets: DatasetApi, payload: bytes
) -> None:
    datasets.start_upload("eodata/scene.bin", "upload-0005", SIZE, CHUNK)
    for index in (-1, 11):
        with pytest.raises(errors.InvalidInput):
            datasets.write_chunk("upload-0005", index, payload[:CHUNK])
    assert datasets.upload_status("upload-0005").received == []


def test_unknown_upload_id_raises_not_found(datasets: DatasetApi) -> None:
    with pytest.raises(errors.NotFound):
        datasets.upload_status("no-such-upload")
    with pytest.raises(errors.NotFound):
        datasets.write_chunk("no-such-upload", 0, b"x")
    with pytest.raises(errors.NotFound):
        datasets.finish_upload("no-such-upload")
    assert staging(datasets) == []


def test_resuming_with_a_different_shape_raises_conflict(datasets: DatasetApi) -> None:
    datasets.start_upload("eodata/scene.bin", "upload-0006", SIZE, CHUNK)
    with pytest.raises(errors.Conflict):
        datasets.start_upload("eodata/scene.bin", "upload-0006", SIZE, 2000)
    with pytest.raises(errors.Conflict):
        datasets.start_upload("eodata/other.bin", "upload-0006", SIZE, CHUNK)
    assert datasets.upload_status("upload-0006").total_chunks == 11


def test_upload_over_the_size_limit_raises_payload_too_large(
    datasets: DatasetApi, home: Path, tmp_path: Path
) -> None:
    limited_ws = eolab.Workspace.open(home, user="alice", upload_max_bytes=100)
    limited = limited_ws.get_project("ExtremeEarth").get_dataset_api()
    (tmp_path / "big.bin").write_bytes(b"x" * 101)
    (tmp_path / "fits.bin").write_bytes(b"x" * 100)

    with pytest.raises(errors.PayloadTooLarge) as caught:
        limited.upload(tmp_path / "big.bin", "eodata", progress=False)
    assert caught.value.details == {"limit": 100, "size": 101}
    with pytest.raises(errors.PayloadTooLarge):
        limited.start_upload("eodata/big.bin", "upload-0007", 101)
    assert staging(limited) == []
    assert limited.ls("eodata") == []

    limited.upload(tmp_path / "fits.bin", "eodata", progress=False)
    assert [f.name for f in limited.ls("eodata")] == ["fits.bin"]


def test_upload_onto_an_existing_file_raises_conflict(
    datasets: DatasetApi, local_file: Path, tmp_path: Path, payload: bytes
) -> None:
    datasets.upload(local_file, "eodata", progress=False)
    newer = tmp_path / "newer" / "scene.bin"
    newer.parent.mkdir()
    newer.write_bytes(b"replacement")
    with pytest.raises(errors.Conflict):
        datasets.upload(newer, "eodata", progress=False)
    assert (datasets.root / "eodata" / "scene.bin").read_bytes() == payload
    assert staging(datasets) == []

    datasets.upload(newer, "eodata", overwrite=True, progress=False)
    assert (datasets.root / "eodata" / "scene.bin").read_bytes() == b"replacement"


def test_upload_onto_a_folder_or_dataset_root_is_refused(datasets: DatasetApi) -> None:
    datasets.mkdir("eodata/raw")
    with pytest.raises(errors.Conflict):
        datasets.start_upload("eodata/raw", "upload-0008", 10, overwrite=True)
    with pytest.raises(errors.InvalidPath):
        datasets.start_upload("eodata", "upload-0009", 10)
    assert staging(datasets) == []


def test_file_created_while_an_upload_was_staged_is_not_overwritten(
    datasets: DatasetApi, tmp_path: Path
) -> None:
    datasets.start_upload("eodata/a.txt", "upload-0010", 3)
    datasets.write_chunk("upload-0010", 0, b"new")
    (tmp_path / "a.txt").write_text("old")
    datasets.upload(tmp_path / "a.txt", "eodata", progress=False)
    with pytest.raises(errors.Conflict):
        datasets.finish_upload("upload-0010")
    assert (datasets.root / "eodata" / "a.txt").read_text() == "old"


def test_upload_stream(datasets: DatasetApi, payload: bytes) -> None:
    info = datasets.upload_stream(io.BytesIO(payload), "eodata/streamed.bin", SIZE)
    assert info.size == SIZE
    assert (datasets.root / "eodata" / "streamed.bin").read_bytes() == payload


def test_upload_stream_longer_than_declared_leaves_nothing(
    datasets: DatasetApi, payload: bytes
) -> None:
    with pytest.raises(errors.InvalidInput):
        datasets.upload_stream(io.BytesIO(payload), "eodata/streamed.bin", SIZE - 1)
    assert datasets.ls("eodata") == []
    assert staging(datasets) == []
