"""A serving's round-robin HTTP proxy on 127.0.0.1: one address in front of N instances.

Every request goes to the next instance in the rotation; an instance that cannot be reached
(crashed, being restarted) is skipped and the request goes to the next one, so that clients see
no error while at least one instance runs. With none, the answer is TF Serving's error format
with 503. ``GET /metrics`` answers the proxy's own metrics; anything else is passed through
unchanged, with ``X-Eolab-Instance`` saying which instance answered.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from eolab.serving.metrics import CONTENT_TYPE, ProxyMetrics
from eolab.serving.model_server import DEFAULT_MAX_BODY, INSTANCE_HEADER

_PASSED_HEADERS = ("Content-Type", INSTANCE_HEADER)


class Proxy:
    """The rotation of (instance index, port) and the client that forwards to them."""

    def __init__(self, name: str, max_body: int = DEFAULT_MAX_BODY, timeout_s: float = 60.0):
        self.name = name
        self.max_body = max_body
        self.timeout_s = timeout_s
        self.metrics = ProxyMetrics()
        self._rotation: list[tuple[int, int]] = []
        self._next = 0
        self.client = AsyncHTTPClient(force_instance=True, max_clients=128)

    @property
    def upstreams(self) -> list[tuple[int, int]]:
        return list(self._rotation)

    def add(self, index: int, port: int) -> None:
        self.remove(index)
        self._rotation.append((index, port))
        self._rotation.sort()
        self.metrics.instances_up.set(len(self._rotation))

    def remove(self, index: int, port: int | None = None) -> None:
        self._rotation = [
            (i, p) for i, p in self._rotation if not (i == index and port in (None, p))
        ]
        self.metrics.instances_up.set(len(self._rotation))

    def pick(self, tried: set[tuple[int, int]]) -> tuple[int, int] | None:
        candidates = [u for u in self._rotation if u not in tried]
        if not candidates:
            return None
        self._next = (self._next + 1) % (1 << 30)
        return candidates[self._next % len(candidates)]

    def application(self) -> web.Application:
        return web.Application(
            [
                (r"/metrics", ProxyMetricsHandler, {"proxy": self}),
                (r".*", ForwardHandler, {"proxy": self}),
            ],
            log_function=lambda handler: None,
        )


def error_body(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


class ProxyMetricsHandler(web.RequestHandler):
    def initialize(self, proxy: Proxy) -> None:
        self.proxy = proxy

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(self.proxy.metrics.render())


@web.stream_request_body
class ForwardHandler(web.RequestHandler):
    SUPPORTED_METHODS = ("GET", "POST")

    def initialize(self, proxy: Proxy) -> None:
        self.proxy = proxy

    def prepare(self) -> None:
        self._started = time.perf_counter()
        self._chunks: list[bytes] = []
        self._size = 0
        length = self.request.headers.get("Content-Length", "")
        self._too_large = length.isdigit() and int(length) > self.proxy.max_body

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        self._too_large = self._too_large or self._size > self.proxy.max_body
        if not self._too_large:
            self._chunks.append(chunk)

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        for key, value in (headers or {}).items():
            self.set_header(key, value)
        self.finish(body)
        self.proxy.metrics.requests.labels(str(status)).inc()
        self.proxy.metrics.latency.observe(time.perf_counter() - self._started)

    async def _forward(self) -> None:
        if self._too_large:
            limit = self.proxy.max_body
            self._answer(413, error_body(f"request body is larger than the limit of {limit} bytes"))
            return
        body = b"".join(self._chunks) if self.request.method == "POST" else None
        headers = {"Content-Type": self.request.headers.get("Content-Type", "application/json")}
        tried: set[tuple[int, int]] = set()
        while (upstream := self.proxy.pick(tried)) is not None:
            tried.add(upstream)
            request = HTTPRequest(
                f"http://127.0.0.1:{upstream[1]}{self.request.uri}",
                method=self.request.method,
                headers=headers,
                body=body,
                request_timeout=self.proxy.timeout_s,
                follow_redirects=False,
                decompress_response=False,
            )
            try:
                response = await self.proxy.client.fetch(request, raise_error=False)
            except HTTPClientError as exc:  # a timeout: the instance is alive but stuck
                if exc.response is None:
                    self._answer(504, error_body(f"instance {upstream[0]} timed out: {exc}"))
                    return
                response = exc.response
            except OSError:  # refused or reset: it is gone, try the next one
                self.proxy.metrics.upstream_errors.inc()
                continue
            passed = {k: response.headers[k] for k in _PASSED_HEADERS if k in response.headers}
            self._answer(response.code, response.body or b"", passed)
            return
        self._answer(503, error_body(f"serving {self.proxy.name} has no running instance"))

    async def get(self, *args: Any) -> None:
        await self._forward()

    async def post(self, *args: Any) -> None:
        await self._forward()
