"""Rule semantics, one by one, on a small hand-computed frame (python engine: DuckDB), and the
checks a rule gets when its expectation is saved or attached."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from eolab.errors import InvalidInput
from eolab.validation import RULES, Expectation, Rule
from eolab.validation.compute import run

NAN = float("nan")


@pytest.fixture(scope="module")
def table() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
            "x": pa.array([1.0, 2.0, 2.0, NAN, None, -1.0]),
            "y": pa.array([2.0, 1.0, 2.0, 4.0, 5.0, 0.0]),
            "s": pa.array(["12", "1.5", "TRUE", "hello", None, "7e3"]),
            "band": pa.array(
                [[1.0, 2.0], [NAN, -3.0], None, [], [4.0], [0.0]], pa.list_(pa.float32())
            ),
            "flag": pa.array([True, False, True, None, True, True]),
            "c1": pa.array(["a", "a", "b", "b", "a", "b"]),
            "c2": pa.array(["x", "x", "y", "y", "x", "y"]),
        }
    )


def measured(table: pa.Table, features: list[str], rule: Rule) -> list[float | None]:
    """The value(s) the rule measures on ``features`` (one per feature, or per pair)."""
    expectation = Expectation("probe", "", features, [rule])
    expectation.check()
    _rows, results = run(table, [expectation], "the test frame")
    return [r.value for r in results[0].results]


# ---- single-feature measures -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "feature", "expected"),
    [
        ("HAS_MEAN", "x", 1.0),  # NaN and null are missing: values 1, 2, 2, -1
        ("HAS_MIN", "x", -1.0),
        ("HAS_MAX", "x", 2.0),
        ("HAS_SUM", "x", 4.0),
        ("HAS_STANDARD_DEVIATION", "x", math.sqrt(1.5)),  # population
        ("HAS_SIZE", "x", 6.0),
        ("HAS_NUMBER_OF_DISTINCT_VALUES", "x", 3.0),
        ("HAS_ENTROPY", "x", 1.5 * math.log(2)),  # counts 1, 2, 1 of 4
        ("HAS_APPROX_COUNT_DISTINCT", "id", 6.0),
        ("HAS_MEAN", "band", 0.8),  # elements 1, 2, -3, 4, 0 (NaN left out)
        ("HAS_MIN", "band", -3.0),
        ("HAS_MAX", "band", 4.0),
        ("HAS_SUM", "band", 4.0),
        ("HAS_STANDARD_DEVIATION", "band", math.sqrt(30 / 5 - 0.8**2)),
    ],
)
def test_measures_of_values(table, name, feature, expected):
    bound = {"min": -1e9} if not RULES[name].fraction else {"min": 0}
    assert measured(table, [feature], Rule(name, **bound)) == [pytest.approx(expected)]


@pytest.mark.parametrize(
    ("name", "feature", "expected"),
    [
        ("HAS_COMPLETENESS", "x", 4 / 6),
        ("HAS_COMPLETENESS", "band", 5 / 6),  # rows, not elements
        ("HAS_UNIQUENESS", "x", 2 / 4),  # 1 and -1 seen once, of 4 values
        ("HAS_DISTINCTNESS", "x", 3 / 4),
        ("HAS_UNIQUE_VALUE_RATIO", "x", 2 / 3),
        ("IS_NON_NEGATIVE", "x", 3 / 4),
        ("IS_POSITIVE", "x", 3 / 4),
        ("IS_NON_NEGATIVE", "band", 4 / 5),
        ("IS_POSITIVE", "band", 3 / 5),
    ],
)
def test_fractions(table, name, feature, expected):
    assert measured(table, [feature], Rule(name, min=0)) == [pytest.approx(expected)]


def test_quantile_is_exact_with_interpolation(table):
    assert measured(table, ["x"], Rule("HAS_APPROX_QUANTILE", value=0.5, min=0)) == [1.5]
    assert measured(table, ["band"], Rule("HAS_APPROX_QUANTILE", value=0.5, min=0)) == [1.0]
    assert measured(table, ["y"], Rule("HAS_APPROX_QUANTILE", value=1.0, min=0)) == [5.0]


def test_contained_in_scalars_arrays_strings_booleans(table):
    assert measured(table, ["band"], Rule("IS_CONTAINED_IN", legal_values=[0, 4], min=0)) == [
        pytest.approx(2 / 5)
    ]
    assert measured(table, ["s"], Rule("IS_CONTAINED_IN", legal_values=["12", "hello"], min=0)) == [
        pytest.approx(2 / 5)
    ]
    assert measured(table, ["flag"], Rule("IS_CONTAINED_IN", legal_values=[True], min=0)) == [
        pytest.approx(4 / 5)
    ]
    assert measured(table, ["x"], Rule("IS_CONTAINED_IN", legal_values=[2, 5.5], min=0)) == [0.5]


def test_pattern_searches_the_values(table):
    assert measured(table, ["s"], Rule("HAS_PATTERN", pattern="^h", min=0)) == [
        pytest.approx(1 / 5)
    ]
    assert measured(table, ["s"], Rule("HAS_PATTERN", pattern=r"\d", min=0)) == [
        pytest.approx(3 / 5)
    ]


@pytest.mark.parametrize(
    ("feature", "accepted", "expected"),
    [
        ("s", "Integral", 1 / 6),
        ("s", "Fractional", 2 / 6),  # "1.5" and "7e3"
        ("s", "Boolean", 1 / 6),  # "TRUE"
        ("s", "String", 1 / 6),  # "hello"
        ("s", "Null", 1 / 6),
        ("x", "Fractional", 4 / 6),
        ("x", "Null", 2 / 6),  # NaN counts as missing
        ("x", "Integral", 0.0),
        ("id", "Integral", 1.0),
        ("flag", "Boolean", 5 / 6),
        ("band", "Fractional", 5 / 6),
        ("band", "Null", 1 / 6),
    ],
)
def test_datatype_fraction_of_rows(table, feature, accepted, expected):
    rule = Rule("HAS_DATATYPE", accepted_type=accepted, min=0)
    assert measured(table, [feature], rule) == [pytest.approx(expected)]


# ---- pairs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("IS_LESS_THAN", 2 / 4),  # rows with both: (1,2) (2,1) (2,2) (-1,0)
        ("IS_LESS_THAN_OR_EQUAL_TO", 3 / 4),
        ("IS_GREATER_THAN", 1 / 4),
        ("IS_GREATER_THAN_OR_EQUAL_TO", 2 / 4),
    ],
)
def test_comparisons_of_two_features(table, name, expected):
    assert measured(table, ["x", "y"], Rule(name, min=0)) == [pytest.approx(expected)]


def test_correlation_and_mutual_information(table):
    x, y = np.array([1.0, 2.0, 2.0, -1.0]), np.array([2.0, 1.0, 2.0, 0.0])
    expected = float(np.corrcoef(x, y)[0, 1])
    assert measured(table, ["x", "y"], Rule("HAS_CORRELATION", min=-1)) == [pytest.approx(expected)]
    # c2 is a relabelling of c1: their mutual information is c1's entropy, ln 2
    assert measured(table, ["c1", "c2"], Rule("HAS_MUTUAL_INFORMATION", min=0)) == [
        pytest.approx(math.log(2))
    ]


def test_all_rules_share_one_statement_and_one_grouping_per_column(table, monkeypatch):
    from eolab.validation import duckdb_runner

    statements: list[str] = []
    real = duckdb_runner._cursor

    class Spy:
        def __init__(self) -> None:
            self.con = real()

        def __getattr__(self, name):
            return getattr(self.con, name)

        def execute(self, sql, params=None):
            statements.append(sql)
            return self.con.execute(sql, params)

    monkeypatch.setattr(duckdb_runner, "_cursor", Spy)
    rules = [Rule(n, min=0) for n in ("HAS_MIN", "HAS_MAX", "HAS_MEAN", "HAS_COMPLETENESS")]
    rules += [Rule(n, min=0) for n in ("HAS_UNIQUENESS", "HAS_DISTINCTNESS", "HAS_ENTROPY")]
    expectations = [
        Expectation("first", "", ["x", "y"], rules),
        Expectation("second", "", ["x"], [Rule("HAS_NUMBER_OF_DISTINCT_VALUES", min=0)]),
        Expectation("third", "", ["c1", "c2"], [Rule("HAS_MUTUAL_INFORMATION", min=0)]),
    ]
    rows, results = run(table, expectations, "the test frame")
    assert rows == 6 and sum(len(e.results) for e in results) == 16
    assert len(statements) == 1  # never one scan per rule
    # one grouping per column set: {x}, {y} (shared by 4 rules each) and {c1, c2}
    assert statements[0].count("GROUP BY") == 3


# ---- statuses and messages ---------------------------------------------------------------


def test_status_follows_level_and_message_reads_well(table):
    expectation = Expectation(
        "labels",
        "",
        ["y"],
        [Rule("HAS_MAX", max=1), Rule("HAS_MAX", level="WARNING", max=1), Rule("HAS_MIN", min=0)],
    )
    _rows, results = run(table, [expectation], "the test frame")
    failed, warned, passed = results[0].results
    assert (failed.status, warned.status, passed.status) == ("FAILURE", "WARNING", "SUCCESS")
    assert failed.message == "y max is 5, expected ≤ 1"
    assert passed.message == "y min is 0, as expected (≥ 0)"
    assert results[0].status == "FAILURE"
    assert failed.to_dict() == {
        "features": ["y"],
        "message": "y max is 5, expected ≤ 1",
        "rule": Rule("HAS_MAX", max=1).to_dict(),
        "status": "FAILURE",
        "value": 5.0,
    }


def test_bounds_value_range_and_no_value(table):
    between = Rule("HAS_MEAN", min=0, max=0.5)
    assert between.expected_text() == "between 0 and 0.5"
    exact = Rule("HAS_SIZE", value=6)
    assert exact.expected_text() == "= 6" and exact.holds(6.0) and not exact.holds(7.0)
    empty = pa.table({"v": pa.array([None, None], pa.float64())})
    expectation = Expectation("empty_v", "", ["v"], [Rule("HAS_MEAN", min=0)])
    _rows, results = run(empty, [expectation], "the test frame")
    (result,) = results[0].results
    assert result.value is None and result.status == "FAILURE"
    assert "has no value" in result.message


def test_rule_dict_round_trip_in_both_spellings():
    rule = Rule("IS_CONTAINED_IN", level="WARNING", legal_values=["a"], min=0.5)
    assert Rule.from_dict(rule.to_dict()) == rule
    assert rule.to_dict()["legalValues"] == ["a"]
    snake = {"name": "HAS_DATATYPE", "accepted_type": "Null", "max": 0}
    assert Rule.from_dict(snake) == Rule("HAS_DATATYPE", accepted_type="Null", max=0)


# ---- bad rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        (Rule("HAS_AVERAGE", min=0), "unknown rule 'HAS_AVERAGE'"),
        (Rule("has_min", min=0), "unknown rule 'has_min'"),
        (Rule("HAS_MIN"), "HAS_MIN needs a bound"),
        (Rule("HAS_MIN", level="FATAL", min=0), "level must be 'ERROR' or 'WARNING'"),
        (Rule("HAS_MIN", min=2, max=1), "min 2 is above max 1"),
        (Rule("HAS_MIN", min="0"), "min must be a finite number, got '0'"),
        (Rule("HAS_MIN", min=math.inf), "min must be a finite number"),
        (Rule("HAS_SIZE", value=3, min=1), "either value"),
        (Rule("HAS_COMPLETENESS", min=95), "outside it (write 0.95, not 95)"),
        (Rule("HAS_PATTERN", min=1), "HAS_PATTERN needs a regex pattern"),
        (Rule("HAS_PATTERN", pattern="([a-z", min=1), "is not a valid regex"),
        (
            Rule("HAS_PATTERN", pattern="(?=a)b", min=1),
            "is not a valid regex",
        ),  # RE2 has no lookahead
        (Rule("HAS_DATATYPE", accepted_type="Float", max=0), "accepted_type, one of Null"),
        (Rule("HAS_DATATYPE", max=0), "HAS_DATATYPE needs accepted_type"),
        (Rule("HAS_MIN", min=0, pattern="x"), "pattern applies only to HAS_PATTERN"),
        (Rule("IS_CONTAINED_IN", min=1), "needs a non-empty list of legal_values"),
        (Rule("IS_CONTAINED_IN", legal_values=[1, "a"], min=1), "all strings, all numbers"),
        (Rule("HAS_APPROX_QUANTILE", min=0), "needs value, the quantile"),
        (Rule("HAS_APPROX_QUANTILE", value=2, min=0), "needs value, the quantile"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(rule, words):
    with pytest.raises(InvalidInput) as caught:
        rule.check()
    assert type(caught.value) is InvalidInput
    assert words in caught.value.message


def test_rules_that_do_not_fit_a_feature_type(table):
    cases = [
        (["s"], Rule("HAS_MEAN", min=0), "HAS_MEAN does not apply to feature 's'"),
        (["band"], Rule("HAS_UNIQUENESS", min=0), "needs a scalar (not an array)"),
        (["x"], Rule("HAS_PATTERN", pattern="a", min=0), "needs string"),
        (["x", "s"], Rule("IS_LESS_THAN", min=0), "they must both be numbers"),
        (
            ["s"],
            Rule("IS_CONTAINED_IN", legal_values=[1], min=0),
            "needs legal_values that are strings",
        ),
        (["missing"], Rule("HAS_MIN", min=0), "names features ['missing']"),
    ]
    for features, rule, words in cases:
        with pytest.raises(InvalidInput, match=None) as caught:
            run(table, [Expectation("probe", "", features, [rule])], "the test frame")
        assert words in caught.value.message, caught.value.message


def test_expectation_checks_its_shape():
    pair = Expectation("pairs", "", ["x", "y", "id"], [Rule("HAS_CORRELATION", min=0)])
    with pytest.raises(InvalidInput, match="exactly two"):
        pair.check()
    with pytest.raises(InvalidInput, match="non-empty list of feature names"):
        Expectation("nofeat", "", [], [Rule("HAS_MIN", min=0)]).check()
    with pytest.raises(InvalidInput, match="non-empty list of Rule"):
        Expectation("norules", "", ["x"], []).check()
    with pytest.raises(InvalidInput, match="lists a feature twice"):
        Expectation("twice", "", ["x", "x"], [Rule("HAS_MIN", min=0)]).check()
    with pytest.raises(InvalidInput, match="unknown keys"):
        Expectation("keys", "", ["x"], [{"name": "HAS_MIN", "minimum": 0}])
