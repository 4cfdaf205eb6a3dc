"""Statistics of a feature group, computed per commit and kept beside its Delta table.

Mixed into :class:`~eolab.featurestore.feature_group.FeatureGroup`. Each commit's statistics
are one JSON file, ``FeatureStore/.statistics/<name>_<version>/<commit>.json``, written
atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from eolab.errors import NotFound
from eolab.featurestore.statistics import StatisticsConfig, StatisticsView, compute_statistics


class FeatureStatistics:
    """Statistics methods of a feature group."""

    def _statistics_dir(self) -> Path:
        project = self.feature_store.project  # type: ignore[attr-defined]
        return project.root / "FeatureStore" / ".statistics" / f"{self.name}_{self.version}"  # type: ignore[attr-defined]

    def _compute_statistics(self, result: Any) -> None:
        self._store_statistics(result.commit_id, self._statistics_of_latest())

    def _statistics_of_latest(self) -> dict[str, Any]:
        config = StatisticsConfig.from_value(self.statistics_config)  # type: ignore[attr-defined]
        config.enabled = True
        engine = self.feature_store.engine.name  # type: ignore[attr-defined]
        data = self.read(dataframe_type="spark" if engine == "spark" else "pyarrow")  # type: ignore[attr-defined]
        return compute_statistics(data, config, engine=engine)

    def _store_statistics(self, commit_id: int, stats: dict[str, Any]) -> None:
        folder = self._statistics_dir()
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{commit_id}.json.part"
        tmp.write_text(json.dumps({"commit_id": commit_id, **stats}))
        os.replace(tmp, folder / f"{commit_id}.json")

    def compute_statistics(self) -> StatisticsView:
        """Compute (now) the statistics of the latest commit, store and return them."""
        self._refresh()  # type: ignore[attr-defined]
        commits = self.commit_details(limit=1)  # type: ignore[attr-defined]
        if not commits:
            raise NotFound(f"{self._what} has no commit yet")  # type: ignore[attr-defined]
        commit_id = max(commits)
        stats = self._statistics_of_latest()
        self._store_statistics(commit_id, stats)
        return StatisticsView({"commit_id": commit_id, **stats})

    def get_statistics(self, commit_time: Any = None) -> StatisticsView:
        """Statistics of the latest commit, or of the last commit at or before ``commit_time``."""
        self._refresh()  # type: ignore[attr-defined]
        folder = self._statistics_dir()
        available = sorted(int(p.stem) for p in folder.glob("*.json")) if folder.exists() else []
        if commit_time is not None:
            upto = set(self.commit_details(wallclock_time=commit_time))  # type: ignore[attr-defined]
            available = [c for c in available if c in upto]
        if not available:
            raise NotFound(
                f"no statistics for {self._what}"  # type: ignore[attr-defined]
                + (f" at or before {commit_time}" if commit_time is not None else "")
                + "; enable statistics_config or call compute_statistics()"
            )
        return StatisticsView(json.loads((folder / f"{available[-1]}.json").read_text()))
