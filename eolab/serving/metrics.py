"""Prometheus metrics of a model server instance and of a serving's proxy (``GET /metrics``).

Each process has its own registry (not the global one), so that a test or a benchmark that
runs several servers in one process counts each apart. Prometheus scrapes every instance as its
own target; the instances' ports are in the serving's state (``Serving.instances``).
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class InstanceMetrics:
    """Requests, latency, batch sizes, queue depth and the inference log's lag and drops."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "eolab_serving_requests", "Inference requests by verb and HTTP code",
            ["verb", "code"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "eolab_serving_request_latency_seconds", "Inference request latency",
            ["verb"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.batch_size = Histogram(
            "eolab_serving_batch_size", "Rows per model call", buckets=BATCH_BUCKETS, registry=r
        )
        self.queue_depth = Gauge(
            "eolab_serving_queue_depth", "Rows waiting for a batch", registry=r
        )
        self.log_lag = Gauge(
            "eolab_serving_inference_log_lag", "Inference log records not yet written", registry=r
        )
        self.log_written = Gauge(
            "eolab_serving_inference_log_written", "Inference log records written", registry=r
        )
        self.log_dropped = Gauge(
            "eolab_serving_inference_log_dropped",
            "Inference log records dropped (buffer full or backend down)",
            registry=r,
        )
        self.log_sampled_out = Gauge(
            "eolab_serving_inference_log_sampled_out",
            "Successful requests not logged by sampling (log_sampling < 1)",
            registry=r,
        )

    def observe(self, verb: str, code: int, seconds: float) -> None:
        self.requests.labels(verb, str(code)).inc()
        self.latency.labels(verb).observe(seconds)

    def bind(
        self,
        queue_depth: Callable[[], float] | None = None,
        log_lag: Callable[[], float] | None = None,
        log_written: Callable[[], float] | None = None,
        log_dropped: Callable[[], float] | None = None,
        log_sampled_out: Callable[[], float] | None = None,
    ) -> None:
        """Gauges read at scrape time from the batcher and the inference logger."""
        for gauge, fn in (
            (self.queue_depth, queue_depth),
            (self.log_lag, log_lag),
            (self.log_written, log_written),
            (self.log_dropped, log_dropped),
            (self.log_sampled_out, log_sampled_out),
        ):
            if fn is not None:
                gauge.set_function(fn)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class ProxyMetrics:
    """What the serving's proxy sees: requests, upstream failures, instances up, restarts."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "eolab_proxy_requests", "Requests through the proxy by HTTP code", ["code"],
            registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "eolab_proxy_request_latency_seconds", "Latency through the proxy",
            buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.upstream_errors = Counter(
            "eolab_proxy_upstream_errors", "Instances that could not be reached", registry=r
        )
        self.instances_up = Gauge(
            "eolab_serving_instances_up", "Instances in the round robin", registry=r
        )
        self.restarts = Counter(
            "eolab_serving_instance_restarts", "Instances restarted after a crash", registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
