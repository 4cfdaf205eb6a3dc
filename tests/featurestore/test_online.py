"""Online store: SQLite file and a real redis-server, same behaviour through one interface."""

from __future__ import annotations

import datetime as dt
import gc
import math
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from eolab.errors import ConfigurationError, InvalidInput, NotFound
from eolab.featurestore.online import (
    OnlineStore,
    SQLiteOnlineStore,
    online_store_path,
    online_store_url,
    open_online_store,
)

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
TABLE = "fg_iceberg_1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throw-away redis-server on a free 127.0.0.1 port, without persistence."""
    if not Path(REDIS_SERVER).exists():
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.02)
        client.close()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(params=["sqlite", "redis"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path):
    """Opens stores of the parametrised kind on one database (SQLite file or Redis db)."""
    opened: list[OnlineStore] = []
    if request.param == "sqlite":
        url, path = "", tmp_path / "FeatureStore" / "online.db"
    else:
        url, path = request.getfixturevalue("redis_url"), tmp_path / "unused.db"

    def make() -> OnlineStore:
        store = open_online_store(url, path, namespace="eolab:test")
        opened.append(store)
        return store

    yield make
    if request.param == "redis":
        import redis

        redis.Redis.from_url(url).flushdb()
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory) -> OnlineStore:
    return store_factory()


def _same(a, b) -> bool:
    """Equality where NaN equals NaN, recursively through lists."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3],
            "band_avg": [-21.5, np.nan, 0.25],
            "maybe": pd.Series([1.5, None, float("nan")], dtype=object),
            "band_1": [[0.1, float("nan"), -3.0], None, np.array([1.0, 2.0])],
            "name": ["ship", None, "iceberg"],
            "count": [10, -2, 2**40],
            "is_iceberg": [True, False, True],
            "taken": pd.to_datetime(
                ["2024-01-01T00:00:00.000001Z", None, "2024-03-01T10:00:00.123456Z"],
                format="ISO8601",
            ),
            "day": [dt.date(2024, 1, 1), dt.date(2024, 2, 29), None],
            "raw": [b"\x00\x01", None, b"\xff"],
        }
    )


# ---- round trips --------------------------------------------------------------------------------


def test_round_trip_of_every_type(store: OnlineStore) -> None:
    df = _frame()
    assert store.write(TABLE, df, ["id"]) == 3
    one, two, three = (store.get(TABLE, {"id": i}) for i in (1, 2, 3))
    assert one is not None and two is not None and three is not None
    assert one["id"] == 1 and type(one["id"]) is int
    assert one["band_avg"] == -21.5 and math.isnan(two["band_avg"])
    assert one["maybe"] == 1.5 and two["maybe"] is None and math.isnan(three["maybe"])
    assert _same(one["band_1"], [0.1, float("nan"), -3.0])
    assert two["band_1"] is None and three["band_1"].tolist() == [1.0, 2.0]  # ndarray stays
    assert one["name"] == "ship" and two["name"] is None
    assert three["count"] == 2**40 and type(three["count"]) is int
    assert one["is_iceberg"] is True and two["is_iceberg"] is False
    assert one["taken"] == pd.Timestamp("2024-01-01T00:00:00.000001Z")
    assert one["taken"].tzinfo is not None and two["taken"] is None
    assert three["taken"] == pd.Timestamp("2024-03-01T10:00:00.123456Z")
    assert two["day"] == dt.date(2024, 2, 29) and three["day"] is None
    assert one["raw"] == b"\x00\x01" and two["raw"] is None
    assert list(one) == list(df.columns)


def test_round_trip_of_arrow_keeps_nan_apart_from_null(store: OnlineStore) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int32()),
            "x": pa.array([float("nan"), None], pa.float64()),
            "vec": pa.array([[1.5, None, float("nan")], []], pa.list_(pa.float32())),
            "ts": pa.array([1_000, None], pa.timestamp("ms")),
            "d": pa.array([19000, None], pa.date32()),
            "dec": pa.array([Decimal("1.25"), None], pa.decimal128(5, 2)),
            "s": pa.array(["a", None], pa.large_string()),
        }
    )
    store.write(TABLE, table, ["id"])
    one, two = store.get_many(TABLE, [{"id": 1}, {"id": 2}])
    assert math.isnan(one["x"]) and two["x"] is None
    assert _same(one["vec"], [1.5, None, float("nan")]) and two["vec"] == []
    assert one["ts"] == pd.Timestamp("1970-01-01 00:00:01") and two["ts"] is None
    assert one["d"] == dt.date(2022, 1, 8) and one["dec"] == Decimal("1.25")
    assert one["s"] == "a" and two["s"] is None


def test_numeric_arrays_are_packed_bit_exact(store: OnlineStore) -> None:
    rng = np.random.default_rng(3)
    chip = rng.normal(-20, 5, (2, 75, 75)).astype(np.float32)
    floats = rng.random(100).tolist() + [float("nan"), float("inf"), -0.0]
    with_none = [*floats[:20], None]
    df = pd.DataFrame(
        {
            "id": [1, 2],
            "chip": [chip, None],
            "floats": [floats, with_none],
            "ints": [np.arange(40, dtype=np.int16), list(range(40))],
        }
    )
    store.write(TABLE, df, ["id"])
    one, two = store.get_many(TABLE, [{"id": 1}, {"id": 2}])
    assert one["chip"].dtype == np.float32 and one["chip"].shape == (2, 75, 75)
    assert np.array_equal(one["chip"], chip) and two["chip"] is None
    assert _same(one["floats"], floats) and _same(two["floats"], with_none)
    assert one["ints"].dtype == np.int16 and two["ints"] == list(range(40))
    one["chip"][0, 0, 0] = 1.0  # a writable copy
    back = store.read_all(TABLE)  # rows with and without packed arrays
    assert np.array_equal(back["chip"][0], chip) and back["chip"][1] is None
    assert _same(back["floats"][0], floats) and _same(back["floats"][1], with_none)
    table = pa.table(
        {
            "id": [1, 2, 3],
            "v": pa.array([floats[:50], None, floats[:3]], pa.list_(pa.float32())),
        }
    ).slice(1)
    store.write("fg_arrow_1", table, ["id"])
    assert store.get("fg_arrow_1", {"id": 2})["v"] is None
    assert store.get("fg_arrow_1", {"id": 3})["v"] == pa.array(floats[:3], pa.float32()).tolist()
    store.write("fg_arrow_1", pa.table({"id": [4], "v": [floats[:50]]}), ["id"])
    expected = pa.array(floats[:50], pa.float64()).tolist()
    assert _same(store.get("fg_arrow_1", {"id": 4})["v"], expected)


def test_kinds_settle_on_first_values_and_units_convert(store: OnlineStore) -> None:
    store.write(TABLE, pd.DataFrame({"id": [1], "t": pd.Series([None], dtype=object)}), ["id"])
    later = pd.to_datetime(["2024-01-01 00:00:00.123456789"]).as_unit("ns")
    store.write(TABLE, pd.DataFrame({"id": [2], "t": later}), ["id"])
    assert store.get(TABLE, {"id": 1})["t"] is None
    assert store.get(TABLE, {"id": 2})["t"] == later[0]
    store.write(TABLE, pd.DataFrame({"id": [3], "t": later.as_unit("ms")}), ["id"])
    assert store.get(TABLE, {"id": 3})["t"] == pd.Timestamp("2024-01-01 00:00:00.123")


def test_read_all_gives_back_the_frame(store: OnlineStore) -> None:
    df = _frame().drop(columns=["maybe"])
    store.write(TABLE, df.iloc[::-1], ["id"])
    back = store.read_all(TABLE)
    assert list(back.columns) == list(df.columns)
    assert back["id"].tolist() == [1, 2, 3]  # ordered by primary key
    for col in ("id", "band_avg", "count", "is_iceberg", "taken", "name"):
        pd.testing.assert_series_equal(back[col], df[col], check_names=True)
    assert back["day"].tolist() == df["day"].tolist()
    assert _same(back["band_1"][0], [0.1, float("nan"), -3.0])


def test_read_all_of_empty_write(store: OnlineStore) -> None:
    store.write(TABLE, _frame().iloc[:0], ["id"])
    assert store.count(TABLE) == 0
    assert list(store.read_all(TABLE).columns) == list(_frame().columns)


# ---- upserts, deletes, batches -----------------------------------------------------------------


def test_upsert_replaces_rows_and_adds_new_ones(store: OnlineStore) -> None:
    store.write(TABLE, pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0]}), ["id"])
    store.write(TABLE, pd.DataFrame({"id": [2, 3, 3], "x": [20.0, 30.0, 31.0]}), ["id"])
    assert store.count(TABLE) == 3
    assert store.get(TABLE, {"id": 2}) == {"id": 2, "x": 20.0}
    assert store.get(TABLE, {"id": 3}) == {"id": 3, "x": 31.0}  # last duplicate wins
    assert store.get(TABLE, {"id": 1}) == {"id": 1, "x": 1.0}


def test_new_columns_are_appended(store_factory) -> None:
    writer, reader = store_factory(), store_factory()
    writer.write(TABLE, pd.DataFrame({"id": [1], "x": [1.0]}), ["id"])
    assert reader.get(TABLE, {"id": 1}) == {"id": 1, "x": 1.0}  # reader caches the schema
    writer.write(TABLE, pd.DataFrame({"id": [2], "x": [2.0], "y": ["new"]}), ["id"])
    assert reader.get(TABLE, {"id": 2}) == {"id": 2, "x": 2.0, "y": "new"}
    assert reader.get(TABLE, {"id": 1}) == {"id": 1, "x": 1.0, "y": None}


def test_delete(store: OnlineStore) -> None:
    store.write(TABLE, pd.DataFrame({"id": range(5), "x": np.arange(5.0)}), ["id"])
    assert store.delete(TABLE, pd.DataFrame({"id": [1, 3, 99]})) == 2
    assert store.count(TABLE) == 3
    assert store.get(TABLE, {"id": 1}) is None
    assert store.get(TABLE, {"id": 2}) == {"id": 2, "x": 2.0}
    assert store.delete(TABLE, pa.table({"id": [0]})) == 1
    assert store.delete("fg_absent_1", pd.DataFrame({"id": [1]})) == 0
    with pytest.raises(InvalidInput, match="'id'"):
        store.delete(TABLE, pd.DataFrame({"key": [2]}))
    assert store.count(TABLE) == 2


def test_get_many_with_missing_keys(store: OnlineStore) -> None:
    store.write(TABLE, pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0]}), ["id"])
    got = store.get_many(TABLE, [{"id": 2}, {"id": 7}, {"id": 1}, {"id": 2}])
    assert got == [{"id": 2, "x": 2.0}, None, {"id": 1, "x": 1.0}, {"id": 2, "x": 2.0}]
    assert store.get_many(TABLE, []) == []


def test_composite_keys(store: OnlineStore) -> None:
    df = pd.DataFrame({"scene": ["s1", "s1", "s2"], "chip": [0, 1, 0], "label": [0.0, 1.0, 1.0]})
    store.write(TABLE, df, ["scene", "chip"])
    assert store.get(TABLE, {"scene": "s1", "chip": np.int64(1)})["label"] == 1.0
    assert store.get(TABLE, {"scene": "s2", "chip": 1}) is None
    assert store.get(TABLE, {"scene": "s1", "chip": 0.0, "other": "ignored"})["label"] == 0.0
    assert store.delete(TABLE, df.iloc[[0]][["scene", "chip"]]) == 1
    assert [r is None for r in store.get_many(TABLE, df.to_dict("records"))] == [
        True,
        False,
        False,
    ]
    with pytest.raises(InvalidInput, match="'chip'"):
        store.get(TABLE, {"scene": "s1"})


def test_string_and_int_keys_are_distinct(store: OnlineStore) -> None:
    store.write(TABLE, pd.DataFrame({"id": pd.Series([1, "1"], dtype=object), "x": [1, 2]}), ["id"])
    assert store.get(TABLE, {"id": 1})["x"] == 1
    assert store.get(TABLE, {"id": "1"})["x"] == 2


def test_timestamp_keys(store: OnlineStore) -> None:
    when = pd.to_datetime(["2024-01-01 00:00", "2024-01-02 00:00"]).tz_localize("UTC")
    store.write(TABLE, pd.DataFrame({"t": when, "x": [1, 2]}), ["t"])
    assert store.get(TABLE, {"t": when[1]})["x"] == 2
    assert (
        store.get(
            TABLE, {"t": dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))}
        )["x"]
        == 1
    )


def test_drop(store: OnlineStore) -> None:
    store.write(TABLE, pd.DataFrame({"id": [1], "x": [1.0]}), ["id"])
    store.drop(TABLE)
    assert store.count(TABLE) == 0
    with pytest.raises(NotFound):
        store.get(TABLE, {"id": 1})
    store.drop(TABLE)  # dropping twice is fine
    store.write(TABLE, pd.DataFrame({"k": ["a"]}), ["k"])  # a new table, a new key
    assert store.get(TABLE, {"k": "a"}) == {"k": "a"}


def test_table_dropped_by_another_sqlite_store(tmp_path: Path) -> None:
    with SQLiteOnlineStore(tmp_path / "o.db") as a, SQLiteOnlineStore(tmp_path / "o.db") as b:
        a.write(TABLE, pd.DataFrame({"id": [1]}), ["id"])
        assert b.get(TABLE, {"id": 1}) == {"id": 1}
        a.drop(TABLE)
        with pytest.raises(NotFound):
            b.get(TABLE, {"id": 1})
        with pytest.raises(NotFound):
            b.get_many(TABLE, [{"id": 1}])


def test_threads_share_a_store(store: OnlineStore) -> None:
    store.write(TABLE, pd.DataFrame({"id": range(200), "x": np.arange(200.0)}), ["id"])
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: store.get(TABLE, {"id": i})["x"], range(200)))
    assert got == [float(i) for i in range(200)]


# ---- bad input ------------------------------------------------------------------------------------


def test_missing_primary_key_column(store: OnlineStore) -> None:
    with pytest.raises(InvalidInput, match="'id'") as err:
        store.write(TABLE, pd.DataFrame({"x": [1.0]}), ["id"])
    assert err.value.details == {"column": "id"}
    assert store.count(TABLE) == 0


def test_null_primary_key_writes_nothing(store: OnlineStore) -> None:
    store.write(TABLE, pd.DataFrame({"id": [1.0], "x": ["kept"]}), ["id"])
    bad = pd.DataFrame({"id": [1.0, np.nan], "x": ["lost", "lost"]})
    with pytest.raises(InvalidInput, match="null"):
        store.write(TABLE, bad, ["id"])
    with pytest.raises(InvalidInput, match="null"):
        store.write(TABLE, pa.table({"id": [1, None], "x": ["lost", "lost"]}), ["id"])
    with pytest.raises(InvalidInput, match="null"):
        store.get(TABLE, {"id": None})
    assert store.count(TABLE) == 1 and store.get(TABLE, {"id": 1})["x"] == "kept"


def test_unstorable_value_writes_nothing(store: OnlineStore) -> None:
    store.write(TABLE, pd.DataFrame({"id": [1], "x": ["kept"]}), ["id"])
    bad = pd.DataFrame({"id": [1, 2], "x": pd.Series(["lost", object()], dtype=object)})
    with pytest.raises(InvalidInput, match="object"):
        store.write(TABLE, bad, ["id"])
    assert store.read_all(TABLE)["x"].tolist() == ["kept"]


def test_schema_conflicts(store: OnlineStore) -> None:
    store.write(TABLE, pd.DataFrame({"id": [1], "t": pd.to_datetime(["2024-01-01"])}), ["id"])
    with pytest.raises(InvalidInput, match="primary key"):
        store.write(TABLE, pd.DataFrame({"id": [1], "t": [2]}), ["t"])
    with pytest.raises(InvalidInput, match="'t'"):
        store.write(TABLE, pd.DataFrame({"id": [1], "t": [2]}), ["id"])
    assert store.get(TABLE, {"id": 1})["t"] == pd.Timestamp("2024-01-01")


@pytest.mark.parametrize("table", ["", "1abc", "fg-1", "a;drop", "x" * 129, None])
def test_bad_table_keys(store: OnlineStore, table) -> None:
    with pytest.raises(InvalidInput):
        store.write(table, pd.DataFrame({"id": [1]}), ["id"])


def test_bad_data_and_entries(store: OnlineStore) -> None:
    with pytest.raises(InvalidInput, match="DataFrame"):
        store.write(TABLE, [{"id": 1}], ["id"])
    with pytest.raises(InvalidInput, match="primary key"):
        store.write(TABLE, pd.DataFrame({"id": [1]}), [])
    store.write(TABLE, pd.DataFrame({"id": [1]}), ["id"])
    with pytest.raises(InvalidInput, match="dict"):
        store.get(TABLE, 1)
    with pytest.raises(NotFound, match="fg_other_1"):
        store.get("fg_other_1", {"id": 1})
    with pytest.raises(NotFound):
        store.read_all("fg_other_1")


# ---- configuration ----------------------------------------------------------------------------


def test_unreachable_redis_is_a_configuration_error() -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"
    with pytest.raises(ConfigurationError, match=url.replace(".", r"\.")):
        open_online_store(url, Path("unused.db"))


def test_backend_chosen_by_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.delenv("EOLAB_ONLINE_STORE", raising=False)
    assert online_store_url() == ""
    default = online_store_path(tmp_path, "ExtremeEarth")
    assert default == tmp_path / "projects" / "ExtremeEarth" / "FeatureStore" / "online.db"
    with open_online_store(online_store_url(), default) as store:
        assert isinstance(store, SQLiteOnlineStore) and store.path == default
        store.write(TABLE, pd.DataFrame({"id": [1]}), ["id"])
    assert default.exists()
    with open_online_store(f"sqlite:///{tmp_path}/other.db", default) as store:
        assert store.kind == "sqlite" and store.path == tmp_path / "other.db"
    monkeypatch.setenv("EOLAB_ONLINE_STORE", redis_url)
    with open_online_store(online_store_url(), default) as store:
        assert store.kind == "redis"
    with pytest.raises(ConfigurationError, match="mongodb"):
        open_online_store("mongodb://x", default)


# ---- speed --------------------------------------------------------------------------------------


def _percentiles(fn, keys: list[int]) -> tuple[float, float]:
    samples = []
    for k in keys:
        t = time.perf_counter()
        fn(k)
        samples.append(time.perf_counter() - t)
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99)]


def test_sqlite_get_is_close_to_a_raw_select(tmp_path: Path) -> None:
    """p99 under 1 ms and p50 within 100 µs of ``SELECT ... WHERE pk = ?`` on the same file."""
    rng = np.random.default_rng(0)
    n = 20_000
    df = pd.DataFrame({"id": np.arange(n)} | {f"f{i}": rng.random(n) for i in range(10)})
    path = tmp_path / "online.db"
    store = SQLiteOnlineStore(path)
    store.write(TABLE, df, ["id"])
    raw = sqlite3.connect(path)
    keys = rng.integers(0, n, 3000).tolist()
    sql = f'SELECT eolab_row FROM "{TABLE}" WHERE "id" = ?'
    gc.disable()
    try:
        for _attempt in range(3):  # the machine is noisy: the best of three
            raw_p50, _ = _percentiles(lambda k: raw.execute(sql, (k,)).fetchone(), keys)
            p50, p99 = _percentiles(lambda k: store.get(TABLE, {"id": k}), keys)
            if p99 < 1e-3 and p50 - raw_p50 < 100e-6:
                break
    finally:
        gc.enable()
        raw.close()
        store.close()
    assert p99 < 1e-3, f"get p99 {p99 * 1e6:.0f} µs"
    assert p50 - raw_p50 < 100e-6, f"get p50 {p50 * 1e6:.0f} µs vs raw {raw_p50 * 1e6:.0f} µs"
