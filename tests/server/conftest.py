"""Handler tests: the real eolab extension in a real Jupyter server (pytest-jupyter)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import eolab
from eolab.workspace import reset_shared_catalogs

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SERVER_USER = "alice"


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
def api(jp_fetch, ws):
    """Call the REST API: ``await api("GET", "projects")`` → (status, json or bytes)."""

    async def call(
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if params:
            kwargs["params"] = params
        if headers is not None:
            kwargs["headers"] = headers
        if raw is not None:
            kwargs["body"] = raw
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = b""
        if method == "DELETE" and "body" in kwargs:
            kwargs["allow_nonstandard_methods"] = True
        response = await jp_fetch("eolab", "api", "v1", *path.split("/"), **kwargs)
        content_type = response.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            return response.code, json.loads(response.body)
        return response.code, response.body

    return call


@pytest.fixture
def project(ws):
    project = ws.create_project("ExtremeEarth")
    project.get_dataset_api().create("eodata", "Arctic SAR chips")
    return project
