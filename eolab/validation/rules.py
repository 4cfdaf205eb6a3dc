"""Validation rules: Deequ's constraints as Hopsworks 2.x names them, with their semantics.

A :class:`Rule` names a measure of one feature (``HAS_MEAN``), of a pair of features
(``HAS_CORRELATION``, ``IS_LESS_THAN``) or of the whole frame (``HAS_SIZE``), and bounds the
measured value with ``min``/``max`` (or ``value``, the exact expected value), as in Hopsworks::

    Rule("HAS_MAX", level="ERROR", max=1)              # is_iceberg max is 2, expected ≤ 1
    Rule("HAS_DATATYPE", accepted_type="Null", max=0)  # no nulls
    Rule("IS_CONTAINED_IN", legal_values=[0, 1], min=1)
    Rule("HAS_APPROX_QUANTILE", value=0.5, min=-30, max=-10)   # value is the quantile here

Measured values (identical on the python and spark engines):

- Fractions (completeness, uniqueness, distinctness, pattern, compliance, datatype...) lie in
  [0, 1]. Their denominators are the non-null values, except HAS_COMPLETENESS and
  HAS_DATATYPE, which count rows. NaN is a missing value, as in eolab's statistics.
- Uniqueness (values seen once), distinctness, the unique value ratio and the entropy
  (natural log) are over the non-null values, like eolab's statistics (Deequ divides by all
  rows; the two agree on complete features). HAS_MUTUAL_INFORMATION is in nats, over the rows
  where both features are present.
- HAS_STANDARD_DEVIATION is the population standard deviation (as Deequ).
- HAS_APPROX_QUANTILE is computed exactly (linear interpolation), so that both engines agree;
  HAS_APPROX_COUNT_DISTINCT is each engine's HyperLogLog estimate (a few % apart).
- HAS_DATATYPE: the fraction of rows whose value is of ``accepted_type``. Typed columns have
  one type (integers are Integral, floats and decimals Fractional); string values are read as
  Deequ does (``"12"`` Integral, ``"1.5"`` Fractional, ``"true"`` Boolean, other text String).
- On array features (bands) HAS_MEAN/MIN/MAX/SUM/STANDARD_DEVIATION/APPROX_QUANTILE,
  IS_NON_NEGATIVE, IS_POSITIVE and IS_CONTAINED_IN measure the elements; HAS_COMPLETENESS,
  HAS_DATATYPE and HAS_SIZE the rows. The other rules do not apply to arrays.

A rule is checked when its expectation is saved (:meth:`Rule.check`), and against a feature's
type when the expectation is attached to a feature group (:meth:`Rule.check_kind`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from eolab.errors import InvalidInput

LEVELS = ("ERROR", "WARNING")
ACCEPTED_TYPES = ("Null", "Fractional", "Integral", "Boolean", "String")

# Column kinds, as eolab's statistics name them (``_arrow_type`` / ``_spark_type``).
NUMERIC = frozenset({"integer", "double"})
ARRAYS = frozenset({"array<float>", "array<integer>"})
SCALARS = frozenset({"integer", "double", "boolean", "string", "timestamp", "date"})
ANY = SCALARS | ARRAYS | {"other"}
ORDERED = frozenset({"string", "date", "timestamp"})  # comparable within their own kind


@dataclass(frozen=True)
class RuleDefinition:
    """What a rule measures, on what, and how a person reads it."""

    name: str
    measure: str  # the measure kind computed by eolab.validation.compute
    arity: str  # "feature", "pair" or "frame"
    kinds: frozenset[str]  # feature kinds the rule applies to
    words: str  # "{a} max", "correlation of {a} and {b}"
    fraction: bool = False  # the measured value lies in [0, 1]
    param: str | None = None  # the extra argument it needs: pattern, accepted_type...


def _d(name: str, measure: str, arity: str, kinds: frozenset[str], words: str, **kw: Any) -> Any:
    return name, RuleDefinition(name, measure, arity, kinds, words, **kw)


_PAIR_WORDS = "fraction of rows where {a} {op} {b}"
RULES: dict[str, RuleDefinition] = dict(
    [
        _d("HAS_MEAN", "mean", "feature", NUMERIC | ARRAYS, "{a} mean"),
        _d("HAS_MIN", "min", "feature", NUMERIC | ARRAYS, "{a} min"),
        _d("HAS_MAX", "max", "feature", NUMERIC | ARRAYS, "{a} max"),
        _d("HAS_SUM", "sum", "feature", NUMERIC | ARRAYS, "{a} sum"),
        _d("HAS_SIZE", "size", "frame", ANY, "row count"),
        _d("HAS_COMPLETENESS", "completeness", "feature", ANY, "{a} completeness", fraction=True),
        _d("HAS_UNIQUENESS", "uniqueness", "feature", SCALARS, "{a} uniqueness", fraction=True),
        _d(
            "HAS_DISTINCTNESS",
            "distinctness",
            "feature",
            SCALARS,
            "{a} distinctness",
            fraction=True,
        ),
        _d(
            "HAS_UNIQUE_VALUE_RATIO",
            "unique_value_ratio",
            "feature",
            SCALARS,
            "{a} unique value ratio",
            fraction=True,
        ),
        _d(
            "HAS_NUMBER_OF_DISTINCT_VALUES",
            "distinct",
            "feature",
            SCALARS,
            "{a} number of distinct values",
        ),
        _d("HAS_ENTROPY", "entropy", "feature", SCALARS, "{a} entropy"),
        _d(
            "HAS_MUTUAL_INFORMATION",
            "mutual_information",
            "pair",
            SCALARS,
            "mutual information of {a} and {b}",
        ),
        _d(
            "HAS_APPROX_QUANTILE",
            "quantile",
            "feature",
            NUMERIC | ARRAYS,
            "{a} quantile {q}",
            param="value",
        ),
        _d(
            "HAS_STANDARD_DEVIATION",
            "stddev",
            "feature",
            NUMERIC | ARRAYS,
            "{a} standard deviation",
        ),
        _d(
            "HAS_APPROX_COUNT_DISTINCT",
            "approx_distinct",
            "feature",
            SCALARS,
            "{a} approximate number of distinct values",
        ),
        _d("HAS_CORRELATION", "correlation", "pair", NUMERIC, "correlation of {a} and {b}"),
        _d(
            "HAS_PATTERN",
            "pattern",
            "feature",
            frozenset({"string"}),
            "fraction of {a} values matching {p}",
            fraction=True,
            param="pattern",
        ),
        _d(
            "HAS_DATATYPE",
            "datatype",
            "feature",
            ANY,
            "fraction of {a} rows of type {t}",
            fraction=True,
            param="accepted_type",
        ),
        _d(
            "IS_NON_NEGATIVE",
            "non_negative",
            "feature",
            NUMERIC | ARRAYS,
            "fraction of non-negative {a} values",
            fraction=True,
        ),
        _d(
            "IS_POSITIVE",
            "positive",
            "feature",
            NUMERIC | ARRAYS,
            "fraction of positive {a} values",
            fraction=True,
        ),
        _d("IS_LESS_THAN", "lt", "pair", NUMERIC | ORDERED, _PAIR_WORDS, fraction=True),
        _d("IS_LESS_THAN_OR_EQUAL_TO", "le", "pair", NUMERIC | ORDERED, _PAIR_WORDS, fraction=True),
        _d("IS_GREATER_THAN", "gt", "pair", NUMERIC | ORDERED, _PAIR_WORDS, fraction=True),
        _d(
            "IS_GREATER_THAN_OR_EQUAL_TO",
            "ge",
            "pair",
            NUMERIC | ORDERED,
            _PAIR_WORDS,
            fraction=True,
        ),
        _d(
            "IS_CONTAINED_IN",
            "contained_in",
            "feature",
            NUMERIC | ARRAYS | {"string", "boolean"},
            "fraction of {a} values in {v}",
            fraction=True,
            param="legal_values",
        ),
    ]
)
OPERATORS = {"lt": "<", "le": "≤", "gt": ">", "ge": "≥"}
_ELEMENTWISE = {"mean", "min", "max", "sum", "stddev", "quantile", "non_negative", "positive"}
_ELEMENTWISE |= {"contained_in"}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fmt(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass
class Rule:
    """One constraint of an expectation (hsfs ``Rule``); see the module docstring."""

    name: str
    level: str = "ERROR"
    min: float | None = None
    max: float | None = None
    value: float | None = None
    pattern: str | None = None
    accepted_type: str | None = None
    legal_values: list[Any] | None = None

    # ---- checks -------------------------------------------------------------------------

    @property
    def definition(self) -> RuleDefinition:
        self._check_name()
        return RULES[self.name]

    def _check_name(self) -> None:
        if not isinstance(self.name, str) or self.name not in RULES:
            raise InvalidInput(
                f"unknown rule {self.name!r}; expected one of {', '.join(RULES)}",
                details={"field": "name", "given": repr(self.name)},
            )

    def check(self) -> None:
        """Raise InvalidInput unless the rule is complete and consistent (name, level, bound,
        pattern, accepted type, legal values)."""
        definition = self.definition
        if self.level not in LEVELS:
            raise self._bad("level", f"level must be 'ERROR' or 'WARNING', got {self.level!r}")
        for field in ("min", "max", "value"):
            given = getattr(self, field)
            if given is not None and not (_number(given) and math.isfinite(given)):
                raise self._bad(field, f"{field} must be a finite number, got {given!r}")
        self._check_bounds(definition)
        self._check_param(definition)

    def _check_bounds(self, definition: RuleDefinition) -> None:
        quantile = definition.measure == "quantile"
        if quantile:
            if self.value is None or not 0 <= self.value <= 1:
                raise self._bad(
                    "value",
                    f"{self.name} needs value, the quantile to measure in [0, 1] (0.5 is the "
                    f"median), got {self.value!r}",
                )
            exact = None
        else:
            exact = self.value
        if exact is not None and (self.min is not None or self.max is not None):
            raise self._bad(
                "value", f"{self.name}: give either value (the exact expected value) or min/max"
            )
        if exact is None and self.min is None and self.max is None:
            what = "min or max" if quantile else "min, max or value"
            raise self._bad(
                "min",
                f"{self.name} needs a bound on its measured value "
                f"({self.subject(['feature', 'other'])}): {what}",
            )
        lo, hi = self.bounds
        if lo is not None and hi is not None and lo > hi:
            raise self._bad("min", f"{self.name}: min {_fmt(lo)} is above max {_fmt(hi)}")
        if definition.fraction:
            for bound in (lo, hi):
                if bound is not None and not 0 <= bound <= 1:
                    raise self._bad(
                        "min" if bound == lo else "max",
                        f"{self.name} measures a fraction in [0, 1]; bound {_fmt(bound)} is "
                        "outside it (write 0.95, not 95)",
                    )

    def _check_param(self, definition: RuleDefinition) -> None:
        for field in ("pattern", "accepted_type", "legal_values"):
            if field != definition.param and getattr(self, field) is not None:
                users = [r.name for r in RULES.values() if r.param == field]
                raise self._bad(field, f"{field} applies only to {', '.join(users)}")
        if definition.param == "pattern":
            self._check_pattern()
        elif definition.param == "accepted_type" and self.accepted_type not in ACCEPTED_TYPES:
            raise self._bad(
                "accepted_type",
                f"HAS_DATATYPE needs accepted_type, one of {', '.join(ACCEPTED_TYPES)}; "
                f"got {self.accepted_type!r}",
            )
        elif definition.param == "legal_values":
            self._check_legal_values()

    def _check_pattern(self) -> None:
        if not isinstance(self.pattern, str) or not self.pattern:
            raise self._bad("pattern", f"HAS_PATTERN needs a regex pattern, got {self.pattern!r}")
        import duckdb  # the python engine runs RE2: refuse what it cannot run

        try:
            re.compile(self.pattern)
            with duckdb.connect() as con:
                con.execute("SELECT regexp_matches('', ?)", [self.pattern])
        except (re.error, duckdb.Error) as exc:
            message = str(exc).split("\n")[0]
            raise self._bad(
                "pattern", f"pattern {self.pattern!r} is not a valid regex: {message}"
            ) from None

    def _check_legal_values(self) -> None:
        values = self.legal_values
        if not isinstance(values, list | tuple) or not values:
            raise self._bad(
                "legal_values",
                f"IS_CONTAINED_IN needs a non-empty list of legal_values, got {values!r}",
            )
        kinds = {_value_kind(v) for v in values}
        if None in kinds or len(kinds) != 1:
            raise self._bad(
                "legal_values",
                "legal_values must be all strings, all numbers or all booleans, got "
                f"{list(values)!r}",
            )
        self.legal_values = list(values)

    def _bad(self, field: str, message: str) -> InvalidInput:
        return InvalidInput(message, details={"rule": self.name, "field": field})

    def check_kind(self, kinds: list[str], features: list[str], where: str) -> None:
        """Raise InvalidInput unless the rule applies to features of these kinds."""
        definition = self.definition
        for feature, kind in zip(features, kinds, strict=True):
            if kind not in definition.kinds:
                raise InvalidInput(
                    f"{self.name} does not apply to feature {feature!r} of {where}: it has type "
                    f"{kind}, and {self.name} needs {_kinds_text(definition.kinds)}",
                    details={"rule": self.name, "feature": feature, "type": kind},
                )
        if definition.arity == "pair" and definition.measure in OPERATORS:
            a, b = kinds
            if not ({a, b} <= NUMERIC or a == b):
                raise InvalidInput(
                    f"{self.name} compares {features[0]!r} ({a}) with {features[1]!r} ({b}): "
                    "they must both be numbers, or of the same type",
                    details={"rule": self.name, "features": features},
                )
        if definition.param == "legal_values":
            kind = kinds[0]
            expected = "string" if kind == "string" else "bool" if kind == "boolean" else "number"
            if _value_kind(self.legal_values[0] if self.legal_values else None) != expected:
                raise InvalidInput(
                    f"IS_CONTAINED_IN on {features[0]!r} ({kind}) needs legal_values that are "
                    f"{expected}s, got {self.legal_values!r}",
                    details={"rule": self.name, "feature": features[0]},
                )

    # ---- evaluation -------------------------------------------------------------------------

    @property
    def bounds(self) -> tuple[float | None, float | None]:
        """(lower, upper) bound of the measured value; ``value`` bounds both sides."""
        definition = RULES.get(self.name) if isinstance(self.name, str) else None
        if self.value is not None and definition is not None and definition.param != "value":
            return self.value, self.value
        return self.min, self.max

    def holds(self, measured: float | None) -> bool:
        if measured is None or (isinstance(measured, float) and math.isnan(measured)):
            return False
        lo, hi = self.bounds
        return (lo is None or measured >= lo) and (hi is None or measured <= hi)

    def expected_text(self) -> str:
        lo, hi = self.bounds
        if lo is not None and lo == hi:
            return f"= {_fmt(lo)}"
        if lo is not None and hi is not None:
            return f"between {_fmt(lo)} and {_fmt(hi)}"
        return f"≥ {_fmt(lo)}" if lo is not None else f"≤ {_fmt(hi)}"

    def subject(self, features: list[str], array: bool = False) -> str:
        """How the measured thing reads: 'is_iceberg max', 'band_1 min (of its elements)'."""
        d = self.definition
        a = features[0] if features else ""
        b = features[1] if len(features) > 1 else ""
        text = d.words.format(
            a=a,
            b=b,
            op=OPERATORS.get(d.measure, ""),
            p=f"/{self.pattern}/",
            t=self.accepted_type,
            v=self.legal_values,
            q=_fmt(self.value),
        )
        if array and d.measure in _ELEMENTWISE:
            text += " (of its elements)"
        return text

    def message(self, features: list[str], measured: float | None, array: bool = False) -> str:
        subject = self.subject(features, array)
        if measured is None:
            return f"{subject} has no value (no values to measure), expected {self.expected_text()}"
        if self.holds(measured):
            return f"{subject} is {_fmt(measured)}, as expected ({self.expected_text()})"
        return f"{subject} is {_fmt(measured)}, expected {self.expected_text()}"

    # ---- serialisation ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Hopsworks' JSON shape (camelCase)."""
        return {
            "name": self.name,
            "level": self.level,
            "min": self.min,
            "max": self.max,
            "value": self.value,
            "pattern": self.pattern,
            "acceptedType": self.accepted_type,
            "legalValues": None if self.legal_values is None else list(self.legal_values),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Rule:
        """A rule from its dict (camelCase as Hopsworks writes it, or snake_case)."""
        if isinstance(data, Rule):
            return data
        if not isinstance(data, dict):
            raise InvalidInput(f"a rule must be a Rule or a dict, got {type(data).__name__}")
        names = {"acceptedType": "accepted_type", "legalValues": "legal_values"}
        known = {"name", "level", "min", "max", "value", "pattern", "accepted_type"}
        known |= {"legal_values"}
        kwargs = {names.get(k, k): v for k, v in data.items()}
        unknown = set(kwargs) - known
        if unknown:
            raise InvalidInput(
                f"a rule has unknown keys {sorted(unknown)}; known: {sorted(known)}",
                details={"unknown": sorted(unknown)},
            )
        if "name" not in kwargs:
            raise InvalidInput("a rule needs a name, e.g. {'name': 'HAS_MIN', 'min': 0}")
        if kwargs.get("level") is None:
            kwargs.pop("level", None)
        return cls(**kwargs)


def _value_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if _number(value) and math.isfinite(value):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _kinds_text(kinds: frozenset[str]) -> str:
    if kinds == NUMERIC | ARRAYS:
        return "numbers or arrays of numbers"
    if kinds == NUMERIC:
        return "numbers"
    if kinds == SCALARS:
        return "a scalar (not an array)"
    return ", ".join(sorted(kinds))
