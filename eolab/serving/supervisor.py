"""A serving's supervisor: one process per running serving, owning its instances and proxy.

Started by ``Servings.start`` as ``python -c MAIN <spec.json>`` in its own session, it works
without Jupyter and outlives the notebook that started it. It:

- starts the spec's N instances (:mod:`eolab.serving.model_server`) and waits until each has
  loaded the model and answers its status route; then opens the proxy on 127.0.0.1;
- restarts an instance that exits (crash, kill -9) and logs the restart; an instance that
  fails to start 3 times in a row is given up, and the serving fails when none is left;
- probes every running instance's status route (``health`` in the spec: interval, timeout,
  failures in a row); one that misses a probe leaves the proxy's rotation until it answers
  again, and one that misses ``failures`` probes in a row (alive but hung: a deadlock, a
  stopped process) is killed and restarted like a crashed one;
- on SIGHUP re-reads the spec and replaces instances one at a time (new one healthy first,
  then the old one drained), so that a version switch keeps answering requests;
- on SIGTERM stops the instances (each writes what its inference log holds) and exits.

Everything it knows is in ``state.json`` (:mod:`eolab.serving.runtime`), rewritten atomically
on every change: status (Starting, Running, Stopping, Stopped, Failed) and reason, the proxy
port, and per instance its pid, port, model version, restarts and last error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from eolab.serving import runtime
from eolab.serving.model_server import CHUNK, DEFAULT_MAX_BODY, ready_file
from eolab.serving.model_server import MAIN as INSTANCE_MAIN
from eolab.serving.proxy import Proxy
from eolab.serving.runtime import Status

MAX_START_FAILURES = 3
POLL_S = 0.1
_log = logging.getLogger("eolab.serving.supervisor")


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


@dataclass
class Instance:
    """One instance process, from spawn to exit."""

    index: int
    generation: int
    model_version: int
    process: subprocess.Popen
    started_at: str
    port: int | None = None
    ready: bool = False
    missed_probes: int = 0  # health probes missed in a row

    def describe(self, restarts: int, last_error: str) -> dict[str, Any]:
        return {
            "index": self.index,
            "pid": self.process.pid,
            "port": self.port,
            "status": Status.RUNNING.value if self.ready else Status.STARTING.value,
            "model_version": self.model_version,
            "restarts": restarts,
            "started_at": self.started_at,
            "last_error": last_error,
            "missed_probes": self.missed_probes,
        }


class Supervisor:
    def __init__(self, spec_path: Path) -> None:
        self.spec_path = spec_path
        self.spec = json.loads(spec_path.read_text())
        self.run_dir = Path(self.spec["run_dir"])
        self.log_dir = Path(self.spec["log_dir"])
        self.proxy = Proxy(
            self.spec["serving"], int(self.spec.get("max_request_bytes", DEFAULT_MAX_BODY))
        )
        self.instances: dict[int, Instance] = {}
        self.restarts: dict[int, int] = {}
        self.failures: dict[int, int] = {}
        self.errors: dict[int, str] = {}
        self.given_up: set[int] = set()
        self.generation = 0
        self.status = Status.STARTING
        self.reason = ""
        self.updating = False
        self.update_error = ""
        self.attempted = self.spec.get("generation", 0)  # of the last spec read
        self.proxy_port: int | None = None
        self.health = self.spec["health"]  # interval_s, timeout_s, failures (the settings)
        self.started_at = _now()
        self.client = AsyncHTTPClient(force_instance=True)
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._respawning: set[int] = set()

    # ---- state ------------------------------------------------------------------------------

    def write_state(self) -> None:
        runtime.write_json(
            self.run_dir / runtime.STATE_FILE,
            {
                "status": self.status.value,
                "reason": self.reason,
                "pid": os.getpid(),
                "proxy_port": self.proxy_port,
                "model_version": self.spec["model_version"],
                "generation": self.attempted,
                "updating": self.updating,
                "update_error": self.update_error,
                "started_at": self.started_at,
                "updated_at": _now(),
                "instances": [
                    inst.describe(self.restarts.get(i, 0), self.errors.get(i, ""))
                    for i, inst in sorted(self.instances.items())
                ],
            },
        )

    # ---- instances --------------------------------------------------------------------------

    def spawn(self, index: int) -> Instance:
        self.generation += 1
        ready = ready_file(self.run_dir, index, self.generation)
        ready.unlink(missing_ok=True)
        log = self.log_dir / f"instance-{index}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
        with log.open("ab") as handle:
            process = subprocess.Popen(
                [sys.executable, "-c", INSTANCE_MAIN, str(self.spec_path), str(index),
                 str(self.generation)],
                stdin=subprocess.DEVNULL, stdout=handle, stderr=handle, env=env, close_fds=True,
            )  # fmt: skip
        _log.info("instance %d: started pid %d (model version %s)", index, process.pid,
                  self.spec["model_version"])  # fmt: skip
        return Instance(index, self.generation, int(self.spec["model_version"]), process, _now())

    async def wait_ready(self, inst: Instance, timeout: float) -> str:
        """Wait until the instance has loaded its model and answers; '' or why it did not."""
        ready = ready_file(self.run_dir, inst.index, inst.generation)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stop.is_set():
            info = runtime.read_json(ready)
            if info is not None:
                ready.unlink(missing_ok=True)
                if "error" in info:
                    return info["error"]
                inst.port = int(info["port"])
                break
            code = inst.process.poll()
            if code is not None:
                log = self.log_dir / f"instance-{inst.index}.log"
                return f"instance {inst.index} exited with code {code} while starting: {_tail(log)}"
            await asyncio.sleep(POLL_S)
        else:
            return (
                "stopped while starting"
                if self._stop.is_set()
                else (f"instance {inst.index} did not load the model in {timeout:.0f} s")
            )
        url = self.status_url(inst)
        while time.monotonic() < deadline:
            try:
                response = await self.client.fetch(url, raise_error=False, request_timeout=5)
                if response.code == 200:
                    inst.ready = True
                    return ""
                return f"instance {inst.index} health check answered {response.code}"
            except OSError:
                await asyncio.sleep(POLL_S)
        return f"instance {inst.index} did not answer its health check"

    async def start_instance(self, index: int) -> str:
        inst = self.spawn(index)
        self.instances[index] = inst
        self.write_state()
        error = await self.wait_ready(inst, float(self.spec.get("start_timeout_s", 300)))
        if error:
            await self.terminate(inst)
            return error
        self.proxy.add(index, inst.port or 0)
        _log.info("instance %d: ready on port %d", index, inst.port)
        return ""

    async def terminate(self, inst: Instance, grace_s: float = 10.0) -> None:
        """SIGTERM (the instance writes its log backlog and exits), SIGKILL after ``grace_s``."""
        self.proxy.remove(inst.index, inst.port)
        if inst.process.poll() is None:
            inst.process.terminate()
            deadline = time.monotonic() + grace_s
            while inst.process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(POLL_S / 2)
            if inst.process.poll() is None:
                inst.process.kill()
                inst.process.wait()

    async def restart(self, index: int) -> None:
        """Bring a crashed instance back; give up after MAX_START_FAILURES failed starts."""
        self._respawning.add(index)
        try:
            while not self._stop.is_set():
                self.restarts[index] = self.restarts.get(index, 0) + 1
                self.proxy.metrics.restarts.inc()
                error = await self.start_instance(index)
                if not error:
                    self.failures[index] = 0
                    self.write_state()
                    return
                self.failures[index] = self.failures.get(index, 0) + 1
                self.errors[index] = error
                _log.error("instance %d: restart failed: %s", index, error)
                if self.failures[index] >= MAX_START_FAILURES:
                    self.given_up.add(index)
                    self.instances.pop(index, None)
                    _log.error("instance %d: given up after %d failed starts", index,
                               MAX_START_FAILURES)  # fmt: skip
                    if not self.instances:
                        self.status = Status.FAILED
                        self.reason = f"every instance failed to start; last error: {error}"
                        self._stop.set()
                    self.write_state()
                    return
                await asyncio.sleep(min(2.0 ** self.failures[index] / 4, 5.0))
        finally:
            self._respawning.discard(index)

    async def check_instances(self) -> None:
        for index, inst in list(self.instances.items()):
            if index in self._respawning or not inst.ready:
                continue
            code = inst.process.poll()
            if code is None:
                continue
            self.proxy.remove(index, inst.port)
            inst.ready = False
            self.errors[index] = f"exited with code {code} at {_now()}"
            _log.error("instance %d (pid %d) exited with code %s; restarting (restart #%d)",
                       index, inst.process.pid, code, self.restarts.get(index, 0) + 1)  # fmt: skip
            self.write_state()
            asyncio.create_task(self.restart(index))

    def status_url(self, inst: Instance) -> str:
        """The TF-Serving status route of an instance: what health checks ask."""
        return f"http://127.0.0.1:{inst.port}/v1/models/{self.spec['serving']}"

    async def probe(self, inst: Instance) -> str:
        """'' when the instance answers its status route in time, else what went wrong."""
        url = self.status_url(inst)
        try:
            response = await self.client.fetch(
                url, raise_error=False, request_timeout=float(self.health["timeout_s"])
            )
        except (OSError, TimeoutError, HTTPClientError) as exc:  # refused, reset, timed out
            return f"{type(exc).__name__}: {exc}"
        return "" if response.code == 200 else f"answered {response.code}"

    async def check_health(self) -> None:
        """Probe the running instances together; take out of the rotation on a miss, put
        back on an answer, kill and restart after ``failures`` misses in a row."""
        running = [
            inst
            for index, inst in self.instances.items()
            if inst.ready and index not in self._respawning and inst.process.poll() is None
        ]
        results = await asyncio.gather(*(self.probe(inst) for inst in running))
        for inst, problem in zip(running, results, strict=True):
            if self.instances.get(inst.index) is not inst or not inst.ready:
                continue  # replaced or restarted while probing
            if not problem:
                if inst.missed_probes:
                    _log.info("instance %d answers its health probe again; back in the rotation",
                              inst.index)  # fmt: skip
                    self.proxy.add(inst.index, inst.port or 0)
                    inst.missed_probes = 0
                    self.write_state()
                continue
            inst.missed_probes += 1
            limit = int(self.health["failures"])
            _log.warning("instance %d (pid %d) missed health probe %d of %d: %s", inst.index,
                         inst.process.pid, inst.missed_probes, limit, problem)  # fmt: skip
            if len(self.proxy.upstreams) > 1:  # the last one stays: a slow answer beats a 503
                self.proxy.remove(inst.index, inst.port)
            if inst.missed_probes >= limit:
                await self.kill_hung(inst, problem)
            self.write_state()

    async def kill_hung(self, inst: Instance, problem: str) -> None:
        inst.ready = False
        self.errors[inst.index] = (
            f"missed {inst.missed_probes} health probes in a row (hung: {problem}); killed at "
            f"{_now()}"
        )
        _log.error("instance %d (pid %d) is hung (%d health probes missed in a row); killing "
                   "and restarting it (restart #%d)", inst.index, inst.process.pid,
                   inst.missed_probes, self.restarts.get(inst.index, 0) + 1)  # fmt: skip
        inst.process.kill()  # SIGKILL: a stopped or deadlocked process would ignore SIGTERM
        while inst.process.poll() is None:
            await asyncio.sleep(POLL_S / 2)
        asyncio.create_task(self.restart(inst.index))

    async def health_loop(self) -> None:
        interval = float(self.health["interval_s"])
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)
            if not self._stop.is_set() and not self.updating:
                await self.check_health()

    # ---- lifecycle --------------------------------------------------------------------------

    async def start_all(self) -> str:
        count = int(self.spec["instances"])
        errors = await asyncio.gather(*(self.start_instance(i) for i in range(count)))
        failed = [e for e in errors if e]
        return failed[0] if failed else ""

    async def rolling_update(self) -> None:
        """Re-read the spec and replace the instances one at a time, new before old."""
        try:
            spec = json.loads(self.spec_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            _log.error("cannot re-read %s: %s", self.spec_path, exc)
            return
        _log.info("update to model version %s with %s instance(s): replacing instances one "
                  "at a time", spec["model_version"], spec["instances"])  # fmt: skip
        previous, self.spec = self.spec, spec
        self.attempted = spec.get("generation", 0)
        self.given_up.clear()
        self.updating = True
        self.write_state()
        try:
            error = await self._replace_instances(spec)
        finally:
            self.updating = False
        if error:
            self.spec = previous  # a crashed instance restarts as it was
            self.update_error = f"update to version {spec['model_version']} failed: {error}"
            _log.error("%s; the running instances are kept", self.update_error)
        else:
            self.update_error = ""
            _log.info("update done: model version %s", spec["model_version"])
        self.write_state()

    async def _replace_instances(self, spec: dict[str, Any]) -> str:
        count = int(spec["instances"])
        for index in range(count):
            old = self.instances.get(index)
            new = self.spawn(index)
            error = await self.wait_ready(new, float(spec.get("start_timeout_s", 300)))
            if error:
                await self.terminate(new)
                if old is not None:
                    self.instances[index] = old
                return error
            self.instances[index] = new
            self.proxy.add(index, new.port or 0)
            if old is not None:
                await self.terminate(old)
            self.write_state()
        for index in [i for i in self.instances if i >= count]:
            await self.terminate(self.instances.pop(index))
        return ""

    async def stop_all(self) -> None:
        await asyncio.gather(*(self.terminate(inst) for inst in self.instances.values()))

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload.set)
        self.write_state()
        _log.info("starting serving %s: model %s version %s, %s instance(s)", self.spec["serving"],
                  self.spec["model_name"], self.spec["model_version"], self.spec["instances"])  # fmt: skip
        error = await self.start_all()
        if error:
            self.status, self.reason = Status.FAILED, error
            _log.error("serving failed to start: %s", error)
            await self.stop_all()
            self.instances.clear()
            self.write_state()
            return 1
        sockets = bind_sockets(0, "127.0.0.1")
        server = HTTPServer(
            self.proxy.application(),
            max_body_size=self.proxy.max_body * 4 + 2**20,
            chunk_size=CHUNK,
        )
        server.add_sockets(sockets)
        self.proxy_port = sockets[0].getsockname()[1]
        if not self._stop.is_set():
            self.status = Status.RUNNING
        self.write_state()
        _log.info(
            "serving %s running: proxy on 127.0.0.1:%d", self.spec["serving"], self.proxy_port
        )
        health = asyncio.create_task(self.health_loop())
        while not self._stop.is_set():
            if self._reload.is_set():
                self._reload.clear()
                await self.rolling_update()
            await self.check_instances()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), POLL_S)
        health.cancel()
        failed = self.status == Status.FAILED
        if not failed:
            self.status = Status.STOPPING
            self.write_state()
        server.stop()
        await self.stop_all()
        if not failed:
            self.status, self.reason = Status.STOPPED, ""
        self.instances.clear()
        self.write_state()
        _log.info("serving %s %s", self.spec["serving"], self.status.value.lower())
        return 1 if failed else 0


def main() -> None:
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    supervisor = Supervisor(Path(sys.argv[1]))
    sys.exit(asyncio.run(supervisor.run()))
