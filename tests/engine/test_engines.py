"""Both engines run the same work with the same results: a real process pool, a real Spark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from eolab.config import load_settings
from eolab.engine import PythonEngine, SparkConfig, get_engine, parse_conf, split
from eolab.errors import ConfigurationError, InvalidInput


def square(x: int) -> int:
    return x * x


def total(part: list[int]) -> list[int]:
    return [sum(part)]


def explode(x: int) -> int:
    if x == 3:
        raise ValueError("item 3 is bad")
    return x


def test_split_keeps_order_and_covers_everything():
    parts = split(list(range(10)), 3)
    assert parts == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert split([], 4) == []
    assert split([1, 2], 8) == [[1], [2]]


@pytest.fixture(params=["python", "spark"])
def engine(request):
    return request.getfixturevalue(f"{request.param}_engine")


def test_map_items_returns_results_in_input_order(engine):
    assert engine.map_items(square, list(range(23)), progress=False) == [x * x for x in range(23)]


def test_map_partitions_concatenates_partition_results(engine):
    parts = split(list(range(100)), 4)
    assert engine.map_partitions(total, parts, progress=False) == [sum(p) for p in parts]


def test_empty_work_is_empty(engine):
    assert engine.map_items(square, [], progress=False) == []


def test_a_failing_item_fails_the_call(engine):
    with pytest.raises(Exception, match="item 3 is bad"):
        engine.map_items(explode, list(range(6)), progress=False)


def test_progress_bar_reaches_the_total(engine, monkeypatch):
    import tqdm.auto

    seen: list[tuple[str, int, int]] = []

    class RecordingBar(tqdm.auto.tqdm):
        def close(self) -> None:
            if not self.disable:  # tqdm closes again on garbage collection
                seen.append((self.desc, self.n, self.total))
            super().close()

    monkeypatch.setattr(tqdm.auto, "tqdm", RecordingBar)
    engine.map_items(square, list(range(8)), desc="squares", partitions=4)
    assert seen == [("squares", 4, 4)]


def test_python_engine_sizes_to_cores_by_default():
    assert PythonEngine().parallelism == (os.cpu_count() or 1)
    single = PythonEngine(workers=1)
    assert single.map_items(square, [1, 2, 3], progress=False) == [1, 4, 9]


def test_spark_engine_parallelism_follows_the_master(spark_engine):
    assert spark_engine.parallelism == 2
    assert spark_engine.session.sparkContext.master == "local[2]"


def test_get_engine_refuses_unknown_names(tmp_path):
    with pytest.raises(ConfigurationError):
        get_engine("dask", load_settings(tmp_path))


def test_spark_config_passes_executor_and_gpu_settings_through():
    config = SparkConfig(
        master="spark://h:7077",
        executors=3,
        executor_memory="4g",
        executor_cores=2,
        gpus=2,
        gpu_discovery_script="/opt/gpus.sh",
        conf=parse_conf(["spark.sql.shuffle.partitions=8"]),
    )
    conf = config.spark_conf()
    assert conf["spark.executor.instances"] == "3"
    assert conf["spark.executor.memory"] == "4g"
    assert conf["spark.executor.cores"] == "2"
    assert conf["spark.executor.resource.gpu.amount"] == "2"
    assert conf["spark.task.resource.gpu.amount"] == "1"
    assert conf["spark.executor.resource.gpu.discoveryScript"] == "/opt/gpus.sh"
    assert conf["spark.sql.shuffle.partitions"] == "8"


def test_bad_spark_conf_pair_is_refused():
    with pytest.raises(InvalidInput, match="key=value"):
        parse_conf(["spark.executor.memory"])


@pytest.mark.timeout(240)
def test_each_task_gets_its_own_gpu_on_a_local_cluster(tmp_path):
    """A real local-cluster master whose discovery script reports two (fake) GPUs."""
    script = tmp_path / "gpus.sh"
    script.write_text('#!/usr/bin/env bash\necho \'{"name": "gpu", "addresses": ["0", "1"]}\'\n')
    script.chmod(0o755)
    program = textwrap.dedent(
        f"""
        import json, time
        from pyspark import TaskContext
        from eolab.engine import SparkConfig, SparkEngine

        def gpu_of(part):
            time.sleep(1.0)  # the two tasks overlap
            return [(TaskContext.get().partitionId(), TaskContext.get().resources()["gpu"].addresses)]

        engine = SparkEngine(SparkConfig(master="local-cluster[1,2,1024]", gpus=2,
                                         gpu_discovery_script={str(script)!r}))
        print("RESULT", json.dumps(engine.map_partitions(gpu_of, [[0], [1]], progress=False)))
        engine.close()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=220
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, proc.stderr[-3000:]
    results = dict(json.loads(line.removeprefix("RESULT ")))
    assert all(len(addresses) == 1 for addresses in results.values())
    assert sorted(a[0] for a in results.values()) == ["0", "1"]
