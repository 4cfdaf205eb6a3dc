"""REST: projects and their members (``/projects``, ``/projects/{p}``, ``/projects/{p}/members``)."""

from __future__ import annotations

import pytest

from eolab.errors import NotFound

P = "projects/ExtremeEarth"


def member_roles(ws, project: str = "ExtremeEarth") -> dict[str, str]:
    return {m.user: m.role for m in ws.get_project(project).members()}


# ---- create, list, describe -----------------------------------------------------------------


async def test_create_project_201_then_listed_and_described(api, ws):
    status, body = await api("POST", "projects", {"name": "Sentinel_2", "description": "S2 L2A"})
    assert status == 201, body
    assert body["name"] == "Sentinel_2"
    assert body["description"] == "S2 L2A"
    assert body["owner"] == "alice"
    assert body["role"] == "data_owner"
    assert [(m["user"], m["role"]) for m in body["members"]] == [("alice", "data_owner")]
    # the SDK sees it, with its folders on disk
    assert ws.get_project("Sentinel_2").describe().description == "S2 L2A"
    assert (ws.project_root("Sentinel_2") / "DataSets").is_dir()

    status, body = await api("GET", "projects")
    assert status == 200
    assert [p["name"] for p in body["projects"]] == ["Sentinel_2"]

    status, body = await api("GET", "projects/Sentinel_2")
    assert status == 200
    assert body["name"] == "Sentinel_2" and body["owner"] == "alice"


@pytest.mark.parametrize("name", ["1abc", "ab", "bad-name", "with space", "a/b", "x" * 64, ""])
async def test_create_project_invalid_name_400(assert_error, api, ws, name):
    status, body = await api("POST", "projects", {"name": name})
    assert status == 400, body
    error = assert_error(body, "invalid_name")
    assert error["details"]["field"] == "name"
    assert ws.list_projects() == []
    assert not (ws.home / "projects").exists() or not any((ws.home / "projects").iterdir())


async def test_create_project_duplicate_409(assert_error, api, ws, project):
    before = ws.get_project("ExtremeEarth").describe()
    status, body = await api("POST", "projects", {"name": "ExtremeEarth", "description": "other"})
    assert status == 409, body
    assert_error(body, "conflict")
    assert [p.name for p in ws.list_projects()] == ["ExtremeEarth"]
    assert ws.get_project("ExtremeEarth").describe() == before
    assert ws.get_project("ExtremeEarth").get_dataset_api().get("eodata").name == "eodata"


@pytest.mark.parametrize(
    "body",
    [{}, {"description": "no name"}, {"name": 5}, {"name": "Good", "extra": 1}, ["Good"]],
)
async def test_create_project_bad_body_400(assert_error, api, ws, body):
    status, resp = await api("POST", "projects", body)
    assert status == 400, resp
    error = assert_error(resp, "invalid_input")
    assert error["details"]["violations"], error
    assert ws.list_projects() == []


async def test_create_project_malformed_json_400(assert_error, api, ws):
    status, body = await api("POST", "projects", raw=b'{"name": "Abc",')
    assert status == 400, body
    assert_error(body, "invalid_input")
    assert ws.list_projects() == []


async def test_unknown_project_404(assert_error, api, project):
    for method, path in [
        ("GET", "projects/Nope"),
        ("GET", "projects/Nope/members"),
        ("GET", "projects/Nope/datasets"),
    ]:
        status, body = await api(method, path)
        assert status == 404, (method, path, body)
        error = assert_error(body, "not_found")
        assert error["details"] == {"project": "Nope"}
    status, body = await api("DELETE", "projects/Nope", params={"confirm": "Nope"})
    assert status == 404, body
    assert_error(body, "not_found")


# ---- delete ---------------------------------------------------------------------------------


async def test_delete_project_needs_confirm(assert_error, api, ws, project):
    (project.root / "DataSets" / "eodata" / "keep.txt").write_text("keep")
    for params in [None, {"confirm": "extremeearth"}, {"confirm": ""}]:
        status, body = await api("DELETE", P, params=params)
        assert status == 400, (params, body)
        error = assert_error(body, "invalid_input")
        assert error["details"] == {"field": "confirm"}
    assert [p.name for p in ws.list_projects()] == ["ExtremeEarth"]
    assert (project.root / "DataSets" / "eodata" / "keep.txt").read_text() == "keep"

    status, body = await api("DELETE", P, params={"confirm": "ExtremeEarth"})
    assert status == 204, body
    assert body == b""
    assert ws.list_projects() == []
    assert not project.root.exists()
    with pytest.raises(NotFound):
        ws.get_project("ExtremeEarth")
    status, body = await api("GET", P)
    assert status == 404


# ---- members --------------------------------------------------------------------------------


async def test_members_add_change_remove(assert_error, api, ws, project):
    ws.create_user("bob")
    status, body = await api("GET", f"{P}/members")
    assert status == 200
    assert [(m["user"], m["role"]) for m in body["members"]] == [("alice", "data_owner")]

    status, body = await api("POST", f"{P}/members", {"user": "bob"})
    assert status == 201, body
    assert (body["user"], body["role"]) == ("bob", "data_scientist")
    assert member_roles(ws) == {"alice": "data_owner", "bob": "data_scientist"}

    status, body = await api("PUT", f"{P}/members/bob", {"role": "data_owner"})
    assert status == 200, body
    assert (body["user"], body["role"]) == ("bob", "data_owner")
    assert member_roles(ws) == {"alice": "data_owner", "bob": "data_owner"}

    status, body = await api("GET", f"{P}/members")
    assert {m["user"]: m["role"] for m in body["members"]} == {
        "alice": "data_owner",
        "bob": "data_owner",
    }

    # with two owners, alice may step down
    status, body = await api("PUT", f"{P}/members/alice", {"role": "data_scientist"})
    assert status == 200, body
    assert member_roles(ws) == {"alice": "data_scientist", "bob": "data_owner"}
    # ... and is then no longer an owner: she may not manage members any more
    status, body = await api("DELETE", f"{P}/members/bob")
    assert status == 403, body
    assert_error(body, "forbidden")
    assert member_roles(ws) == {"alice": "data_scientist", "bob": "data_owner"}

    ws.as_user("bob").get_project("ExtremeEarth").add_member("alice", "data_owner")
    status, body = await api("DELETE", f"{P}/members/bob")
    assert status == 204, body
    assert member_roles(ws) == {"alice": "data_owner"}


async def test_add_member_bad_input(assert_error, api, ws, project):
    ws.create_user("bob")
    status, body = await api("POST", f"{P}/members", {"user": "bob", "role": "emperor"})
    assert status == 400, body
    error = assert_error(body, "invalid_input")
    assert error["details"]["violations"][0]["field"] == "role"
    status, body = await api("POST", f"{P}/members", {"user": "nobody"})
    assert status == 404, body
    assert_error(body, "not_found")
    status, body = await api("PUT", f"{P}/members/bob", {"role": "nope"})
    assert status == 400, body
    assert_error(body, "invalid_input")
    status, body = await api("PUT", f"{P}/members/bob", raw=b"not json")
    assert status == 400, body
    assert_error(body, "invalid_input")
    assert member_roles(ws) == {"alice": "data_owner"}


async def test_remove_non_member_400(assert_error, api, ws, project):
    ws.create_user("bob")
    status, body = await api("DELETE", f"{P}/members/bob")
    assert status == 400, body
    assert_error(body, "invalid_input")
    status, body = await api("DELETE", f"{P}/members/ghost")
    assert status == 404, body
    assert_error(body, "not_found")
    assert member_roles(ws) == {"alice": "data_owner"}


async def test_last_owner_cannot_leave(assert_error, api, ws, project):
    ws.create_user("bob")
    ws.get_project("ExtremeEarth").add_member("bob", "data_scientist")

    status, body = await api("DELETE", f"{P}/members/alice")
    assert status == 409, body
    error = assert_error(body, "conflict")
    assert error["details"] == {"project": "ExtremeEarth", "user": "alice"}
    assert member_roles(ws) == {"alice": "data_owner", "bob": "data_scientist"}

    status, body = await api("PUT", f"{P}/members/alice", {"role": "data_scientist"})
    assert status == 409, body
    assert_error(body, "conflict")
    assert member_roles(ws) == {"alice": "data_owner", "bob": "data_scientist"}


# ---- other users ----------------------------------------------------------------------------


async def test_non_member_gets_403(assert_error, api, ws, project, bob):
    status, body = await api("GET", "projects", headers=bob)
    assert status == 200, body
    assert body["projects"] == []  # bob is no admin and a member of nothing

    for method, path, payload in [
        ("GET", P, None),
        ("GET", f"{P}/members", None),
        ("GET", f"{P}/datasets", None),
        ("GET", f"{P}/datasets/eodata", None),
        ("POST", f"{P}/datasets", {"name": "bobs"}),
        ("POST", f"{P}/members", {"user": "bob", "role": "data_owner"}),
        ("DELETE", P, None),
    ]:
        params = {"confirm": "ExtremeEarth"} if method == "DELETE" else None
        status, body = await api(method, path, payload, params=params, headers=bob)
        assert status == 403, (method, path, body)
        error = assert_error(body, "forbidden")
        assert "bob" in error["message"], error
    assert member_roles(ws) == {"alice": "data_owner"}
    assert [d.name for d in ws.get_project("ExtremeEarth").get_dataset_api().list()] == ["eodata"]

    # once a member, bob sees the project
    ws.get_project("ExtremeEarth").add_member("bob")
    status, body = await api("GET", P, headers=bob)
    assert status == 200, body
    assert body["role"] == "data_scientist"
    status, body = await api("GET", "projects", headers=bob)
    assert [p["name"] for p in body["projects"]] == ["ExtremeEarth"]


async def test_data_scientist_cannot_manage(assert_error, api, ws, project, bob):
    ws.create_user("carol")
    ws.get_project("ExtremeEarth").add_member("bob")
    status, body = await api("POST", f"{P}/members", {"user": "carol"}, headers=bob)
    assert status == 403, body
    assert_error(body, "forbidden")
    status, body = await api("PUT", f"{P}/members/bob", {"role": "data_owner"}, headers=bob)
    assert status == 403, body
    status, body = await api("DELETE", P, params={"confirm": "ExtremeEarth"}, headers=bob)
    assert status == 403, body
    assert member_roles(ws) == {"alice": "data_owner", "bob": "data_scientist"}
    assert project.root.is_dir()


async def test_bob_creates_own_project(api, ws, bob):
    status, body = await api("POST", "projects", {"name": "BobLab"}, headers=bob)
    assert status == 201, body
    assert body["owner"] == "bob"
    # alice, the admin, lists every project but is no member of bob's
    status, body = await api("GET", "projects")
    assert [(p["name"], p["role"]) for p in body["projects"]] == [("BobLab", None)]
