"""An older catalog is upgraded in place when opened: missing columns are added with their
defaults, rows already there keep their values, and the recorded schema version moves to HEAD."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from eolab.catalog.migrations import HEAD
from eolab.workspace import Workspace, reset_shared_catalogs


def _downgrade_to_version_1(db: Path) -> None:
    """What a catalog written before sampled inference logging looks like."""
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE servings DROP COLUMN log_sampling")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")


def test_a_version_1_catalog_gets_log_sampling_and_keeps_its_rows(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ws = Workspace.open(home, user="alice")
    assert ws.catalog.meta("schema_version") == str(HEAD) and HEAD >= 2
    ws.create_project("ExtremeEarth", "sea ice chips")
    reset_shared_catalogs()
    _downgrade_to_version_1(home / "catalog.db")
    with sqlite3.connect(home / "catalog.db") as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(servings)")}
    assert "log_sampling" not in columns

    ws = Workspace.open(home, user="alice")
    assert ws.catalog.meta("schema_version") == str(HEAD)
    assert [p.name for p in ws.list_projects()] == ["ExtremeEarth"]
    with sqlite3.connect(home / "catalog.db") as conn:
        column = {row[1]: row for row in conn.execute("PRAGMA table_info(servings)")}
    assert column["log_sampling"][3] == 1 and column["log_sampling"][4] == "1.0"  # NOT NULL 1.0
    reset_shared_catalogs()
