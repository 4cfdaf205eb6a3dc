"""The embedded inference log: offsets, segments, retention, torn tails after kill -9, reading
while another process writes, the asynchronous logger, and consumer groups in the catalog."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from eolab.errors import InvalidInput
from eolab.serving.consumer import InferenceLogConsumer, read_records
from eolab.serving.inference_log import (
    INFERENCE_SCHEMA,
    EmbeddedLog,
    InferenceLogger,
    LogBackend,
    Retention,
    decode,
    encode,
)
from eolab.serving.inference_log.embedded import HEADER, PartitionBusy, frame


def record(i: int, code: int = 200, latency: float = 1.0) -> dict:
    return {
        "modelId": 7,
        "modelName": "Tiny",
        "modelVersion": 1,
        "requestTimestamp": 1_700_000_000_000 + i,
        "responseHttpCode": code,
        "inferenceRequest": f'{{"instances": [[{i}, 0, 0, 0]]}}',
        "inferenceResponse": f'{{"predictions": [[{i / 100}]]}}',
        "latency": latency,
        "instance": 0,
    }


def segment_files(log: EmbeddedLog, partition: int = 0) -> list[Path]:
    return sorted((log.folder / str(partition)).glob("*.log"))


def test_records_round_trip_with_offsets_from_zero(tmp_path):
    log = EmbeddedLog(tmp_path, "t")
    log.create(INFERENCE_SCHEMA)
    assert log.schema() == INFERENCE_SCHEMA
    writer = log.open_writer(0)
    assert writer.append([encode(record(i)) for i in range(3)]) == 2
    assert writer.append([encode(record(3))]) == 3
    writer.close()
    entries = log.read(0)
    assert [e.offset for e in entries] == [0, 1, 2, 3]
    assert decode(entries[2].payload) == record(2)
    assert [e.offset for e in log.read(0, from_offset=2, limit=1)] == [2]
    assert (log.begin_offset(0), log.end_offset(0)) == (0, 4)
    assert log.partitions() == [0]
    writer = log.open_writer(0)  # a new writer continues the offsets
    assert writer.append([encode(record(4))]) == 4
    writer.close()


def test_segments_roll_and_retention_deletes_oldest_closed_ones(tmp_path):
    payload = encode(record(0))
    size = len(frame(0, 0, payload))
    log = EmbeddedLog(tmp_path, "t", Retention(bytes=size * 12, segment_bytes=size * 5))
    writer = log.open_writer(0)
    for _ in range(14):
        writer.append([payload])
    names = [p.name for p in segment_files(log)]
    # rolled at 5 and 10; 14 records > 12 allowed: the oldest segment went
    assert names == [f"{5:020d}.log", f"{10:020d}.log"]
    assert log.begin_offset(0) == 5 and log.end_offset(0) == 14
    assert [e.offset for e in log.read(0)] == list(range(5, 14))
    # age: a closed segment older than retention.ms goes even under the size limit
    old = segment_files(log)[0]
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    aged = EmbeddedLog(tmp_path, "t", Retention(bytes=10**9, ms=60_000, segment_bytes=size * 5))
    writer.close()
    writer = aged.open_writer(0)
    assert [p.name for p in segment_files(aged)] == [f"{10:020d}.log"]
    assert writer.append([payload]) == 14
    writer.close()


def test_a_torn_tail_is_invisible_to_readers_and_cut_by_the_next_writer(tmp_path):
    log = EmbeddedLog(tmp_path, "t")
    writer = log.open_writer(0)
    writer.append([encode(record(i)) for i in range(3)])
    writer.close()
    path = segment_files(log)[0]
    whole = path.stat().st_size
    torn = frame(3, 0, encode(record(3)))[: HEADER.size + 5]
    with path.open("ab") as handle:
        handle.write(torn)
    assert log.end_offset(0) == 3 and len(log.read(0)) == 3
    writer = log.open_writer(0)
    assert writer.cut_bytes == len(torn) and path.stat().st_size == whole
    assert writer.append([encode(record(9))]) == 3
    writer.close()
    assert decode(log.read(0, 3)[0].payload) == record(9)


def test_a_corrupted_frame_ends_the_readable_log(tmp_path):
    log = EmbeddedLog(tmp_path, "t")
    writer = log.open_writer(0)
    writer.append([encode(record(i)) for i in range(3)])
    writer.close()
    path = segment_files(log)[0]
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # flip a byte of the last payload: its CRC no longer matches
    path.write_bytes(bytes(data))
    assert [e.offset for e in log.read(0)] == [0, 1]
    writer = log.open_writer(0)
    assert writer.cut_bytes > 0 and writer.next_offset == 2
    writer.close()


WRITER = textwrap.dedent(
    """
    import sys
    from eolab.serving.inference_log import EmbeddedLog, Retention
    log = EmbeddedLog(sys.argv[1], "t", Retention(segment_bytes=2**30))
    writer = log.open_writer(0)
    i = 0
    while True:
        size = 20_000
        if i == 200:
            size = 64 * 1024**2
            print("big", flush=True)
        writer.append([bytes([i % 251]) * size])
        i += 1
    """
)


def test_kill_9_while_writing_leaves_a_log_that_reads_and_resumes(tmp_path):
    log = EmbeddedLog(tmp_path, "t", Retention(segment_bytes=2**30))
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        # readable while written: every read is a gap-free run of whole records
        deadline = time.monotonic() + 60
        seen = 0
        while seen < 150 and time.monotonic() < deadline:
            entries = log.read(0)
            assert [e.offset for e in entries] == list(range(len(entries)))
            assert all(e.payload == bytes([e.offset % 251]) * 20_000 for e in entries[:200])
            seen = len(entries)
        assert seen >= 150
        with pytest.raises(PartitionBusy):  # one writer per partition
            log.open_writer(0, block=False)
        assert child.stdout is not None
        child.stdout.readline()  # a 64 MB record is about to be written
        path = segment_files(log)[-1]
        before = path.stat().st_size
        while path.stat().st_size == before and time.monotonic() < deadline:
            time.sleep(0.0002)
        os.kill(child.pid, signal.SIGKILL)  # in the middle of that write
    finally:
        child.kill()
        child.wait()
    path = segment_files(log)[-1]
    size = path.stat().st_size
    readable = log.read(0)
    last = readable[-1].offset
    assert [e.offset for e in readable] == list(range(last + 1))
    writer = log.open_writer(0, block=False)  # the lock died with the writer
    assert writer.next_offset == last + 1
    # whatever part of a frame the kill left is cut, nothing more
    valid_end = sum(HEADER.size + len(e.payload) for e in readable)
    assert writer.cut_bytes == size - valid_end
    assert writer.cut_bytes > 0 and last == 199  # the 64 MB record was torn, and cut
    assert path.stat().st_size == valid_end
    assert writer.append([b"after"]) == last + 1
    writer.close()
    assert log.read(0, last + 1)[0].payload == b"after"


# ---- the asynchronous logger ----------------------------------------------------------------


def test_logger_writes_in_the_background_and_counts_what_it_drops(tmp_path):
    log = EmbeddedLog(tmp_path, "t")
    logger = InferenceLogger(log, 1, capacity=5)
    logger._stop.set()  # hold the thread back: the bounded queue fills
    logger._thread.join()
    for i in range(8):
        logger.log(record(i))  # never blocks
    assert logger.dropped == 3 and logger.lag == 5
    logger = InferenceLogger(log, 1, capacity=1000)
    for i in range(50):
        logger.log(record(i))
    logger.close()
    assert (logger.written, logger.dropped, logger.lag) == (50, 0, 0)
    assert [decode(e.payload)["requestTimestamp"] for e in log.read(1)][-1] == record(49)[
        "requestTimestamp"
    ]


class FlakyBackend(LogBackend):
    """The embedded log behind a switch: while down, opening a writer fails (broker down)."""

    def __init__(self, inner: EmbeddedLog) -> None:
        self.inner = inner
        self.topic = inner.topic
        self.down = True

    def create(self, schema):
        self.inner.create(schema)

    def partitions(self):
        return self.inner.partitions()

    def open_writer(self, partition):
        if self.down:
            raise ConnectionError("broker unreachable")
        return self.inner.open_writer(partition)

    def begin_offset(self, partition):
        return self.inner.begin_offset(partition)

    def end_offset(self, partition):
        return self.inner.end_offset(partition)

    def read(self, partition, from_offset=0, limit=None, since_ms=None):
        return self.inner.read(partition, from_offset, limit, since_ms)

    def delete(self):
        self.inner.delete()


def test_backlog_is_delivered_when_the_backend_returns_or_counted_as_dropped(tmp_path):
    backend = FlakyBackend(EmbeddedLog(tmp_path, "t"))
    logger = InferenceLogger(backend, 0, max_backoff_s=0.05)
    for i in range(10):
        logger.log(record(i))
    time.sleep(0.3)
    assert logger.written == 0 and logger.lag == 10 and "broker unreachable" in logger.last_error
    backend.down = False
    deadline = time.monotonic() + 10
    while logger.written < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert logger.written == 10 and logger.dropped == 0
    backend.down = True
    second = InferenceLogger(backend, 1, max_backoff_s=0.05)
    for i in range(4):
        second.log(record(i))
    second.close(timeout=0.3)  # never came back: counted, not lost silently
    assert (second.written, second.dropped) == (0, 4)
    logger.close()


# ---- reading back, consumer groups ----------------------------------------------------------


def test_read_records_tail_from_offset_and_since(tmp_path):
    log = EmbeddedLog(tmp_path, "t")
    for partition in (0, 1):
        writer = log.open_writer(partition)
        for i in range(5):
            writer.append([encode(record(10 * partition + i))], timestamp_ms=1000 * (i + 1))
        writer.close()
    tail = read_records(log, limit=3)
    assert [(r.partition, r.offset) for r in tail] == [(1, 3), (0, 4), (1, 4)]
    assert tail[-1].request() == {"instances": [[14, 0, 0, 0]]}
    assert tail[-1].response() == {"predictions": [[0.14]]}
    assert len(read_records(log, from_offset=3, limit=100)) == 4
    from datetime import datetime

    since = read_records(log, since=datetime.utcfromtimestamp(4.0), limit=100)
    assert {r.offset for r in since} == {3, 4}
    for bad, words in (
        ({"limit": 0}, "limit must be an integer"),
        ({"from_offset": -1}, "from_offset must be an integer >= 0"),
        ({"since": "yesterday"}, "since must be a datetime"),
    ):
        with pytest.raises(InvalidInput, match=words):
            read_records(log, **bad)


def test_consumer_group_offsets_are_committed_in_the_catalog(tmp_path, project):
    log = EmbeddedLog(tmp_path, "t")
    writer = log.open_writer(0)
    writer.append([encode(record(i)) for i in range(5)])
    writer.close()
    consumer = InferenceLogConsumer(project, log, "monitoring")
    assert [r.offset for r in consumer.poll(3)] == [0, 1, 2]
    assert consumer.lag() == {0: 2}
    assert consumer.commit() == {0: 3}
    again = InferenceLogConsumer(project, log, "monitoring")  # another process, same group
    assert again.committed() == {0: 3}
    assert [r.offset for r in again.poll()] == [3, 4]
    other = InferenceLogConsumer(project, log, "audit")
    assert other.committed() == {} and len(other.poll()) == 5
    with pytest.raises(InvalidInput, match="group must be a non-empty string"):
        InferenceLogConsumer(project, log, "")
