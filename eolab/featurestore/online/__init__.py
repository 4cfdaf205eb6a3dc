"""Online feature store: the latest row per primary key, for low-latency lookups.

Backends (one interface, :class:`OnlineStore`, chosen by the ``EOLAB_ONLINE_STORE`` URL):

- empty (default): SQLite file ``<EOLAB_HOME>/projects/<project>/FeatureStore/online.db``;
- ``sqlite:///path/to/online.db``: another SQLite file;
- ``redis://host:port/db`` (or ``rediss://``, ``unix://``): a Redis server.

    store = open_online_store(online_store_url(), online_store_path(home, project))
    store.write("fg_iceberg_1", df, primary_key=["id"])
    store.get("fg_iceberg_1", {"id": 3})
"""

from __future__ import annotations

import os
from pathlib import Path

from eolab.errors import ConfigurationError
from eolab.featurestore.online.base import OnlineStore
from eolab.featurestore.online.sqlite import SQLiteOnlineStore

ENV_VAR = "EOLAB_ONLINE_STORE"
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def online_store_url() -> str:
    """The configured online store URL (``$EOLAB_ONLINE_STORE``; empty means SQLite)."""
    return os.environ.get(ENV_VAR, "").strip()


def online_store_path(home: str | Path, project: str) -> Path:
    """The default SQLite online store file of ``project`` in workspace ``home``."""
    return Path(home) / "projects" / project / "FeatureStore" / "online.db"


def open_online_store(url: str, default_path: Path, namespace: str = "eolab") -> OnlineStore:
    """The online store for ``url`` (empty: SQLite at ``default_path``).

    ``namespace`` prefixes Redis keys (pass e.g. ``"eolab:ExtremeEarth"`` so that projects
    sharing one Redis database do not meet); SQLite files are per project already.
    """
    url = (url or "").strip()
    if not url:
        return SQLiteOnlineStore(default_path)
    if url.startswith("sqlite:///"):
        # SQLAlchemy's convention: sqlite:///relative.db, sqlite:////absolute.db
        return SQLiteOnlineStore(Path(url[len("sqlite:///") :]).expanduser())
    if url.startswith(_REDIS_SCHEMES):
        from eolab.featurestore.online.redis import RedisOnlineStore

        return RedisOnlineStore(url, namespace=namespace)
    raise ConfigurationError(
        f"{ENV_VAR} must be empty, sqlite:///PATH or redis://HOST:PORT/DB, got {url!r}",
        details={"url": url},
    )


__all__ = [
    "ENV_VAR",
    "OnlineStore",
    "SQLiteOnlineStore",
    "online_store_path",
    "online_store_url",
    "open_online_store",
]
