"""A serving's own log files over REST (``servings/{name}/logs``) against the real extension:
the sources, the tail of a file as it is on disk, and the refusals (400, 403, 404)."""

from __future__ import annotations

from eolab.serving import runtime

from .test_rest_serving import api, assert_envelope, jp_server_config, key  # noqa: F401

LOGS = "projects/ExtremeEarth/servings/Summer/logs"


async def test_logs_of_a_running_serving(api, summer, serving_project):  # noqa: F811
    folder = runtime.log_dir(serving_project.root, summer)
    status, body, _ = await api("GET", LOGS)
    assert status == 200, body
    assert body["serving"] == "Summer" and body["source"] == "supervisor"
    assert body["sources"][:3] == ["supervisor", "instance-0", "instance-1"]
    on_disk = (folder / "supervisor.log").read_text().splitlines()
    assert body["lines"] and body["lines"] == on_disk[-len(body["lines"]) :]
    assert body["size_bytes"] > 0 and body["modified_at"]
    assert any("instance 0" in line for line in body["lines"])

    status, body, _ = await api("GET", LOGS, params="?source=instance-1&tail=1")
    assert status == 200 and body["source"] == "instance-1" and len(body["lines"]) <= 1
    on_disk = (folder / "instance-1.log").read_text().splitlines()
    assert body["lines"] == on_disk[-1:]


async def test_logs_refusals(api, summer, serving_ws, assert_envelope):  # noqa: F811
    for params in ("?tail=0", "?tail=10001", "?tail=many"):
        status, body, _ = await api("GET", LOGS, params=params)
        assert status == 400 and assert_envelope(body, "invalid_input"), params
    for source in ("..%2F..%2Fspec", "instance-x", "supervisor.log"):
        status, body, _ = await api("GET", LOGS, params=f"?source={source}")
        assert status == 400 and "log source must be" in body["error"]["message"], source
    status, body, _ = await api("GET", LOGS, params="?source=instance-9")
    assert status == 404 and assert_envelope(body, "not_found")
    assert body["error"]["details"]["sources"][0] == "supervisor"
    status, body, _ = await api("GET", LOGS.replace("Summer", "Nope"))
    assert status == 404 and "no serving 'Nope'" in body["error"]["message"]
    stranger = key(serving_ws, "bob", ["serving"])
    status, body, _ = await api("GET", LOGS, headers=stranger)
    assert status == 403 and assert_envelope(body, "forbidden")
