"""Expectations: named sets of rules on features, kept in the project's catalog (hsfs 2.x).

e = fs.create_expectation("iceberg_label", description="labels are 0 or 1",
                          features=["is_iceberg"],
                          rules=[Rule("HAS_MIN", min=0), Rule("HAS_MAX", max=1)])
e.save()                          # checks every rule; creates, or updates the same name
fg.attach_expectation(e)          # checks the features and their types against the group

Single-feature rules apply to each feature of the expectation; pair rules (HAS_CORRELATION,
HAS_MUTUAL_INFORMATION, IS_LESS_THAN...) to its two features, first against second; HAS_SIZE
to the whole frame. An expectation is searchable (kind ``expectation``). Saving a changed
expectation re-checks it against every feature group it is attached to; deleting one that is
attached is refused.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from eolab import search
from eolab.access import require_creator_or_owner
from eolab.catalog.models import ExpectationRow, User
from eolab.errors import Conflict, InvalidInput, NotFound
from eolab.names import check_name
from eolab.validation import store
from eolab.validation.compute import kind_of_type, plan
from eolab.validation.rules import Rule

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from eolab.catalog.models import FeatureGroupRow
    from eolab.catalog.models import Project as ProjectRow
    from eolab.featurestore.feature_store import FeatureStore

SEARCH_KIND = "expectation"


class Expectation:
    """A named set of rules over features (hsfs ``Expectation``)."""

    def __init__(
        self,
        name: str,
        description: str = "",
        features: list[str] | None = None,
        rules: list[Rule | dict[str, Any]] | None = None,
        feature_store: FeatureStore | None = None,
    ) -> None:
        self.name = name
        self.description = description
        self.features = list(features) if isinstance(features, list | tuple) else features
        self.rules = (
            [Rule.from_dict(r) for r in rules] if isinstance(rules, list | tuple) else rules
        )
        self.feature_store = feature_store
        self.id: int | None = None
        self.creator: str | None = None
        self.created_at: datetime | None = None

    # ---- checks -------------------------------------------------------------------------

    def check(self) -> None:
        """Raise InvalidInput unless the expectation and every rule of it are well formed."""
        check_name(self.name, "expectation")
        if not isinstance(self.description, str):
            raise InvalidInput(
                f"description must be a string, got {type(self.description).__name__}"
            )
        features = self.features
        if (
            not isinstance(features, list)
            or not features
            or not all(isinstance(f, str) and f for f in features)
        ):
            raise InvalidInput(
                f"expectation {self.name!r} needs features, a non-empty list of feature names; "
                f"got {features!r}",
                details={"field": "features"},
            )
        if len(set(features)) != len(features):
            raise InvalidInput(f"expectation {self.name!r} lists a feature twice: {features}")
        if not isinstance(self.rules, list) or not self.rules:
            raise InvalidInput(
                f"expectation {self.name!r} needs rules, a non-empty list of Rule; "
                f"got {self.rules!r}",
                details={"field": "rules"},
            )
        for rule in self.rules:
            if not isinstance(rule, Rule):
                raise InvalidInput(f"rules must be Rule objects or dicts, got {rule!r}")
            rule.check()
            if rule.definition.arity == "pair" and len(features) != 2:
                raise InvalidInput(
                    f"{rule.name} relates two features: expectation {self.name!r} must name "
                    f"exactly two (the first is compared with the second), got {features}",
                    details={"rule": rule.name, "features": features},
                )

    def check_against(self, features: list[dict[str, Any]], where: str) -> None:
        """Raise InvalidInput unless every feature exists in ``features`` (catalog feature
        dicts) with a type every rule applies to."""
        plan([self], {f["name"]: kind_of_type(f["type"]) for f in features}, where)

    # ---- catalog ------------------------------------------------------------------------

    def _store(self) -> FeatureStore:
        if self.feature_store is None:
            raise InvalidInput(
                f"expectation {self.name!r} belongs to no feature store: create it with "
                "fs.create_expectation(...), or pass feature_store="
            )
        return self.feature_store

    def save(self) -> Expectation:
        """Check and store the expectation (a new one, or an update of the same name)."""
        self.check()
        fs = self._store()
        with fs._tx() as (s, project):
            row = store.expectation_row(s, project.id, self.name)
            if row is None:
                row = ExpectationRow(
                    project_id=project.id,
                    name=self.name,
                    created_by=fs.project.workspace.caller.user_id,
                )
                s.add(row)
            else:
                for group in store.groups_using(s, row.id):
                    self.check_against(
                        group.features, f"feature group {group.name!r} version {group.version}"
                    )
            row.description = self.description
            row.features = list(self.features)  # type: ignore[arg-type]
            row.rules = [r.to_dict() for r in self.rules]  # type: ignore[union-attr]
            s.flush()
            _index(s, fs, project, row)
            self._load(row, s.get(User, row.created_by).name)  # type: ignore[union-attr]
        return self

    def _load(self, row: ExpectationRow, creator: str | None) -> None:
        self.id, self.name, self.description = row.id, row.name, row.description
        self.features = list(row.features)
        self.rules = [Rule.from_dict(r) for r in row.rules]
        self.creator, self.created_at = creator, row.created_at

    def delete(self) -> None:
        """Delete the expectation (its creator or a data owner); refused while attached."""
        fs = self._store()
        with fs._tx() as (s, project):
            row = store.expectation_row(s, project.id, self.name)
            if row is None:
                raise NotFound(f"no expectation {self.name!r} in project {project.name!r}")
            require_creator_or_owner(
                s,
                fs.project.workspace.caller,
                project,
                row.created_by,
                f"expectation {self.name!r}",
            )
            users = [f"{g.name} v{g.version}" for g in store.groups_using(s, row.id)]
            if users:
                raise Conflict(
                    f"expectation {self.name!r} is attached to feature groups {users}; detach it "
                    "first (fg.detach_expectation)",
                    details={"feature_groups": users},
                )
            search.unindex(s, SEARCH_KIND, _ref(fs, self.name))
            s.delete(row)
        self.id = None

    # ---- serialisation ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Hopsworks' JSON shape: name, description, features, rules."""
        return {
            "name": self.name,
            "description": self.description,
            "features": list(self.features or []),
            "rules": [r.to_dict() for r in self.rules or []],
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], feature_store: FeatureStore | None = None
    ) -> Expectation:
        if not isinstance(data, dict) or "name" not in data:
            raise InvalidInput(f"an expectation must be a dict with a name, got {data!r}")
        return cls(
            data["name"],
            data.get("description", ""),
            data.get("features"),
            data.get("rules"),
            feature_store,
        )

    @classmethod
    def from_great_expectations(
        cls, suite: str | dict[str, Any], feature_store: FeatureStore | None = None
    ) -> list[Expectation]:
        """Expectations (one per column) from a Great Expectations suite's JSON."""
        from eolab.validation.great_expectations import from_suite

        return [
            cls(name, description, [column], rules, feature_store)
            for name, description, column, rules in from_suite(suite)
        ]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expectation) and other.to_dict() == self.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        rules = ", ".join(r.name for r in self.rules or [])
        return f"Expectation({self.name!r}, features={self.features}, rules=[{rules}])"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{escape(r.name)}</td><td>{escape(r.level)}</td>"
            f"<td>{escape(r.expected_text() if r.bounds != (None, None) else '')}</td>"
            f"<td>{escape(_param_text(r))}</td></tr>"
            for r in self.rules or []
        )
        return (
            f"<b>expectation</b> {escape(self.name)} on {escape(', '.join(self.features or []))} "
            f"<i>{escape(self.description or '')}</i><table><tr><th>rule</th><th>level</th>"
            f"<th>expected</th><th>parameter</th></tr>{rows}</table>"
        )


def _param_text(rule: Rule) -> str:
    if rule.pattern is not None:
        return f"pattern {rule.pattern}"
    if rule.accepted_type is not None:
        return f"type {rule.accepted_type}"
    if rule.legal_values is not None:
        return f"in {rule.legal_values}"
    if rule.definition.param == "value":
        return f"quantile {rule.value}"
    return ""


def _ref(fs: FeatureStore, name: str) -> str:
    return f"{fs.project.name}/{name}"


def _index(s: Session, fs: FeatureStore, project: ProjectRow, row: ExpectationRow) -> None:
    rules = ", ".join(sorted({r["name"] for r in row.rules}))
    text = f"{row.description} — rules {rules} on {', '.join(row.features)}".lstrip(" —")
    search.index(s, SEARCH_KIND, _ref(fs, row.name), project.id, row.name, text)


def _handle(fs: FeatureStore, row: ExpectationRow, creator: str | None) -> Expectation:
    e = Expectation(row.name, feature_store=fs)
    e._load(row, creator)
    return e


def load_row(fs: FeatureStore, s: Session, row: ExpectationRow) -> Expectation:
    return _handle(fs, row, s.get(User, row.created_by).name)  # type: ignore[union-attr]


def get_expectation(fs: FeatureStore, name: str) -> Expectation:
    """The expectation ``name`` of the feature store's project."""
    if not isinstance(name, str):
        raise InvalidInput(f"an expectation name is a string, got {name!r}")
    with fs._tx(write=False) as (s, project):
        row = store.expectation_row(s, project.id, name)
        if row is None:
            raise NotFound(
                f"no expectation {name!r} in project {project.name!r}", details={"name": name}
            )
        return load_row(fs, s, row)


def get_expectations(fs: FeatureStore) -> list[Expectation]:
    """Every expectation of the feature store's project, by name."""
    with fs._tx(write=False) as (s, project):
        return [load_row(fs, s, row) for row in store.expectation_rows(s, project.id)]


def attached_to(fs: FeatureStore, s: Session, group: FeatureGroupRow) -> list[Expectation]:
    return [load_row(fs, s, row) for row in store.attached_rows(s, group.id)]
