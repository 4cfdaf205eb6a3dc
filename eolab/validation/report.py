"""A validation report, shaped like Hopsworks' ``FeatureGroupValidation``.

``to_dict()`` gives the JSON the REST API and the Feature Store panel show::

    {"validationId": 3, "validationTime": "2024-05-01T12:00:00.123456", "commitTime": ...,
     "commitId": 2, "featureGroup": {"name": "iceberg", "version": 1},
     "validationType": "STRICT", "ingested": false, "rowCount": 1604, "status": "FAILURE",
     "summary": {"success": 3, "warning": 0, "failure": 1},
     "expectationResults": [{"expectation": {...}, "status": "FAILURE",
        "results": [{"features": ["is_iceberg"], "rule": {...}, "status": "FAILURE",
                     "value": 2.0, "message": "is_iceberg max is 2, expected ≤ 1"}]}]}

Times are UTC without an offset (DESIGN's 'Times'). A dry run (``fg.validate``) has no
``validationId`` and ``ingested`` None: it is not stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from eolab.validation.compute import (
    FAILURE,
    SUCCESS,
    WARNING,
    ExpectationResult,
    RuleResult,
    worst,
)
from eolab.validation.rules import Rule

COLORS = {SUCCESS: "#2e7d32", WARNING: "#ef6c00", FAILURE: "#c62828"}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


@dataclass
class ValidationReport:
    """What one validation found: every rule's status, measured value and message."""

    feature_group: dict[str, Any]  # {"name", "version"}
    expectation_results: list[ExpectationResult]
    validation_time: datetime
    row_count: int
    validation_type: str | None = None
    validation_id: int | None = None
    commit_time: datetime | None = None
    commit_id: int | None = None
    ingested: bool | None = None  # did the insert go ahead (None: a dry run)

    @property
    def status(self) -> str:
        return worst(e.status for e in self.expectation_results)

    @property
    def success(self) -> bool:
        return self.status == SUCCESS

    def counts(self) -> dict[str, int]:
        """Rule results per status: {"success": n, "warning": n, "failure": n}."""
        out = {s.lower(): 0 for s in (SUCCESS, WARNING, FAILURE)}
        for e in self.expectation_results:
            for r in e.results:
                out[r.status.lower()] += 1
        return out

    def failures(self) -> list[RuleResult]:
        """The rule results that did not succeed (warnings and failures)."""
        return [r for e in self.expectation_results for r in e.results if r.status != SUCCESS]

    # ---- serialisation ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "validationId": self.validation_id,
            "validationTime": _iso(self.validation_time),
            "commitTime": _iso(self.commit_time),
            "commitId": self.commit_id,
            "featureGroup": dict(self.feature_group),
            "validationType": self.validation_type,
            "ingested": self.ingested,
            "rowCount": self.row_count,
            "status": self.status,
            "summary": self.counts(),
            "expectationResults": [e.to_dict() for e in self.expectation_results],
        }

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationReport:
        results = [
            ExpectationResult(
                e["expectation"],
                [
                    RuleResult(
                        list(r["features"]),
                        Rule.from_dict(r["rule"]),
                        r["status"],
                        r["value"],
                        r["message"],
                    )
                    for r in e["results"]
                ],
            )
            for e in data["expectationResults"]
        ]
        return cls(
            feature_group=dict(data["featureGroup"]),
            expectation_results=results,
            validation_time=_time(data["validationTime"]),  # type: ignore[arg-type]
            row_count=int(data["rowCount"]),
            validation_type=data.get("validationType"),
            validation_id=data.get("validationId"),
            commit_time=_time(data.get("commitTime")),
            commit_id=data.get("commitId"),
            ingested=data.get("ingested"),
        )

    # ---- display ------------------------------------------------------------------------

    def _title(self) -> str:
        fg = self.feature_group
        what = "dry run" if self.validation_id is None else f"validation {self.validation_id}"
        return (
            f"{what} of {fg.get('name')} v{fg.get('version')} at "
            f"{self.validation_time:%Y-%m-%d %H:%M:%S} UTC, {self.row_count} rows"
        )

    def _verdict(self) -> str:
        if self.ingested is None:
            return "not stored"
        return "inserted" if self.ingested else "rejected, nothing written"

    def __repr__(self) -> str:
        counts = self.counts()
        lines = [
            f"{self.status}: {self._title()} ({self._verdict()}); "
            f"{counts['success']} succeeded, {counts['warning']} warnings, "
            f"{counts['failure']} failed"
        ]
        for e in self.expectation_results:
            lines.append(f"  {e.status:<8} expectation {e.expectation.get('name')}")
            lines += [f"    {r.status:<8} {r.rule.name}: {r.message}" for r in e.results]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        def badge(status: str) -> str:
            return f'<span style="color:{COLORS[status]};font-weight:bold">{escape(status)}</span>'

        rows = []
        for e in self.expectation_results:
            name = escape(str(e.expectation.get("name")))
            for r in e.results:
                rows.append(
                    f"<tr><td>{name}</td><td>{escape(r.rule.name)}</td>"
                    f"<td>{escape(', '.join(r.features))}</td><td>{badge(r.status)}</td>"
                    f"<td>{escape(r.message)}</td></tr>"
                )
        counts = self.counts()
        return (
            f'<div class="eolab-validation"><p>{badge(self.status)} {escape(self._title())} '
            f"({escape(self._verdict())}): {counts['success']} succeeded, "
            f"{counts['warning']} warnings, {counts['failure']} failed</p>"
            "<table><thead><tr><th>expectation</th><th>rule</th><th>features</th>"
            f"<th>status</th><th>message</th></tr></thead><tbody>{''.join(rows)}</tbody>"
            "</table></div>"
        )
