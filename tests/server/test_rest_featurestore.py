"""REST: feature groups (list, versions, describe, delete, commits, statistics, preview, tags).

The feature groups are written with the SDK (python engine) into the server's workspace; what
REST answers is checked against what was written.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from eolab.featurestore import FeatureGroup, FeatureStore
from eolab.server.handlers.featurestore import ARRAY_HEAD

P = "projects/ExtremeEarth/featurestore/featuregroups"
V1 = f"{P}/iceberg/versions/1"
SIDE = 75
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "season": {"type": "string"}},
    "required": ["name"],
}


def chips(n: int, start: int = 0, seed: int = 0) -> pa.Table:
    """SAR-chip-like rows: a 75×75 float32 band, an angle whose first value is NaN and second
    is null (Arrow keeps the two apart)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(start, start + n)
    angle: list[float | None] = list(rng.normal(38.0, 4.0, n))
    angle[0], angle[1] = float("nan"), None
    frame = pd.DataFrame(
        {
            "id": ids,
            "band_1": [rng.normal(-20, 5, SIDE * SIDE).astype(np.float32) for _ in ids],
            "is_iceberg": (ids % 2).astype(np.int64),
            "ts": pd.Timestamp("2024-03-01", tz="UTC") + pd.to_timedelta(ids, unit="h"),
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return table.add_column(2, "inc_angle", pa.array(angle, pa.float64(), from_pandas=False))


@pytest.fixture
def fs(project) -> FeatureStore:
    project.engine = "python"
    return project.get_feature_store()


@pytest.fixture
def iceberg(fs: FeatureStore) -> tuple[FeatureGroup, pd.DataFrame, pd.DataFrame]:
    """iceberg v1 with three commits: 6 rows; 2 updated + 1 inserted; id 0 deleted."""
    fg = fs.create_feature_group(
        "iceberg",
        version=1,
        description="SAR chips",
        primary_key=["id"],
        event_time="ts",
        online_enabled=True,
        statistics_config={"histograms": True},
    )
    first, second = chips(6), chips(3, start=4, seed=1)
    fg.save(first)
    fg.insert(second)
    fg.commit_delete_record(pd.DataFrame({"id": [0]}))
    return fg, first.to_pandas(), second.to_pandas()


def commit_times(fg: FeatureGroup) -> dict[int, datetime]:
    return {cid: c["committedOn"] for cid, c in fg.commit_details().items()}


def strict_json(raw: bytes) -> Any:
    """Parse JSON as a browser does: NaN or Infinity literals are an error."""

    def refuse(token: str) -> None:
        raise AssertionError(f"invalid JSON literal {token} in the response")

    return json.loads(raw, parse_constant=refuse)


# ---- list and versions ------------------------------------------------------------------------


async def test_list_is_empty_then_names_each_group_once(api, fs, iceberg):
    fg, _, _ = iceberg
    fs.create_feature_group("iceberg", version=2, description="v2", primary_key=["id"]).save(
        chips(2)
    )
    fs.create_feature_group("ships", version=1, primary_key=["id"], statistics_config=False)

    status, body = await api("GET", P)
    assert status == 200, body
    groups = body["feature_groups"]
    assert [g["name"] for g in groups] == ["iceberg"]  # ships has no data: not registered yet
    (ice,) = groups
    assert ice["versions"] == [1, 2]
    assert ice["latest_version"] == 2
    assert ice["description"] == "v2"
    assert ice["online_enabled"] is False
    assert ice["latest_commit"]["commit_id"] == 0
    assert ice["latest_commit"]["rows_inserted"] == 2
    assert ice["latest_commit"]["committed_on"].endswith("Z")


async def test_list_in_a_project_without_groups(api, project):
    status, body = await api("GET", P)
    assert status == 200, body
    assert body == {"feature_groups": []}


async def test_versions_of_one_group(api, fs, iceberg):
    fs.create_feature_group("iceberg", version=3, primary_key=["id"]).save(chips(2))
    status, body = await api("GET", f"{P}/iceberg")
    assert status == 200, body
    assert body["name"] == "iceberg"
    assert [v["version"] for v in body["versions"]] == [1, 3]
    v1 = body["versions"][0]
    assert v1["creator"] == "alice"
    assert v1["num_features"] == 5
    assert v1["online_enabled"] is True
    assert v1["latest_commit"]["commit_id"] == 2
    assert v1["latest_commit"]["rows_deleted"] == 1


async def test_unknown_group_is_404(api, iceberg, assert_error):
    for path in (f"{P}/nosuch", f"{P}/nosuch/versions/1", f"{P}/iceberg/versions/7/commits"):
        status, body = await api("GET", path)
        assert status == 404, (path, body)
        error = assert_error(body, "not_found")
        assert "nosuch" in error["message"] or "version 7" in error["message"]


# ---- describe -----------------------------------------------------------------------------------


async def test_describe_a_version(api, iceberg):
    status, body = await api("GET", V1)
    assert status == 200, body
    assert (body["name"], body["version"], body["description"]) == ("iceberg", 1, "SAR chips")
    features = {f["name"]: f for f in body["features"]}
    assert list(features) == ["id", "band_1", "inc_angle", "is_iceberg", "ts"]
    assert features["id"] == {
        "name": "id",
        "type": "int64",
        "primary": True,
        "partition": False,
        "event_time": False,
    }
    assert features["band_1"]["type"] == "list<float>"
    assert features["ts"]["event_time"] is True
    assert not features["inc_angle"]["primary"]
    assert body["primary_key"] == ["id"]
    assert body["event_time"] == "ts"
    assert body["partition_key"] == []
    assert body["online_enabled"] is True
    assert body["statistics_config"]["histograms"] is True
    assert body["location"] == "FeatureStore/iceberg_1"
    assert body["creator"] == "alice"
    assert body["created"].endswith("Z")
    assert body["row_count"] == 6  # 6 saved, 1 new, 1 deleted
    assert body["latest_commit"]["commit_id"] == 2
    assert body["tags"] == {}


async def test_bad_version_is_400(api, iceberg, assert_error):
    for v in ("0", "x", "-1", "1.5", "²"):
        status, body = await api("GET", f"{P}/iceberg/versions/{v}")
        assert status == 400, (v, body)
        error = assert_error(body, "invalid_input")
        assert "integer from 1" in error["message"] and repr(v) in error["message"]


async def test_non_member_and_unscoped_key_are_refused(api, iceberg, bob, make_key, assert_error):
    for path in (P, f"{P}/iceberg", V1, f"{V1}/commits", f"{V1}/statistics", f"{V1}/preview"):
        status, body = await api("GET", path, headers=bob)
        assert status == 403, (path, body)
        assert "not a member" in assert_error(body, "forbidden")["message"]
    unscoped = {"Authorization": f"ApiKey {make_key('alice', ['project', 'dataset_view'])}"}
    status, body = await api("GET", V1, headers=unscoped)
    assert status == 403, body
    assert "featurestore" in assert_error(body, "forbidden")["message"]


# ---- commits ------------------------------------------------------------------------------------


async def test_commits_newest_first_with_counts(api, iceberg):
    fg, _, _ = iceberg
    status, body = await api("GET", f"{V1}/commits")
    assert status == 200, body
    commits = body["commits"]
    assert [c["commit_id"] for c in commits] == [2, 1, 0]
    counts = [(c["rows_inserted"], c["rows_updated"], c["rows_deleted"]) for c in commits]
    assert counts == [(0, 0, 1), (1, 2, 0), (6, 0, 0)]
    times = commit_times(fg)
    for c in commits:
        sent = datetime.fromisoformat(c["committed_on"]).replace(tzinfo=None)
        assert sent == times[c["commit_id"]]

    status, body = await api("GET", f"{V1}/commits", params={"limit": 1})
    assert [c["commit_id"] for c in body["commits"]] == [2]
    until = times[1].isoformat()
    status, body = await api("GET", f"{V1}/commits", params={"wallclock_time": until})
    assert [c["commit_id"] for c in body["commits"]] == [1, 0]


async def test_commits_bad_input(api, iceberg, assert_error):
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"wallclock_time": "yesterday"}, "wallclock_time"),
    ]:
        status, body = await api("GET", f"{V1}/commits", params=params)
        assert status == 400, (params, body)
        assert field in assert_error(body, "invalid_input")["message"]


# ---- statistics ---------------------------------------------------------------------------------


async def test_statistics_of_the_latest_commit(api, iceberg):
    fg, _, _ = iceberg
    status, body = await api("GET", f"{V1}/statistics")
    assert status == 200, body
    assert body["commit_id"] == 2
    assert body["row_count"] == 6
    assert body["commit_time"].endswith("Z")
    stats = {f["name"]: f for f in body["features"]}
    assert list(stats) == ["id", "band_1", "inc_angle", "is_iceberg", "ts"]
    ids = stats["id"]
    assert (ids["count"], ids["min"], ids["max"], ids["mean"]) == (6, 1, 6, 3.5)
    assert ids["approx_num_distinct_values"] == 6
    assert pytest.approx(ids["stddev"]) == np.std(np.arange(1, 7))
    histogram = ids["histogram"]
    assert len(histogram) == 20
    assert sum(b["count"] for b in histogram) == 6
    assert histogram[0]["lower"] == 1 and histogram[-1]["upper"] == 6
    band = stats["band_1"]
    assert band["type"].startswith("array")
    assert band["count"] == 6 * SIDE * SIDE  # statistics of the elements
    angle = stats["inc_angle"]  # missing: id 1 (null), id 4 (NaN), id 5 (null)
    assert (angle["count"], angle["num_null_values"], angle["completeness"]) == (3, 3, 0.5)
    assert sum(b["count"] for b in angle["histogram"]) == 3
    assert angle["min"] <= angle["mean"] <= angle["max"]


async def test_statistics_as_of_a_commit_time(api, iceberg):
    fg, first, _ = iceberg
    times = commit_times(fg)
    at = (times[0] + timedelta(microseconds=1)).isoformat()
    status, body = await api("GET", f"{V1}/statistics", params={"commit_time": at})
    assert status == 200, body
    assert body["commit_id"] == 0
    ids = {f["name"]: f for f in body["features"]}["id"]
    assert (ids["min"], ids["max"], ids["count"]) == (0, 5, len(first))


async def test_statistics_bad_input_and_missing(api, fs, iceberg, assert_error):
    status, body = await api("GET", f"{V1}/statistics", params={"commit_time": "soon"})
    assert status == 400, body
    assert "soon" in assert_error(body, "invalid_input")["message"]
    status, body = await api("GET", f"{V1}/statistics", params={"commit_time": "2001-01-01"})
    assert status == 404, body
    assert "at or before" in assert_error(body, "not_found")["message"]
    fs.create_feature_group("plain", version=1, primary_key=["id"], statistics_config=False).save(
        chips(2)
    )
    status, body = await api("GET", f"{P}/plain/versions/1/statistics")
    assert status == 404, body
    assert "compute_statistics" in assert_error(body, "not_found")["message"]


# ---- preview ------------------------------------------------------------------------------------


async def test_preview_shortens_arrays_and_keeps_nan_apart_from_null(api, iceberg):
    fg, first, second = iceberg
    response = await api.fetch("GET", f"{V1}/preview", params={"n": 1000})
    assert response.code == 200, response.body
    body = strict_json(response.body)
    assert body["storage"] == "offline"
    assert body["commit_id"] == 2
    assert body["num_rows"] == 6
    assert body["as_of"] is None
    columns = {c["name"]: c for c in body["columns"]}
    assert columns["band_1"]["array"] is True and columns["id"]["array"] is False
    assert columns["band_1"]["type"] == "list<float>"
    rows = {r["id"]: r for r in body["rows"]}
    assert sorted(rows) == [1, 2, 3, 4, 5, 6]
    expected = pd.concat([first[first.id < 4], second]).set_index("id")
    for key, row in rows.items():
        band = row["band_1"]
        assert band["length"] == SIDE * SIDE
        assert band["head"] == pytest.approx(expected.loc[key, "band_1"][:ARRAY_HEAD].tolist())
        assert row["is_iceberg"] == key % 2
        assert row["ts"].startswith(expected.loc[key, "ts"].strftime("%Y-%m-%dT%H:%M:%S"))
    assert rows[1]["inc_angle"] is None  # null in the first write
    assert rows[4]["inc_angle"] == "NaN"  # NaN in the second write (row 0 of it)
    assert rows[5]["inc_angle"] is None
    assert rows[2]["inc_angle"] == pytest.approx(expected.loc[2, "inc_angle"])
    assert len(response.body) < 20_000  # no band was sent whole

    status, body = await api("GET", f"{V1}/preview", params={"n": 2})
    assert status == 200, body
    assert len(body["rows"]) == 2 and body["num_rows"] == 6


async def test_preview_as_of_an_older_commit(api, iceberg):
    fg, first, _ = iceberg
    at = commit_times(fg)[0].isoformat() + "Z"
    status, body = await api("GET", f"{V1}/preview", params={"as_of": at, "n": 100})
    assert status == 200, body
    assert body["commit_id"] == 0
    assert body["as_of"].startswith(at[:19])
    assert sorted(r["id"] for r in body["rows"]) == first.id.tolist()  # id 0 not deleted yet
    assert body["rows"][0]["band_1"]["length"] == SIDE * SIDE


async def test_preview_of_the_online_store(api, iceberg):
    status, body = await api("GET", f"{V1}/preview", params={"online": "true", "n": 3})
    assert status == 200, body
    assert body["storage"] == "online"
    assert body["commit_id"] is None
    assert body["num_rows"] == 6
    assert len(body["rows"]) == 3
    row = body["rows"][0]
    assert set(row) == {"id", "band_1", "inc_angle", "is_iceberg", "ts"}
    assert row["band_1"]["length"] == SIDE * SIDE
    assert len(row["band_1"]["head"]) == ARRAY_HEAD


async def test_preview_bad_input(api, fs, iceberg, assert_error):
    fg, _, _ = iceberg
    first = commit_times(fg)[0]
    cases = [
        ({"n": 0}, "between 1 and 1000"),
        ({"n": 1001}, "between 1 and 1000"),
        ({"n": "ten"}, "'n'"),
        ({"as_of": "last tuesday"}, "as_of"),
        ({"as_of": (first - timedelta(days=1)).isoformat()}, "first commit was at"),
        ({"online": "true", "as_of": first.isoformat()}, "online store keeps only"),
    ]
    for params, message in cases:
        status, body = await api("GET", f"{V1}/preview", params=params)
        assert status == 400, (params, body)
        assert message in assert_error(body, "invalid_input")["message"], params
    fs.create_feature_group("offline_only", version=1, primary_key=["id"]).save(chips(2))
    status, body = await api("GET", f"{P}/offline_only/versions/1/preview", params={"online": 1})
    assert status == 400, body
    assert "not online_enabled" in assert_error(body, "invalid_input")["message"]


# ---- tags ---------------------------------------------------------------------------------------


async def test_tags_on_a_feature_group(api, ws, iceberg, assert_error):
    fg, _, _ = iceberg
    ws.create_tag_schema("campaign", SCHEMA)
    status, body = await api("PUT", f"{V1}/tags", {"schema": "campaign", "value": {"name": "N"}})
    assert status == 200, body
    assert body["tags"] == {"campaign": {"name": "N"}}
    assert body["path"] == "featurestore/featuregroups/iceberg/versions/1"
    assert fg.get_tags() == {"campaign": {"name": "N"}}
    status, body = await api("GET", f"{V1}/tags")
    assert body["tags"] == {"campaign": {"name": "N"}}
    status, body = await api("GET", V1)
    assert body["tags"] == {"campaign": {"name": "N"}}

    status, body = await api("PUT", f"{V1}/tags", {"schema": "campaign", "value": {"season": 1}})
    assert status == 422, body
    assert "name" in assert_error(body, "validation_failed")["message"]
    status, body = await api("PUT", f"{V1}/tags", {"schema": "nosuch", "value": {"name": "x"}})
    assert status == 404, body
    status, body = await api("PUT", f"{V1}/tags", {"value": {"name": "x"}})
    assert status == 400, body
    status, body = await api("DELETE", f"{V1}/tags")
    assert status == 400, body
    assert "?schema=" in assert_error(body, "invalid_input")["message"]
    assert fg.get_tags() == {"campaign": {"name": "N"}}  # nothing changed by the bad calls

    status, body = await api("DELETE", f"{V1}/tags", params={"schema": "campaign"})
    assert status == 204, body
    assert fg.get_tags() == {}


# ---- delete -------------------------------------------------------------------------------------


async def test_delete_refused_to_others_then_done_by_the_creator(
    api, ws, project, iceberg, bob, make_key, assert_error
):
    fg, _, _ = iceberg
    folder = project.root / "FeatureStore" / "iceberg_1"
    assert folder.is_dir()
    status, body = await api("DELETE", V1, headers=bob)
    assert status == 403, body
    assert_error(body, "forbidden")
    ws.create_user("carol")
    project.add_member("carol", "data_scientist")
    carol = {"Authorization": f"ApiKey {make_key('carol', ['project', 'featurestore'])}"}
    status, body = await api("DELETE", V1, headers=carol)
    assert status == 403, body
    assert "only its own" in assert_error(body, "forbidden")["message"]
    assert folder.is_dir()

    status, body = await api("DELETE", V1)
    assert status == 204, body
    assert not folder.exists()
    status, body = await api("GET", V1)
    assert status == 404, body
    status, body = await api("GET", P)
    assert body["feature_groups"] == []


async def test_delete_refused_while_a_training_dataset_uses_it_unless_forced(
    api, fs, project, iceberg, assert_error
):
    fg, _, _ = iceberg
    folder = project.root / "FeatureStore" / "iceberg_1"
    td = fs.create_training_dataset(
        "iceberg_train", version=1, data_format="parquet", statistics_config=False
    )
    td.save(fg.select_all())
    status, body = await api("DELETE", V1)
    assert status == 409, body
    error = assert_error(body, "conflict")
    assert "iceberg_train v1" in error["message"] and "force" in error["message"]
    assert error["details"] == {"training_datasets": ["iceberg_train v1"]}
    assert folder.is_dir()
    status, body = await api("GET", V1)
    assert status == 200, body

    status, body = await api("DELETE", V1, params={"force": "true"})
    assert status == 204, body
    assert not folder.exists()


# ---- search -------------------------------------------------------------------------------------


async def test_search_hits_name_the_group_and_version_to_open(api, iceberg):
    status, body = await api(
        "GET", "projects/ExtremeEarth/search", params={"term": "iceberg", "scope": "featurestore"}
    )
    assert status == 200, body
    hits = {(h["kind"], h["ref"]) for h in body["hits"]}
    assert ("featuregroup", "ExtremeEarth/iceberg/1") in hits
    assert ("feature", "ExtremeEarth/iceberg/1/band_1") in hits
    hit = next(h for h in body["hits"] if h["kind"] == "featuregroup")
    project, name, version = hit["ref"].split("/")
    assert project == hit["project"]
    status, body = await api("GET", f"projects/{project}/featurestore/featuregroups/{name}")
    assert status == 200 and [v["version"] for v in body["versions"]] == [int(version)]
