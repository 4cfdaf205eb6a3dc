"""Serving over the real eolab extension in a real Jupyter server: inference routes speaking TF
Serving (200, 400, 403 non-member or scope, 404, 413, 503), servings CRUD with start/stop, the
inference log; the Jupyter server uses the session's serving workspace."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jupyter_server.utils import url_path_join

from eolab.server.handlers import serving as serving_handlers
from eolab.serving import runtime
from eolab.serving.model_server import INSTANCE_HEADER

from .conftest import SIGNATURE, python_model


@pytest.fixture
def jp_server_config(serving_home, serving_project, monkeypatch):
    monkeypatch.setenv("EOLAB_HOME", str(serving_home))
    monkeypatch.setenv("EOLAB_USER", "alice")
    return {"ServerApp": {"jpserver_extensions": {"eolab": True}}}


@pytest.fixture
def api(http_server_client, jp_auth_header, jp_base_url, jp_serverapp):
    """``await api(method, path, body|raw, headers)`` → (status, JSON or text, headers);
    without ``headers`` the Jupyter token (alice) is sent, ``headers={}`` sends nothing."""

    async def call(
        method: str,
        path: str,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: str = "",
    ) -> tuple[int, Any, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        kwargs["headers"] = dict(jp_auth_header) if headers is None else dict(headers)
        if raw is not None or body is not None:
            kwargs["body"] = raw if raw is not None else json.dumps(body)
        elif method in ("POST", "PUT"):
            kwargs["body"] = b""
        url = url_path_join(jp_base_url, "eolab/api/v1", path) + params
        response = await http_server_client.fetch(url, request_timeout=120, **kwargs)
        try:
            payload = json.loads(response.body)
        except ValueError:
            payload = response.body.decode()
        return response.code, payload, response.headers

    return call


def key(ws, user: str, scopes: list[str]) -> dict[str, str]:
    secret, _ = ws.as_user(user).create_api_key(f"{user}-{'-'.join(scopes)}", scopes)
    return {"Authorization": f"ApiKey {secret}"}


PREDICT = "projects/ExtremeEarth/inference/models/Summer:predict"


async def test_inference_through_rest_speaks_tf_serving(api, summer):
    status, body, headers = await api("POST", PREDICT, {"instances": [[1, 2, 3, 4]]})
    assert status == 200 and body["predictions"] in ([10.0], [1010.0])
    assert headers[INSTANCE_HEADER] in ("0", "1")
    status, body, _ = await api(
        "POST", PREDICT.replace(":predict", ":regress"), {"examples": [{"x": [1, 1, 1, 1]}]}
    )
    assert status == 200 and len(body["result"]) == 1
    status, body, _ = await api("POST", PREDICT, {"instances": [[1, 2]]})
    assert status == 400 and set(body) == {"error"} and "expects shape [-1, 4]" in body["error"]
    status, body, _ = await api("POST", PREDICT, raw=b'{"instances": [[1, 2')
    assert status == 400 and "malformed JSON" in body["error"]


async def test_inference_refusals_use_tf_servings_error_format(
    api, summer, serving_ws, sv, registry, tmp_path, monkeypatch
):
    stranger = key(serving_ws, "bob", ["serving"])
    status, body, _ = await api("POST", PREDICT, {"instances": [[1, 2, 3, 4]]}, headers=stranger)
    assert status == 403 and body == {
        "error": "user 'bob' is not a member of project 'ExtremeEarth'"
    }
    unscoped = key(serving_ws, "alice", ["models"])
    status, body, _ = await api("POST", PREDICT, {"instances": [[1, 2, 3, 4]]}, headers=unscoped)
    assert status == 403 and "lacks the scope 'serving'" in body["error"]
    scoped = key(serving_ws, "alice", ["serving"])
    status, body, _ = await api("POST", PREDICT, {"instances": [[0, 0, 0, 1]]}, headers=scoped)
    assert status == 200 and "predictions" in body

    status, body, _ = await api("POST", PREDICT.replace("Summer", "Nope"), {"instances": [[1]]})
    assert status == 404 and body == {"error": "no serving 'Nope' in project 'ExtremeEarth'"}
    status, body, _ = await api("POST", PREDICT.replace("ExtremeEarth", "Elsewhere"), {})
    assert status == 404 and set(body) == {"error"}

    registry.export(python_model(tmp_path / "parked"), "parked", signature=SIGNATURE)
    sv.create_or_update("Parked", "parked", model_server="python")
    status, body, _ = await api("POST", PREDICT.replace("Summer", "Parked"), {"instances": [[1]]})
    assert status == 503 and body == {"error": "serving 'Parked' is stopped; start it first"}
    sv.delete("Parked")

    monkeypatch.setattr(serving_handlers, "MAX_BODY", 100)
    status, body, _ = await api("POST", PREDICT, {"instances": [[1.0, 2.0, 3.0, 4.0]] * 20})
    assert status == 413 and "larger than the limit of 100 bytes" in body["error"]

    status, body, _ = await api("POST", PREDICT, {"instances": [[1, 2, 3, 4]]}, headers={})
    assert status == 401 and body["error"]["code"] == "unauthorized"  # the API's envelope


async def test_servings_crud_start_stop_and_log_over_rest(
    api, sv, registry, tmp_path, assert_envelope
):
    registry.export(python_model(tmp_path / "rested"), "rested", signature=SIGNATURE)
    base = "projects/ExtremeEarth/servings/Rested"
    status, body, _ = await api("PUT", base, {"model_name": "rested", "model_server": "python"})
    assert status == 200 and (body["status"], body["model_version"]) == ("Stopped", 1)
    assert body["inference_url"].endswith("/projects/ExtremeEarth/inference/models/Rested:predict")
    status, body, _ = await api(
        "PUT", base, {"model_name": "rested", "instances": 0, "model_server": "python"}
    )
    assert status == 400 and assert_envelope(body, "invalid_input")
    status, body, _ = await api("PUT", base, {"model_name": "rested", "colour": "red"})
    assert status == 400 and assert_envelope(body, "invalid_input")
    status, body, _ = await api(
        "PUT", base, {"model_name": "rested", "model_server": "python", "log_sampling": 1.5}
    )
    assert status == 400 and "log_sampling must be a fraction" in body["error"]["message"]
    status, body, _ = await api("GET", base)
    assert body["log_sampling"] == 1.0  # the refused update changed nothing
    status, body, _ = await api(
        "PUT", base, {"model_name": "rested", "model_server": "python", "log_sampling": 0.5}
    )
    assert status == 200 and body["log_sampling"] == 0.5
    status, body, _ = await api(
        "PUT", base, {"model_name": "rested", "model_server": "python"}
    )  # back to logging every request: the log is read back below
    assert status == 200 and body["log_sampling"] == 1.0
    status, body, _ = await api("POST", base, params="?action=launch")
    assert status == 400 and "must be one of ['start', 'stop']" in body["error"]["message"]

    status, body, _ = await api("POST", base, params="?action=start")
    assert status == 200 and body["status"] == "Running" and body["available_instances"] == 1
    pids = [i["pid"] for i in body["instances"]]
    status, answer, _ = await api(
        "POST",
        "projects/ExtremeEarth/inference/models/Rested:predict",
        {"instances": [[1, 1, 1, 1]]},
    )
    assert (status, answer) == (200, {"predictions": [4.0]})
    status, listing, _ = await api("GET", "projects/ExtremeEarth/servings")
    assert "Rested" in [s["name"] for s in listing["servings"]]

    records: list = []
    for _ in range(100):
        status, log, _ = await api("GET", base + "/inferencelog", params="?limit=5")
        records = log["records"]
        if records:
            break
    assert status == 200 and log["topic"] == "Rested_inference_log"
    assert records[-1]["response_http_code"] == 200
    assert json.loads(records[-1]["inference_response"]) == {"predictions": [4.0]}

    status, body, _ = await api("POST", base, params="?action=stop")
    assert status == 200 and body["status"] == "Stopped" and body["instances"] == []
    assert not any(runtime.alive(p) for p in pids)
    status, _, _ = await api("DELETE", base)
    assert status == 204
    status, body, _ = await api("GET", base)
    assert status == 404 and assert_envelope(body, "not_found")


@pytest.fixture
def assert_envelope():
    def check(body: Any, code: str) -> bool:
        assert set(body) == {"error"} and body["error"]["code"] == code, body
        return True

    return check
