"""The OpenAPI document matches the running server, and no route answers an anonymous caller."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from tornado.routing import Router

from eolab.server.app import JupyterApiHandler, build_handlers

API = "/eolab/api/v1"
METHODS = ("get", "put", "post", "delete", "patch")
# Example values of the path parameters (they exist once the `project` fixture ran).
EXAMPLES = {
    "project": "ExtremeEarth",
    "dataset": "eodata",
    "path": "eodata/a.txt",
    "user": "alice",
    "prefix": "abcdef012345",
    "name": "location_polar",
    "upload_id": "upload-0001-abcdef",
    "v": "1",
    "run": "run_20260101_000000_abcdef",
    "trial": "trial_000",
}
# For the files route, {path} is below the dataset.
FILES_PATH_EXAMPLE = "a.txt"


def example_path(template: str) -> str:
    """A documented path with its parameters filled in."""
    path = template
    if "/files/{path}" in path:
        path = path.replace("{path}", FILES_PATH_EXAMPLE)
    return re.sub(r"\{(\w+)\}", lambda m: EXAMPLES[m.group(1)], path)


def api_rules(router: Router) -> list[tuple[re.Pattern[str], type]]:
    """Every (regex, handler class) of the running server under the API prefix, in order."""
    found: list[tuple[re.Pattern[str], type]] = []
    for rule in getattr(router, "rules", []):
        if hasattr(rule.target, "rules"):
            found += api_rules(rule.target)
            continue
        regex = getattr(rule.matcher, "regex", None)
        if regex is not None and API + "/" in regex.pattern:
            found.append((regex, rule.target))
    return found


def implemented(cls: type) -> set[str]:
    """HTTP methods the eolab resource classes in ``cls``'s ancestry define."""
    return {
        method
        for klass in cls.__mro__
        if klass.__module__.startswith("eolab.server")
        for method in METHODS
        if method in vars(klass)
    }


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


async def fetch_document(api) -> dict[str, Any]:
    status, body = await api("GET", "openapi.json")
    assert status == 200, body
    return body


@pytest.fixture
def rules(jp_serverapp, jp_base_url):
    """(regex, handler) of the API routes, the catch-all fallback left out."""
    found = api_rules(jp_serverapp.web_app.default_router)
    assert found, "the eolab extension registered no routes"
    fallback = [(r, c) for r, c in found if r.pattern.endswith(API + "/.*$")]
    assert len(fallback) == 1, [r.pattern for r, _ in found]
    assert found[-1] == fallback[0], "the catch-all must come last"
    return found[:-1]


def url_of(jp_base_url: str, template: str) -> str:
    return jp_base_url.rstrip("/") + example_path(template)


def route_of(rules, url: str):
    """The first rule tornado would pick for ``url`` (None: only the catch-all)."""
    return next(((r, c) for r, c in rules if r.match(url)), None)


# ---- the document itself -------------------------------------------------------------------


async def test_document_is_openapi_3_1(api):
    document = await fetch_document(api)
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"]
    assert document["info"]["version"]
    assert document["paths"]
    assert all(p.startswith(API + "/") for p in document["paths"])
    assert set(document["components"]["securitySchemes"]) >= {"ApiKey"}
    schemas = document["components"]["schemas"]
    for name, schema in schemas.items():
        Draft202012Validator.check_schema(schema)  # OpenAPI 3.1 schemas are JSON Schema 2020-12
        assert isinstance(name, str) and name
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, f"dangling {ref}"
    for path, item in document["paths"].items():
        declared_path_params = set(re.findall(r"\{(\w+)\}", path))
        assert item, path
        for method, op in item.items():
            assert method in METHODS, (path, method)
            assert op["summary"] and op["responses"], (path, method)
            assert any(code.startswith("2") for code in op["responses"]), (path, method)
            assert "401" in op["responses"], (path, method)
            in_path = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert in_path == declared_path_params, (path, method)
            assert op["operationId"], (path, method)


async def test_operation_ids_are_unique(api):
    document = await fetch_document(api)
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == []


async def test_error_schema_is_the_envelope(api):
    document = await fetch_document(api)
    schemas = document["components"]["schemas"]
    envelope = schemas["ErrorResponse"]
    assert envelope["required"] == ["error"]
    body = schemas[envelope["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
    assert set(body["properties"]) == {"code", "message", "details"}
    assert set(body["required"]) == {"code", "message"}


async def test_inference_routes_document_tf_servings_error_body(api):
    document = await fetch_document(api)
    assert document["components"]["schemas"]["TFServingError"]["properties"]["error"] == {
        "title": "Error",
        "type": "string",
    }
    inference = [p for p in document["paths"] if "/inference/models/" in p]
    assert len(inference) == 3
    for path in inference:
        responses = document["paths"][path]["post"]["responses"]
        schema = {code: r["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                  for code, r in responses.items() if not code.startswith("2")}  # fmt: skip
        assert schema.pop("401") == "ErrorResponse"  # no identity: no serving was reached
        assert set(schema) >= {"400", "403", "404", "413", "503"}
        assert set(schema.values()) == {"TFServingError"}, path
    featuregroups = next(p for p in document["paths"] if p.endswith("/featuregroups"))
    assert {
        r["content"]["application/json"]["schema"]["$ref"]
        for code, r in document["paths"][featuregroups]["get"]["responses"].items()
        if not code.startswith("2")
    } == {"#/components/schemas/ErrorResponse"}


# ---- document vs. running server ------------------------------------------------------------


async def test_every_route_and_method_is_documented(api, rules, jp_base_url):
    document = await fetch_document(api)
    documented: dict[type, set[str]] = {}
    for template, item in document["paths"].items():
        match = route_of(rules, url_of(jp_base_url, template))
        assert match is not None, f"documented {template} is served by no route"
        documented.setdefault(match[1], set()).update(item)
        # nothing documented that the handler does not implement
        assert set(item) <= implemented(match[1]), (template, set(item), implemented(match[1]))
    assert len(rules) == len(document["paths"]), "one documented path per route"
    for regex, cls in rules:
        assert cls in documented, f"route {regex.pattern} ({cls.__name__}) is not documented"
        assert implemented(cls), cls
        missing = implemented(cls) - documented[cls]
        assert not missing, f"{cls.__name__} implements {missing} but they are not documented"


async def test_build_handlers_matches_running_server(rules):
    built = build_handlers(JupyterApiHandler)
    assert [p for p, _, _ in built][-1] == API + "/.*"
    served = sorted(c.__name__ for _, c in rules)
    assert sorted(c.__name__ for _, c, _ in built[:-1]) == served
    for _, cls, _ in built[:-1]:
        assert implemented(cls), cls


def operations(document) -> list[tuple[str, str]]:
    return [(m, p) for p, item in sorted(document["paths"].items()) for m in sorted(item)]


async def test_every_operation_rejects_anonymous(api, project, assert_error):
    document = await fetch_document(api)
    checked = 0
    for method, template in operations(document):
        path = example_path(template)[len(API) + 1 :]
        raw = b"x" if method in ("put", "post", "patch") else None
        for headers in ({}, {"Authorization": "ApiKey eol_bogus.secret"}):
            status, body = await api(method.upper(), path, raw=raw, headers=headers)
            assert status in (401, 403), (method, template, headers, status, body)
            assert_error(body, "unauthorized" if status == 401 else "forbidden")
            checked += 1
    assert checked >= 2 * 25
    # nothing was created by the anonymous calls
    assert [p.name for p in project.workspace.list_projects()] == ["ExtremeEarth"]
    assert project.get_dataset_api().ls("eodata") == []


async def test_unknown_route_404_only_when_authenticated(api, assert_error):
    status, body = await api("GET", "no/such/route")
    assert status == 404, body
    assert_error(body, "not_found")
    status, body = await api("GET", "no/such/route", headers={})
    assert status == 401, body
    assert_error(body, "unauthorized")
    status, body = await api("PATCH", "projects", raw=b"{}")
    assert status == 405, body
    assert_error(body, "method_not_allowed")
