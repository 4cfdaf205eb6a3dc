"""REST: API keys (create, list, revoke), ApiKey authentication, expiry and scopes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from eolab.catalog.models import ApiKey, utcnow

P = "projects/ExtremeEarth"


async def create_key(api, **payload):
    status, body = await api("POST", "apikeys", {"name": "ci", "scopes": ["project"], **payload})
    assert status == 201, body
    return body


async def test_create_key_secret_shown_once(api, ws, key_headers):
    body = await create_key(api, name="laptop", scopes=["dataset_view", "project"])
    secret, info = body["key"], body["info"]
    assert secret.startswith(f"eol_{info['prefix']}.")
    assert info["name"] == "laptop" and info["user"] == "alice"
    assert info["scopes"] == ["dataset_view", "project"]
    assert info["revoked"] is False and info["expires_at"] is None

    status, body = await api("GET", "apikeys")
    assert status == 200
    assert [k["prefix"] for k in body["api_keys"]] == [info["prefix"]]
    assert secret not in str(body)
    assert secret.split(".", 1)[1] not in str(body)
    assert "key" not in body["api_keys"][0]
    # the catalog keeps only a hash
    with ws.tx(write=False) as s:
        row = s.scalar(select(ApiKey).where(ApiKey.prefix == info["prefix"]))
        assert secret.split(".", 1)[1] not in (row.secret_hash, row.name)

    status, body = await api("GET", "whoami", headers=key_headers(secret))
    assert status == 200, body
    assert body["user"]["name"] == "alice"
    assert body["scopes"] == ["dataset_view", "project"]
    # last use is recorded
    status, body = await api("GET", "apikeys")
    assert body["api_keys"][0]["last_used_at"] is not None


async def test_api_key_authenticated_call(api, project, key_headers):
    secret = (await create_key(api, scopes=["project", "dataset_view", "dataset_create"]))["key"]
    headers = key_headers(secret)
    status, body = await api("GET", "projects", headers=headers)
    assert status == 200, body
    assert [p["name"] for p in body["projects"]] == ["ExtremeEarth"]
    # a POST with only the key (no cookie, no XSRF token) works too
    status, body = await api("POST", f"{P}/datasets", {"name": "by_key"}, headers=headers)
    assert status == 201, body
    assert body["created_by"] == "alice"
    assert [d.name for d in project.get_dataset_api().list()] == ["by_key", "eodata"]


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "k", "scopes": []},
        {"name": "k", "scopes": ["root"]},
        {"name": "", "scopes": ["project"]},
        {"name": "k", "scopes": ["project"], "expires_in_days": 0},
        {"name": "k", "scopes": ["project"], "expires_in_days": -1},
        {"name": "k", "scopes": "project"},
        {"scopes": ["project"]},
    ],
)
async def test_create_key_bad_input_400(api, ws, assert_error, payload):
    status, body = await api("POST", "apikeys", payload)
    assert status == 400, body
    assert_error(body, "invalid_input")
    assert ws.list_api_keys() == []


async def test_key_cannot_create_keys(api, ws, key_headers, assert_error):
    secret = (await create_key(api, scopes=["project", "admin"]))["key"]
    status, body = await api(
        "POST", "apikeys", {"name": "child", "scopes": ["project"]}, headers=key_headers(secret)
    )
    assert status == 403, body
    assert_error(body, "forbidden")
    assert [k.name for k in ws.list_api_keys()] == ["ci"]


async def test_revoked_key_401(api, ws, key_headers, assert_error):
    body = await create_key(api)
    secret, prefix = body["key"], body["info"]["prefix"]
    status, _ = await api("GET", "projects", headers=key_headers(secret))
    assert status == 200

    status, body = await api("DELETE", f"apikeys/{prefix}")
    assert status == 200, body
    assert body["revoked"] is True and body["prefix"] == prefix

    status, body = await api("GET", "projects", headers=key_headers(secret))
    assert status == 401, body
    error = assert_error(body, "unauthorized")
    assert "revoked" in error["message"]
    status, body = await api("GET", "apikeys")
    assert body["api_keys"][0]["revoked"] is True

    status, body = await api("DELETE", "apikeys/000000000000")
    assert status == 404, body
    assert_error(body, "not_found")


async def test_revoke_someone_elses_key_403(api, ws, make_key, assert_error):
    ws.create_user("bob")
    make_key("bob", ["project"], name="bobs")
    prefix = ws.as_user("bob").list_api_keys()[0].prefix
    status, body = await api("DELETE", f"apikeys/{prefix}")
    assert status == 403, body
    assert_error(body, "forbidden")
    assert ws.as_user("bob").list_api_keys()[0].revoked is False


async def test_expired_key_401(api, ws, key_headers, assert_error):
    body = await create_key(api, expires_in_days=30)
    secret, prefix = body["key"], body["info"]["prefix"]
    assert body["info"]["expires_at"] is not None
    status, _ = await api("GET", "projects", headers=key_headers(secret))
    assert status == 200

    with ws.tx() as s:
        row = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        row.expires_at = utcnow() - timedelta(seconds=1)

    status, body = await api("GET", "projects", headers=key_headers(secret))
    assert status == 401, body
    error = assert_error(body, "unauthorized")
    assert "expired" in error["message"]


async def test_under_scoped_key_403(api, project, make_key, key_headers, assert_error):
    headers = key_headers(make_key(scopes=["dataset_view"]))
    status, body = await api("GET", f"{P}/datasets", headers=headers)
    assert status == 200, body
    assert [d["name"] for d in body["datasets"]] == ["eodata"]
    status, body = await api("GET", f"{P}/datasets/eodata/files", headers=headers)
    assert status == 200, body

    status, body = await api("POST", f"{P}/datasets", {"name": "nope"}, headers=headers)
    assert status == 403, body
    error = assert_error(body, "forbidden")
    assert error["details"] == {"required_scope": "dataset_create"}
    status, body = await api(
        "PUT", f"{P}/datasets/eodata/files/a.txt", raw=b"data", headers=headers
    )
    assert status == 403, body
    assert_error(body, "forbidden")
    status, body = await api("DELETE", f"{P}/datasets/eodata", headers=headers)
    assert status == 403, body
    assert_error(body, "forbidden")
    status, body = await api("POST", "projects", {"name": "KeyProject"}, headers=headers)
    assert status == 403, body
    assert_error(body, "forbidden")

    api_ = project.get_dataset_api()
    assert [d.name for d in api_.list()] == ["eodata"]
    assert api_.ls("eodata") == []


async def test_project_bound_key(api, ws, project, make_key, key_headers, assert_error):
    ws.create_project("Other")
    headers = key_headers(make_key(scopes=["dataset_view"], project="ExtremeEarth"))
    status, body = await api("GET", "projects", headers=headers)
    assert status == 200, body
    # a key bound to one project shows only that project, even an admin's key
    assert [p["name"] for p in body["projects"]] == ["ExtremeEarth"]
    status, body = await api("GET", f"{P}/datasets", headers=headers)
    assert status == 200, body
    status, body = await api("GET", "projects/Other/datasets", headers=headers)
    assert status == 403, body
    assert_error(body, "forbidden")


async def test_project_keys_listed_for_owner(api, ws, project, bob, make_key, assert_error):
    ws.get_project("ExtremeEarth").add_member("bob")
    make_key("bob", ["dataset_view"], name="bobs-bound", project="ExtremeEarth")
    make_key("bob", ["dataset_view"], name="bobs-free")
    status, body = await api("GET", "apikeys", params={"project": "ExtremeEarth"})
    assert status == 200, body
    assert [(k["name"], k["user"], k["project"]) for k in body["api_keys"]] == [
        ("bobs-bound", "bob", "ExtremeEarth")
    ]
    # the owner may revoke it; bob (a data scientist) may not list the project's keys
    status, body = await api("DELETE", f"apikeys/{body['api_keys'][0]['prefix']}")
    assert status == 200, body
    assert body["revoked"] is True
    status, body = await api("GET", "apikeys", params={"project": "ExtremeEarth"}, headers=bob)
    assert status == 403, body
    assert_error(body, "forbidden")


async def test_project_bound_key_dies_with_its_project(api, ws, project, make_key, key_headers):
    headers = key_headers(make_key(scopes=["project", "dataset_view"], project="ExtremeEarth"))
    status, _ = await api("GET", f"{P}/datasets", headers=headers)
    assert status == 200
    status, _ = await api("DELETE", P, params={"confirm": "ExtremeEarth"})
    assert status == 204
    ws.create_project("Successor")  # may reuse the deleted project's row id
    status, body = await api("GET", "projects/Successor/datasets", headers=headers)
    assert status == 401, body
    assert body["error"]["code"] == "unauthorized"


async def test_whoami_reports_bound_project(api, project, make_key, key_headers):
    headers = key_headers(make_key(scopes=["dataset_view"], project="ExtremeEarth"))
    status, body = await api("GET", "whoami", headers=headers)
    assert status == 200, body
    assert body["scopes"] == ["dataset_view"]
    assert body["project"] == "ExtremeEarth"


@pytest.mark.parametrize(
    "authorization",
    [
        "ApiKey nonsense",
        "ApiKey eol_nodot",
        "ApiKey eol_abc.def",
        "ApiKey xyz_abc.def",
        "ApiKey eol_.",
    ],
)
async def test_malformed_or_unknown_key_401(api, project, assert_error, authorization):
    status, body = await api("GET", "projects", headers={"Authorization": authorization})
    assert status == 401, body
    assert_error(body, "unauthorized")
    status, body = await api(
        "POST", "projects", {"name": "Sneaky"}, headers={"Authorization": authorization}
    )
    assert status == 401, body
    assert_error(body, "unauthorized")


async def test_wrong_secret_401(api, ws, project, key_headers, assert_error):
    secret = (await create_key(api))["key"]
    status, body = await api("GET", "projects", headers=key_headers(secret[:-2] + "xx"))
    assert status == 401, body
    assert_error(body, "unauthorized")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "ApiKey "}, {"Authorization": "token wrong"}],
)
async def test_unauthenticated_401(api, ws, project, assert_error, headers):
    status, body = await api("GET", "projects", headers=headers)
    assert status == 401, body
    assert_error(body, "unauthorized")
    status, body = await api("POST", "projects", {"name": "Sneaky"}, headers=headers)
    assert status in (401, 403), body
    assert body["error"]["code"] in ("unauthorized", "forbidden")
    assert [p.name for p in ws.list_projects()] == ["ExtremeEarth"]
