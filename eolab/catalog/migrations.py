"""Schema upgrades, applied in order when the catalog is opened.

A new catalog is created at the head schema. An older one gets every step whose number is
above its recorded ``schema_version``. New tables need no step (``create_all`` adds missing
tables); a step is needed for changed columns. Append steps; never edit a released one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from eolab.catalog.models import Base, Meta

_FTS_SQL = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(
        name, description, tags, content='search_entries', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    # rank = bm25 weighting a match in the name over one in tags over one in the description
    "INSERT INTO search_fts(search_fts, rank) VALUES ('rank', 'bm25(10.0, 2.0, 4.0)')",
    """CREATE TRIGGER IF NOT EXISTS search_ai AFTER INSERT ON search_entries BEGIN
        INSERT INTO search_fts(rowid, name, description, tags)
        VALUES (new.id, new.name, new.description, new.tags); END""",
    """CREATE TRIGGER IF NOT EXISTS search_ad AFTER DELETE ON search_entries BEGIN
        INSERT INTO search_fts(search_fts, rowid, name, description, tags)
        VALUES ('delete', old.id, old.name, old.description, old.tags); END""",
    """CREATE TRIGGER IF NOT EXISTS search_au AFTER UPDATE ON search_entries BEGIN
        INSERT INTO search_fts(search_fts, rowid, name, description, tags)
        VALUES ('delete', old.id, old.name, old.description, old.tags);
        INSERT INTO search_fts(rowid, name, description, tags)
        VALUES (new.id, new.name, new.description, new.tags); END""",
]


def _add_serving_log_sampling(session: Session, is_sqlite: bool) -> None:
    """Version 2: servings.log_sampling (sampled inference logging; 1.0 = every request)."""
    conn = session.connection()
    if "log_sampling" not in {c["name"] for c in inspect(conn).get_columns("servings")}:
        conn.exec_driver_sql(
            "ALTER TABLE servings ADD COLUMN log_sampling FLOAT NOT NULL DEFAULT 1.0"
        )


# (version, step): each step upgrades a catalog from version-1 to version.
MIGRATIONS: list[tuple[int, Callable[[Session, bool], None]]] = [
    (2, _add_serving_log_sampling),
]
HEAD = max((v for v, _ in MIGRATIONS), default=1)


def _create_search_index(session: Session, is_sqlite: bool) -> None:
    if is_sqlite:
        for statement in _FTS_SQL:
            session.connection().exec_driver_sql(statement)


def upgrade(session: Session, is_sqlite: bool) -> int:
    """Bring the catalog to HEAD; return the version it was at (0 for a new catalog)."""
    conn = session.connection()
    is_new = not inspect(conn).has_table("meta")
    Base.metadata.create_all(conn, checkfirst=True)
    _create_search_index(session, is_sqlite)
    if is_new:
        session.merge(Meta(key="schema_version", value=str(HEAD)))
        return 0
    current = int(session.scalar(select(Meta.value).where(Meta.key == "schema_version")) or 1)
    for version, step in MIGRATIONS:
        if version > current:
            step(session, is_sqlite)
    session.merge(Meta(key="schema_version", value=str(max(current, HEAD))))
    return current
