"""The catalog database: WAL mode, schema version and upgrades, reopening, lock retries."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import eolab
from eolab import errors
from eolab.catalog import migrations
from eolab.workspace import reset_shared_catalogs


@pytest.fixture
def busy_workspace(tmp_path: Path) -> Iterator[eolab.Workspace]:
    """A workspace in its own home that gives up on a locked catalog after ~0.45 s."""
    ws = eolab.Workspace.open(
        tmp_path / "busy-home", user="alice", catalog_busy_timeout_s=0.2, catalog_retries=1
    )
    yield ws
    reset_shared_catalogs()


def test_sqlite_catalog_runs_in_wal_mode_with_foreign_keys(workspace: eolab.Workspace) -> None:
    assert workspace.catalog.is_sqlite
    with workspace.catalog.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert (workspace.home / "catalog.db").is_file()


def test_schema_version_is_recorded(workspace: eolab.Workspace) -> None:
    assert workspace.catalog.meta("schema_version") == str(migrations.HEAD)
    assert workspace.catalog.meta("no_such_key") is None


def test_reopening_keeps_data_and_first_admin(workspace: eolab.Workspace, home: Path) -> None:
    workspace.create_project("ExtremeEarth", "polar scenes")
    reset_shared_catalogs()

    bob = eolab.Workspace.open(home, user="bob")
    alice = eolab.Workspace.open(home, user="alice")

    assert bob.catalog is not workspace.catalog  # really a new engine on the same file
    assert [p.name for p in alice.list_projects()] == ["ExtremeEarth"]
    assert alice.list_projects()[0].description == "polar scenes"
    assert alice.whoami().is_admin
    assert not bob.whoami().is_admin
    assert alice.catalog.meta("schema_version") == str(migrations.HEAD)


def test_upgrade_runs_each_new_step_once(
    workspace: eolab.Workspace, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def step(session: Session, is_sqlite: bool) -> None:
        calls.append(1)
        session.connection().exec_driver_sql("CREATE TABLE upgraded_marker (x INTEGER)")

    monkeypatch.setattr(migrations, "MIGRATIONS", [(migrations.HEAD + 1, step)])
    monkeypatch.setattr(migrations, "HEAD", migrations.HEAD + 1)
    reset_shared_catalogs()
    ws = eolab.Workspace.open(home, user="alice")
    assert calls == [1]
    assert ws.catalog.meta("schema_version") == str(migrations.HEAD)
    with ws.catalog.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM upgraded_marker").scalar() == 0

    reset_shared_catalogs()
    eolab.Workspace.open(home, user="alice")
    assert calls == [1]  # already at HEAD: not applied again


def test_failed_upgrade_step_leaves_version_and_tables_unchanged(
    workspace: eolab.Workspace, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = workspace.catalog.meta("schema_version")

    def step(session: Session, is_sqlite: bool) -> None:
        session.connection().exec_driver_sql("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("step failed")

    monkeypatch.setattr(migrations, "MIGRATIONS", [(migrations.HEAD + 1, step)])
    monkeypatch.setattr(migrations, "HEAD", migrations.HEAD + 1)
    reset_shared_catalogs()
    with pytest.raises(RuntimeError, match="step failed"):
        eolab.Workspace.open(home, user="alice")
    reset_shared_catalogs()
    conn = sqlite3.connect(home / "catalog.db")
    try:
        version = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert version == (before,)
    assert "half_done" not in tables


def test_write_while_locked_raises_catalog_busy_after_retries(
    busy_workspace: eolab.Workspace,
) -> None:
    ws = busy_workspace
    holder = sqlite3.connect(ws.home / "catalog.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(errors.CatalogBusy) as caught:
            ws.create_project("Locked")
        waited = time.monotonic() - started
        assert caught.value.http_status == 503
        assert "2 tries" in caught.value.message  # first try + 1 retry
        assert waited >= 0.35  # two busy timeouts of 0.2 s, not an immediate failure
        assert ws.list_projects() == []  # WAL: readers are not blocked by the writer
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert ws.list_projects() == []
    assert not (ws.home / "projects" / "Locked").exists()
    assert ws.search("Locked").total == 0
    ws.create_project("Unlocked")  # the lock is gone: writes work again
    assert [p.name for p in ws.list_projects()] == ["Unlocked"]
