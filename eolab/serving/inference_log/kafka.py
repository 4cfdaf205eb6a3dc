"""The kafka inference log: one Kafka topic per serving, one partition per instance.

confluent-kafka is imported here only, so the embedded default needs nothing. The Avro schema
is stored with the topic as the topic config ``eolab.avro.schema``; a broker that refuses
unknown configs (Apache Kafka does) gets it in a compacted ``<topic>.schema`` topic instead (one
record, key ``schema``). Writers wait for every delivery report: a record the broker did not
acknowledge makes ``append`` raise :class:`DeliveryFailed` (after purging what is queued, so the
logger's retry does not duplicate), so :class:`~eolab.serving.inference_log.base.InferenceLogger`
retries the batch and counts what never gets written. Reads use ``assign()`` consumers (no
group to join), from an offset, with a timeout.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from eolab.errors import ConfigurationError, InvalidInput
from eolab.serving.inference_log.base import LogBackend, LogEntry, LogWriter

SCHEMA_CONFIG = "eolab.avro.schema"
SCHEMA_SUFFIX = ".schema"
SCHEMA_KEY = b"schema"
_log = logging.getLogger("eolab.serving.log")


class DeliveryFailed(Exception):
    """The broker did not acknowledge every record of a batch (down, or refused them)."""


class KafkaWriter(LogWriter):
    """The producer of one partition; ``append`` returns once the broker has the records."""

    def __init__(self, backend: KafkaBackend, partition: int) -> None:
        self.backend = backend
        self.partition = partition
        self.failed = 0
        timeout_ms = int(backend.delivery_timeout_s * 1000)
        self._producer = Producer(
            {
                **backend.client_config(),
                "acks": "all",
                "enable.idempotence": False,
                "linger.ms": 1,
                "message.timeout.ms": timeout_ms,
                "request.timeout.ms": min(timeout_ms, 30_000),
            }
        )

    def append(self, payloads: list[bytes], timestamp_ms: int | list[int] | None = None) -> int:
        """Produce in order and wait for the delivery reports; DeliveryFailed if any is
        missing or an error."""
        if not payloads:
            return self.backend.end_offset(self.partition) - 1
        stamps = timestamp_ms if isinstance(timestamp_ms, list) else None
        stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        offsets: list[int] = []
        errors: list[str] = []

        def report(err: KafkaError | None, msg: Any) -> None:
            if err is not None:
                errors.append(err.str())
            else:
                offsets.append(msg.offset())

        for i, payload in enumerate(payloads):
            self._producer.produce(
                self.backend.topic,
                value=payload,
                partition=self.partition,
                timestamp=stamps[i] if stamps else stamp,  # type: ignore[arg-type]
                on_delivery=report,
            )
        left = self._producer.flush(self.backend.delivery_timeout_s + 1.0)
        if left or errors or len(offsets) != len(payloads):
            self._producer.purge()
            self._producer.flush(0)
            self.failed += len(payloads) - len(offsets)
            raise DeliveryFailed(
                f"topic {self.backend.topic}/{self.partition}: {len(payloads) - len(offsets)} of "
                f"{len(payloads)} record(s) not acknowledged ({errors[0] if errors else 'timeout'})"
            )
        return max(offsets)

    def close(self) -> None:
        self._producer.flush(1.0)


class KafkaBackend(LogBackend):
    """One topic on a Kafka-protocol broker (Kafka, Redpanda, Tansu)."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        partitions: int = 1,
        replication: int = 1,
        timeout_s: float = 10.0,
        delivery_timeout_s: float = 10.0,
    ) -> None:
        if not isinstance(bootstrap, str) or not bootstrap.strip():
            raise ConfigurationError(
                f"kafka bootstrap must be 'host:port[,host:port]', got {bootstrap!r}",
                details={"bootstrap": bootstrap},
            )
        for field, value in (("partitions", partitions), ("replication", replication)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInput(
                    f"{field} must be an integer >= 1, got {value!r}", details={"field": field}
                )
        self.bootstrap = bootstrap.strip()
        self.topic = topic
        self.num_partitions = partitions
        self.replication = replication
        self.timeout_s = timeout_s
        self.delivery_timeout_s = delivery_timeout_s
        self.schema_location = ""  # "config" or "topic" once known

    def client_config(self) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 5000}

    def _admin(self) -> AdminClient:
        return AdminClient(self.client_config())

    def _consumer(self) -> Consumer:
        return Consumer(
            {
                **self.client_config(),
                "group.id": f"eolab-reader-{uuid.uuid4().hex}",  # never joined (assign only)
                "enable.auto.commit": False,
                "enable.partition.eof": True,
                "fetch.wait.max.ms": 20,  # an empty fetch is how the end is found
                "auto.offset.reset": "error",
            }
        )

    def _topics(self, admin: AdminClient) -> dict[str, Any]:
        return admin.list_topics(timeout=self.timeout_s).topics

    @staticmethod
    def _wait(futures: dict[str, Any], timeout: float, ok: tuple[int, ...] = ()) -> None:
        for future in futures.values():
            try:
                future.result(timeout)
            except KafkaException as exc:
                if exc.args[0].code() not in ok:
                    raise

    def create(self, schema: dict[str, Any]) -> None:
        """Create the topic with its partitions and schema; an existing topic keeps its schema
        and gains partitions when the serving has more instances now."""
        admin = self._admin()
        text = json.dumps(schema)
        topics = self._topics(admin)
        if self.topic in topics:
            have = len(topics[self.topic].partitions)
            if have < self.num_partitions:
                futures = admin.create_partitions([NewPartitions(self.topic, self.num_partitions)])
                try:
                    self._wait(futures, self.timeout_s)
                except KafkaException as exc:  # e.g. Tansu: no CreatePartitions
                    _log.warning("topic %s keeps %d partition(s): %s; records of instances "
                                 "%d+ are not delivered (counted as dropped)", self.topic, have,
                                 exc.args[0].str(), have)  # fmt: skip
            return
        new = NewTopic(
            self.topic, self.num_partitions, self.replication, config={SCHEMA_CONFIG: text}
        )
        try:
            self._wait(
                admin.create_topics([new]), self.timeout_s, (KafkaError.TOPIC_ALREADY_EXISTS,)
            )
            self.schema_location = "config"
            return
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.INVALID_CONFIG:
                raise
        plain = NewTopic(self.topic, self.num_partitions, self.replication)
        holder = NewTopic(
            self.topic + SCHEMA_SUFFIX, 1, self.replication, config={"cleanup.policy": "compact"}
        )
        self._wait(
            admin.create_topics([plain, holder]), self.timeout_s, (KafkaError.TOPIC_ALREADY_EXISTS,)
        )
        producer = Producer(self.client_config())
        producer.produce(self.topic + SCHEMA_SUFFIX, key=SCHEMA_KEY, value=text.encode())
        if producer.flush(self.timeout_s):
            raise DeliveryFailed(f"schema of topic {self.topic} not written")
        self.schema_location = "topic"

    def schema(self) -> dict[str, Any] | None:
        """The Avro schema stored with the topic (config, else the ``.schema`` topic)."""
        admin = self._admin()
        topics = self._topics(admin)
        if self.topic not in topics:
            return None
        futures = admin.describe_configs([ConfigResource("topic", self.topic)])
        for future in futures.values():
            entry = future.result(self.timeout_s).get(SCHEMA_CONFIG)
            if entry is not None and entry.value:
                return json.loads(entry.value)
        if self.topic + SCHEMA_SUFFIX not in topics:
            return None
        holder = KafkaBackend(self.bootstrap, self.topic + SCHEMA_SUFFIX, timeout_s=self.timeout_s)
        entries = holder.read(0)
        return json.loads(entries[-1].payload) if entries else None

    def partitions(self) -> list[int]:
        topic = self._topics(self._admin()).get(self.topic)
        return sorted(topic.partitions) if topic is not None else []

    def open_writer(self, partition: int) -> KafkaWriter:
        return KafkaWriter(self, partition)

    def _end(self, consumer: Consumer, partition: int) -> tuple[int, int]:
        """(begin, end) offsets. ListOffsets gives the watermarks, but a broker may report a
        stale high one (Tansu counts batches), so the end is confirmed by fetching from there
        to the end-of-partition event, whose offset is the fetch response's high watermark."""
        low, high = consumer.get_watermark_offsets(
            TopicPartition(self.topic, partition), timeout=self.timeout_s, cached=False
        )
        low, high = max(0, low), max(0, high)
        consumer.assign([TopicPartition(self.topic, partition, high)])
        deadline = time.monotonic() + self.timeout_s
        try:
            while time.monotonic() < deadline:
                for msg in consumer.consume(500, timeout=0.05):
                    error = msg.error()
                    if error is None:
                        high = max(high, msg.offset() + 1)
                    elif error.code() == KafkaError._PARTITION_EOF:
                        return low, max(high, msg.offset())
                    else:
                        raise KafkaException(error)
        finally:
            consumer.unassign()
        raise KafkaException(
            KafkaError(KafkaError._TIMED_OUT, f"no end of {self.topic}/{partition} in time")
        )

    def _watermarks(self, partition: int) -> tuple[int, int]:
        consumer = self._consumer()
        try:
            return self._end(consumer, partition)
        finally:
            consumer.close()

    def begin_offset(self, partition: int) -> int:
        return self._watermarks(partition)[0]

    def end_offset(self, partition: int) -> int:
        """The offset the next record will get."""
        return self._watermarks(partition)[1]

    def read(
        self,
        partition: int,
        from_offset: int = 0,
        limit: int | None = None,
        since_ms: int | None = None,
    ) -> list[LogEntry]:
        """Records from ``from_offset`` (and at or after ``since_ms``) up to the end offset seen
        when the read began, oldest first; stops at ``timeout_s``."""
        if limit is not None and limit <= 0:
            return []
        consumer = self._consumer()
        out: list[LogEntry] = []
        try:
            low, high = self._end(consumer, partition)
            start = max(from_offset, low)
            if since_ms is not None:
                found = consumer.offsets_for_times(
                    [TopicPartition(self.topic, partition, since_ms)], timeout=self.timeout_s
                )[0].offset
                if found >= 0:
                    start = max(start, found)
            if start >= high:
                return []
            consumer.assign([TopicPartition(self.topic, partition, start)])
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                for msg in consumer.consume(500, timeout=0.05):
                    if msg.error() is not None:
                        if msg.error().code() == KafkaError._PARTITION_EOF:
                            return out
                        raise KafkaException(msg.error())
                    stamp = msg.timestamp()[1]
                    if since_ms is None or stamp >= since_ms:
                        out.append(LogEntry(partition, msg.offset(), stamp, msg.value()))
                    if (limit is not None and len(out) >= limit) or msg.offset() >= high - 1:
                        return out
        finally:
            consumer.close()
        return out

    def delete(self) -> None:
        """Delete the topic (and its schema topic); a missing topic is no error."""
        admin = self._admin()
        topics = self._topics(admin)
        names = [t for t in (self.topic, self.topic + SCHEMA_SUFFIX) if t in topics]
        if names:
            self._wait(
                admin.delete_topics(names, operation_timeout=self.timeout_s),
                self.timeout_s,
                (KafkaError.UNKNOWN_TOPIC_OR_PART,),
            )
