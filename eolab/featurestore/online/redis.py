"""The online store on Redis (``redis://host:port/db``), for serving at scale.

Layout: **one hash per table**, ``{namespace}:{table}``, with field = the row's primary key
(a JSON array, e.g. ``[3]`` or ``["a",7]``) and value = the row as one compact JSON array (see
:mod:`~eolab.featurestore.online.codec`); the table's schema is the string key
``{namespace}:{table}:schema``. A lookup is one ``HGET`` (a batch one ``HMGET``) returning a
single blob, which is cheaper than ``HGETALL`` of a hash-per-row (one field and one decode per
column), and ``count`` (``HLEN``) and ``drop`` (``UNLINK``) need no key scan. The price: a
table lives on one Redis node (no cluster sharding of one table) and rows cannot carry their
own TTL. Writes are pipelined in one ``MULTI``/``EXEC``, so a write is all-or-nothing.
Concurrent writers that add columns to the same table should be serialised by the caller.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pandas as pd

from eolab.errors import ConfigurationError, InvalidInput, NotFound
from eolab.featurestore.online.base import DataLike, OnlineStore
from eolab.featurestore.online.codec import (
    TABLE_NAME,
    TableSchema,
    check_table_name,
    encode_frame,
    encode_keys,
    entry_key,
)

CHUNK = 1000  # rows per HSET/HDEL command inside a pipeline
_FIELD = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _field(key: tuple) -> str:
    if key and isinstance(key[0], bytes):
        key = tuple(k.hex() if isinstance(k, bytes) else k for k in key)
    return _FIELD(key)


class RedisOnlineStore(OnlineStore):
    """Online store on a Redis server; ``namespace`` prefixes every key (e.g. per project)."""

    kind = "redis"

    def __init__(self, url: str, namespace: str = "eolab", timeout_s: float = 5.0) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - redis is in the [redis] extra
            raise ConfigurationError(
                f"online store {url} needs the redis package: pip install 'eolab[redis]'"
            ) from exc
        if not isinstance(namespace, str) or not all(
            TABLE_NAME.match(p) for p in namespace.split(":")
        ):
            raise InvalidInput(
                f"online store namespace must be names joined by ':', got {namespace!r}"
            )
        self.url = url
        self.namespace = namespace
        self._errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
        try:
            self._client = redis.Redis.from_url(
                url, socket_connect_timeout=timeout_s, socket_timeout=max(timeout_s, 30.0)
            )
            self._client.ping()
        except (ValueError, redis.exceptions.RedisError) as exc:
            raise ConfigurationError(
                f"online store {url} is unreachable: {exc}", details={"url": url}
            ) from exc
        self._schemas: dict[str, TableSchema] = {}

    def _unreachable(self, exc: Exception) -> ConfigurationError:
        return ConfigurationError(
            f"online store {self.url} is unreachable: {exc}", details={"url": self.url}
        )

    def _key(self, table: str) -> str:
        return f"{self.namespace}:{check_table_name(table)}"

    # ---- schema ----------------------------------------------------------------------------

    def _load(self, table: str) -> TableSchema | None:
        raw = self._client.get(self._key(table) + ":schema")
        if raw is None:
            self._schemas.pop(table, None)
            return None
        schema = self._schemas[table] = TableSchema.from_json(raw)
        return schema

    def _schema(self, table: str) -> TableSchema:
        schema = self._schemas.get(table) or self._load(table)
        if schema is None:
            raise NotFound(f"online table {table!r} does not exist", details={"table": table})
        return schema

    def _decode(self, table: str, schema: TableSchema, blob: bytes) -> dict[str, Any]:
        row = schema.decode(blob)
        if row is None:  # another writer added columns since we cached the schema
            row = self._schema_reloaded(table).decode(blob)
        return row  # type: ignore[return-value]

    def _schema_reloaded(self, table: str) -> TableSchema:
        schema = self._load(table)
        if schema is None:
            raise NotFound(f"online table {table!r} does not exist", details={"table": table})
        return schema

    # ---- writes ------------------------------------------------------------------------------

    def write(self, table: str, data: DataLike, primary_key: list[str]) -> int:
        key = self._key(table)
        frame = encode_frame(data, primary_key)
        pk = list(primary_key) if not isinstance(primary_key, str) else [primary_key]
        try:
            old = self._load(table)
            schema = TableSchema(pk, frame.specs) if old is None else old.merged(pk, frame.specs)
            blobs = frame.blobs(schema)
            pipe = self._client.pipeline(transaction=True)
            if schema != old:
                pipe.set(key + ":schema", schema.to_json())
            fields = [_field(k) for k in frame.keys]
            for i in range(0, len(blobs), CHUNK):
                pipe.hset(
                    key, mapping=dict(zip(fields[i : i + CHUNK], blobs[i : i + CHUNK], strict=True))
                )
            pipe.execute()
        except self._errors as exc:
            raise self._unreachable(exc) from exc
        self._schemas[table] = schema
        return frame.num_rows

    def delete(self, table: str, keys: DataLike) -> int:
        key = self._key(table)
        try:
            schema = self._schemas.get(table) or self._load(table)
            if schema is None:
                return 0
            fields = [_field(k) for k in encode_keys(keys, schema.primary_key)]
            if not fields:
                return 0
            pipe = self._client.pipeline(transaction=True)
            for i in range(0, len(fields), CHUNK):
                pipe.hdel(key, *fields[i : i + CHUNK])
            return int(sum(pipe.execute()))
        except self._errors as exc:
            raise self._unreachable(exc) from exc

    def drop(self, table: str) -> None:
        key = self._key(table)
        try:
            self._client.unlink(key, key + ":schema")
        except self._errors as exc:
            raise self._unreachable(exc) from exc
        finally:
            self._schemas.pop(table, None)

    # ---- reads -------------------------------------------------------------------------------

    def get(self, table: str, entry: dict[str, Any]) -> dict[str, Any] | None:
        try:
            schema = self._schemas.get(table) or self._schema(table)
            blob = self._client.hget(
                f"{self.namespace}:{table}", _field(entry_key(entry, schema.primary_key))
            )
            if blob is None:
                return None
            return self._decode(table, schema, blob)
        except self._errors as exc:
            raise self._unreachable(exc) from exc

    def get_many(self, table: str, entries: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        try:
            schema = self._schemas.get(table) or self._schema(table)
            if not entries:
                return []
            fields = [_field(entry_key(e, schema.primary_key)) for e in entries]
            blobs = self._client.hmget(self._key(table), fields)
            return [None if b is None else self._decode(table, schema, b) for b in blobs]
        except self._errors as exc:
            raise self._unreachable(exc) from exc

    def read_all(self, table: str) -> pd.DataFrame:
        key = self._key(table)
        try:
            schema = self._schema_reloaded(table)
            items = list(self._client.hscan_iter(key, count=1000))
        except self._errors as exc:
            raise self._unreachable(exc) from exc
        frame = schema.frame([blob for _, blob in items])
        if len(frame) > 1:
            # keys of mixed types cannot be sorted: they stay in hash order
            with contextlib.suppress(TypeError):
                frame = frame.sort_values(schema.primary_key, ignore_index=True, kind="stable")
        return frame

    def count(self, table: str) -> int:
        key = self._key(table)
        try:
            return int(self._client.hlen(key))
        except self._errors as exc:
            raise self._unreachable(exc) from exc

    def close(self) -> None:
        self._client.close()
        self._schemas.clear()

    def __repr__(self) -> str:
        return f"RedisOnlineStore({self.url!r}, namespace={self.namespace!r})"
