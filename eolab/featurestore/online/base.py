"""The online-store interface: the latest row per primary key of each feature group table.

A table is addressed by a key string such as ``"fg_iceberg_1"`` (a letter, then letters, digits
or ``_``). Its primary key is fixed by its first write; columns may be added by later writes.
Rows are upserted whole. Every backend stores rows as described in
:mod:`eolab.featurestore.online.codec`, so values read back are the values written.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import pandas as pd
import pyarrow as pa

DataLike = pd.DataFrame | pa.Table


class OnlineStore(ABC):
    """Key-value access to feature rows; no I/O outside the store itself."""

    #: "sqlite" or "redis"
    kind: str

    @abstractmethod
    def write(self, table: str, data: DataLike, primary_key: list[str]) -> int:
        """Upsert the rows of ``data`` (one call is all or nothing); returns how many."""

    @abstractmethod
    def delete(self, table: str, keys: DataLike) -> int:
        """Delete the rows whose primary keys are in ``keys``; returns how many existed."""

    @abstractmethod
    def get(self, table: str, entry: dict[str, Any]) -> dict[str, Any] | None:
        """The row with primary key ``entry`` (``{pk: value}``), or None if there is none."""

    @abstractmethod
    def get_many(self, table: str, entries: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
        """``get`` for each entry, in order (None where a row is missing)."""

    @abstractmethod
    def read_all(self, table: str) -> pd.DataFrame:
        """Every row of ``table``, ordered by primary key, in the dtypes it was written with."""

    @abstractmethod
    def count(self, table: str) -> int:
        """Number of rows in ``table`` (0 when it does not exist)."""

    @abstractmethod
    def drop(self, table: str) -> None:
        """Remove ``table`` and its schema (nothing happens if it does not exist)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    def __enter__(self) -> OnlineStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
