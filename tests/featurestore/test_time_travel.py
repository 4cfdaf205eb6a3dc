"""Time travel: read/as_of at a wallclock time, commit_details, read_changes (UTC times)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from eolab.errors import InvalidInput
from eolab.featurestore import FeatureGroup, FeatureStore, Query
from eolab.featurestore.feature_group import utc


def _ids(df: pd.DataFrame) -> list[int]:
    return sorted(int(i) for i in df["id"])


def _history(fs: FeatureStore, chips) -> tuple[FeatureGroup, list]:
    """Three commits: save ids 0..3; upsert ids 2..4 (2 updated, 1 new); delete id 0."""
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    results = [fg.save(chips(4))]
    time.sleep(0.01)  # distinct commit milliseconds
    results.append(fg.insert(chips(3, start=2, shift=100.0)))
    time.sleep(0.01)
    results.append(fg.commit_delete_record(pd.DataFrame({"id": [0]})))
    return fg, results


def test_as_of_and_read_at_wallclock_times(engine_fs: FeatureStore, chips) -> None:
    fg, (first, second, third) = _history(engine_fs, chips)
    at_first = fg.read(wallclock_time=first.committed_on, dataframe_type="pandas")
    assert _ids(at_first) == [0, 1, 2, 3] and (at_first["inc_angle"] < 80).all()
    between = first.committed_on + (second.committed_on - first.committed_on) / 2
    assert _ids(fg.as_of(between).read("pandas")) == [0, 1, 2, 3]
    at_second = fg.as_of(second.committed_on).read("pandas").sort_values("id")
    assert _ids(at_second) == [0, 1, 2, 3, 4]
    assert (at_second["inc_angle"].tolist()[2:] > pd.Series([80.0] * 3)).all()
    assert _ids(fg.read(dataframe_type="pandas")) == [1, 2, 3, 4]
    assert _ids(fg.as_of("2999-01-01 00:00:00").read("pandas")) == [1, 2, 3, 4]
    with pytest.raises(InvalidInput, match="first commit was at") as info:
        fg.as_of(first.committed_on - timedelta(milliseconds=1)).read()
    assert info.value.details["first_commit"] == first.committed_on.isoformat(sep=" ")

    changes = fg.read_changes(first.committed_on, third.committed_on, dataframe_type="pandas")
    assert _ids(changes) == [2, 3, 4]  # the new row versions of the upsert only
    assert (changes["inc_angle"] > 80).all()
    everything = fg.read_changes("2000-01-01", "2999-01-01", dataframe_type="pyarrow")
    assert everything.num_rows == 4 + 3
    incremental = fg.as_of(second.committed_on, exclude_until=first.committed_on).read("pandas")
    assert _ids(incremental) == [2, 3, 4]
    assert len(fg.read_changes(second.committed_on, third.committed_on, "pandas")) == 0


def test_commit_details(fs: FeatureStore, chips) -> None:
    fg, (first, second, third) = _history(fs, chips)
    details = fg.commit_details()
    assert list(details) == [2, 1, 0]  # newest first; commit ids are Delta versions
    assert details[0] == {
        "committedOn": first.committed_on,
        "rowsInserted": 4,
        "rowsUpdated": 0,
        "rowsDeleted": 0,
        "operation": "insert",
    }
    assert (details[1]["rowsInserted"], details[1]["rowsUpdated"]) == (1, 2)
    assert details[2]["rowsDeleted"] == 1 and details[2]["operation"] == "delete"
    assert list(fg.commit_details(limit=1)) == [2]
    assert list(fg.commit_details(wallclock_time=second.committed_on)) == [1, 0]
    assert third.commit_id == 2
    with pytest.raises(InvalidInput, match="limit"):
        fg.commit_details(limit=0)


def test_time_travel_across_schema_evolution(fs: FeatureStore, chips) -> None:
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    first = fg.save(chips(2))
    time.sleep(0.01)
    fg.insert(chips(1, start=2).assign(speed=3.0), allow_new_nullable_columns=True)
    assert "speed" not in fg.read(wallclock_time=first.committed_on).columns
    assert fg.read()["speed"].isna().sum() == 2
    changes = fg.read_changes(first.committed_on - timedelta(seconds=1), datetime(2999, 1, 1))
    assert len(changes) == 3 and changes["speed"].isna().sum() == 2


def test_wallclock_times_are_utc(fs: FeatureStore, chips) -> None:
    assert utc("2024-05-01 12:30:00") == datetime(2024, 5, 1, 12, 30)
    assert utc("2024-05-01") == datetime(2024, 5, 1)
    assert utc("20240501123000") == datetime(2024, 5, 1, 12, 30)
    plus_two = timezone(timedelta(hours=2))
    assert utc(datetime(2024, 5, 1, 14, 30, tzinfo=plus_two)) == datetime(2024, 5, 1, 12, 30)
    assert utc(datetime(2024, 5, 1, 12, 30, tzinfo=UTC)) == datetime(2024, 5, 1, 12, 30)
    assert utc(0) == datetime(1970, 1, 1)
    with pytest.raises(InvalidInput, match="YYYY-MM-DD HH:MM:SS"):
        utc("yesterday")
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    written = fg.save(chips(1))
    aware = written.committed_on.replace(tzinfo=UTC).astimezone(plus_two)
    assert len(fg.read(wallclock_time=aware)) == 1  # the same instant in another zone
    with pytest.raises(InvalidInput, match="wallclock_time must be"):
        fg.read(wallclock_time=[2024])
    with pytest.raises(InvalidInput, match="after end_wallclock_time"):
        fg.read_changes("2024-02-01", "2024-01-01")
    assert isinstance(fg.as_of(None), Query)
