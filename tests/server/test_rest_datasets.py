"""REST: datasets and their files (listing, whole-file upload, download, preview, file ops)."""

from __future__ import annotations

import io
import re
import urllib.parse

import pytest

P = "projects/ExtremeEarth"
FILES = f"{P}/datasets/eodata/files"
CSV = b"id,label,lat\n1,ice,78.2\n2,water,79.9\n3,ice,80.1\n"


@pytest.fixture
def dsapi(project):
    """The SDK's dataset API of ExtremeEarth (as alice), to check what the REST calls did."""
    return project.get_dataset_api()


def names(dsapi, path: str = "eodata") -> list[str]:
    return [f.name for f in dsapi.ls(path)]


def disposition_filename(header: str) -> str:
    """The file name of a Content-Disposition header (RFC 6266), strictly parsed."""
    extended = re.search(r"filename\*=UTF-8''([^;\s]+)", header, re.IGNORECASE)
    if extended:
        return urllib.parse.unquote(extended.group(1))
    plain = re.fullmatch(r'attachment;\s*filename="((?:[^"\\]|\\.)*)"\s*', header)
    assert plain, f"malformed Content-Disposition: {header!r}"
    return re.sub(r"\\(.)", r"\1", plain.group(1))


# ---- datasets -------------------------------------------------------------------------------


async def test_create_list_describe_delete_dataset(api, dsapi):
    status, body = await api(
        "POST",
        f"{P}/datasets",
        {"name": "s1_grd", "description": "Sentinel-1", "searchable": False},
    )
    assert status == 201, body
    assert body["name"] == "s1_grd"
    assert body["description"] == "Sentinel-1"
    assert body["searchable"] is False
    assert body["created_by"] == "alice"
    assert (dsapi.root / "s1_grd").is_dir()

    status, body = await api("GET", f"{P}/datasets")
    assert status == 200
    assert [d["name"] for d in body["datasets"]] == ["eodata", "s1_grd"]
    assert body["datasets"][0]["description"] == "Arctic SAR chips"

    status, body = await api("GET", f"{P}/datasets/s1_grd")
    assert status == 200
    assert (body["name"], body["description"]) == ("s1_grd", "Sentinel-1")

    dsapi.upload_stream(io.BytesIO(b"abc"), "s1_grd/x.bin", 3)
    status, body = await api("DELETE", f"{P}/datasets/s1_grd")
    assert status == 204, body
    assert [d.name for d in dsapi.list()] == ["eodata"]
    assert not (dsapi.root / "s1_grd").exists()
    status, body = await api("GET", f"{P}/datasets/s1_grd")
    assert status == 404


async def test_create_dataset_bad_input(api, dsapi, assert_error):
    for payload, code in [
        ({"name": "../escape"}, "invalid_name"),
        ({"name": "a b"}, "invalid_name"),
        ({"name": ".."}, "invalid_name"),
        ({}, "invalid_input"),
        ({"name": "ok", "searchable": "maybe"}, "invalid_input"),
        ({"name": "ok", "bogus": 1}, "invalid_input"),
    ]:
        status, body = await api("POST", f"{P}/datasets", payload)
        assert status == 400, (payload, body)
        assert_error(body, code)
    status, body = await api("POST", f"{P}/datasets", raw=b"{name: eodata}")
    assert status == 400, body
    assert_error(body, "invalid_input")
    assert [d.name for d in dsapi.list()] == ["eodata"]
    assert sorted(p.name for p in dsapi.root.iterdir()) == ["eodata"]


async def test_create_dataset_duplicate_409(api, dsapi, assert_error):
    (dsapi.root / "eodata" / "keep.txt").write_text("keep")
    status, body = await api("POST", f"{P}/datasets", {"name": "eodata"})
    assert status == 409, body
    assert_error(body, "conflict")
    assert (dsapi.root / "eodata" / "keep.txt").read_text() == "keep"
    assert dsapi.get("eodata").description == "Arctic SAR chips"


async def test_unknown_dataset_404(api, dsapi, assert_error):
    for method, path in [
        ("GET", f"{P}/datasets/nope"),
        ("DELETE", f"{P}/datasets/nope"),
        ("GET", f"{P}/datasets/nope/files"),
        ("GET", f"{P}/datasets/nope/files/a.txt"),
        ("DELETE", f"{P}/datasets/nope/files/a.txt"),
    ]:
        status, body = await api(method, path)
        assert status == 404, (method, path, body)
        assert_error(body, "not_found")
    status, body = await api("PUT", f"{P}/datasets/nope/files/a.txt", raw=b"data")
    assert status == 404, body
    assert_error(body, "not_found")
    assert not (dsapi.root / "nope").exists()


# ---- files: upload, list, download, preview -------------------------------------------------


async def test_put_file_then_download_identical(api, dsapi):
    payload = bytes(range(256)) * 64 + b"\x00tail"
    status, body = await api("PUT", f"{FILES}/raw/scene.tif", raw=payload)
    assert status == 404, body  # the folder raw does not exist yet
    status, body = await api("POST", f"{FILES}/raw", {"op": "mkdir"})
    assert status == 201, body
    assert body["is_dir"] is True and body["path"] == "eodata/raw"

    status, body = await api("PUT", f"{FILES}/raw/scene.tif", raw=payload)
    assert status == 201, body
    assert body["complete"] is True
    assert body["dest"] == "eodata/raw/scene.tif"
    assert body["file"]["size"] == len(payload)
    assert body["file"]["is_dir"] is False
    assert (dsapi.root / "eodata" / "raw" / "scene.tif").read_bytes() == payload

    response = await api.fetch("GET", f"{FILES}/raw/scene.tif")
    assert response.code == 200
    assert response.body == payload
    assert disposition_filename(response.headers["Content-Disposition"]) == "scene.tif"
    assert response.headers["Content-Type"] == "image/tiff"
    assert int(response.headers["Content-Length"]) == len(payload)


@pytest.mark.parametrize(
    "name",
    [
        "données.csv",
        "sp ace.txt",
        "日本.txt",
        'q"uote.txt',
        "a\nb.txt",
    ],
)
async def test_download_file_names(api, dsapi, name):
    status, body = await api("PUT", f"{FILES}/{name}", raw=b"payload")
    if status == 400:  # refusing such a name on upload is fine too
        assert body["error"]["code"] in ("invalid_path", "invalid_name")
        assert names(dsapi) == []
        return
    assert status == 201, body
    assert body["file"]["name"] == name
    response = await api.fetch("GET", f"{FILES}/{name}")
    assert response.code == 200, response.body
    assert response.body == b"payload"
    assert disposition_filename(response.headers["Content-Disposition"]) == name


async def test_folder_listing(api, dsapi):
    for path, data in [("a.txt", b"A"), ("b.csv", CSV)]:
        status, body = await api("PUT", f"{FILES}/{path}", raw=data)
        assert status == 201, body
    status, body = await api("POST", f"{FILES}/sub", {"op": "mkdir"})
    assert status == 201, body

    for path in (FILES, FILES + "/"):
        status, body = await api("GET", path)
        assert status == 200, body
        assert body["path"] in ("eodata", "eodata/")
        listed = {f["name"]: f for f in body["files"]}
        assert sorted(listed) == ["a.txt", "b.csv", "sub"]
        assert listed["b.csv"]["size"] == len(CSV)
        assert listed["b.csv"]["path"] == "eodata/b.csv"
        assert listed["sub"]["is_dir"] is True and listed["sub"]["size"] == 0

    status, body = await api("GET", f"{FILES}/sub")
    assert status == 200
    assert body == {"path": "eodata/sub", "files": []}

    status, body = await api("GET", f"{FILES}/missing.txt")
    assert status == 404, body


async def test_put_whole_file_empty(api, dsapi):
    status, body = await api("PUT", f"{FILES}/empty.txt", raw=b"")
    assert status == 201, body
    assert body["file"]["size"] == 0
    status, body = await api("GET", f"{FILES}/empty.txt")
    assert status == 200
    assert body == b""


async def test_put_existing_needs_overwrite(api, dsapi, assert_error):
    status, body = await api("PUT", f"{FILES}/a.txt", raw=b"original")
    assert status == 201, body
    status, body = await api("PUT", f"{FILES}/a.txt", raw=b"replaced!")
    assert status == 409, body
    error = assert_error(body, "conflict")
    assert error["details"] == {"path": "eodata/a.txt"}
    assert (dsapi.root / "eodata" / "a.txt").read_bytes() == b"original"

    status, body = await api("PUT", f"{FILES}/a.txt", raw=b"replaced!", params={"overwrite": "1"})
    assert status == 201, body
    status, body = await api("GET", f"{FILES}/a.txt")
    assert body == b"replaced!"


async def test_put_onto_dataset_or_folder_refused(api, dsapi, assert_error):
    status, body = await api("PUT", FILES, raw=b"x")
    assert status == 400, body
    assert_error(body, "invalid_path")
    dsapi.mkdir("eodata/sub")
    status, body = await api("PUT", f"{FILES}/sub", raw=b"x", params={"overwrite": "1"})
    assert status == 409, body
    assert_error(body, "conflict")
    assert (dsapi.root / "eodata" / "sub").is_dir()


async def test_preview_csv(api, dsapi):
    status, body = await api("PUT", f"{FILES}/labels.csv", raw=CSV)
    assert status == 201, body
    status, body = await api("GET", f"{FILES}/labels.csv", params={"preview": "1"})
    assert status == 200, body
    assert body["kind"] == "text"
    assert body["path"] == "eodata/labels.csv"
    assert body["size"] == len(CSV)
    assert body["lines"] == CSV.decode().splitlines()

    status, body = await api("GET", f"{FILES}/labels.csv", params={"preview": "1", "lines": "2"})
    assert status == 200
    assert body["lines"] == ["id,label,lat", "1,ice,78.2"]

    for lines in ("0", "abc"):
        status, body = await api(
            "GET", f"{FILES}/labels.csv", params={"preview": "1", "lines": lines}
        )
        assert status == 400, (lines, body)
        assert body["error"]["code"] == "invalid_input"
    status, body = await api("GET", f"{FILES}/nothing.csv", params={"preview": "1"})
    assert status == 404, body


# ---- files: mkdir, move, copy, delete -------------------------------------------------------


async def test_mkdir_move_copy_delete(api, dsapi):
    dsapi.upload_stream(io.BytesIO(CSV), "eodata/a.csv", len(CSV))

    status, body = await api("POST", f"{FILES}/out", {"op": "mkdir"})
    assert status == 201, body
    status, body = await api("POST", f"{FILES}/out", {"op": "mkdir"})
    assert status == 409, body

    status, body = await api("POST", f"{FILES}/a.csv", {"op": "copy", "to": "eodata/out"})
    assert status == 201, body
    assert body["path"] == "eodata/out/a.csv"
    assert (dsapi.root / "eodata" / "out" / "a.csv").read_bytes() == CSV
    assert (dsapi.root / "eodata" / "a.csv").read_bytes() == CSV

    status, body = await api("POST", f"{FILES}/a.csv", {"op": "move", "to": "eodata/b.csv"})
    assert status == 201, body
    assert body["path"] == "eodata/b.csv" and body["size"] == len(CSV)
    assert names(dsapi) == ["b.csv", "out"]

    # move onto an existing file: 409 without overwrite, both files intact
    status, body = await api("POST", f"{FILES}/b.csv", {"op": "move", "to": "eodata/out/a.csv"})
    assert status == 409, body
    assert names(dsapi) == ["b.csv", "out"]

    status, body = await api("DELETE", f"{FILES}/out/a.csv")
    assert status == 204, body
    assert names(dsapi, "eodata/out") == []
    status, body = await api("DELETE", f"{FILES}/out")
    assert status == 204, body
    assert names(dsapi) == ["b.csv"]
    status, body = await api("DELETE", f"{FILES}/out")
    assert status == 404, body


async def test_delete_dataset_root_via_files_refused(api, dsapi, assert_error):
    dsapi.upload_stream(io.BytesIO(b"x"), "eodata/a.txt", 1)
    status, body = await api("DELETE", FILES)
    assert status == 400, body
    assert_error(body, "invalid_path")
    assert names(dsapi) == ["a.txt"]


@pytest.mark.parametrize(
    "to",
    [
        "../../x",
        "/etc/passwd",
        "eodata/../../x",
        "eodata/../../../../etc/passwd",
        "..",
        "eodata\\..\\x",
        "eodata/a\x00b",
        "C:/x",
    ],
)
@pytest.mark.parametrize("op", ["move", "copy"])
async def test_move_copy_path_traversal_400(api, dsapi, assert_error, op, to):
    dsapi.upload_stream(io.BytesIO(CSV), "eodata/a.csv", len(CSV))
    status, body = await api("POST", f"{FILES}/a.csv", {"op": op, "to": to})
    assert status == 400, body
    assert_error(body, "invalid_path")
    assert names(dsapi) == ["a.csv"]
    assert (dsapi.root / "eodata" / "a.csv").read_bytes() == CSV
    project_root = dsapi.project.root
    assert not (project_root / "x").exists()
    assert not (project_root.parent / "x").exists()
    assert sorted(p.name for p in dsapi.root.iterdir()) == ["eodata"]


async def test_move_into_itself_and_whole_dataset_refused(api, dsapi, assert_error):
    dsapi.mkdir("eodata/d")
    status, body = await api("POST", f"{FILES}/d", {"op": "move", "to": "eodata/d/inner"})
    assert status == 400, body
    assert_error(body, "invalid_path")
    status, body = await api("POST", FILES, {"op": "copy", "to": "eodata/d"})
    assert status == 400, body
    assert_error(body, "invalid_path")
    assert names(dsapi) == ["d"]
    assert names(dsapi, "eodata/d") == []


@pytest.mark.parametrize(
    "payload",
    [
        {"op": "rename", "to": "eodata/b.csv"},
        {"op": "MOVE", "to": "eodata/b.csv"},
        {},
        {"op": "move"},
        {"op": "copy", "to": ""},
        {"op": "move", "to": 5},
        {"op": "move", "to": "eodata/b.csv", "force": True},
        ["move"],
    ],
)
async def test_file_op_bad_body_400(api, dsapi, assert_error, payload):
    dsapi.upload_stream(io.BytesIO(CSV), "eodata/a.csv", len(CSV))
    status, body = await api("POST", f"{FILES}/a.csv", payload)
    assert status == 400, body
    assert_error(body, "invalid_input")
    assert names(dsapi) == ["a.csv"]


@pytest.mark.parametrize("raw", [b"{", b"not json", b"\xff\xfe", b'{"op": "move",}'])
async def test_file_op_malformed_json_400(api, dsapi, assert_error, raw):
    dsapi.upload_stream(io.BytesIO(CSV), "eodata/a.csv", len(CSV))
    status, body = await api("POST", f"{FILES}/a.csv", raw=raw)
    assert status == 400, body
    error = assert_error(body, "invalid_input")
    assert "JSON" in error["message"]
    assert names(dsapi) == ["a.csv"]


async def test_file_op_body_too_large_413(api, dsapi, assert_error):
    raw = b'{"op": "mkdir", "pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    status, body = await api("POST", f"{FILES}/big", raw=raw)
    assert status == 413, body
    assert_error(body, "payload_too_large")
    assert names(dsapi) == []


async def test_scoped_member_cannot_delete_others_files(api, ws, dsapi, bob, assert_error):
    ws.get_project("ExtremeEarth").add_member("bob")
    dsapi.upload_stream(io.BytesIO(b"alice's"), "eodata/a.txt", 7)
    status, body = await api("DELETE", f"{FILES}/a.txt", headers=bob)
    assert status == 403, body
    assert_error(body, "forbidden")
    status, body = await api("DELETE", f"{P}/datasets/eodata", headers=bob)
    assert status == 403, body
    assert names(dsapi) == ["a.txt"]
    # but he reads it
    status, body = await api("GET", f"{FILES}/a.txt", headers=bob)
    assert (status, body) == (200, b"alice's")
