"""``add_tag``/``get_tags``/``get_tag``/``delete_tag`` for catalog entities other than files.

Feature groups, training datasets, experiment runs and model versions are tagged alike: a tag is
a value of a workspace tag schema, stored against the entity's search kind and reference. Each
class says how to open a transaction that checks access and that the entity still exists.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from eolab.datasets import tags as tag_store
from eolab.errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from eolab.access import Caller
    from eolab.catalog.models import Project as ProjectRow


class Taggable:
    """Tag methods over ``_tag_kind``, ``_tag_ref()``, ``_tag_tx(write)`` and ``_tag_caller()``."""

    _tag_kind: str

    def _tag_ref(self) -> str:
        raise NotImplementedError

    def _tag_what(self) -> str:
        raise NotImplementedError

    def _tag_caller(self) -> Caller:
        raise NotImplementedError

    def _tag_tx(self, write: bool) -> AbstractContextManager[tuple[Session, ProjectRow]]:
        """A catalog transaction that has checked the caller's access and that the entity
        exists; yields (session, project row)."""
        raise NotImplementedError

    def add_tag(self, name: str, value: Any) -> None:
        """Attach (or replace) the tag of schema ``name`` (a workspace tag schema)."""
        with self._tag_tx(True) as (s, project):
            tag_store.add_tag(
                s, self._tag_caller(), project.id, self._tag_kind, self._tag_ref(), name, value
            )

    def get_tags(self) -> dict[str, Any]:
        with self._tag_tx(False) as (s, _project):
            return tag_store.get_tags(s, self._tag_kind, self._tag_ref())

    def get_tag(self, name: str) -> Any:
        tags = self.get_tags()
        if name not in tags:
            raise NotFound(f"{self._tag_what()} has no tag {name!r}")
        return tags[name]

    def delete_tag(self, name: str) -> None:
        with self._tag_tx(True) as (s, _project):
            tag_store.delete_tag(s, self._tag_kind, self._tag_ref(), name)


__all__ = ["Taggable"]
