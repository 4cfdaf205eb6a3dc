"""The Delta Lake offline store: layout, cross-engine reads, the Spark commit path, atomic
commits (a killed writer, a failure between Parquet write and commit) and concurrent writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError

import eolab
from eolab.errors import Conflict
from eolab.featurestore import FeatureStore, offline, offline_spark
from eolab.projects import Project

ROOT = Path(__file__).resolve().parents[2]


def _log(table: Path, version: int) -> list[dict]:
    lines = (table / "_delta_log" / f"{version:020d}.json").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _table(fs: FeatureStore, name: str = "iceberg", version: int = 1) -> Path:
    return fs.project.root / "FeatureStore" / f"{name}_{version}"


def test_delta_table_layout_and_commit_metadata(fs: FeatureStore, chips) -> None:
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(3))
    fg.insert(chips(2, start=2))
    table = DeltaTable(str(_table(fs)))
    assert table.version() == 1
    assert table.metadata().configuration["delta.enableChangeDataFeed"] == "true"
    commit = next(a["commitInfo"] for a in _log(_table(fs), 1) if "commitInfo" in a)
    assert commit["operation"] == "MERGE" and commit["eolab"]["operation"] == "upsert"
    assert pa.table(table.to_pyarrow_table()).num_rows == 4


def test_a_table_written_by_one_engine_reads_the_same_with_the_other(
    project: Project, spark_engine, chips
) -> None:
    project.engine = "python"
    fs = project.get_feature_store()
    by_python = fs.create_feature_group("by_python", version=1, primary_key=["id"])
    by_python.save(chips(4))
    project.engine = "spark"
    by_spark = fs.create_feature_group("by_spark", version=1, primary_key=["id"])
    by_spark.save(chips(4))
    assert by_spark.insert(chips(3, start=2, shift=10.0)).rows_updated == 2
    by_python.insert(chips(3, start=2, shift=10.0))  # spark upserts into a python table

    spark_reads = {
        g.name: g.read(dataframe_type="pyarrow").sort_by("id") for g in (by_python, by_spark)
    }
    assert spark_reads["by_python"].equals(spark_reads["by_spark"])
    project.engine = "python"
    python_reads = {
        g.name: g.read(dataframe_type="pyarrow").sort_by("id") for g in (by_python, by_spark)
    }
    assert python_reads["by_python"].equals(spark_reads["by_python"])
    assert python_reads["by_spark"].equals(spark_reads["by_spark"])
    assert python_reads["by_spark"].num_rows == 5
    assert by_spark.commit_details()[1]["rowsInserted"] == 1


def test_spark_upsert_rewrites_only_files_with_matched_keys(spark_fs: FeatureStore, chips) -> None:
    fg = spark_fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(2))  # files A
    fg.insert(chips(2, start=10), operation="insert")  # files B
    before = {a["add"]["path"] for v in (0, 1) for a in _log(_table(spark_fs), v) if "add" in a}
    fg.insert(chips(1, start=10, shift=5.0))  # matches one key held in B only
    actions = _log(_table(spark_fs), 2)
    removed = {a["remove"]["path"] for a in actions if "remove" in a}
    added = [a["add"] for a in actions if "add" in a]
    assert removed and removed <= before
    first_files = {a["add"]["path"] for a in _log(_table(spark_fs), 0) if "add" in a}
    assert not removed & first_files  # the files of the first commit were not touched
    assert all(a["path"].endswith("-spark.snappy.parquet") for a in added)
    assert all(json.loads(a["stats"])["numRecords"] >= 1 for a in added)
    commit = next(a["commitInfo"] for a in actions if "commitInfo" in a)
    assert commit["eolab"]["rowsUpdated"] == 1 and commit["eolab"]["changedFiles"]
    assert sorted(fg.read(dataframe_type="pandas")["id"]) == [0, 1, 10, 11]


def test_spark_failure_between_parquet_write_and_commit_changes_nothing(
    spark_fs: FeatureStore, chips, monkeypatch: pytest.MonkeyPatch
) -> None:
    fg = spark_fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(2))
    files_before = set(os.listdir(_table(spark_fs)))

    def fail(*_args, **_kwargs):
        raise RuntimeError("driver died before the commit")

    monkeypatch.setattr(offline_spark.SparkDeltaStore, "_commit", fail)
    with pytest.raises(RuntimeError, match="before the commit"):
        fg.insert(chips(3, start=1, shift=9.0))
    monkeypatch.undo()
    orphans = set(os.listdir(_table(spark_fs))) - files_before
    assert orphans and all(
        name.endswith(".parquet") for name in orphans
    )  # written, never committed
    assert DeltaTable(str(_table(spark_fs))).version() == 0
    out = fg.read(dataframe_type="pandas")
    assert sorted(out["id"]) == [0, 1] and (out["inc_angle"] < 80).all()
    assert fg.insert(chips(1, start=5)).commit_id == 1  # the table still takes writes


KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    import eolab
    sys.path.insert(0, {tests!r})
    from conftest import make_chips

    table = {table!r}
    before = set(os.listdir(table))

    def kill_when_data_files_appear():
        while True:
            if any(n.endswith(".parquet") for n in set(os.listdir(table)) - before):
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(0.001)

    ws = eolab.Workspace.open({home!r}, user="alice")
    fg = eolab.Project(ws, "ExtremeEarth").get_feature_store().get_feature_group("iceberg", 1)
    threading.Thread(target=kill_when_data_files_appear, daemon=True).start()
    rows = make_chips(400, start={start})
    fg.insert(rows, operation="insert", write_options={{"target_file_size": 1_000_000}})
    print("finished", flush=True)
    """
)


def test_a_writer_killed_mid_write_leaves_the_table_as_before(
    fs: FeatureStore, home: Path, chips
) -> None:
    fg = fs.create_feature_group(
        "iceberg", version=1, primary_key=["id"], statistics_config={"enabled": False}
    )
    fg.save(chips(3))
    fg.insert(chips(2, start=100), operation="insert")  # later: an append into a non-empty table
    for attempt in range(5):  # the kill races the write; a lost race just tries again
        version, ids = DeltaTable(str(_table(fs))).version(), sorted(fg.read()["id"])
        script = KILLED_WRITER.format(
            tests=str(Path(__file__).parent),
            table=str(_table(fs)),
            home=str(home),
            start=1000 * (attempt + 1),
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
        )
        caught = DeltaTable(str(_table(fs))).version() == version
        if done.returncode == -9 and caught:  # SIGKILL before the commit: mid-write
            break
        # a lost race: the kill came after the commit, or never; the write is then complete
        assert done.returncode == -9 or "finished" in done.stdout, done.stderr[-2000:]
    else:
        pytest.fail("the writer was never killed mid-write in 5 tries")
    assert "finished" not in done.stdout
    orphans = [n for n in os.listdir(_table(fs)) if n.endswith(".parquet")]
    assert len(orphans) > 2  # the killed writer had written data files
    assert DeltaTable(str(_table(fs))).version() == version
    assert sorted(fg.read()["id"]) == ids
    assert ids[:5] == [0, 1, 2, 100, 101]
    assert fg.insert(chips(1, start=7)).commit_id == version + 1


CONCURRENT_WRITER = textwrap.dedent(
    """
    import os, sys, time
    import eolab
    from eolab.errors import Conflict
    sys.path.insert(0, {tests!r})
    from conftest import make_chips

    ws = eolab.Workspace.open({home!r}, user="alice")
    fg = eolab.Project(ws, "ExtremeEarth").get_feature_store().get_feature_group("iceberg", 1)
    rows = make_chips(2, start=0, seed={who})
    open({ready!r}, "w").close()
    while not os.path.exists({go!r}):  # start writing together with the other writer
        time.sleep(0.005)
    done = conflicts = 0
    for i in range(8):
        rows["is_iceberg"] = {who} * 100 + i
        rows.loc[1, "id"] = {who} * 1000 + i
        try:
            fg.insert(rows)
            done += 1
        except Conflict as exc:
            assert exc.details == {{"retry": True}}, exc.details
            conflicts += 1
    print(done, conflicts)
    """
)


def test_concurrent_writers_commit_serially_or_get_a_retryable_conflict(
    fs: FeatureStore, home: Path, chips
) -> None:
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(2))
    go = home / "go"
    ready = [home / f"ready_{who}" for who in (1, 2)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CONCURRENT_WRITER.format(
                    tests=str(Path(__file__).parent),
                    home=str(home),
                    who=who,
                    ready=str(ready[who - 1]),
                    go=str(go),
                ),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for who in (1, 2)
    ]
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        outcomes.append(tuple(int(x) for x in out.split()))
    committed = sum(done for done, _ in outcomes)
    assert all(done + conflicts == 8 for done, conflicts in outcomes)
    assert DeltaTable(str(_table(fs))).version() == committed  # one commit per successful write
    out = fg.read()
    assert out["id"].is_unique
    assert set(out["id"]) - {0, 1} <= {who * 1000 + i for who in (1, 2) for i in range(8)}
    assert len(out) == 2 + committed  # each committed write added exactly its one new key


def test_commit_conflicts_become_retryable_conflicts() -> None:
    with (
        pytest.raises(Conflict, match="retry") as info,
        offline.delta_errors("feature group 'x' version 1"),
    ):
        raise CommitFailedError("Failed to commit transaction: 0")
    assert info.value.details == {"retry": True}


def test_project_deletion_removes_feature_groups(
    workspace: eolab.Workspace, fs: FeatureStore, chips
) -> None:
    fs.create_feature_group("iceberg", version=1, primary_key=["id"]).save(chips(1))
    workspace.delete_project("ExtremeEarth", confirm="ExtremeEarth")
    again = workspace.create_project("ExtremeEarth").get_feature_store()
    assert again.get_feature_groups() == []
