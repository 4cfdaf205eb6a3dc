"""Features as objects, and queries of a feature group (hsfs names).

Mixed into :class:`~eolab.featurestore.feature_group.FeatureGroup`: ``fg.inc_angle``,
``fg["inc_angle"]`` and ``fg.get_feature("inc_angle")`` are the feature bound to its group
(comparing it to a value makes a filter); ``select_all``, ``select``, ``select_except``,
``filter`` and ``as_of`` start a :class:`~eolab.featurestore.query.Query`. An attribute of the
feature group (``name``, ``version``, ``id``...) wins over a feature of that name; use
``fg["name"]`` for such a feature.
"""

from __future__ import annotations

from typing import Any

from eolab.errors import NotFound
from eolab.featurestore.query import Query, _known, _names
from eolab.featurestore.schema import Feature


class FeatureQueries:
    """Feature access and query builders of a feature group."""

    _features: list[dict[str, Any]]

    @property
    def features(self) -> list[Feature]:
        """The features, each bound to this group (``fg.features[0] > 3`` is a filter)."""
        return [Feature(**f).bound(self) for f in self._features]

    schema = features

    def get_feature(self, name: str) -> Feature:
        """Feature ``name``, bound to this group; also ``fg.name`` and ``fg["name"]``."""
        for f in self._features:
            if f["name"] == name:
                return Feature(**f).bound(self)
        raise NotFound(
            f"{self._what} has no feature {name!r}; its features are "  # type: ignore[attr-defined]
            f"{[f['name'] for f in self._features]}",
            details={"feature": name},
        )

    def __getitem__(self, name: str) -> Feature:
        return self.get_feature(name)

    def __contains__(self, name: object) -> bool:
        return any(f["name"] == name for f in self._features)

    def __getattr__(self, name: str) -> Feature:
        """``fg.inc_angle``: a feature, when no attribute has that name (as hsfs)."""
        features = self.__dict__.get("_features")
        if not name.startswith("_") and features is not None:
            for f in features:
                if f["name"] == name:
                    return Feature(**f).bound(self)
        known = [f["name"] for f in features or []]
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute or feature {name!r} "
            f"(features: {known})"
        )

    def _selection(self, features: Any, what: str) -> list[str]:
        self._require_saved()  # type: ignore[attr-defined]  # current features, access checked
        names = _names(features, what)
        _known(self, names, what)  # type: ignore[arg-type]
        return names

    def select_all(self) -> Query:
        """A query of every feature (as the snapshot read has them)."""
        return Query(self)  # type: ignore[arg-type]

    def select(self, features: list[str | Feature]) -> Query:
        """A query of the named features, in the order given."""
        return Query(self, self._selection(features, "select"))  # type: ignore[arg-type]

    def select_except(self, features: list[str | Feature] | None = None) -> Query:
        """A query of every feature but the named ones."""
        left_out = self._selection(features or [], "select_except")
        kept = [f["name"] for f in self._features if f["name"] not in left_out]
        return Query(self, kept)  # type: ignore[arg-type]

    def filter(self, condition: Any) -> Query:
        """``select_all().filter(condition)``."""
        return self.select_all().filter(condition)

    def as_of(self, wallclock_time: Any = None, exclude_until: Any = None) -> Query:
        """A time-travel query of every feature: the data as of ``wallclock_time``, or (with
        ``exclude_until``) only what was written after ``exclude_until``."""
        return Query(self).as_of(wallclock_time, exclude_until)  # type: ignore[arg-type]

    def show(self, n: int = 20) -> Any:
        """The first ``n`` rows, as pandas."""
        return self.select_all().show(n)
