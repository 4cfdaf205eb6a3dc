"""Validation on insert: STRICT, WARNING, ALL and NONE; a rejected insert writes nothing
offline or online; reports are stored and read back as history; dry runs store nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from eolab.errors import InvalidInput, NotFound, ValidationFailed
from eolab.featurestore.feature_validation import ValidationWarning
from eolab.validation import Rule, ValidationReport


def iceberg(fs, expectations, validation_type="STRICT", **kw):
    return fs.create_feature_group(
        "iceberg",
        version=1,
        primary_key=["id"],
        expectations=expectations,
        validation_type=validation_type,
        statistics_config=False,
        **kw,
    )


def test_strict_rejects_and_writes_nothing_offline_or_online(
    fs, chips, label_rules, no_null_ids, data_files
):
    fg = iceberg(fs, [label_rules, no_null_ids], online_enabled=True)
    fg.save(chips(4))
    files, commits = data_files(fg), fg.commit_details()
    bad = chips(3, start=100).assign(is_iceberg=2)
    with pytest.raises(ValidationFailed) as caught:
        fg.insert(bad)
    error = caught.value
    assert error.http_status == 422
    assert "is_iceberg max is 2, expected ≤ 1" in error.message
    assert "nothing was written" in error.message
    report = error.report
    assert report.status == "FAILURE" and report.ingested is False
    assert error.details == report.to_dict()
    # nothing written: same files, same commits, offline and online rows unchanged
    assert data_files(fg) == files and fg.commit_details() == commits
    assert sorted(fg.read()["id"]) == [0, 1, 2, 3]
    assert fg.get_feature_vector({"id": 100}) is None
    assert len(fg.read(online=True)) == 4
    # the report is stored either way
    stored = fg.get_validations()
    assert [r.validation_id for r in stored] == [report.validation_id, stored[1].validation_id]
    assert [r.ingested for r in stored] == [False, True]


def test_strict_rejects_a_warning_and_warning_accepts_it(fs, chips, data_files):
    soft = fs.create_expectation(
        "soft_label", "", ["is_iceberg"], [Rule("HAS_MAX", level="WARNING", max=0)]
    ).save()
    fg = iceberg(fs, [soft])
    with pytest.raises(ValidationFailed, match="status WARNING"):
        fg.save(chips(2))  # STRICT: every rule must succeed
    assert fg.id is None and data_files(fg) == []
    fg.validation_type = "WARNING"
    with pytest.warns(ValidationWarning, match="is_iceberg max is 1, expected ≤ 0"):
        fg.save(chips(2))
    assert len(fg.read()) == 2
    assert fs.get_feature_group("iceberg", 1).validation_type == "WARNING"


def test_warning_rejects_a_failure(fs, chips, label_rules):
    fg = iceberg(fs, [label_rules], "WARNING")
    fg.save(chips(2))
    with pytest.raises(ValidationFailed, match="WARNING validation, status FAILURE"):
        fg.insert(chips(2, start=10).assign(is_iceberg=-1))
    assert len(fg.read()) == 2


def test_all_inserts_and_records_none_does_not_validate(fs, chips, label_rules):
    fg = iceberg(fs, [label_rules], "ALL")
    with pytest.warns(ValidationWarning):
        fg.save(chips(2).assign(is_iceberg=5))
    assert len(fg.read()) == 2
    (report,) = fg.get_validations()
    assert report.status == "FAILURE" and report.ingested is True
    fg.validation_type = "NONE"
    fg.insert(chips(2, start=10).assign(is_iceberg=7))
    assert len(fg.read()) == 4 and len(fg.get_validations()) == 1  # no new report
    # the default is NONE, as in hsfs: expectations alone do not validate
    plain = fs.create_feature_group(
        "plain", version=1, primary_key=["id"], expectations=[label_rules]
    )
    plain.save(chips(1).assign(is_iceberg=9))
    assert plain.validation_type == "NONE" and plain.get_validations() == []


def test_rejected_first_save_registers_nothing_and_its_report_is_adopted(fs, chips, label_rules):
    fg = iceberg(fs, [label_rules])
    with pytest.raises(ValidationFailed):
        fg.save(chips(2).assign(is_iceberg=3))
    assert fg.id is None
    with pytest.raises(NotFound):
        fs.get_feature_group("iceberg", 1)
    assert [r.status for r in fg.get_validations()] == ["FAILURE"]  # kept by name and version
    fg.save(chips(2))
    history = fs.get_feature_group("iceberg", 1).get_validations()
    assert [(r.status, r.ingested) for r in history] == [("SUCCESS", True), ("FAILURE", False)]


def test_history_is_shaped_like_hopsworks_with_commit_times(fs, chips, label_rules):
    fg = iceberg(fs, [label_rules])
    fg.save(chips(2))
    with pytest.raises(ValidationFailed):
        fg.insert(chips(2, start=10).assign(is_iceberg=2))
    fg.insert(chips(2, start=20))
    newest, rejected, first = fg.get_validations()
    commits = fg.commit_details()
    assert (first.commit_id, newest.commit_id, rejected.commit_id) == (0, 1, None)
    assert first.commit_time == commits[0]["committedOn"]
    assert newest.commit_time == commits[1]["committedOn"]
    as_dict = json.loads(newest.to_json())
    assert set(as_dict) >= {
        "validationId",
        "validationTime",
        "commitTime",
        "expectationResults",
        "status",
    }
    (result,) = as_dict["expectationResults"]
    assert result["expectation"]["name"] == "iceberg_label" and result["status"] == "SUCCESS"
    assert set(result["results"][0]) == {"features", "message", "rule", "status", "value"}
    assert as_dict["summary"] == {"success": 2, "warning": 0, "failure": 0}
    assert ValidationReport.from_dict(as_dict).to_dict() == as_dict
    # filters: by validation time, by commit time, by count
    assert fg.get_validations(validation_time=first.validation_time) == [first]
    assert fg.get_validations(commit_time=commits[0]["committedOn"]) == [first]
    assert fg.get_validations(commit_time=commits[1]["committedOn"]) == [newest, first]
    assert fg.get_validations(limit=1) == [newest]
    before = first.validation_time - timedelta(seconds=1)
    assert fg.get_validations(validation_time=before) == []
    with pytest.raises(InvalidInput, match="limit must be a positive integer"):
        fg.get_validations(limit=0)
    with pytest.raises(InvalidInput, match="validation_time must be"):
        fg.get_validations(validation_time="yesterday")


def test_report_html_and_text_show_each_rule(fs, chips, label_rules):
    fg = iceberg(fs, [label_rules])
    with pytest.raises(ValidationFailed) as caught:
        fg.save(chips(2).assign(is_iceberg=2))
    html = caught.value.report._repr_html_()
    assert "#c62828" in html and "is_iceberg max is 2, expected ≤ 1" in html
    assert "rejected, nothing written" in html
    text = repr(caught.value.report)
    assert text.startswith("FAILURE: validation") and "HAS_MAX: is_iceberg max is 2" in text


def test_dry_run_stores_nothing(fs, chips, label_rules, data_files):
    fg = iceberg(fs, [label_rules])
    report = fg.validate(chips(3).assign(is_iceberg=2))
    assert report.status == "FAILURE" and report.validation_id is None and report.ingested is None
    assert fg.get_validations() == [] and data_files(fg) == []
    fg.save(chips(3))
    current = fg.validate()  # the group's own data
    assert current.status == "SUCCESS" and current.row_count == 3
    assert len(fg.get_validations()) == 1  # only the save's


def test_empty_dataframe_is_refused_and_nothing_written(fs, chips, label_rules, data_files):
    fg = iceberg(fs, [label_rules])
    with pytest.raises(InvalidInput, match="is empty: there is nothing to validate or insert"):
        fg.save(chips(0))
    assert fg.id is None and data_files(fg) == [] and fg.get_validations() == []
    with pytest.raises(InvalidInput, match="is empty"):
        fg.validate(chips(0))


def test_bad_settings_are_refused(fs, chips, label_rules):
    with pytest.raises(InvalidInput, match="validation_type must be one of NONE, STRICT"):
        iceberg(fs, [label_rules], "LENIENT")
    with pytest.raises(NotFound, match="no expectation 'ghost'"):
        iceberg(fs, ["ghost"])
    with pytest.raises(InvalidInput, match="a list of expectations"):
        iceberg(fs, label_rules)
    fg = iceberg(fs, [])
    with pytest.raises(InvalidInput, match="validation_type must be one of"):
        fg.validation_type = "strict"
    with pytest.raises(InvalidInput, match="no expectations to validate with"):
        fg.validate(chips(1))
    # expectations whose features the data lacks: refused at the first save, nothing written
    angle = fs.create_expectation("angle", "", ["angle"], [Rule("HAS_MIN", min=0)]).save()
    fg.attach_expectation(angle)
    with pytest.raises(InvalidInput, match=r"names features \['angle'\]"):
        fg.save(chips(1))
    assert fg.id is None
    with pytest.raises(NotFound):
        fs.get_feature_group("iceberg", 1)


def test_both_engines_reject_and_measure_alike(engine_fs, chips, data_files):
    rules = [
        Rule("HAS_MIN", min=-100),
        Rule("HAS_MAX", max=1),
        Rule("HAS_MEAN", min=-100),
        Rule("HAS_APPROX_QUANTILE", value=0.5, min=-100),
        Rule("HAS_COMPLETENESS", min=1),
    ]
    labels = engine_fs.create_expectation("labels", "", ["is_iceberg", "band_1"], rules).save()
    ids = engine_fs.create_expectation(
        "ids", "", ["id"], [Rule("HAS_UNIQUENESS", min=1), Rule("HAS_ENTROPY", min=0)]
    ).save()
    fg = engine_fs.create_feature_group(
        "iceberg",
        version=1,
        primary_key=["id"],
        expectations=[labels, ids],
        validation_type="STRICT",
        statistics_config=False,
    )
    data = chips(6)
    fg.save(data)
    with pytest.raises(ValidationFailed):
        fg.insert(chips(2, start=50).assign(is_iceberg=2))
    assert sorted(fg.read(dataframe_type="pandas")["id"]) == list(range(6))
    accepted = fg.get_validations()[1]
    values = {
        (r.rule.name, tuple(r.features)): r.value
        for e in accepted.expectation_results
        for r in e.results
    }
    bands = [v for band in data["band_1"] for v in band.tolist()]
    import numpy as np

    assert values[("HAS_MEAN", ("band_1",))] == pytest.approx(float(np.mean(bands)), rel=1e-6)
    assert values[("HAS_APPROX_QUANTILE", ("band_1",))] == pytest.approx(
        float(np.quantile(np.array(bands, dtype=np.float64), 0.5))
    )
    assert values[("HAS_MIN", ("band_1",))] == pytest.approx(float(np.min(bands)))
    assert values[("HAS_MEAN", ("is_iceberg",))] == 0.5
    assert values[("HAS_ENTROPY", ("id",))] == pytest.approx(np.log(6))
    assert values[("HAS_UNIQUENESS", ("id",))] == 1.0
