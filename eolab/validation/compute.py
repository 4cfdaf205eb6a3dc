"""Run every rule of every expectation on one frame, all measures computed together.

The plan: each (expectation, rule, features) becomes a :class:`Measure`; equal measures are
computed once. Each measure needs a few *raw* aggregates (:class:`Raw`: counts, sums, a
grouping per column set...), also shared. An engine runner computes all raws in as few passes
as the engine allows — on the python engine one DuckDB statement (one aggregate over the frame,
plus one grouping per column set for uniqueness, distinctness, entropy and mutual information,
and one unnest per array feature with quantile rules); on the spark engine one ``agg`` plus one
``groupBy`` per column set. The formulas from raws to measured values live here only, so both
engines give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eolab.errors import InvalidInput
from eolab.validation.rules import ARRAYS, Rule

if TYPE_CHECKING:
    from eolab.validation.expectation import Expectation

SUCCESS, WARNING, FAILURE = "SUCCESS", "WARNING", "FAILURE"
STATUS_ORDER = {SUCCESS: 0, WARNING: 1, FAILURE: 2}

# Deequ's reading of text values (anchored; RE2 and Java read them alike).
INTEGRAL_RE = r"^[+-]?\d+$"
FRACTIONAL_RE = r"^[+-]?((\d+\.\d*|\.\d+)([eE][+-]?\d+)?|\d+[eE][+-]?\d+)$"
BOOLEAN_RE = r"^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"
TEXT_TYPES = {"Integral": INTEGRAL_RE, "Fractional": FRACTIONAL_RE, "Boolean": BOOLEAN_RE}
_TYPED = {
    "integer": "Integral",
    "double": "Fractional",
    "boolean": "Boolean",
    "array<float>": "Fractional",
    "array<integer>": "Integral",
}


@dataclass(frozen=True)
class Kind:
    """A column's kind for the measures: statistics' type name, and whether NaN can occur."""

    type: str
    nan: bool = False

    @property
    def array(self) -> bool:
        return self.type in ARRAYS


@dataclass(frozen=True)
class Raw:
    """One raw aggregate an engine computes: ``op`` over ``columns`` with a hashable ``param``.

    Ops of the single aggregate pass: rows, nonnull, values, min, max, sum, avg, stddev,
    sumsq, quantile, approx_distinct, corr, satisfying (param: predicate), both, compare
    (param: lt|le|gt|ge). Ops of their own pass: group (one column set: distinct, unique,
    total; param "entropy" adds nlogn), mi (a pair), element_quantile (an array feature's elements; param: q).
    """

    op: str
    columns: tuple[str, ...] = ()
    param: Any = None


GROUPED_OPS = ("group", "mi", "element_quantile")


@dataclass(frozen=True)
class Measure:
    """A measured value: a rule's measure kind on features (with its parameter)."""

    kind: str
    columns: tuple[str, ...]
    param: Any = None


@dataclass
class RuleResult:
    """One rule on one feature (or pair): Hopsworks' validation result."""

    features: list[str]
    rule: Rule
    status: str
    value: float | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "message": self.message,
            "rule": self.rule.to_dict(),
            "status": self.status,
            "value": self.value,
        }


@dataclass
class ExpectationResult:
    """Every rule result of one expectation, and their worst status."""

    expectation: dict[str, Any]  # the expectation as it was when validated (to_dict)
    results: list[RuleResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        return worst(r.status for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "results": [r.to_dict() for r in self.results],
            "status": self.status,
        }


def worst(statuses: Any) -> str:
    return max(statuses, key=STATUS_ORDER.__getitem__, default=SUCCESS)


# ---- kinds ------------------------------------------------------------------------------------


def is_spark(frame: Any) -> bool:
    return type(frame).__module__.startswith("pyspark.")


def kinds_of(frame: Any) -> dict[str, Kind]:
    """The kind of every column of an Arrow table or Spark DataFrame."""
    from eolab.featurestore.statistics import _arrow_type, _spark_type

    if is_spark(frame):
        out = {}
        for f in frame.schema.fields:
            kind, nan, _ntz = _spark_type(f.dataType)
            out[f.name] = Kind(kind, nan)
        return out
    return {f.name: Kind(*_arrow_type(f.type)) for f in frame.schema}


def kind_of_type(type_name: str) -> str:
    """The kind of a feature from its catalog type name (``list<float>`` → array<float>)."""
    from eolab.featurestore.schema import parse_type
    from eolab.featurestore.statistics import _arrow_type

    try:
        return _arrow_type(parse_type(type_name))[0]
    except InvalidInput:
        return "other"


# ---- plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Application:
    """One rule applied to its features within one expectation."""

    expectation: int  # index in the validated list
    rule: Rule
    features: tuple[str, ...]
    measure: Measure


def plan(
    expectations: Sequence[Expectation], kinds: dict[str, str], where: str
) -> list[Application]:
    """Every rule application, after checking that the features exist and fit the rules."""
    apps = []
    for i, expectation in enumerate(expectations):
        missing = [f for f in expectation.features if f not in kinds]
        if missing:
            raise InvalidInput(
                f"expectation {expectation.name!r} names features {missing} that {where} does "
                f"not have; it has {sorted(kinds)}",
                details={"expectation": expectation.name, "missing": missing},
            )
        for rule in expectation.rules:
            arity = rule.definition.arity
            groups: list[tuple[str, ...]]
            if arity == "feature":
                groups = [(f,) for f in expectation.features]
            else:  # a pair, or the whole frame: once, on all the expectation's features
                groups = [tuple(expectation.features)]
            for features in groups:
                rule.check_kind([kinds[f] for f in features], list(features), where)
                apps.append(Application(i, rule, features, _measure(rule, features)))
    return apps


def _measure(rule: Rule, features: tuple[str, ...]) -> Measure:
    kind = rule.definition.measure
    if kind == "size":
        return Measure("size", ())
    param: Any = None
    if kind == "quantile":
        param = float(rule.value)  # type: ignore[arg-type]
    elif kind == "pattern":
        param = rule.pattern
    elif kind == "datatype":
        param = rule.accepted_type
    elif kind == "contained_in":
        param = tuple(rule.legal_values or ())
    return Measure(kind, features, param)


# ---- raws a measure needs, and its value from them ---------------------------------------------

_SCALAR_AGG = {"min": "min", "max": "max", "stddev": "stddev"}


def needs(m: Measure, kinds: dict[str, Kind]) -> list[Raw]:
    """The raw aggregates from which :func:`value` computes measure ``m``."""
    cols = m.columns
    c = cols[0] if cols else ""
    array = bool(cols) and kinds[c].array
    k = m.kind
    if k == "size":
        return [Raw("rows")]
    if k == "completeness":
        return [Raw("rows"), Raw("nonnull", cols)]
    if k in ("min", "max"):
        return [Raw(k, cols)]
    if k == "mean":
        return [Raw("sum", cols), Raw("values", cols)] if array else [Raw("avg", cols)]
    if k == "sum":
        return [Raw("sum", cols), Raw("values", cols)]
    if k == "stddev":
        if array:
            return [Raw("sum", cols), Raw("sumsq", cols), Raw("values", cols)]
        return [Raw("stddev", cols)]
    if k == "quantile":
        return [Raw("element_quantile" if array else "quantile", cols, m.param)]
    if k == "approx_distinct":
        return [Raw("approx_distinct", cols)]
    if k == "correlation":
        return [Raw("corr", cols)]
    if k in ("non_negative", "positive", "contained_in", "pattern"):
        predicate = (k, m.param) if m.param is not None else (k,)
        return [Raw("satisfying", cols, predicate), Raw("values", cols)]
    if k == "datatype":
        raws = [Raw("rows"), Raw("nonnull", cols)]
        if kinds[c].type == "string":
            raws += [Raw("satisfying", cols, ("text_type", t)) for t in TEXT_TYPES]
        return raws
    if k in ("lt", "le", "gt", "ge"):
        return [Raw("compare", cols, k), Raw("both", cols)]
    if k == "entropy":  # the same grouping, which then also sums k·ln(k)
        return [Raw("group", cols, "entropy")]
    if k in ("uniqueness", "distinctness", "unique_value_ratio", "distinct"):
        return [Raw("group", cols)]
    if k == "mutual_information":
        return [Raw("mi", cols)]
    raise AssertionError(f"no raws for measure {k}")


def _ratio(a: Any, b: Any) -> float | None:
    return float(a) / float(b) if a is not None and b else None


def value(m: Measure, kinds: dict[str, Kind], raws: dict[Raw, Any]) -> float | None:
    """The measured value of ``m`` (None when there is nothing to measure)."""
    cols, k = m.columns, m.kind
    c = cols[0] if cols else ""
    array = bool(cols) and kinds[c].array

    def r(op: str, param: Any = None) -> Any:
        return raws[Raw(op, cols if op != "rows" else (), param)]

    if k == "size":
        return float(r("rows"))
    if k == "completeness":
        return _ratio(r("nonnull"), r("rows"))
    if k in ("min", "max"):
        return _float(r(k))
    if k == "mean":
        return _ratio(r("sum"), r("values")) if array else _float(r("avg"))
    if k == "sum":
        return _float(r("sum")) if r("values") else None
    if k == "stddev":
        if not array:
            return _float(r("stddev"))
        n = r("values")
        if not n:
            return None
        mean = float(r("sum")) / n
        return math.sqrt(max(float(r("sumsq")) / n - mean * mean, 0.0))
    if k == "quantile":
        return _float(r("element_quantile" if array else "quantile", m.param))
    if k == "approx_distinct":
        return _float(r("approx_distinct"))
    if k == "correlation":
        corr = _float(r("corr"))
        return None if corr is None else max(-1.0, min(1.0, corr))
    if k in ("non_negative", "positive", "contained_in", "pattern"):
        predicate = (k, m.param) if m.param is not None else (k,)
        return _ratio(r("satisfying", predicate), r("values"))
    if k == "datatype":
        return _datatype(m.param, kinds[c].type, r)
    if k in ("lt", "le", "gt", "ge"):
        return _ratio(r("compare", k), r("both"))
    if k == "mutual_information":
        return _float(r("mi"))
    g = r("group", "entropy" if k == "entropy" else None)
    total, distinct, unique = g["total"], g["distinct"], g["unique"]
    if not total:
        return None
    if k == "uniqueness":
        return unique / total
    if k == "distinctness":
        return distinct / total
    if k == "unique_value_ratio":
        return unique / distinct
    if k == "distinct":
        return float(distinct)
    return max(math.log(total) - float(g["nlogn"]) / total, 0.0)  # entropy


def _datatype(accepted: str, kind: str, r: Any) -> float | None:
    rows, nonnull = r("rows"), r("nonnull")
    if not rows:
        return None
    if accepted == "Null":
        count = rows - nonnull
    elif kind == "string":
        typed = {t: r("satisfying", ("text_type", t)) for t in TEXT_TYPES}
        count = typed.get(accepted, nonnull - sum(typed.values()))
    else:
        count = nonnull if _TYPED.get(kind) == accepted else 0
    return count / rows


def _float(v: Any) -> float | None:
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


# ---- running -----------------------------------------------------------------------------------


def run(
    frame: Any, expectations: Sequence[Expectation], where: str
) -> tuple[int, list[ExpectationResult]]:
    """(row count, results per expectation) of ``expectations`` on ``frame`` (an Arrow table or
    a Spark DataFrame), all computed together."""
    kinds = kinds_of(frame)
    apps = plan(expectations, {n: k.type for n, k in kinds.items()}, where)
    measures = {a.measure for a in apps}
    raws = {Raw("rows")} | {raw for m in measures for raw in needs(m, kinds)}
    if is_spark(frame):
        from eolab.validation.spark_runner import compute

        computed = compute(frame, raws, kinds)
    else:
        from eolab.validation.duckdb_runner import compute

        computed = compute(frame, raws, kinds)
    rows = int(computed[Raw("rows")])
    values = {m: (value(m, kinds, computed) if rows else None) for m in measures}
    results = [ExpectationResult(e.to_dict()) for e in expectations]
    for app in apps:
        measured = values[app.measure]
        holds = app.rule.holds(measured)
        status = SUCCESS if holds else FAILURE if app.rule.level == "ERROR" else WARNING
        array = len(app.features) == 1 and kinds[app.features[0]].array
        message = app.rule.message(list(app.features), measured, array)
        results[app.expectation].results.append(
            RuleResult(list(app.features), app.rule, status, measured, message)
        )
    return rows, results
