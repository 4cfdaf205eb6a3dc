"""The driver <-> worker protocol of lagom.

Transport: ZeroMQ. The driver binds one ROUTER socket on ``tcp://HOST:PORT`` (HOST reachable
from the executors: 127.0.0.1 on the python engine, the Spark driver's host on spark, or what
``driver_host=`` / ``EOLAB_LAGOM_HOST`` say); each worker connects one DEALER socket. Every
message is two frames: a UTF-8 JSON object (the body) and the hex HMAC-SHA256 of the body under
the experiment's secret (32 random bytes made per experiment, given to the workers with their
spec). A message whose signature, run id or sequence number is wrong is dropped unanswered;
bodies are JSON, never pickles.

Every body has ``type``, ``run`` (the run id), ``worker`` (worker_00...), ``session`` (random per
worker process) and ``seq`` (increasing per session; the driver drops a replayed or old one).
The worker asks, the driver answers each request with one reply whose ``re`` is the request's
``seq``:

=======  =============================================  ===========================================
type     request fields (worker -> driver)              reply (driver -> worker)
=======  =============================================  ===========================================
REG      pid, host                                      OK {hb_interval}
GET      (a free worker asks for work)                  TRIAL {trial_id, params, seed, directory}
                                                        | WAIT {seconds} | STOP
METRIC   trial_id, points [[step, value], ...]          OK | STOP {trial_id}: stop this trial early
         (the heartbeat, every hb_interval s while a
         trial runs; points may be empty)
LOG      trial_id, message                              OK
FINAL    trial_id, state (FINISHED | EARLY_STOPPED),    OK
         metric, metrics, step, started_at, finished_at
ERROR    trial_id, error, traceback (train_fn raised)   OK
=======  =============================================  ===========================================

STOP answering GET tells the worker to exit: the search is over. A worker that stops
heartbeating during a trial for longer than the driver's timeout is declared lost: its trial is
queued again once, then recorded LOST. A worker that gets no reply within its own timeout
decides the driver is gone and exits.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import zmq

REG, GET, METRIC, LOG, FINAL, ERROR = "REG", "GET", "METRIC", "LOG", "FINAL", "ERROR"
OK, TRIAL, WAIT, STOP = "OK", "TRIAL", "WAIT", "STOP"
REQUESTS = (REG, GET, METRIC, LOG, FINAL, ERROR)
MAX_BODY = 4 * 1024**2


class BadMessage(Exception):
    """A message that is not ours: bad framing, signature, JSON or fields."""


class DriverGone(Exception):
    """The driver did not answer within the worker's timeout."""


def new_secret() -> str:
    return secrets.token_hex(32)


def sign(secret: str, body: bytes) -> bytes:
    return hmac.new(bytes.fromhex(secret), body, hashlib.sha256).hexdigest().encode()


def encode(secret: str, message: dict[str, Any]) -> list[bytes]:
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    return [body, sign(secret, body)]


def decode(secret: str, frames: list[bytes]) -> dict[str, Any]:
    """The message in ``[body, signature]``, or BadMessage."""
    if len(frames) != 2:
        raise BadMessage(f"expected 2 frames, got {len(frames)}")
    body, signature = frames
    if len(body) > MAX_BODY:
        raise BadMessage(f"body of {len(body)} bytes is over {MAX_BODY}")
    if not hmac.compare_digest(sign(secret, body), signature):
        raise BadMessage("bad signature")
    try:
        message = json.loads(body)
    except ValueError as exc:
        raise BadMessage(f"body is not JSON: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise BadMessage("body is not a message object")
    return message


def _bind_address(host: str) -> str:
    """An IP address is bound as is; a host name binds every interface (ZeroMQ binds
    interfaces, not names), which the workers reach by that name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "*"
    return host


@dataclass
class Request:
    """A checked request from a worker, and where to send the reply."""

    identity: bytes
    message: dict[str, Any]

    @property
    def type(self) -> str:
        return self.message["type"]

    @property
    def worker(self) -> str:
        return self.message["worker"]

    def __getitem__(self, key: str) -> Any:
        return self.message[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.message.get(key, default)


class DriverEndpoint:
    """The driver's side: receive requests, answer each one (single-threaded)."""

    def __init__(self, run_id: str, secret: str, host: str = "127.0.0.1") -> None:
        self.run_id = run_id
        self.secret = secret
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        port = self.socket.bind_to_random_port(f"tcp://{_bind_address(host)}")
        self.address = f"tcp://{host}:{port}"  # what the workers connect to
        self._seq: dict[tuple[str, str], int] = {}
        self.dropped = 0
        self._poller = zmq.Poller()
        self._poller.register(self.socket, zmq.POLLIN)

    def receive(self, timeout: float) -> list[Request]:
        """The requests that arrived, waiting up to ``timeout`` seconds for the first."""
        requests: list[Request] = []
        wait_ms = max(0, int(timeout * 1000))
        while self._poller.poll(wait_ms):
            wait_ms = 0
            frames = self.socket.recv_multipart()
            request = self._check(frames)
            if request is not None:
                requests.append(request)
        return requests

    def _check(self, frames: list[bytes]) -> Request | None:
        identity, payload = frames[0], frames[1:]
        try:
            message = decode(self.secret, payload)
            if message.get("run") != self.run_id:
                raise BadMessage(f"message for run {message.get('run')!r}")
            if message["type"] not in REQUESTS:
                raise BadMessage(f"unknown type {message['type']!r}")
            key = (str(message["worker"]), str(message["session"]))
            seq = message["seq"]
            if not isinstance(seq, int) or seq <= self._seq.get(key, 0):
                raise BadMessage(f"sequence number {seq!r} replayed or out of order")
            self._seq[key] = seq
        except (BadMessage, KeyError):
            self.dropped += 1
            return None
        return Request(identity, message)

    def reply(self, request: Request, type_: str, **fields: Any) -> None:
        message = {"type": type_, "run": self.run_id, "re": request.message["seq"], **fields}
        self.socket.send_multipart([request.identity, *encode(self.secret, message)])

    def close(self) -> None:
        self.socket.close(0)
        self.context.term()


class WorkerEndpoint:
    """A worker's side: one request at a time (threads share it), each with its reply."""

    def __init__(
        self, address: str, secret: str, run_id: str, worker: str, timeout: float = 60.0
    ) -> None:
        self.run_id = run_id
        self.secret = secret
        self.worker = worker
        self.session = secrets.token_hex(8)
        self.timeout = timeout
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(address)
        self._seq = 0
        self._lock = threading.Lock()

    def request(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Send one request and return the driver's reply; DriverGone after ``timeout``."""
        with self._lock:
            self._seq += 1
            seq = self._seq
            message = {
                "type": type_,
                "run": self.run_id,
                "worker": self.worker,
                "session": self.session,
                "seq": seq,
                **fields,
            }
            self.socket.send_multipart(encode(self.secret, message))
            deadline = time.monotonic() + self.timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not self.socket.poll(int(left * 1000)):
                    raise DriverGone(
                        f"no reply to {type_} from the lagom driver within {self.timeout:g} s"
                    )
                try:
                    reply = decode(self.secret, self.socket.recv_multipart())
                except BadMessage:
                    continue
                if reply.get("run") == self.run_id and reply.get("re") == seq:
                    return reply

    def close(self) -> None:
        self.socket.close(0)
        self.context.term()
