"""The workspace: ``EOLAB_HOME`` on disk, its catalog, and the identity calls run as.

One :class:`Workspace` per process and home is shared (the catalog engine is opened once);
:meth:`Workspace.as_caller` gives a view of the same workspace for another identity, which is
how the REST server serves many users.
"""

from __future__ import annotations

import getpass
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from eolab import search as search_index
from eolab import users
from eolab.access import Caller
from eolab.catalog import Catalog
from eolab.config import Settings, load_settings
from eolab.datasets import tags as tag_store

if TYPE_CHECKING:
    from eolab.projects import Project

_catalogs: dict[str, Catalog] = {}
_catalogs_lock = threading.Lock()


def _shared_catalog(settings: Settings) -> Catalog:
    url = settings.resolved_catalog_url
    with _catalogs_lock:
        if url not in _catalogs:
            settings.home.mkdir(parents=True, exist_ok=True)
            _catalogs[url] = Catalog(url, settings.catalog_busy_timeout_s, settings.catalog_retries)
        return _catalogs[url]


def default_user_name() -> str:
    """The Jupyter user (JupyterHub's, when there is one) or else the OS user."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


class Workspace:
    """Entry to everything above a single project: projects, users, tag schemas, keys, search."""

    def __init__(self, settings: Settings, catalog: Catalog, caller: Caller) -> None:
        self.settings = settings
        self.catalog = catalog
        self.caller = caller

    @classmethod
    def open(
        cls,
        home: str | Path | None = None,
        user: str | None = None,
        api_key: str | None = None,
        **settings_overrides: Any,
    ) -> Workspace:
        """Open (creating on first use) the workspace, as ``user``, an API key's user, or the
        default identity."""
        settings = load_settings(home, **settings_overrides)
        catalog = _shared_catalog(settings)
        with catalog.transaction() as s:
            if api_key:
                caller = users.authenticate_api_key(s, api_key)
            else:
                caller = users.caller_for(
                    users.ensure_user(s, user or settings.user or default_user_name())
                )
        return cls(settings, catalog, caller)

    def as_caller(self, caller: Caller) -> Workspace:
        return Workspace(self.settings, self.catalog, caller)

    def as_api_key(self, api_key: str) -> Workspace:
        with self.tx() as s:
            return self.as_caller(users.authenticate_api_key(s, api_key))

    def as_user(self, name: str) -> Workspace:
        """The same workspace as the user ``name`` (registered on first use)."""
        with self.tx() as s:
            return self.as_caller(users.caller_for(users.ensure_user(s, name)))

    @contextmanager
    def tx(self, write: bool = True) -> Iterator[Session]:
        with self.catalog.transaction(write) as session:
            yield session

    # ---- paths ---------------------------------------------------------------------------

    @property
    def home(self) -> Path:
        return self.settings.home

    def project_root(self, name: str) -> Path:
        return self.home / "projects" / name

    # ---- users and keys ------------------------------------------------------------------

    def whoami(self) -> users.UserInfo:
        with self.tx(write=False) as s:
            return next(u for u in users.list_users(s) if u.name == self.caller.name)

    def bound_project_name(self) -> str | None:
        """The project an API key is bound to, if the caller came with such a key."""
        if self.caller.key_project_id is None:
            return None
        with self.tx(write=False) as s:
            return users.project_name(s, self.caller.key_project_id)

    def create_user(self, name: str, email: str = "", admin: bool = False) -> users.UserInfo:
        with self.tx() as s:
            return users.create_user(s, self.caller, name, email, admin)

    def list_users(self) -> list[users.UserInfo]:
        with self.tx(write=False) as s:
            return users.list_users(s)

    def create_api_key(
        self,
        name: str,
        scopes: list[str],
        expires_in_days: float | None = None,
        project: str | None = None,
    ) -> tuple[str, users.ApiKeyInfo]:
        """A new key for the caller: returns the secret (shown only now) and its description."""
        with self.tx() as s:
            return users.create_api_key(s, self.caller, name, scopes, expires_in_days, project)

    def list_api_keys(self, project: str | None = None) -> list[users.ApiKeyInfo]:
        with self.tx(write=False) as s:
            return users.list_api_keys(s, self.caller, project)

    def revoke_api_key(self, prefix: str) -> users.ApiKeyInfo:
        with self.tx() as s:
            return users.revoke_api_key(s, self.caller, prefix)

    # ---- projects ------------------------------------------------------------------------

    def create_project(self, name: str, description: str = "") -> Project:
        from eolab.projects import create_project

        return create_project(self, name, description)

    def get_project(self, name: str) -> Project:
        from eolab.projects import get_project

        return get_project(self, name)

    def list_projects(self) -> list[Any]:
        from eolab.projects import list_projects

        return list_projects(self)

    def delete_project(self, name: str, confirm: str | None = None) -> None:
        from eolab.projects import delete_project

        delete_project(self, name, confirm)

    # ---- tag schemas ---------------------------------------------------------------------

    def create_tag_schema(
        self, name: str, schema: dict[str, Any] | str, description: str = ""
    ) -> tag_store.TagSchemaInfo:
        with self.tx() as s:
            return tag_store.create_tag_schema(s, self.caller, name, schema, description)

    def get_tag_schema(self, name: str) -> tag_store.TagSchemaInfo:
        with self.tx(write=False) as s:
            return tag_store.get_tag_schema(s, name)

    def list_tag_schemas(self) -> list[tag_store.TagSchemaInfo]:
        with self.tx(write=False) as s:
            return tag_store.list_tag_schemas(s)

    # ---- search --------------------------------------------------------------------------

    def search(
        self,
        term: str,
        scope: str = "everything",
        project: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> search_index.SearchResult:
        with self.tx(write=False) as s:
            return search_index.search(s, self.caller, term, scope, project, limit, offset)

    def __repr__(self) -> str:
        return f"Workspace(home={str(self.home)!r}, user={self.caller.name!r})"


def reset_shared_catalogs() -> None:
    """Forget opened catalogs (tests that delete a home use it)."""
    with _catalogs_lock:
        for catalog in _catalogs.values():
            catalog.dispose()
        _catalogs.clear()


__all__ = ["Workspace", "default_user_name", "reset_shared_catalogs"]
