"""Filters on features, as hsfs builds them: ``fg.inc_angle > 30``, ``fg.id.isin([1, 2])``,
``fg.name.like("S1%")``, combined with ``&`` (AND) and ``|`` (OR).

A :class:`Filter` is one condition on one feature; a :class:`Logic` combines two conditions.
Values are checked against the feature's type when the filter is made (a list feature does not
compare; a string feature compares to strings), so a bad filter fails before any data is read.
Both render to SQL for DuckDB or Spark SQL. Values become ``?`` parameters when a query runs
and safely quoted literals in ``to_string()``; user text is never pasted into SQL.
``== None`` / ``!= None`` render as ``IS NULL`` / ``IS NOT NULL``. ``like`` patterns use ``%``
and ``_`` as wildcards and ``\\`` as the escape character on both engines.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from eolab.errors import InvalidInput

if TYPE_CHECKING:
    from eolab.featurestore.schema import Feature

DIALECTS = ("duckdb", "spark")
_SQL = {
    "GREATER_THAN_OR_EQUAL": ">=",
    "GREATER_THAN": ">",
    "NOT_EQUALS": "!=",
    "EQUALS": "=",
    "LESS_THAN_OR_EQUAL": "<=",
    "LESS_THAN": "<",
}
_COMPARABLE = "numbers, strings, booleans, dates and timestamps"


def quote_name(name: str, dialect: str) -> str:
    """An identifier quoted for ``dialect`` (feature and table names are checked already)."""
    if dialect == "spark":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any, dialect: str) -> str:
    """``value`` as an SQL literal of ``dialect``: strings quoted and escaped, never pasted."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            word = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
            return f"CAST('{word}' AS DOUBLE)"
        return repr(value)
    if isinstance(value, datetime):  # naive UTC, as Filter keeps it
        text = value.isoformat(sep=" ", timespec="microseconds")
        return f"TIMESTAMPTZ '{text}+00'" if dialect == "duckdb" else f"TIMESTAMP '{text}Z'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        if dialect == "spark":  # Spark string literals treat backslash as an escape
            return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return "'" + value.replace("'", "''") + "'"
    raise InvalidInput(f"cannot write {type(value).__name__} {value!r} as an SQL value")


class _Sql:
    """Collects the SQL of a condition: parameters for running, literals for showing."""

    def __init__(self, dialect: str, params: list[Any] | None) -> None:
        self.dialect = dialect
        self.params = params

    def value(self, value: Any) -> str:
        if self.params is None:
            return literal(value, self.dialect)
        if isinstance(value, datetime):  # naive UTC: tell the engine so
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        self.params.append(value)
        return "?"


class _Condition:
    """What Filter and Logic share: combining with & and |, and no truth value."""

    def __and__(self, other: Any) -> Logic:
        return Logic.And(self, _condition(other, "&"))

    def __or__(self, other: Any) -> Logic:
        return Logic.Or(self, _condition(other, "|"))

    def __bool__(self) -> bool:
        raise TypeError(
            "a feature filter has no truth value: combine filters with & and | (not 'and'/'or'), "
            "and compare features by name (f.name == 'x') rather than with =="
        )

    def filters(self) -> Iterator[Filter]:
        raise NotImplementedError

    def to_sql(
        self, column: Callable[[Feature], str], dialect: str, params: list[Any] | None = None
    ) -> str:
        """The SQL of this condition; ``column`` gives the qualified, quoted column of a
        feature; with ``params`` values are appended there and written as ``?``."""
        if dialect not in DIALECTS:
            raise InvalidInput(f"dialect must be one of {list(DIALECTS)}, got {dialect!r}")
        return self._sql(column, _Sql(dialect, params))

    def _sql(self, column: Callable[[Feature], str], sql: _Sql) -> str:
        raise NotImplementedError

    def matches(self, value_of: Callable[[Feature], Any]) -> bool:
        """Whether a row passes, given each feature's value (SQL semantics: null fails)."""
        raise NotImplementedError


def _condition(value: Any, operator: str) -> _Condition:
    if not isinstance(value, _Condition):
        raise InvalidInput(
            f"'{operator}' combines feature filters (e.g. fg.a > 1), got {type(value).__name__}"
        )
    return value


class Filter(_Condition):
    """One condition on one feature: ``Filter(feature, Filter.GT, 3)`` is ``fg.f > 3``."""

    GE = "GREATER_THAN_OR_EQUAL"
    GT = "GREATER_THAN"
    NE = "NOT_EQUALS"
    EQ = "EQUALS"
    LE = "LESS_THAN_OR_EQUAL"
    LT = "LESS_THAN"
    IN = "IN"
    LK = "LIKE"
    CONDITIONS = (GE, GT, NE, EQ, LE, LT, IN, LK)

    def __init__(self, feature: Feature, condition: str, value: Any) -> None:
        if condition not in self.CONDITIONS:
            raise InvalidInput(
                f"condition must be one of {list(self.CONDITIONS)}, got {condition!r}"
            )
        self.feature = feature
        self.condition = condition
        self.value = _checked(feature, condition, value)

    def filters(self) -> Iterator[Filter]:
        yield self

    def _sql(self, column: Callable[[Feature], str], sql: _Sql) -> str:
        target = column(self.feature)
        if self.condition == self.IN:
            if not self.value:
                return "FALSE"
            return f"{target} IN ({', '.join(sql.value(v) for v in self.value)})"
        if self.condition == self.LK:
            escape = literal("\\", sql.dialect)
            return f"{target} LIKE {sql.value(self.value)} ESCAPE {escape}"
        if self.value is None:
            return f"{target} IS {'NOT ' if self.condition == self.NE else ''}NULL"
        return f"{target} {_SQL[self.condition]} {sql.value(self.value)}"

    def matches(self, value_of: Callable[[Feature], Any]) -> bool:
        value = _plain(value_of(self.feature), self.value)
        if self.value is None and self.condition in (self.EQ, self.NE):
            return (value is None) == (self.condition == self.EQ)
        if value is None:
            return False
        if self.condition == self.IN:
            return any(_equal(value, v) for v in self.value)
        if self.condition == self.LK:
            return _like(self.value).fullmatch(value) is not None
        if self.condition == self.EQ:
            return _equal(value, self.value)
        if self.condition == self.NE:
            return not _equal(value, self.value)
        return _compare(value, self.condition, self.value)

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature.name, "condition": self.condition, "value": self.value}

    def __repr__(self) -> str:
        return f"Filter({self.feature.name!r}, {self.condition}, {self.value!r})"


class Logic(_Condition):
    """Two conditions joined by AND or OR (``Logic.And(a, b)`` is ``a & b``)."""

    AND = "AND"
    OR = "OR"
    SINGLE = "SINGLE"

    def __init__(self, type: str, left: _Condition, right: _Condition | None = None) -> None:
        if type not in (self.AND, self.OR, self.SINGLE):
            raise InvalidInput(f"Logic type must be AND, OR or SINGLE, got {type!r}")
        if (right is None) != (type == self.SINGLE):
            raise InvalidInput("AND and OR take two conditions; SINGLE takes one")
        self.type = type
        self.left = _condition(left, type)
        self.right = None if right is None else _condition(right, type)

    @classmethod
    def And(cls, left: _Condition, right: _Condition) -> Logic:  # noqa: N802 - hsfs name
        return cls(cls.AND, left, right)

    @classmethod
    def Or(cls, left: _Condition, right: _Condition) -> Logic:  # noqa: N802 - hsfs name
        return cls(cls.OR, left, right)

    @classmethod
    def Single(cls, condition: _Condition) -> Logic:  # noqa: N802 - hsfs name
        return cls(cls.SINGLE, condition)

    def filters(self) -> Iterator[Filter]:
        yield from self.left.filters()
        if self.right is not None:
            yield from self.right.filters()

    def _sql(self, column: Callable[[Feature], str], sql: _Sql) -> str:
        left = self.left._sql(column, sql)
        if self.right is None:
            return left
        return f"({left} {self.type} {self.right._sql(column, sql)})"

    def matches(self, value_of: Callable[[Feature], Any]) -> bool:
        if self.right is None:
            return self.left.matches(value_of)
        if self.type == self.AND:
            return self.left.matches(value_of) and self.right.matches(value_of)
        return self.left.matches(value_of) or self.right.matches(value_of)

    def to_dict(self) -> dict[str, Any]:
        parts = [self.left] + ([self.right] if self.right is not None else [])
        return {"type": self.type, "conditions": [p.to_dict() for p in parts]}  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        if self.right is None:
            return f"Logic.Single({self.left!r})"
        return f"Logic.{self.type.title()}({self.left!r}, {self.right!r})"


# ---- checking values against the feature's type ---------------------------------------------


def _kind(feature: Feature) -> str:
    """'number', 'string', 'bool', 'date' or 'timestamp'; InvalidInput for other types."""
    from eolab.featurestore.schema import parse_type

    try:
        t = parse_type(feature.type)
    except InvalidInput:
        t = None
    if t is not None:
        types = pa.types
        if types.is_integer(t) or types.is_floating(t) or types.is_decimal(t):
            return "number"
        if types.is_string(t):
            return "string"
        if types.is_boolean(t):
            return "bool"
        if types.is_date(t):
            return "date"
        if types.is_timestamp(t):
            return "timestamp"
    raise InvalidInput(
        f"feature {feature.name!r} has type {feature.type}, which does not compare: filters "
        f"work on {_COMPARABLE}",
        details={"feature": feature.name, "type": feature.type},
    )


def _checked(feature: Feature, condition: str, value: Any) -> Any:
    kind = _kind(feature)
    if condition == Filter.IN:
        if isinstance(value, str | bytes | dict) or not hasattr(value, "__iter__"):
            raise InvalidInput(
                f"isin() on feature {feature.name!r} takes a list of values, got "
                f"{type(value).__name__} {value!r}"
            )
        values = list(value)
        if any(v is None for v in values):
            raise InvalidInput(
                f"isin() on feature {feature.name!r} got None among its values; "
                "use == None for missing values"
            )
        return [_scalar(feature, kind, v) for v in values]
    if condition == Filter.LK:
        if kind != "string" or not isinstance(value, str):
            raise InvalidInput(
                f"like() needs a string feature and a string pattern; feature {feature.name!r} "
                f"has type {feature.type}, pattern {value!r}",
                details={"feature": feature.name, "type": feature.type},
            )
        return value
    if value is None:
        if condition in (Filter.EQ, Filter.NE):
            return None
        raise InvalidInput(
            f"feature {feature.name!r} cannot be compared to None with {_SQL[condition]}; "
            "use == None or != None for missing values"
        )
    return _scalar(feature, kind, value)


def _scalar(feature: Feature, kind: str, value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if (
        kind == "number"
        and isinstance(value, int | float | Decimal)
        and not isinstance(value, bool)
    ):
        return value
    if kind == "string" and isinstance(value, str):
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
    if kind == "timestamp" and isinstance(value, datetime | date | str | int):
        from eolab.featurestore.feature_group import utc

        if not isinstance(value, bool):
            return utc(value, f"the value compared to feature {feature.name!r}")
    expected = {
        "number": "a number",
        "string": "a string",
        "bool": "True or False",
        "date": "a date or 'YYYY-MM-DD'",
        "timestamp": "a datetime or 'YYYY-MM-DD HH:MM:SS' (UTC)",
    }[kind]
    raise InvalidInput(
        f"feature {feature.name!r} has type {feature.type} and compares to {expected}, got "
        f"{type(value).__name__} {value!r}",
        details={"feature": feature.name, "type": feature.type},
    )


# ---- evaluating a condition on one row (feature vectors) ------------------------------------


def _plain(value: Any, like: Any) -> Any:
    """A stored value in the form the filter's value has (naive UTC datetimes, dates)."""
    if value is None:
        return None
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()  # numpy scalars
    try:
        if value != value:  # NaN
            return value
    except (TypeError, ValueError):
        return value
    if isinstance(value, datetime):
        from eolab.featurestore.feature_group import utc

        value = utc(value)
        sample = like[0] if isinstance(like, list) and like else like
        if isinstance(sample, date) and not isinstance(sample, datetime):
            return value.date()
    return value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True  # NaN equals NaN in DuckDB and Spark SQL
    return bool(a == b)


def _compare(a: Any, condition: str, b: Any) -> bool:
    # DuckDB and Spark order NaN above every other number
    a_nan = isinstance(a, float) and math.isnan(a)
    b_nan = isinstance(b, float) and math.isnan(b)
    order = (a_nan > b_nan) - (a_nan < b_nan) if a_nan or b_nan else (a > b) - (a < b)
    return {
        Filter.GT: order > 0,
        Filter.GE: order >= 0,
        Filter.LT: order < 0,
        Filter.LE: order <= 0,
    }[condition]


def _like(pattern: str) -> re.Pattern[str]:
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)
