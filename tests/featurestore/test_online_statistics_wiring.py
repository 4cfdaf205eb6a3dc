"""One insert feeds the offline table, the online store and the statistics of the commit."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from eolab.errors import InvalidInput, NotFound


def test_insert_feeds_the_online_store(engine_fs, chips):
    fg = engine_fs.create_feature_group(
        "iceberg", version=1, primary_key=["id"], online_enabled=True
    )
    fg.save(chips(4))
    vector = fg.get_feature_vector({"id": 2})
    offline = fg.read(dataframe_type="pandas").set_index("id").loc[2]
    assert vector["is_iceberg"] == offline["is_iceberg"]
    assert list(vector["band_1"]) == pytest.approx(list(offline["band_1"]))
    fg.insert(chips(2, start=2, shift=1.0))  # upsert keys 2 and 3
    assert fg.get_feature_vector({"id": 3})["band_1"][0] == pytest.approx(
        fg.read(dataframe_type="pandas").set_index("id").loc[3]["band_1"][0]
    )
    assert fg.get_feature_vectors([{"id": 0}, {"id": 99}])[1] is None
    assert sorted(fg.read(online=True)["id"]) == [0, 1, 2, 3]
    fg.commit_delete_record(pd.DataFrame({"id": [0]}))
    assert fg.get_feature_vector({"id": 0}) is None


def test_sync_online_repairs_the_online_store(fs, chips):
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"], online_enabled=True)
    fg.save(chips(3))
    fg._online().drop(fg._online_table)  # as if an online write had been lost
    assert fg.read(online=True).empty
    assert fg.sync_online() == 3
    assert sorted(fg.read(online=True)["id"]) == [0, 1, 2]


def test_deleting_a_fetched_group_drops_its_online_table(fs, chips):
    fs.create_feature_group("iceberg", version=1, primary_key=["id"], online_enabled=True).save(
        chips(2)
    )
    fetched = fs.get_feature_group("iceberg", 1)  # a fresh handle: no online store opened yet
    store = fetched._online()
    assert store.count(fetched._online_table) == 2
    fs.get_feature_group("iceberg", 1).delete()
    assert store.count(fetched._online_table) == 0
    with pytest.raises(NotFound):
        fs.get_feature_group("iceberg", 1)


def test_online_only_inserts_are_checked_and_validated_like_any_insert(fs, chips):
    from eolab.errors import ValidationFailed
    from eolab.validation import Rule

    label = fs.create_expectation(
        "label_0_1", features=["is_iceberg"], rules=[Rule("HAS_MAX", max=1)]
    ).save()
    fg = fs.create_feature_group(
        "iceberg",
        version=1,
        primary_key=["id"],
        online_enabled=True,
        expectations=[label],
        validation_type="STRICT",
    )
    with pytest.raises(NotFound, match="not saved yet"):
        fg.insert(chips(1), storage="online")  # no offline table yet: no schema to check against
    fg.save(chips(2))
    fresh = chips(1, start=1, shift=3.0)
    assert fg.insert(fresh, storage="online").commit_id is None
    assert fg.get_feature_vector({"id": 1})["inc_angle"] == pytest.approx(fresh["inc_angle"][0])
    assert fg.read()["inc_angle"].max() < fresh["inc_angle"][0]  # offline untouched
    with pytest.raises(ValidationFailed, match="is_iceberg max is 5"):
        fg.insert(fresh.assign(is_iceberg=5), storage="online")
    with pytest.raises(ValidationFailed, match="'inc_angle' has type string"):
        fg.insert(fresh.assign(inc_angle="high"), storage="online")
    assert fg.get_feature_vector({"id": 1})["is_iceberg"] == fresh["is_iceberg"][0]
    assert len(fg.commit_details()) == 1


def test_a_failed_online_write_is_reported_and_the_offline_commit_stands(fs, chips, monkeypatch):
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"], online_enabled=True)
    fg.save(chips(2))

    def broken(*_args, **_kwargs):
        raise ConnectionError("online store down")

    monkeypatch.setattr(type(fg._online()), "write", broken)
    with pytest.warns(UserWarning, match="sync_online"):
        result = fg.insert(chips(1, start=5))
    assert "online store down" in result.online_error
    assert sorted(fg.read(dataframe_type="pandas")["id"]) == [0, 1, 5]
    monkeypatch.undo()
    fg.sync_online()
    assert fg.get_feature_vector({"id": 5}) is not None


def test_online_reads_of_an_offline_only_group_are_refused(fs, chips):
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(1))
    with pytest.raises(InvalidInput, match="not online_enabled"):
        fg.get_feature_vector({"id": 0})
    with pytest.raises(InvalidInput):
        fg.read(online=True, wallclock_time="2026-01-01")


def test_statistics_are_computed_per_commit(engine_fs, chips):
    fg = engine_fs.create_feature_group(
        "iceberg", version=1, primary_key=["id"], statistics_config={"enabled": True}
    )
    fg.save(chips(4))
    first = fg.get_statistics().stats
    assert first["row_count"] == 4
    fg.insert(chips(2, start=10))
    latest = fg.get_statistics().stats
    assert latest["row_count"] == 6 and latest["commit_id"] == 1
    expected = fg.read(dataframe_type="pandas")["is_iceberg"].mean()
    assert math.isclose(latest["columns"]["is_iceberg"]["mean"], expected)
    assert (
        "histogram" in fg.get_statistics()._repr_html_()
        or "<table" in fg.get_statistics()._repr_html_()
    )


def test_statistics_on_demand_and_missing(fs, chips):
    fg = fs.create_feature_group(
        "iceberg", version=1, primary_key=["id"], statistics_config={"enabled": False}
    )
    fg.save(chips(3))
    with pytest.raises(NotFound, match="no statistics"):
        fg.get_statistics()
    view = fg.compute_statistics()
    assert view.stats["row_count"] == 3
    assert fg.get_statistics().stats["commit_id"] == view.stats["commit_id"]
