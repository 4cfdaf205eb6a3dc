"""``eolab server``: the same REST API without Jupyter, authenticated by API keys only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from eolab.access import SCOPES
from eolab.server.app import standalone_app

API = "/eolab/api/v1"


@pytest.fixture
def server(workspace, jp_asyncio_loop):
    """``standalone_app(workspace)`` listening on a free 127.0.0.1 port; yields its base URL."""
    sock, port = bind_unused_port()
    app = standalone_app(workspace)

    async def start() -> HTTPServer:
        server = HTTPServer(app, max_body_size=app.settings["max_body_size"])
        server.add_socket(sock)
        return server

    http_server = jp_asyncio_loop.run_until_complete(start())
    yield f"http://127.0.0.1:{port}{API}"
    http_server.stop()
    jp_asyncio_loop.run_until_complete(http_server.close_all_connections())
    sock.close()


@pytest.fixture
def call(server, jp_asyncio_loop):
    client = AsyncHTTPClient(force_instance=True)

    async def fetch(
        method: str, path: str, key: str | None = None, body: Any = None, raw: bytes | None = None
    ) -> tuple[int, Any, Any]:
        headers = {"Authorization": f"ApiKey {key}"} if key else {}
        if body is not None:
            raw = json.dumps(body).encode()
        if raw is None and method in ("POST", "PUT"):
            raw = b""
        response = await client.fetch(
            f"{server}/{path}",
            method=method,
            headers=headers,
            body=raw,
            raise_error=False,
            request_timeout=20,
        )
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return response.code, json.loads(response.body), response.headers
        return response.code, response.body, response.headers

    yield fetch
    client.close()


@pytest.fixture
def key(workspace):
    secret, _ = workspace.create_api_key("standalone", [s for s in SCOPES])
    return secret


def check_error(body: Any, code: str) -> None:
    assert isinstance(body, dict), body
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_without_key_401(call, workspace):
    workspace.create_project("ExtremeEarth")
    for method, path in [("GET", "projects"), ("GET", "openapi.json"), ("GET", "whoami")]:
        status, body, headers = await call(method, path)
        assert status == 401, (path, body)
        assert headers["Content-Type"].startswith("application/json")
        check_error(body, "unauthorized")
        assert "ApiKey" in body["error"]["message"]
    status, body, _ = await call("POST", "projects", body={"name": "Sneaky"})
    assert status == 401, body
    check_error(body, "unauthorized")
    assert [p.name for p in workspace.list_projects()] == ["ExtremeEarth"]


async def test_with_key_lists_projects(call, workspace, key):
    workspace.create_project("ExtremeEarth", "polar")
    status, body, _ = await call("GET", "projects", key)
    assert status == 200, body
    assert [(p["name"], p["description"]) for p in body["projects"]] == [("ExtremeEarth", "polar")]
    status, body, _ = await call("GET", "whoami", key)
    assert status == 200, body
    assert body["user"]["name"] == "alice"
    assert body["scopes"] == sorted(SCOPES)


async def test_bad_keys_401(call, workspace, key):
    prefix = workspace.list_api_keys()[0].prefix
    for bad in ["nonsense", "eol_x.y", key[:-1] + ("A" if key[-1] != "A" else "B")]:
        status, body, _ = await call("GET", "projects", bad)
        assert status == 401, (bad, body)
        check_error(body, "unauthorized")
    workspace.revoke_api_key(prefix)
    status, body, _ = await call("GET", "projects", key)
    assert status == 401, body
    check_error(body, "unauthorized")


async def test_unknown_route_404_envelope(call, key):
    status, body, headers = await call("GET", "no/such/route", key)
    assert status == 404, body
    assert headers["Content-Type"].startswith("application/json")
    check_error(body, "not_found")
    assert "no/such/route" in body["error"]["message"]
    status, body, _ = await call("DELETE", "nothing", key)
    assert status == 404, body
    check_error(body, "not_found")
    # unknown routes say nothing to anonymous callers
    status, body, _ = await call("GET", "no/such/route")
    assert status == 401, body
    check_error(body, "unauthorized")


async def test_write_and_read_files(call, workspace, key):
    workspace.create_project("ExtremeEarth")
    status, body, _ = await call(
        "POST", "projects/ExtremeEarth/datasets", key, body={"name": "eodata"}
    )
    assert status == 201, body
    payload = bytes(range(256)) * 40
    status, body, _ = await call(
        "PUT", "projects/ExtremeEarth/datasets/eodata/files/chip.bin", key, raw=payload
    )
    assert status == 201, body
    assert body["file"]["size"] == len(payload)
    status, body, headers = await call(
        "GET", "projects/ExtremeEarth/datasets/eodata/files/chip.bin", key
    )
    assert status == 200
    assert body == payload
    assert headers["Content-Disposition"].startswith('attachment; filename="chip.bin"')
    local = workspace.get_project("ExtremeEarth").get_dataset_api().local_path("eodata/chip.bin")
    assert local.read_bytes() == payload

    status, body, _ = await call(
        "POST", "projects/ExtremeEarth/datasets/eodata/files/chip.bin", key, raw=b"{bad"
    )
    assert status == 400, body
    check_error(body, "invalid_input")


async def test_openapi_served(call, key):
    status, body, _ = await call("GET", "openapi.json", key)
    assert status == 200
    assert body["openapi"].startswith("3.1")
    assert API + "/projects" in body["paths"]
