"""Expectations in the catalog: save, update, get, delete, search; attaching them to feature
groups (with their checks); the Great Expectations import."""

from __future__ import annotations

import json

import pytest

from eolab.errors import Conflict, Forbidden, InvalidInput, InvalidName, NotFound
from eolab.validation import Expectation, Rule


def test_save_get_update_and_search(fs, label_rules):
    got = fs.get_expectation("iceberg_label")
    assert got == label_rules
    assert Expectation.from_dict(got.to_dict()) == got
    assert got.creator == "alice" and got.created_at is not None
    assert got.to_dict() == {
        "name": "iceberg_label",
        "description": "labels are 0 or 1",
        "features": ["is_iceberg"],
        "rules": [Rule("HAS_MIN", min=0).to_dict(), Rule("HAS_MAX", max=1).to_dict()],
    }
    # saving the same name updates it
    got.rules.append(Rule("IS_CONTAINED_IN", legal_values=[0, 1], min=1))
    got.save()
    assert [r.name for r in fs.get_expectation("iceberg_label").rules] == [
        "HAS_MIN",
        "HAS_MAX",
        "IS_CONTAINED_IN",
    ]
    assert [e.name for e in fs.get_expectations()] == ["iceberg_label"]
    hits = fs.project.workspace.search("labels", project="ExtremeEarth")
    assert [(h.kind, h.name) for h in hits.hits] == [("expectation", "iceberg_label")]
    assert "IS_CONTAINED_IN" in hits.hits[0].description
    in_scope = fs.project.workspace.search("labels", scope="featurestore", project="ExtremeEarth")
    assert [h.name for h in in_scope.hits] == ["iceberg_label"]


def test_bad_expectations_are_refused_at_save_and_nothing_is_stored(fs):
    cases = [
        (fs.create_expectation("unknown", "", ["x"], [Rule("HAS_AVG", min=0)]), "unknown rule"),
        (fs.create_expectation("nobound", "", ["x"], [Rule("HAS_MAX")]), "needs a bound"),
        (
            fs.create_expectation("badregex", "", ["x"], [Rule("HAS_PATTERN", pattern="(", min=1)]),
            "not a valid regex",
        ),
        (
            fs.create_expectation(
                "badtype", "", ["x"], [Rule("HAS_DATATYPE", accepted_type="Decimal", max=0)]
            ),
            "accepted_type, one of",
        ),
        (fs.create_expectation("nofeatures", "", [], [Rule("HAS_MIN", min=0)]), "features"),
    ]
    for expectation, words in cases:
        with pytest.raises(InvalidInput) as caught:
            expectation.save()
        assert type(caught.value) is InvalidInput and words in caught.value.message
    with pytest.raises(InvalidName):
        fs.create_expectation("x y", "", ["x"], [Rule("HAS_MIN", min=0)]).save()
    with pytest.raises(InvalidInput, match="belongs to no feature store"):
        Expectation("loose", "", ["x"], [Rule("HAS_MIN", min=0)]).save()
    assert fs.get_expectations() == []
    assert fs.project.workspace.search("unknown nobound badregex").total == 0
    with pytest.raises(NotFound, match="no expectation 'nobound'"):
        fs.get_expectation("nobound")


def test_attach_checks_features_and_types(fs, chips, label_rules):
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(4))
    fg.attach_expectation(label_rules)
    fg.attach_expectation("iceberg_label")  # twice is harmless
    assert [e.name for e in fg.get_expectations()] == ["iceberg_label"]

    missing = fs.create_expectation("elsewhere", "", ["nope"], [Rule("HAS_MIN", min=0)]).save()
    with pytest.raises(InvalidInput, match=r"names features \['nope'\]"):
        fg.attach_expectation(missing)
    text = fs.create_expectation(
        "angle_mean", "", ["inc_angle", "band_1"], [Rule("HAS_UNIQUENESS", min=0)]
    ).save()
    with pytest.raises(InvalidInput, match="HAS_UNIQUENESS does not apply to feature 'band_1'"):
        fg.attach_expectation(text)
    with pytest.raises(NotFound, match="no expectation 'ghost'"):
        fg.attach_expectation("ghost")
    with pytest.raises(InvalidInput, match="an Expectation or its name"):
        fg.attach_expectation(42)
    assert [e.name for e in fs.get_feature_group("iceberg", 1).get_expectations()] == [
        "iceberg_label"
    ]

    fg.detach_expectation("iceberg_label")
    assert fg.get_expectations() == []
    with pytest.raises(NotFound, match="not attached"):
        fg.detach_expectation("iceberg_label")


def test_type_mismatch_on_string_feature(fs):
    import pandas as pd

    fg = fs.create_feature_group("names", version=1, primary_key=["id"])
    fg.save(pd.DataFrame({"id": [1, 2], "label": ["ship", "iceberg"]}))
    mean = fs.create_expectation("label_mean", "", ["label"], [Rule("HAS_MEAN", min=0)]).save()
    with pytest.raises(InvalidInput) as caught:
        fg.attach_expectation(mean)
    assert "HAS_MEAN does not apply to feature 'label'" in caught.value.message
    assert "it has type string" in caught.value.message
    assert fg.get_expectations() == []


def test_update_is_checked_against_attached_groups_and_delete_needs_detach(fs, chips, label_rules):
    fg = fs.create_feature_group(
        "iceberg", version=1, primary_key=["id"], expectations=["iceberg_label"]
    )
    fg.save(chips(2))
    changed = fs.get_expectation("iceberg_label")
    changed.features = ["no_such_feature"]
    with pytest.raises(InvalidInput, match="feature group 'iceberg' version 1"):
        changed.save()
    assert fs.get_expectation("iceberg_label").features == ["is_iceberg"]  # unchanged
    with pytest.raises(Conflict, match="attached to feature groups"):
        label_rules.delete()
    fg.detach_expectation(label_rules)
    label_rules.delete()
    with pytest.raises(NotFound):
        fs.get_expectation("iceberg_label")
    assert fs.project.workspace.search("labels").total == 0


def test_only_creator_or_owner_deletes(fs, workspace, label_rules):
    workspace.create_user("bob")
    fs.project.add_member("bob", "data_scientist")
    bob_fs = workspace.as_user("bob").get_project("ExtremeEarth").get_feature_store()
    with pytest.raises(Forbidden):
        bob_fs.get_expectation("iceberg_label").delete()
    assert fs.get_expectation("iceberg_label")


def test_other_projects_do_not_see_expectations(fs, workspace, label_rules):
    other = workspace.create_project("Elsewhere").get_feature_store()
    assert other.get_expectations() == []
    with pytest.raises(NotFound):
        other.get_expectation("iceberg_label")


def test_deleting_the_feature_group_drops_its_attachments(fs, chips, label_rules):
    fg = fs.create_feature_group(
        "iceberg", version=1, primary_key=["id"], expectations=[label_rules], validation_type="ALL"
    )
    fg.save(chips(2))
    fg.delete()
    label_rules.delete()  # no longer attached anywhere
    assert fs.get_expectations() == []


# ---- Great Expectations -------------------------------------------------------------------

SUITE_0X = {
    "expectation_suite_name": "iceberg.suite",
    "expectations": [
        {"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
        {"expectation_type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {
            "expectation_type": "expect_column_values_to_be_between",
            "kwargs": {"column": "is_iceberg", "min_value": 0, "max_value": 1},
        },
        {
            "expectation_type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "is_iceberg", "value_set": [0, 1], "mostly": 0.99},
        },
        {
            "expectation_type": "expect_column_values_to_be_of_type",
            "kwargs": {"column": "inc_angle", "type_": "float64"},
        },
    ],
}
SUITE_1X = {
    "name": "ships",
    "expectations": [
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "name", "regex": "^S"}}
    ],
}


def test_great_expectations_suites_map_to_rules(fs):
    found = Expectation.from_great_expectations(json.dumps(SUITE_0X), feature_store=fs)
    by_column = {e.features[0]: e for e in found}
    assert [e.name for e in found] == [
        "iceberg_suite_id",
        "iceberg_suite_is_iceberg",
        "iceberg_suite_inc_angle",
    ]
    assert by_column["id"].rules == [
        Rule("HAS_COMPLETENESS", min=1.0),
        Rule("HAS_UNIQUENESS", min=1.0),
    ]
    assert by_column["is_iceberg"].rules == [
        Rule("HAS_MIN", min=0),
        Rule("HAS_MAX", max=1),
        Rule("IS_CONTAINED_IN", legal_values=[0, 1], min=0.99),
    ]
    assert by_column["inc_angle"].rules == [
        Rule("HAS_DATATYPE", accepted_type="Fractional", min=1.0)
    ]
    for e in found:
        e.save()
    assert len(fs.get_expectations()) == 3
    (regex,) = Expectation.from_great_expectations(SUITE_1X)
    assert regex.name == "ships_name" and regex.rules == [
        Rule("HAS_PATTERN", pattern="^S", min=1.0)
    ]


def test_unsupported_great_expectations_are_refused(fs):
    with pytest.raises(InvalidInput, match="not valid JSON"):
        Expectation.from_great_expectations("{nope")
    with pytest.raises(InvalidInput, match="list 'expectations'"):
        Expectation.from_great_expectations({"name": "x"})
    odd = {
        "name": "s",
        "expectations": [{"type": "expect_table_columns_to_match_set", "kwargs": {}}],
    }
    with pytest.raises(InvalidInput, match="only column expectations"):
        Expectation.from_great_expectations(odd)
    odd["expectations"][0]["kwargs"] = {"column": "x"}
    with pytest.raises(InvalidInput, match="unsupported Great Expectations expectation"):
        Expectation.from_great_expectations(odd)
    mostly = {
        "name": "s",
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "x", "min_value": 0, "mostly": 0.9},
            }
        ],
    }
    with pytest.raises(InvalidInput, match="no Deequ rule"):
        Expectation.from_great_expectations(mostly)
    assert fs.get_expectations() == []
