"""The online side of a feature group: the latest row per primary key, served fast.

Mixed into :class:`~eolab.featurestore.feature_group.FeatureGroup`. The same insert writes the
offline (Delta) and the online store; a failed online write is reported on the
:class:`WriteResult` and repaired by :meth:`sync_online`.
"""

from __future__ import annotations

from typing import Any

from eolab.errors import InvalidInput
from eolab.featurestore.online import (
    OnlineStore,
    online_store_path,
    online_store_url,
    open_online_store,
)


class OnlineFeatures:
    """Online-store methods of a feature group (``online_enabled=True``)."""

    _online_store: OnlineStore | None = None

    @property
    def _online_table(self) -> str:
        return f"fg_{self.name}_{self.version}"  # type: ignore[attr-defined]

    def _online(self) -> OnlineStore:
        if not self.online_enabled:  # type: ignore[attr-defined]
            raise InvalidInput(f"{self._what} is not online_enabled")  # type: ignore[attr-defined]
        if self._online_store is None:
            self._refresh()  # type: ignore[attr-defined]  # access is checked once per handle
            project = self.feature_store.project  # type: ignore[attr-defined]
            self._online_store = open_online_store(
                online_store_url(),
                online_store_path(project.workspace.home, project.name),
                namespace=f"eolab:{project.name}",
            )
        return self._online_store

    def _write_online(self, frame: Any, operation: str) -> None:
        data = frame.toPandas() if hasattr(frame, "toPandas") else frame
        store = self._online()
        if operation == "overwrite":
            store.drop(self._online_table)
        if operation == "delete":
            store.delete(self._online_table, data)
        else:
            store.write(self._online_table, data, list(self.primary_key))  # type: ignore[attr-defined]

    def sync_online(self) -> int:
        """Rewrite the online store from the offline table (after a failed online write)."""
        store = self._online()
        table = self.read(dataframe_type="pyarrow")  # type: ignore[attr-defined]
        store.drop(self._online_table)
        if table.num_rows == 0:
            return 0
        return store.write(self._online_table, table, list(self.primary_key))  # type: ignore[attr-defined]

    def get_feature_vector(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        """The latest features of one primary key, from the online store (None if unknown)."""
        return self._online().get(self._online_table, entry)

    def get_feature_vectors(self, entries: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        return self._online().get_many(self._online_table, entries)

    def _read_online(self) -> Any:
        store = self._online()
        if store.count(self._online_table) == 0:
            import pandas as pd

            return pd.DataFrame(columns=[f["name"] for f in self._features])  # type: ignore[attr-defined]
        return store.read_all(self._online_table)
