"""Python's ``sqlite3`` bound to the system SQLite, even when TensorFlow was imported first.

TensorFlow loads its own SQLite build (without FTS5) into the global symbol scope; a
``sqlite3`` module loaded after it binds to that build, and the catalog's full-text search
index then fails with "no such module: fts5". Loading ``_sqlite3`` with ``RTLD_DEEPBIND``
makes it prefer its own libsqlite3. :func:`load` runs when eolab is imported; if ``sqlite3``
was already loaded against another build, :func:`require_fts5` says so clearly.
"""

from __future__ import annotations

import os
import sys

from eolab.errors import ConfigurationError


def load() -> None:
    """Import ``sqlite3`` now, deep-bound to its own libsqlite3 where the platform allows."""
    deepbind = getattr(os, "RTLD_DEEPBIND", 0)
    if "_sqlite3" in sys.modules or not deepbind:
        return
    flags = sys.getdlopenflags()
    sys.setdlopenflags(flags | deepbind)
    try:
        import sqlite3  # noqa: F401 - loaded for its side effect: the binding
    finally:
        sys.setdlopenflags(flags)


def require_fts5(connection: object) -> None:
    """Refuse a SQLite build without FTS5 with the reason and the fix."""
    import sqlite3

    try:
        connection.execute("SELECT fts5(?1)", ("",))  # type: ignore[attr-defined]
    except sqlite3.OperationalError as exc:
        if "no such function: fts5" not in str(exc):
            return  # fts5 exists (it only refuses this call)
        raise ConfigurationError(
            f"the SQLite loaded in this process ({sqlite3.sqlite_version}) has no FTS5, which "
            "the eolab catalog's search index needs; this happens when TensorFlow is imported "
            "before Python's sqlite3 module: import eolab (or sqlite3) before tensorflow"
        ) from exc
