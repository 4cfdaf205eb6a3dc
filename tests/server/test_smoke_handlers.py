async def test_projects_listed(api, project):
    status, body = await api("GET", "projects")
    assert status == 200
    assert [p["name"] for p in body["projects"]] == ["ExtremeEarth"]


async def test_upload_download(api, project):
    status, body = await api(
        "PUT", "projects/ExtremeEarth/datasets/eodata/files/a.txt", raw=b"hello\n"
    )
    assert status == 201, body
    status, body = await api("GET", "projects/ExtremeEarth/datasets/eodata/files/a.txt")
    assert body == b"hello\n"
    status, body = await api("GET", "projects/ExtremeEarth/datasets/eodata/files")
    assert [f["name"] for f in body["files"]] == ["a.txt"]
    status, body = await api(
        "POST", "projects/ExtremeEarth/datasets/eodata/files/a.txt", {"op": "move", "to": "../../x"}
    )
    assert status == 400, body
    assert body["error"]["code"] == "invalid_path"
    status, body = await api("GET", "projects/Nope/datasets")
    assert status == 404, body
