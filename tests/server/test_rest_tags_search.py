"""REST: tag schemas, tags on datasets and files, and free-text search."""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest

P = "projects/ExtremeEarth"
POLAR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "projects": {"type": "array", "items": {"type": "string"}},
        "location": {"type": "string"},
    },
    "required": ["name"],
}
SEED = {"name": "eodata", "projects": ["ExtremeEarth"], "location": "Arctic Ocean"}


@pytest.fixture
def polar(api):
    """Creates tag schema ``location_polar`` through the REST API."""

    async def create() -> dict[str, Any]:
        status, body = await api(
            "POST",
            "tagschemas",
            {"name": "location_polar", "schema": POLAR_SCHEMA, "description": "polar places"},
        )
        assert status == 201, body
        return body

    return create


@pytest.fixture
def dsapi(project):
    return project.get_dataset_api()


# ---- tag schemas ----------------------------------------------------------------------------


async def test_create_and_read_tag_schema(api, ws, polar):
    body = await polar()
    assert body["name"] == "location_polar"
    assert body["schema"] == POLAR_SCHEMA
    assert body["description"] == "polar places"
    assert ws.get_tag_schema("location_polar").schema == POLAR_SCHEMA

    status, body = await api("GET", "tagschemas")
    assert status == 200
    assert [s["name"] for s in body["tag_schemas"]] == ["location_polar"]
    status, body = await api("GET", "tagschemas/location_polar")
    assert status == 200
    assert body["schema"]["required"] == ["name"]
    status, body = await api("GET", "tagschemas/nope")
    assert status == 404, body
    assert body["error"]["code"] == "not_found"


async def test_duplicate_tag_schema_409(api, ws, polar, assert_error):
    await polar()
    status, body = await api(
        "POST", "tagschemas", {"name": "location_polar", "schema": {"type": "string"}}
    )
    assert status == 409, body
    error = assert_error(body, "conflict")
    assert error["details"] == {"schema": "location_polar"}
    assert ws.get_tag_schema("location_polar").schema == POLAR_SCHEMA


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"name": "bad name", "schema": {"type": "object"}}, "invalid_name"),
        ({"name": "broken", "schema": {"type": 5}}, "invalid_input"),
        ({"name": "broken", "schema": {"required": "name"}}, "invalid_input"),
        ({"name": "broken", "schema": "not an object"}, "invalid_input"),
        ({"name": "broken"}, "invalid_input"),
        ({"name": "broken", "schema": {}, "extra": True}, "invalid_input"),
    ],
)
async def test_bad_tag_schema_400(api, ws, assert_error, payload, code):
    status, body = await api("POST", "tagschemas", payload)
    assert status == 400, body
    assert_error(body, code)
    assert ws.list_tag_schemas() == []


async def test_tag_schema_needs_admin(api, ws, bob, assert_error):
    status, body = await api(
        "POST", "tagschemas", {"name": "bobs_schema", "schema": {"type": "object"}}, headers=bob
    )
    assert status == 403, body
    assert_error(body, "forbidden")
    assert ws.list_tag_schemas() == []


# ---- tags -----------------------------------------------------------------------------------


async def test_tag_dataset_get_and_delete(api, project, polar):
    await polar()
    status, body = await api("PUT", f"{P}/tags/eodata", {"schema": "location_polar", "value": SEED})
    assert status == 200, body
    assert body == {"path": "eodata", "tags": {"location_polar": SEED}}

    status, body = await api("GET", f"{P}/tags/eodata")
    assert status == 200
    assert body["tags"] == {"location_polar": SEED}

    # replacing the value of the same schema keeps one tag
    changed = {**SEED, "location": "Barents Sea"}
    status, body = await api(
        "PUT", f"{P}/tags/eodata", {"schema": "location_polar", "value": changed}
    )
    assert status == 200, body
    assert body["tags"] == {"location_polar": changed}

    status, body = await api("DELETE", f"{P}/tags/eodata", params={"schema": "location_polar"})
    assert status == 204, body
    status, body = await api("GET", f"{P}/tags/eodata")
    assert body["tags"] == {}
    status, body = await api("DELETE", f"{P}/tags/eodata", params={"schema": "location_polar"})
    assert status == 404, body
    assert body["error"]["code"] == "not_found"


async def test_tag_value_missing_name_422(api, project, polar, assert_error):
    await polar()
    status, body = await api("PUT", f"{P}/tags/eodata", {"schema": "location_polar", "value": SEED})
    assert status == 200, body

    bad = copy.deepcopy(SEED)
    del bad["name"]
    status, body = await api("PUT", f"{P}/tags/eodata", {"schema": "location_polar", "value": bad})
    assert status == 422, body
    error = assert_error(body, "validation_failed")
    assert error["details"]["schema"] == "location_polar"
    assert [v["field"] for v in error["details"]["violations"]] == ["name"]
    assert "name" in error["message"]

    bad = {**SEED, "projects": "ExtremeEarth", "location": 7}
    status, body = await api("PUT", f"{P}/tags/eodata", {"schema": "location_polar", "value": bad})
    assert status == 422, body
    fields = sorted(v["field"] for v in body["error"]["details"]["violations"])
    assert fields == ["location", "projects"]

    # the earlier, valid tag is untouched
    status, body = await api("GET", f"{P}/tags/eodata")
    assert body["tags"] == {"location_polar": SEED}


async def test_tag_bad_input(api, project, polar, assert_error):
    await polar()
    for payload, status_code, code in [
        ({"schema": "nope", "value": SEED}, 404, "not_found"),
        ({"value": SEED}, 400, "invalid_input"),
        ({"schema": "location_polar"}, 400, "invalid_input"),
        ({"schema": "location_polar", "value": SEED, "x": 1}, 400, "invalid_input"),
        ({"schema": "location_polar", "value": "{not json"}, 400, "invalid_input"),
    ]:
        status, body = await api("PUT", f"{P}/tags/eodata", payload)
        assert status == status_code, (payload, body)
        assert_error(body, code)
    status, body = await api("PUT", f"{P}/tags/eodata", raw=b"{oops")
    assert status == 400, body
    assert_error(body, "invalid_input")
    for path in ("nope", "eodata/missing.txt"):
        status, body = await api(
            "PUT", f"{P}/tags/{path}", {"schema": "location_polar", "value": SEED}
        )
        assert status == 404, (path, body)
        assert_error(body, "not_found")
    for path in ("../x", "eodata/../../x"):
        status, body = await api("GET", f"{P}/tags/{path}")
        assert status in (400, 404), (path, body)
        assert_error(body, "invalid_path" if status == 400 else "not_found")
    status, body = await api("DELETE", f"{P}/tags/eodata")
    assert status == 400, body
    assert_error(body, "invalid_input")
    status, body = await api("GET", f"{P}/tags")
    assert status == 400, body
    assert_error(body, "invalid_input")
    status, body = await api("GET", f"{P}/tags/eodata")
    assert body["tags"] == {}


async def test_tag_a_file(api, dsapi, polar):
    await polar()
    dsapi.upload_stream(io.BytesIO(b"x"), "eodata/chip.tif", 1)
    value = {"name": "chip", "location": "Svalbard"}
    status, body = await api(
        "PUT", f"{P}/tags/eodata/chip.tif", {"schema": "location_polar", "value": value}
    )
    assert status == 200, body
    assert body == {"path": "eodata/chip.tif", "tags": {"location_polar": value}}
    assert dsapi.get_tags("eodata/chip.tif") == {"location_polar": value}
    assert dsapi.get_tags("eodata") == {}


# ---- search ---------------------------------------------------------------------------------


async def test_search_finds_tagged_dataset_with_highlights(api, project, polar):
    await polar()
    status, body = await api("PUT", f"{P}/tags/eodata", {"schema": "location_polar", "value": SEED})
    assert status == 200, body

    status, body = await api("GET", "search", params={"term": "Arctic"})
    assert status == 200, body
    assert body["term"] == "Arctic" and body["scope"] == "everything"
    hits = [h for h in body["hits"] if h["kind"] == "dataset"]
    assert [h["ref"] for h in hits] == ["ExtremeEarth/eodata"]
    hit = hits[0]
    assert hit["project"] == "ExtremeEarth" and hit["name"] == "eodata"
    by_field = {h["field"]: h for h in hit["highlights"]}
    assert set(by_field) == {"description", "tags"}
    for highlight in by_field.values():
        assert highlight["spans"], highlight
        for start, end in highlight["spans"]:
            assert highlight["text"][start:end].lower() == "arctic"

    # a word only in the tag finds it through the tag
    status, body = await api("GET", "search", params={"term": "ocean", "scope": "datasets"})
    assert status == 200
    assert [(h["kind"], h["ref"]) for h in body["hits"]] == [("dataset", "ExtremeEarth/eodata")]
    assert body["total"] == 1
    assert [h["field"] for h in body["hits"][0]["highlights"]] == ["tags"]

    status, body = await api("GET", f"{P}/search", params={"term": "ocean"})
    assert status == 200
    assert body["total"] == 1

    status, body = await api("GET", "search", params={"term": "Arctic", "scope": "projects"})
    assert status == 200
    assert body["hits"] == [] and body["total"] == 0

    # once the tag is gone, so is the hit
    status, _ = await api("DELETE", f"{P}/tags/eodata", params={"schema": "location_polar"})
    assert status == 204
    status, body = await api("GET", "search", params={"term": "ocean"})
    assert body["total"] == 0 and body["hits"] == []


@pytest.mark.parametrize(
    "term",
    [
        '"',
        '"Arctic',
        "NEAR(",
        "NEAR(Arctic SAR)",
        "*",
        "Arct*",
        "-x",
        "-Arctic",
        "a AND",
        "AND OR NOT",
        ":",
        "name:Arctic",
        "(",
        ")",
        "^Arctic",
        "{name}:x",
        "Arctic'; DROP TABLE projects; --",
        "%_\\",
        "",
    ],
)
async def test_search_fts_syntax_is_literal(api, ws, project, term):
    status, body = await api("GET", "search", params={"term": term})
    assert status == 200, body
    assert body["term"] == term
    assert body["total"] == len(body["hits"])
    assert [p.name for p in ws.list_projects()] == ["ExtremeEarth"]


async def test_search_operators_are_words(api, project):
    # "Arctic" AND-ed with a word nobody has must find nothing (the operator is a word)
    status, body = await api("GET", "search", params={"term": "Arctic OR zzzz"})
    assert status == 200
    assert body["total"] == 0
    status, body = await api("GET", "search", params={"term": "arct*"})
    assert status == 200
    assert [h["ref"] for h in body["hits"]] == ["ExtremeEarth/eodata"]


@pytest.mark.parametrize(
    "params",
    [
        {"term": "Arctic", "scope": "bogus"},
        {"term": "Arctic", "scope": ""},
        {"term": "Arctic", "limit": "0"},
        {"term": "Arctic", "limit": "501"},
        {"term": "Arctic", "limit": "ten"},
        {"term": "Arctic", "offset": "-1"},
    ],
)
async def test_search_bad_params_400(api, project, assert_error, params):
    status, body = await api("GET", "search", params=params)
    assert status == 400, body
    assert_error(body, "invalid_input")


async def test_search_respects_membership(api, project, bob, assert_error):
    status, body = await api("GET", "search", params={"term": "Arctic"}, headers=bob)
    assert status == 200, body
    assert body["total"] == 0 and body["hits"] == []
    status, body = await api("GET", f"{P}/search", params={"term": "Arctic"}, headers=bob)
    assert status == 403, body
    assert_error(body, "forbidden")
    status, body = await api("GET", "search", params={"term": "x", "project": "Nope"})
    assert status == 404, body
    assert_error(body, "not_found")


async def test_tags_follow_copy_source_and_die_with_file(api, dsapi, polar):
    await polar()
    dsapi.upload_stream(io.BytesIO(b"x"), "eodata/chip.tif", 1)
    value = {"name": "chip", "location": "Svalbard"}
    status, _ = await api(
        "PUT", f"{P}/tags/eodata/chip.tif", {"schema": "location_polar", "value": value}
    )
    assert status == 200
    status, body = await api(
        "POST", f"{P}/datasets/eodata/files/chip.tif", {"op": "copy", "to": "eodata/copy.tif"}
    )
    assert status == 201, body
    assert dsapi.get_tags("eodata/chip.tif") == {"location_polar": value}  # source keeps its tag

    status, _ = await api("DELETE", f"{P}/datasets/eodata/files/chip.tif")
    assert status == 204
    status, body = await api("GET", "search", params={"term": "Svalbard"})
    assert status == 200
    assert body["total"] == 0  # the deleted file's tag no longer matches


async def test_move_keeps_tags(api, dsapi, polar):
    await polar()
    dsapi.upload_stream(io.BytesIO(b"x"), "eodata/chip.tif", 1)
    value = {"name": "chip", "location": "Svalbard"}
    status, _ = await api(
        "PUT", f"{P}/tags/eodata/chip.tif", {"schema": "location_polar", "value": value}
    )
    assert status == 200
    status, body = await api(
        "POST", f"{P}/datasets/eodata/files/chip.tif", {"op": "move", "to": "eodata/moved.tif"}
    )
    assert status == 201, body
    status, body = await api("GET", f"{P}/tags/eodata/moved.tif")
    assert status == 200
    assert body["tags"] == {"location_polar": value}
    status, body = await api("GET", "search", params={"term": "Svalbard"})
    assert [h["ref"] for h in body["hits"]] == ["ExtremeEarth/eodata/moved.tif"]
