"""Handler tests: the real eolab extension in a real Jupyter server (pytest-jupyter)."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
from jupyter_server.utils import url_path_join
from tornado.httpclient import HTTPResponse

import eolab
from eolab.access import SCOPES as ALL_SCOPES
from eolab.workspace import reset_shared_catalogs

SERVER_USER = "alice"
API_PATH = "eolab/api/v1"


@pytest.fixture
def eolab_home(tmp_path, monkeypatch):
    home = tmp_path / "eolab-home"
    monkeypatch.setenv("EOLAB_HOME", str(home))
    monkeypatch.setenv("EOLAB_USER", SERVER_USER)
    yield home
    reset_shared_catalogs()


@pytest.fixture
def jp_server_config(eolab_home):
    return {"ServerApp": {"jpserver_extensions": {"eolab": True}}}


@pytest.fixture
def ws(eolab_home, jp_serverapp):
    """The workspace the server uses, as the Jupyter user (alice, the admin)."""
    return eolab.Workspace.open(eolab_home, user=SERVER_USER)


@pytest.fixture
def api(http_server_client, jp_auth_header, jp_base_url, ws):
    """Call the REST API: ``await api("GET", "projects")`` → (status, json or bytes).

    Without ``headers`` the call carries the Jupyter token (alice). With ``headers`` it carries
    exactly those: ``headers={}`` is unauthenticated, ``headers=key_headers(key)`` uses only an
    API key. (pytest-jupyter's ``jp_fetch`` would add the token to an empty dict.)
    """

    async def call(
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        response = await fetch(method, path, body, raw, params, headers)
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            return response.code, json.loads(response.body)
        return response.code, response.body

    async def fetch(
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HTTPResponse:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        kwargs["headers"] = dict(jp_auth_header) if headers is None else dict(headers)
        if raw is not None:
            kwargs["body"] = raw
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b""
        if method == "DELETE" and "body" in kwargs:
            kwargs["allow_nonstandard_methods"] = True
        url = url_path_join(jp_base_url, API_PATH, urllib.parse.quote(path, safe="/"))
        if params:
            url += "?" + urllib.parse.urlencode(params)
        return await http_server_client.fetch(url, request_timeout=20, **kwargs)

    call.fetch = fetch  # type: ignore[attr-defined]  # the raw tornado response (headers)
    return call


def _key_headers(key: str) -> dict[str, str]:
    """Headers of a call authenticated only by an eolab API key."""
    return {"Authorization": f"ApiKey {key}"}


def _assert_error(body: Any, code: str) -> dict[str, Any]:
    """``body`` is the JSON error envelope with ``code``; returns its ``error`` object."""
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    return error


@pytest.fixture
def key_headers():
    """``key_headers(key)``: headers of a call authenticated only by an eolab API key."""
    return _key_headers


@pytest.fixture
def assert_error():
    """``assert_error(body, code)``: checks the error envelope, returns its ``error``."""
    return _assert_error


@pytest.fixture
def make_key(ws):
    """``make_key(user, scopes, **kw)`` → the secret of a new API key of ``user``."""

    def make(user: str = SERVER_USER, scopes: list[str] | None = None, **kwargs: Any) -> str:
        secret, _ = ws.as_user(user).create_api_key(
            kwargs.pop("name", f"{user}-key"), scopes or list(ALL_SCOPES), **kwargs
        )
        return secret

    return make


@pytest.fixture
def bob(ws, make_key):
    """User bob (not admin, member of nothing) and the headers of a full-scope key of his."""
    ws.create_user("bob")
    return _key_headers(make_key("bob", [s for s in ALL_SCOPES if s != "admin"]))


@pytest.fixture
def project(ws):
    project = ws.create_project("ExtremeEarth")
    project.get_dataset_api().create("eodata", "Arctic SAR chips")
    return project
