"""REST: resumable chunked uploads (``PUT …/files/{path}?upload_id=…``) and the size limit.

This module's server runs with ``EOLAB_UPLOAD_MAX_BYTES=1000``.
"""

from __future__ import annotations

import os

import pytest

P = "projects/ExtremeEarth"
FILES = f"{P}/datasets/eodata/files"
LIMIT = 1000
UPLOAD_ID = "upload-0001-abcdef"
DATA = os.urandom(250)  # three chunks of 100, 100 and 50 bytes
CHUNK = 100


@pytest.fixture
def eolab_home(eolab_home, monkeypatch):
    """The upload limit must be in the environment before the server (and its workspace) start."""
    monkeypatch.setenv("EOLAB_UPLOAD_MAX_BYTES", str(LIMIT))
    return eolab_home


@pytest.fixture
def dsapi(project):
    return project.get_dataset_api()


def chunk_params(index: int, upload_id: str = UPLOAD_ID, **overrides) -> dict[str, str]:
    params = {
        "upload_id": upload_id,
        "chunk_index": index,
        "total_chunks": 3,
        "total_size": len(DATA),
        "chunk_size": CHUNK,
    }
    params.update(overrides)
    return {k: str(v) for k, v in params.items() if v is not None}


def chunk(index: int) -> bytes:
    return DATA[index * CHUNK : (index + 1) * CHUNK]


def listed(dsapi, path: str = "eodata") -> list[str]:
    return [f.name for f in dsapi.ls(path)]


def staging(dsapi):
    return dsapi.project.root / ".staging" / "uploads"


async def test_server_uses_the_limit(jp_serverapp):
    from eolab.server.base import WORKSPACE_SETTING

    assert jp_serverapp.web_app.settings[WORKSPACE_SETTING].settings.upload_max_bytes == LIMIT


async def test_chunked_upload_out_of_order_then_complete(api, dsapi):
    path = f"{FILES}/scene.bin"
    status, body = await api("PUT", path, raw=chunk(0), params=chunk_params(0))
    assert status == 202, body
    assert body["received"] == [0]
    assert body["complete"] is False and body["file"] is None
    assert body["dest"] == "eodata/scene.bin" and body["total_chunks"] == 3

    status, body = await api("PUT", path, raw=chunk(2), params=chunk_params(2))
    assert status == 202, body
    assert body["upload_id"] == UPLOAD_ID
    assert body["received"] == [0, 2]
    assert body["complete"] is False

    # nothing is visible in the dataset while a chunk is missing
    status, body = await api("GET", FILES)
    assert status == 200
    assert body["files"] == []
    assert listed(dsapi) == []
    status, body = await api("GET", path)
    assert status == 404, body

    status, body = await api("GET", f"{P}/uploads/{UPLOAD_ID}")
    assert status == 200, body
    assert body["received"] == [0, 2]
    assert body["total_chunks"] == 3
    assert body["complete"] is False
    assert body["dest"] == "eodata/scene.bin"

    status, body = await api("PUT", path, raw=chunk(1), params=chunk_params(1))
    assert status == 201, body
    assert body["complete"] is True
    assert body["file"]["path"] == "eodata/scene.bin"
    assert body["file"]["size"] == len(DATA)

    status, body = await api("GET", path)
    assert status == 200
    assert body == DATA
    assert (dsapi.root / "eodata" / "scene.bin").read_bytes() == DATA
    # the staging area is cleaned up, and the upload is no longer known
    assert not (staging(dsapi) / UPLOAD_ID).exists()
    status, body = await api("GET", f"{P}/uploads/{UPLOAD_ID}")
    assert status == 404, body


async def test_resend_of_received_chunk_is_harmless(api, dsapi):
    path = f"{FILES}/scene.bin"
    for index in (0, 0, 1):
        status, body = await api("PUT", path, raw=chunk(index), params=chunk_params(index))
        assert status == 202, body
    assert body["received"] == [0, 1]
    status, body = await api("PUT", path, raw=chunk(2), params=chunk_params(2))
    assert status == 201, body
    assert (dsapi.root / "eodata" / "scene.bin").read_bytes() == DATA


async def test_chunk_longer_than_declared_400(api, dsapi, assert_error):
    path = f"{FILES}/scene.bin"
    status, body = await api("PUT", path, raw=chunk(0), params=chunk_params(0))
    assert status == 202, body
    status, body = await api("PUT", path, raw=chunk(1) + b"extra", params=chunk_params(1))
    assert status == 400, body
    error = assert_error(body, "invalid_input")
    assert "longer" in error["message"]
    # the last chunk is 50 bytes: 100 is too many too
    status, body = await api("PUT", path, raw=chunk(1), params=chunk_params(2))
    assert status == 400, body
    assert_error(body, "invalid_input")

    status, body = await api("GET", f"{P}/uploads/{UPLOAD_ID}")
    assert body["received"] == [0]
    assert listed(dsapi) == []


async def test_chunk_shorter_than_declared_400(api, dsapi, assert_error):
    path = f"{FILES}/scene.bin"
    status, body = await api("PUT", path, raw=chunk(0)[:-1], params=chunk_params(0))
    assert status == 400, body
    assert_error(body, "invalid_input")
    status, body = await api("GET", f"{P}/uploads/{UPLOAD_ID}")
    assert status == 200, body
    assert body["received"] == []
    assert listed(dsapi) == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"total_chunks": 2},  # 250 bytes in chunks of 100 make 3
        {"chunk_index": 3},
        {"chunk_index": -1},
        {"chunk_index": "one"},
        {"total_size": None},
        {"chunk_size": None},
        {"chunk_size": 0},
        {"total_size": -5},
        {"total_size": "big"},
        {"upload_id": "short"},
        {"upload_id": "../../../etc/passwdxx"},
    ],
)
async def test_bad_chunk_parameters_400(api, dsapi, assert_error, overrides):
    status, body = await api(
        "PUT", f"{FILES}/scene.bin", raw=chunk(0), params=chunk_params(0, **overrides)
    )
    assert status == 400, body
    assert_error(body, "invalid_input")
    assert listed(dsapi) == []
    ids = [p.name for p in staging(dsapi).iterdir()] if staging(dsapi).exists() else []
    assert ids in ([], [UPLOAD_ID])
    if ids:
        status, body = await api("GET", f"{P}/uploads/{UPLOAD_ID}")
        assert body["received"] == []


async def test_resume_with_other_shape_409(api, dsapi, assert_error):
    path = f"{FILES}/scene.bin"
    status, body = await api("PUT", path, raw=chunk(0), params=chunk_params(0))
    assert status == 202, body
    status, body = await api(
        "PUT", path, raw=chunk(1), params=chunk_params(1, total_size=300, total_chunks=None)
    )
    assert status == 409, body
    assert_error(body, "conflict")
    status, body = await api("PUT", f"{FILES}/other.bin", raw=chunk(1), params=chunk_params(1))
    assert status == 409, body
    status, body = await api("GET", f"{P}/uploads/{UPLOAD_ID}")
    assert body["received"] == [0] and body["dest"] == "eodata/scene.bin"


@pytest.mark.parametrize("size", [LIMIT + 1, 2 * 1024 * 1024])
async def test_whole_upload_over_limit_413(api, dsapi, assert_error, size):
    status, body = await api("PUT", f"{FILES}/big.bin", raw=b"x" * size)
    assert status == 413, body
    error = assert_error(body, "payload_too_large")
    assert error["details"]["limit"] == LIMIT
    assert listed(dsapi) == []
    assert not staging(dsapi).exists() or list(staging(dsapi).iterdir()) == []

    status, body = await api("PUT", f"{FILES}/ok.bin", raw=b"x" * LIMIT)
    assert status == 201, body
    assert listed(dsapi) == ["ok.bin"]


async def test_chunked_upload_over_limit_413(api, dsapi, assert_error):
    params = chunk_params(0, total_size=LIMIT + 1, total_chunks=None)
    status, body = await api("PUT", f"{FILES}/big.bin", raw=chunk(0), params=params)
    assert status == 413, body
    assert_error(body, "payload_too_large")
    assert listed(dsapi) == []
    assert not (staging(dsapi) / UPLOAD_ID).exists()


async def test_upload_onto_existing_file_409(api, dsapi, assert_error):
    status, body = await api("PUT", f"{FILES}/a.bin", raw=b"original")
    assert status == 201, body

    status, body = await api("PUT", f"{FILES}/a.bin", raw=chunk(0), params=chunk_params(0))
    assert status == 409, body
    error = assert_error(body, "conflict")
    assert error["details"] == {"path": "eodata/a.bin"}
    status, body = await api("PUT", f"{FILES}/a.bin", raw=b"replacement")
    assert status == 409, body
    assert (dsapi.root / "eodata" / "a.bin").read_bytes() == b"original"
    status, body = await api("GET", f"{FILES}/a.bin")
    assert body == b"original"

    # with ?overwrite=1 a chunked upload replaces it once complete
    for index in range(3):
        params = chunk_params(index, overwrite=1)
        status, body = await api("PUT", f"{FILES}/a.bin", raw=chunk(index), params=params)
        if index < 2:
            assert status == 202, body
            assert (dsapi.root / "eodata" / "a.bin").read_bytes() == b"original"
    assert status == 201, body
    assert (dsapi.root / "eodata" / "a.bin").read_bytes() == DATA


async def test_upload_status_needs_membership(api, dsapi, bob, assert_error):
    status, body = await api("PUT", f"{FILES}/scene.bin", raw=chunk(0), params=chunk_params(0))
    assert status == 202, body
    status, body = await api("GET", f"{P}/uploads/{UPLOAD_ID}", headers=bob)
    assert status == 403, body
    assert_error(body, "forbidden")
    status, body = await api(
        "PUT", f"{FILES}/scene.bin", raw=chunk(1), params=chunk_params(1), headers=bob
    )
    assert status == 403, body
    status, body = await api("GET", f"{P}/uploads/{UPLOAD_ID}")
    assert body["received"] == [0]


async def test_completing_chunk_reports_all_chunks(api, dsapi):
    path = f"{FILES}/scene.bin"
    for index in range(3):
        status, body = await api("PUT", path, raw=chunk(index), params=chunk_params(index))
    assert status == 201, body
    assert body["complete"] is True
    assert body["total_chunks"] == 3
    assert body["received"] == [0, 1, 2]
