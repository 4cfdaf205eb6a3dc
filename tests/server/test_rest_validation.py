"""REST: expectations (list, create, describe, delete), the expectations attached to a feature
group version with its validation type, and its validation history and dry runs.

Feature groups are written with the SDK (python engine) into the server's workspace; what REST
answers is checked against the SDK and the catalog.
"""

from __future__ import annotations

import pandas as pd
import pytest

from eolab.errors import ValidationFailed
from eolab.featurestore import FeatureGroup, FeatureStore

E = "projects/ExtremeEarth/featurestore/expectations"
FGV = "projects/ExtremeEarth/featurestore/featuregroups/iceberg/versions/1"
LABELS = {
    "name": "iceberg_label",
    "description": "labels are 0 or 1",
    "features": ["is_iceberg"],
    "rules": [{"name": "HAS_MIN", "min": 0}, {"name": "HAS_MAX", "max": 1, "level": "ERROR"}],
}


def rows(n: int, start: int = 0, label: int | None = None) -> pd.DataFrame:
    ids = list(range(start, start + n))
    return pd.DataFrame(
        {
            "id": ids,
            "name": [f"chip{i}" for i in ids],
            "is_iceberg": [i % 2 if label is None else label for i in ids],
        }
    )


@pytest.fixture
def fs(project) -> FeatureStore:
    project.engine = "python"
    return project.get_feature_store()


@pytest.fixture
def iceberg(fs: FeatureStore) -> FeatureGroup:
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"], statistics_config=False)
    fg.save(rows(4))
    return fg


async def test_create_list_get_delete(api, fs, assert_error):
    status, body = await api("GET", E)
    assert (status, body) == (200, {"expectations": []})
    status, created = await api("POST", E, LABELS)
    assert status == 201, created
    assert created["name"] == "iceberg_label" and created["creator"] == "alice"
    assert created["rules"][1] == {
        "name": "HAS_MAX",
        "level": "ERROR",
        "min": None,
        "max": 1.0,
        "value": None,
        "pattern": None,
        "acceptedType": None,
        "legalValues": None,
    }
    assert [r.name for r in fs.get_expectation("iceberg_label").rules] == ["HAS_MIN", "HAS_MAX"]
    status, again = await api("POST", E, LABELS)
    assert status == 409, again
    assert_error(again, "conflict")
    status, listed = await api("GET", E)
    assert [e["name"] for e in listed["expectations"]] == ["iceberg_label"]
    status, one = await api("GET", f"{E}/iceberg_label")
    assert status == 200 and one == created
    status, body = await api("DELETE", f"{E}/iceberg_label")
    assert status == 204, body
    assert fs.get_expectations() == []
    status, body = await api("GET", f"{E}/iceberg_label")
    assert status == 404
    assert_error(body, "not_found")


async def test_bad_expectations_are_400_and_nothing_is_stored(api, fs, assert_error):
    bad_bodies = [
        ({**LABELS, "rules": [{"name": "HAS_AVG", "min": 0}]}, "unknown rule 'HAS_AVG'"),
        ({**LABELS, "rules": [{"name": "HAS_MAX"}]}, "HAS_MAX needs a bound"),
        (
            {**LABELS, "rules": [{"name": "HAS_PATTERN", "pattern": "(", "min": 1}]},
            "not a valid regex",
        ),
        (
            {**LABELS, "rules": [{"name": "HAS_DATATYPE", "acceptedType": "Float", "max": 0}]},
            "accepted_type, one of",
        ),
        ({**LABELS, "features": []}, "non-empty list of feature names"),
        ({k: v for k, v in LABELS.items() if k != "features"}, "features"),
        ({**LABELS, "rules": [{"name": "HAS_MIN", "minimum": 0}]}, "minimum"),
    ]
    for body, words in bad_bodies:
        status, answer = await api("POST", E, body)
        assert status == 400, (body, answer)
        error = assert_error(answer, "invalid_input")
        assert words in error["message"], error
    status, answer = await api("POST", E, raw=b"{not json")
    assert status == 400
    assert_error(answer, "invalid_input")
    assert fs.get_expectations() == []


async def test_attach_detach_and_validation_type(api, fs, iceberg, assert_error):
    await api("POST", E, LABELS)
    status, body = await api("GET", f"{FGV}/expectations")
    assert status == 200, body
    assert body == {"name": "iceberg", "version": 1, "validation_type": "NONE", "expectations": []}
    status, body = await api("POST", f"{FGV}/expectations", {"expectation": "iceberg_label"})
    assert status == 200, body
    assert [e["name"] for e in body["expectations"]] == ["iceberg_label"]
    status, body = await api("PUT", f"{FGV}/expectations", {"validation_type": "STRICT"})
    assert status == 200 and body["validation_type"] == "STRICT"
    assert iceberg.validation_type == "STRICT"
    assert [e.name for e in iceberg.get_expectations()] == ["iceberg_label"]

    status, body = await api("PUT", f"{FGV}/expectations", {"validation_type": "strict"})
    assert status == 400
    assert_error(body, "invalid_input")
    mean_of_text = {
        "name": "name_mean",
        "features": ["name"],
        "rules": [{"name": "HAS_MEAN", "min": 0}],
    }
    assert (await api("POST", E, mean_of_text))[0] == 201
    status, body = await api("POST", f"{FGV}/expectations", {"expectation": "name_mean"})
    assert status == 400
    assert (
        "HAS_MEAN does not apply to feature 'name'"
        in assert_error(body, "invalid_input")["message"]
    )
    status, body = await api("POST", f"{FGV}/expectations", {"expectation": "ghost"})
    assert status == 404
    assert_error(body, "not_found")
    status, body = await api("DELETE", f"{E}/iceberg_label")
    assert status == 409
    assert_error(body, "conflict")
    status, body = await api("DELETE", f"{FGV}/expectations")
    assert status == 400
    assert "?expectation=NAME" in assert_error(body, "invalid_input")["message"]
    status, body = await api(
        "DELETE", f"{FGV}/expectations", params={"expectation": "iceberg_label"}
    )
    assert status == 204, body
    assert iceberg.get_expectations() == []
    status, body = await api(
        "DELETE", f"{FGV}/expectations", params={"expectation": "iceberg_label"}
    )
    assert status == 404
    assert_error(body, "not_found")
    status, body = await api(
        "GET", "projects/ExtremeEarth/featurestore/featuregroups/iceberg/versions/x/expectations"
    )
    assert status == 400
    assert_error(body, "invalid_input")


async def test_history_and_dry_run(api, fs, iceberg, assert_error):
    await api("POST", E, LABELS)
    iceberg.attach_expectation("iceberg_label")
    iceberg.validation_type = "STRICT"
    with pytest.raises(ValidationFailed):
        iceberg.insert(rows(2, start=10, label=2))
    iceberg.insert(rows(2, start=20))
    status, body = await api("GET", f"{FGV}/validations")
    assert status == 200, body
    newest, rejected = body["validations"]
    assert (newest["status"], newest["ingested"], newest["commitId"]) == ("SUCCESS", True, 1)
    assert (rejected["status"], rejected["ingested"], rejected["commitId"]) == (
        "FAILURE",
        False,
        None,
    )
    failed = [r for r in rejected["expectationResults"][0]["results"] if r["status"] == "FAILURE"]
    assert failed[0]["message"] == "is_iceberg max is 2, expected ≤ 1"
    assert rejected["summary"] == {"success": 1, "warning": 0, "failure": 1}
    assert rejected["validationId"] == iceberg.get_validations()[1].validation_id
    status, body = await api("GET", f"{FGV}/validations", params={"limit": 1})
    assert [v["validationId"] for v in body["validations"]] == [newest["validationId"]]
    for limit in ("0", "501", "many"):
        status, body = await api("GET", f"{FGV}/validations", params={"limit": limit})
        assert status == 400, limit
        assert_error(body, "invalid_input")

    status, report = await api("POST", f"{FGV}/validations")
    assert status == 200, report
    assert report["validationId"] is None and report["ingested"] is None
    assert report["rowCount"] == 6 and report["status"] == "SUCCESS"
    assert len(iceberg.get_validations()) == 2  # the dry run was not stored


async def test_dry_run_without_expectations_and_unknown_group(api, fs, iceberg, assert_error):
    status, body = await api("POST", f"{FGV}/validations")
    assert status == 400
    assert "no expectations" in assert_error(body, "invalid_input")["message"]
    status, body = await api(
        "GET", "projects/ExtremeEarth/featurestore/featuregroups/nope/versions/1/validations"
    )
    assert status == 404
    assert_error(body, "not_found")


async def test_strangers_see_nothing(api, fs, iceberg, bob, assert_error):
    await api("POST", E, LABELS)
    for method, path, body in [
        ("GET", E, None),
        ("POST", E, {**LABELS, "name": "bobs"}),
        ("GET", f"{E}/iceberg_label", None),
        ("DELETE", f"{E}/iceberg_label", None),
        ("GET", f"{FGV}/expectations", None),
        ("GET", f"{FGV}/validations", None),
    ]:
        status, answer = await api(method, path, body, headers=bob)
        assert status in (403, 404), (method, path, status, answer)
    assert [e.name for e in fs.get_expectations()] == ["iceberg_label"]
