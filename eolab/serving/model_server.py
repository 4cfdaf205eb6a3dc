"""A model server instance: one tornado process serving one model over TF Serving's REST API.

Routes (``NAME`` is the serving's name, ``/versions/V`` is optional and must be the version
served)::

    GET  /v1/models/NAME[/versions/V]                   model status
    GET  /v1/models/NAME[/versions/V]/metadata          signature defs
    POST /v1/models/NAME[/versions/V]:predict|:classify|:regress
    GET  /metrics                                       Prometheus text

Errors are TF Serving's ``{"error": "…"}``: 400 bad input, 404 unknown model or version, 413 a
body over the limit, 500 a model that raised. Every inference request (answered or refused) is
handed to the inference logger, which never delays the response.

The supervisor starts an instance as ``python -c MAIN SPEC INDEX GENERATION``; it loads the
model once, binds a free port on 127.0.0.1, and writes ``{"port"}`` (or ``{"error"}`` with the
loader's message) to its ready file. SIGTERM drains and exits; so does losing its parent.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from eolab.serving import protocol
from eolab.serving.batching import Batcher, BatchingConfig
from eolab.serving.inference_log.base import InferenceLogger, open_backend
from eolab.serving.metrics import CONTENT_TYPE, InstanceMetrics
from eolab.serving.protocol import InferenceRequest, ProtocolError
from eolab.serving.runtime import write_json
from eolab.serving.servables import LoadError, Servable, load_servable

MAIN = "from eolab.serving.model_server import main; main()"
DEFAULT_MAX_BODY = 64 * 1024**2
CHUNK = 1024**2  # body bytes per read: a 75x75x3 chip in JSON (~350 KB) in one piece
INSTANCE_HEADER = "X-Eolab-Instance"
_log = logging.getLogger("eolab.serving.instance")


class ModelServer:
    """The model, its batcher and logger, and the tornado application in front of them."""

    def __init__(
        self,
        servable: Servable,
        name: str,
        version: int,
        instance: int = 0,
        model_id: int = 0,
        batching: BatchingConfig | None = None,
        logger: InferenceLogger | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        threads: int = 2,
        log_sampling: float = 1.0,
    ) -> None:
        self.servable = servable
        self.name = name
        self.version = version
        self.instance = instance
        self.model_id = model_id
        self.logger = logger
        self.log_sampling = log_sampling
        self.sampled_out = 0  # successful requests not logged (log_sampling < 1)
        self._sampler = random.Random()
        self.max_body = max_body
        self.metrics = InstanceMetrics()
        self.in_flight = 0
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="eolab-predict")
        self.batcher = (
            Batcher(servable.predict, batching, self.metrics.batch_size.observe)
            if batching
            else None
        )
        self.metrics.bind(
            queue_depth=(lambda: self.batcher.queued_rows) if self.batcher else None,
            log_lag=(lambda: logger.lag) if logger else None,
            log_written=(lambda: logger.written) if logger else None,
            log_dropped=(lambda: logger.dropped) if logger else None,
            log_sampled_out=(lambda: self.sampled_out) if logger else None,
        )

    def _direct(self, request: InferenceRequest) -> dict[str, np.ndarray]:
        outputs = self.servable.predict(request.signature_name, request.inputs)
        if request.rows is not None:
            self.metrics.batch_size.observe(request.rows)
        return outputs

    async def infer(self, request: InferenceRequest) -> dict[str, np.ndarray]:
        """Run the model: through the batcher when batching is on and the request has rows."""
        if self.batcher is not None and request.rows:
            future = self.batcher.submit(request.signature_name, request.inputs, request.rows)
            return await asyncio.wrap_future(future)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._direct, request)

    def log(
        self, body: bytes, response: str, code: int, started_ms: int, latency_ms: float
    ) -> None:
        if self.logger is None:
            return
        if code < 400 and self.log_sampling < 1 and self._sampler.random() >= self.log_sampling:
            self.sampled_out += 1  # failures are always logged: they are what one looks for
            return
        self.logger.log(
            {
                "modelId": self.model_id,
                "modelName": self.name,
                "modelVersion": self.version,
                "requestTimestamp": started_ms,
                "responseHttpCode": code,
                "inferenceRequest": body.decode("utf-8", "replace"),
                "inferenceResponse": response,
                "latency": latency_ms,
                "instance": self.instance,
            }
        )

    def check(self, name: str, version: str | None) -> None:
        if name != self.name or (version is not None and int(version) != self.version):
            raise protocol.servable_not_found(name, None if version is None else int(version))

    def application(self) -> web.Application:
        model = r"/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?"
        args = {"server": self}
        return web.Application(
            [
                (model + r"/?", StatusHandler, args),
                (model + r"/metadata/?", MetadataHandler, args),
                (model + r":(?P<verb>predict|classify|regress)", InferenceHandler, args),
                (r"/metrics", MetricsHandler, args),
            ],
            default_handler_class=NotFoundHandler,
            default_handler_args=args,
            log_function=_log_request,
        )

    def close(self) -> None:
        if self.batcher is not None:
            self.batcher.close()
        self._executor.shutdown(wait=True, cancel_futures=False)
        if self.logger is not None:
            self.logger.close()


def _log_request(handler: web.RequestHandler) -> None:
    """Refused and failed requests only: at hundreds of requests a second, a line per 200
    would fill the instance log."""
    status = handler.get_status()
    if status >= 400:
        _log.log(logging.ERROR if status >= 500 else logging.INFO, "%d %s %s %.1f ms", status,
                 handler.request.method, handler.request.path, 1000 * handler.request.request_time())  # fmt: skip


class _Handler(web.RequestHandler):
    def initialize(self, server: ModelServer) -> None:
        self.server = server

    def send(self, status: int, payload: Any) -> str:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header(INSTANCE_HEADER, str(self.server.instance))
        self.finish(text)
        return text

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ProtocolError):
            status_code, message = exc.status, exc.message
        elif isinstance(exc, web.HTTPError):
            message = exc.log_message or exc.reason or self._reason
        else:
            message = f"internal error: {type(exc).__name__}: {exc}" if exc else self._reason
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[no-untyped-def]
        if isinstance(value, ProtocolError):
            return
        super().log_exception(typ, value, tb)


class StatusHandler(_Handler):
    def get(self, name: str, version: str | None) -> None:
        self.server.check(name, version)
        self.send(200, protocol.model_status(self.server.version))


class MetadataHandler(_Handler):
    def get(self, name: str, version: str | None) -> None:
        self.server.check(name, version)
        body = protocol.model_metadata(name, self.server.version, self.server.servable.signatures)
        self.send(200, body)


class MetricsHandler(_Handler):
    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(self.server.metrics.render())


class NotFoundHandler(_Handler):
    def prepare(self) -> None:
        raise ProtocolError(404, f"no route {self.request.method} {self.request.path}")


@web.stream_request_body
class InferenceHandler(_Handler):
    """``:predict``, ``:classify``, ``:regress``; the body is streamed so that an oversized
    one is answered 413 without being kept."""

    def prepare(self) -> None:
        self.server.in_flight += 1
        self._counted = True
        self._started = time.perf_counter()
        self._started_ms = int(time.time() * 1000)
        self._chunks: list[bytes] = []
        self._size = 0
        length = self.request.headers.get("Content-Length")
        self._too_large = (
            length is not None and length.isdigit() and int(length) > self.server.max_body
        )

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self.server.max_body:
            self._too_large = True
        if not self._too_large:
            self._chunks.append(chunk)

    def _leave(self) -> None:
        if getattr(self, "_counted", False):
            self._counted = False
            self.server.in_flight -= 1

    def on_finish(self) -> None:
        self._leave()

    def on_connection_close(self) -> None:
        self._leave()

    async def post(self, name: str, version: str | None, verb: str) -> None:
        body = b"".join(self._chunks)
        self._chunks = []
        try:
            if self._too_large:
                body = b""
                raise ProtocolError(
                    413, f"request body is larger than this server's limit of "
                    f"{self.server.max_body} bytes",
                )  # fmt: skip
            self.server.check(name, version)
            signatures = self.server.servable.signatures
            request = None
            if verb == "predict":
                request = protocol.parse_predict_fast(body, signatures)
            if request is None:
                parsed = protocol.parse_json(body)
                if verb == "predict":
                    request = protocol.parse_predict(parsed, signatures)
                else:
                    request = protocol.parse_examples(parsed, signatures, verb)
            outputs = await self.server.infer(request)
            if verb == "predict":
                payload = protocol.format_predict(outputs, request.columnar)
            elif verb == "classify":
                payload = protocol.format_classify(outputs, request.rows or 0)
            else:
                payload = protocol.format_regress(outputs, request.rows or 0)
            status = 200
        except ProtocolError as exc:
            status, payload = exc.status, exc.body()
        except Exception as exc:  # noqa: BLE001 - the model raised: 500 with its message
            _log.exception("%s:%s failed", name, verb)
            status, payload = 500, {"error": f"the model failed: {type(exc).__name__}: {exc}"}
        text = self.send(status, payload)
        latency = time.perf_counter() - self._started
        self.server.metrics.observe(verb, status, latency)
        self.server.log(body, text, status, self._started_ms, latency * 1000)


# ---- the instance process -------------------------------------------------------------------


def ready_file(run_dir: str | Path, index: int, generation: int) -> Path:
    return Path(run_dir) / f"instance-{index}-{generation}.json"


def build_server(spec: dict[str, Any], index: int) -> ModelServer:
    """Load the model and the logger of instance ``index`` as the serving's spec says."""
    servable = load_servable(spec["model_server"], spec["model_path"], spec.get("signature"))
    servable.warmup()
    logger = None
    if spec.get("log"):
        logger = InferenceLogger(open_backend(spec["log"]), index)
    batching = BatchingConfig(**spec["batching"]) if spec.get("batching") else None
    return ModelServer(
        servable,
        spec["serving"],
        int(spec["model_version"]),
        index,
        int(spec.get("serving_id", 0)),
        batching,
        logger,
        int(spec.get("max_request_bytes", DEFAULT_MAX_BODY)),
        log_sampling=float(spec.get("log_sampling", 1.0)),
    )


async def serve(server: ModelServer, ready: Path, stop: asyncio.Event | None = None) -> None:
    """Listen on a free 127.0.0.1 port, report it, serve until SIGTERM, the parent is gone, or
    ``stop`` is set."""
    sockets = bind_sockets(0, "127.0.0.1")
    http = HTTPServer(
        server.application(), max_body_size=server.max_body * 4 + 2**20, chunk_size=CHUNK
    )
    http.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    write_json(ready, {"port": port, "pid": os.getpid()})
    _log.info("serving %s v%d (instance %d) on 127.0.0.1:%d", server.name, server.version,
              server.instance, port)  # fmt: skip
    gc.collect()
    gc.freeze()  # TensorFlow's many objects made full collections pause requests ~190 ms
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():
        import pyarrow

        # SIGTERM drains: requests in flight finish (Arrow would otherwise cancel a body
        # being parsed when the signal arrives, and the request would fail with a 500)
        pyarrow.enable_signal_handlers(False)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
    parent = os.getppid()

    async def watch_parent() -> None:
        while not stop.is_set():
            await asyncio.sleep(0.5)
            if os.getppid() != parent:
                _log.warning("the supervisor (pid %d) is gone; stopping", parent)
                stop.set()

    watcher = asyncio.create_task(watch_parent())
    await stop.wait()
    watcher.cancel()
    http.stop()  # no new connections; requests under way are answered first
    deadline = time.monotonic() + 10
    while server.in_flight > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(http.close_all_connections(), 5)
    server.close()
    _log.info("instance %d stopped", server.instance)


def main() -> None:
    spec_path, index, generation = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    spec = json.loads(Path(spec_path).read_text())
    ready = ready_file(spec["run_dir"], index, generation)
    try:
        server = build_server(spec, index)
    except LoadError as exc:
        _log.error("cannot load the model: %s", exc)
        write_json(ready, {"error": str(exc)})
        sys.exit(3)
    except Exception as exc:  # noqa: BLE001 - reported as the loader's error
        _log.exception("cannot start")
        write_json(ready, {"error": f"{type(exc).__name__}: {exc}"})
        sys.exit(3)
    asyncio.run(serve(server, ready))
