"""A serving's round-robin HTTP proxy on 127.0.0.1: one address in front of N instances.

Every request goes to the next instance in the rotation; an instance that cannot be reached
(crashed, being restarted) is skipped and the request goes to the next one, so that clients see
no error while at least one instance runs. With none, the answer is TF Serving's error format
with 503. ``GET /metrics`` answers the proxy's own metrics; anything else is passed through
unchanged, with ``X-Eolab-Instance`` saying which instance answered.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from tornado import web
from tornado.httputil import HTTPHeaders, parse_response_start_line
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient

from eolab.serving.metrics import CONTENT_TYPE, ProxyMetrics
from eolab.serving.model_server import CHUNK, DEFAULT_MAX_BODY, INSTANCE_HEADER

_PASSED_HEADERS = ("Content-Type", INSTANCE_HEADER)
MAX_IDLE = 16  # kept-alive connections per instance


@dataclass
class Response:
    code: int
    headers: HTTPHeaders
    body: bytes


class Upstreams:
    """Kept-alive HTTP/1.1 connections to the instances (tornado's client opens a connection
    per request; reusing them saves a connect and an accept per request)."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self._idle: dict[int, list[IOStream]] = {}
        self._tcp = TCPClient()

    async def _connect(self, port: int) -> IOStream:
        stream = await self._tcp.connect("127.0.0.1", port, max_buffer_size=self.max_body * 4)
        stream.set_nodelay(True)
        return stream

    async def _roundtrip(
        self, stream: IOStream, method: str, uri: str, content_type: str, body: bytes
    ) -> tuple[Response, bool]:
        head = (
            f"{method} {uri} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1")
        await stream.write(head + body if len(body) < CHUNK else head)
        if len(body) >= CHUNK:
            await stream.write(body)
        data = await stream.read_until_regex(b"\r?\n\r?\n", max_bytes=65536)
        first, _, rest = data.decode("latin-1").partition("\n")
        start = parse_response_start_line(first.strip())
        headers = HTTPHeaders.parse(rest)
        length = headers.get("Content-Length")
        if length is None:  # our instances always send a length; anything else ends the stream
            payload = await stream.read_until_close()
            return Response(start.code, headers, payload), False
        payload = await stream.read_bytes(int(length)) if int(length) else b""
        keep = headers.get("Connection", "").lower() != "close"
        return Response(start.code, headers, payload), keep

    async def fetch(
        self, port: int, method: str, uri: str, content_type: str, body: bytes, timeout: float
    ) -> Response:
        """One request on a kept-alive connection (a stale one is replaced once); OSError
        when the instance cannot be reached, TimeoutError when it does not answer in time."""
        idle = self._idle.setdefault(port, [])
        while True:
            reused = bool(idle)
            stream = idle.pop() if reused else await self._connect(port)
            try:
                response, keep = await asyncio.wait_for(
                    self._roundtrip(stream, method, uri, content_type, body), timeout
                )
            except StreamClosedError:
                stream.close()
                if reused:
                    continue  # the instance closed it while idle: try a fresh connection
                raise
            except BaseException:
                stream.close()
                raise
            if keep and len(idle) < MAX_IDLE and not stream.closed():
                idle.append(stream)
            else:
                stream.close()
            return response

    def forget(self, port: int) -> None:
        for stream in self._idle.pop(port, []):
            stream.close()


class Proxy:
    """The rotation of (instance index, port) and the client that forwards to them."""

    def __init__(self, name: str, max_body: int = DEFAULT_MAX_BODY, timeout_s: float = 60.0):
        self.name = name
        self.max_body = max_body
        self.timeout_s = timeout_s
        self.metrics = ProxyMetrics()
        self._rotation: list[tuple[int, int]] = []
        self._next = 0
        self.client = Upstreams(max_body)

    @property
    def upstreams(self) -> list[tuple[int, int]]:
        return list(self._rotation)

    def add(self, index: int, port: int) -> None:
        self.remove(index)
        self._rotation.append((index, port))
        self._rotation.sort()
        self.metrics.instances_up.set(len(self._rotation))

    def remove(self, index: int, port: int | None = None) -> None:
        for i, p in self._rotation:
            if i == index and port in (None, p):
                self.client.forget(p)
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
        body = b"".join(self._chunks)
        content_type = self.request.headers.get("Content-Type", "application/json")
        tried: set[tuple[int, int]] = set()
        while (upstream := self.proxy.pick(tried)) is not None:
            tried.add(upstream)
            try:
                response = await self.proxy.client.fetch(
                    upstream[1], self.request.method or "GET", self.request.uri or "/",
                    content_type, body, self.proxy.timeout_s,
                )  # fmt: skip
            except TimeoutError:  # alive but stuck: do not send the request again
                self._answer(504, error_body(f"instance {upstream[0]} did not answer in time"))
                return
            except OSError:  # refused or reset: it is gone, try the next one
                self.proxy.metrics.upstream_errors.inc()
                continue
            passed = {k: response.headers[k] for k in _PASSED_HEADERS if k in response.headers}
            self._answer(response.code, response.body, passed)
            return
        self._answer(503, error_body(f"serving {self.proxy.name} has no running instance"))

    async def get(self, *args: Any) -> None:
        await self._forward()

    async def post(self, *args: Any) -> None:
        await self._forward()
