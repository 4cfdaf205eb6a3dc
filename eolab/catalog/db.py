"""The catalog database: engine set-up, schema upgrades, and transactions with lock retries.

SQLite (default) runs in WAL mode with foreign keys on. Write transactions start with
``BEGIN IMMEDIATE`` so that the lock is taken up front: a second process holding the catalog
makes us wait (busy timeout), retry a few times, then raise :class:`CatalogBusy`, instead of
failing half-way through a change.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from eolab.catalog.migrations import upgrade
from eolab.catalog.models import Meta
from eolab.catalog.sqlite_module import require_fts5
from eolab.errors import CatalogBusy, ConfigurationError


def _is_locked(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


class Catalog:
    """One catalog database, opened and upgraded once per workspace."""

    def __init__(self, url: str, busy_timeout_s: float = 5.0, retries: int = 3) -> None:
        self.url = url
        self.retries = retries
        self.busy_timeout_s = busy_timeout_s
        try:
            self.engine: Engine = create_engine(url, future=True)
        except Exception as exc:  # noqa: BLE001 - any driver/URL problem is a config error
            raise ConfigurationError(f"cannot open catalog {url!r}: {exc}") from exc
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            self._configure_sqlite(int(busy_timeout_s * 1000))
        with self.transaction() as session:
            upgrade(session, self.is_sqlite)

    def _configure_sqlite(self, busy_ms: int) -> None:
        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            require_fts5(dbapi_conn)  # the search index needs it; say why if it is missing
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
            conn.exec_driver_sql(conn.info.get("begin_sql", "BEGIN IMMEDIATE"))

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error."""
        conn = self._begin(write)
        trans = conn.get_transaction()
        session = Session(bind=conn, expire_on_commit=False, autoflush=True)
        try:
            yield session
            session.flush()
            trans.commit()
        except OperationalError as exc:
            trans.rollback()
            if _is_locked(exc):
                raise CatalogBusy(self._busy_message()) from exc
            raise
        except BaseException:
            trans.rollback()
            raise
        finally:
            session.close()
            conn.close()

    def _begin(self, write: bool):  # type: ignore[no-untyped-def]
        for attempt in range(self.retries + 1):
            try:
                conn = self.engine.connect()
            except OperationalError as exc:
                raise ConfigurationError(f"cannot open catalog {self.url}: {exc.orig}") from exc
            conn.info["begin_sql"] = "BEGIN IMMEDIATE" if write else "BEGIN"
            try:
                conn.begin()
                return conn
            except OperationalError as exc:
                conn.close()
                if not _is_locked(exc):
                    raise ConfigurationError(f"cannot use catalog {self.url}: {exc.orig}") from exc
                if attempt == self.retries:
                    raise CatalogBusy(self._busy_message()) from exc
                time.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def _busy_message(self) -> str:
        return (
            f"the catalog {self.url} stayed locked by another process for "
            f"{self.retries + 1} tries of {self.busy_timeout_s:g} s; try again, or stop the "
            "process that holds it"
        )

    def meta(self, key: str) -> str | None:
        with self.transaction(write=False) as s:
            return s.scalar(select(Meta.value).where(Meta.key == key))

    def dispose(self) -> None:
        self.engine.dispose()
