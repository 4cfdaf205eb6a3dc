"""Read a Great Expectations suite (its JSON; GX itself is never imported) as eolab rules.

Both suite layouts are read: GX 0.x (``expectation_suite_name``, ``expectation_type``) and
GX 1.x (``name``, ``type``). The common column expectations map to Deequ rules; ``mostly``
becomes the lower bound of the fraction the rule measures::

    expect_column_values_to_not_be_null      → HAS_COMPLETENESS  min=mostly (1)
    expect_column_values_to_be_between       → HAS_MIN min=min_value, HAS_MAX max=max_value
    expect_column_values_to_be_in_set        → IS_CONTAINED_IN   legal_values=value_set
    expect_column_values_to_be_unique        → HAS_UNIQUENESS    min=mostly (1)
    expect_column_values_to_match_regex      → HAS_PATTERN       pattern=regex
    expect_column_values_to_be_of_type       → HAS_DATATYPE      accepted_type from type_
    expect_column_{min,max,mean,sum,stdev}_to_be_between, expect_column_unique_value_count_...
                                             → HAS_MIN/HAS_MAX/HAS_MEAN/HAS_SUM/...

A suite gives one expectation per column, named ``<suite>_<column>``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from eolab.errors import InvalidInput
from eolab.validation.rules import Rule

_STATS = {
    "expect_column_min_to_be_between": "HAS_MIN",
    "expect_column_max_to_be_between": "HAS_MAX",
    "expect_column_mean_to_be_between": "HAS_MEAN",
    "expect_column_sum_to_be_between": "HAS_SUM",
    "expect_column_stdev_to_be_between": "HAS_STANDARD_DEVIATION",
    "expect_column_unique_value_count_to_be_between": "HAS_NUMBER_OF_DISTINCT_VALUES",
    "expect_column_proportion_of_unique_values_to_be_between": "HAS_DISTINCTNESS",
}
_TYPES = {
    "Integral": ("int", "integer", "long", "short", "byte", "bigint", "smallint", "tinyint"),
    "Fractional": ("float", "double", "decimal", "real", "numeric", "number"),
    "Boolean": ("bool", "boolean"),
    "String": ("str", "string", "object", "varchar", "text", "char"),
}
SUPPORTED = sorted(
    [
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_be_unique",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_be_of_type",
        *_STATS,
    ]
)


def _accepted_type(type_: Any) -> str:
    text = str(type_).lower()
    for accepted, names in _TYPES.items():
        if any(text.startswith(n) for n in names):
            return accepted
    raise InvalidInput(
        f"expect_column_values_to_be_of_type: type {type_!r} maps to no Deequ type "
        f"(Integral, Fractional, Boolean, String)"
    )


def _rules(kind: str, kw: dict[str, Any]) -> list[Rule]:
    mostly = kw.get("mostly")
    share = 1.0 if mostly is None else mostly
    if kind in _STATS:
        return [Rule(_STATS[kind], min=kw.get("min_value"), max=kw.get("max_value"))]
    if kind == "expect_column_values_to_not_be_null":
        return [Rule("HAS_COMPLETENESS", min=share)]
    if kind == "expect_column_values_to_be_unique":
        return [Rule("HAS_UNIQUENESS", min=share)]
    if kind == "expect_column_values_to_be_in_set":
        return [Rule("IS_CONTAINED_IN", legal_values=kw.get("value_set"), min=share)]
    if kind == "expect_column_values_to_match_regex":
        return [Rule("HAS_PATTERN", pattern=kw.get("regex"), min=share)]
    if kind == "expect_column_values_to_be_of_type":
        return [Rule("HAS_DATATYPE", accepted_type=_accepted_type(kw.get("type_")), min=share)]
    if kind == "expect_column_values_to_be_between":
        if mostly is not None or kw.get("strict_min") or kw.get("strict_max"):
            raise InvalidInput(
                "expect_column_values_to_be_between with mostly, strict_min or strict_max has no "
                "Deequ rule; drop them to bound every value"
            )
        rules = []
        if kw.get("min_value") is not None:
            rules.append(Rule("HAS_MIN", min=kw["min_value"]))
        if kw.get("max_value") is not None:
            rules.append(Rule("HAS_MAX", max=kw["max_value"]))
        return rules
    raise InvalidInput(
        f"unsupported Great Expectations expectation {kind!r}; supported: {', '.join(SUPPORTED)}",
        details={"expectation_type": kind},
    )


def _name(text: str) -> str:
    name = re.sub(r"\W+", "_", text).strip("_")
    if not name or not name[0].isalpha():
        name = "gx_" + name
    return name[:63]


def from_suite(suite: str | dict[str, Any]) -> list[tuple[str, str, str, list[Rule]]]:
    """(name, description, column, rules) per column of the suite, in first-seen order."""
    if isinstance(suite, str):
        try:
            suite = json.loads(suite)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"the Great Expectations suite is not valid JSON: {exc}") from exc
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise InvalidInput(
            "a Great Expectations suite is a JSON object with a list 'expectations', got "
            f"{type(suite).__name__}"
        )
    suite_name = str(suite.get("expectation_suite_name") or suite.get("name") or "gx")
    columns: dict[str, list[Rule]] = {}
    for item in suite["expectations"]:
        if not isinstance(item, dict):
            raise InvalidInput(f"a suite's expectation must be an object, got {item!r}")
        kind = item.get("expectation_type") or item.get("type")
        kw = item.get("kwargs") or {}
        column = kw.get("column")
        if not isinstance(column, str):
            raise InvalidInput(
                f"{kind}: only column expectations are supported (kwargs.column), got {kw!r}"
            )
        columns.setdefault(column, []).extend(_rules(str(kind), kw))
    description = f"from Great Expectations suite {suite_name}"
    return [
        (_name(f"{suite_name}_{column}"), description, column, rules)
        for column, rules in columns.items()
    ]
