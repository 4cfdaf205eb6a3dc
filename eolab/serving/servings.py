"""A project's model servings (hops-util-py's ``serving`` module): create, start, stop, call.

project.serving.create_or_update("ShipIcebergClassifier", "ship_iceberg_classifier", 1,
                                 instances=2, batching=BatchingConfig(32, 2000))
project.serving.start("ShipIcebergClassifier")           # waits until every instance answers
project.serving.make_inference_request("ShipIcebergClassifier", {"instances": chips})

The configuration is a catalog row (``ServingRow``); what runs is recorded by the serving's
supervisor under ``.servings/<name>/`` (:mod:`eolab.serving.runtime`), so that the REST server
and other notebooks find the same serving. Updating a running serving replaces its instances
one at a time (requests keep being answered).
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from eolab.access import require_creator_or_owner
from eolab.catalog.models import ModelRow, ServingRow, User
from eolab.catalog.models import Project as ProjectRow
from eolab.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from eolab.experiments.tracking import project_tx
from eolab.models.registry import _find as find_model_version
from eolab.models.registry import _jsonable
from eolab.names import check_name
from eolab.serving import runtime
from eolab.serving.batching import BatchingConfig
from eolab.serving.errors import InferenceFailed, ServingFailed, ServingUnavailable
from eolab.serving.inference_log.base import (
    INFERENCE_SCHEMA,
    LogBackend,
    log_config,
    open_backend,
)
from eolab.serving.model_server import DEFAULT_MAX_BODY
from eolab.serving.runtime import Status
from eolab.serving.servables import MODEL_SERVERS, LoadError, check_model_folder
from eolab.widgets.progress import progress_bar

if TYPE_CHECKING:
    from eolab.projects import Project
    from eolab.serving.consumer import InferenceLogConsumer, InferenceRecord
    from eolab.serving.instance_logs import LogTail
    from eolab.serving.monitoring import MonitorReport

SCOPE = "serving"
MAX_INSTANCES = 16
VERBS = (":predict", ":classify", ":regress")
TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
INFERENCE_FOLDER = "Logs/inference"
_SETTINGS = (
    "model_name", "model_version", "model_server", "instances", "batching",
    "inference_logging", "log_sampling", "topic",
)  # fmt: skip


@dataclass(frozen=True)
class ServingInstance:
    """One running model server process of a serving."""

    index: int
    pid: int
    port: int | None
    status: str
    model_version: int
    restarts: int
    started_at: str
    last_error: str
    missed_probes: int = 0  # health probes missed in a row (out of the rotation while > 0)


@dataclass(frozen=True)
class Serving:
    """A serving's configuration and what runs of it now."""

    name: str
    model_name: str
    model_version: int
    model_server: str
    requested_instances: int
    batching: BatchingConfig | None
    inference_logging: bool
    log_sampling: float  # the fraction of successful requests logged; failures always are
    topic: str
    status: str
    reason: str
    proxy_port: int | None
    instances: list[ServingInstance]
    created_by: str
    created_at: datetime
    updated_at: datetime
    id: int

    @property
    def available_instances(self) -> int:
        return sum(1 for i in self.instances if i.status == Status.RUNNING)

    @property
    def endpoint(self) -> str | None:
        """The TF-Serving base URL on this machine, while running."""
        if self.proxy_port is None or self.status != Status.RUNNING:
            return None
        return f"http://127.0.0.1:{self.proxy_port}/v1/models/{self.name}"

    def _view(self) -> Any:
        from eolab.widgets import Properties

        batching = (
            f"max {self.batching.max_batch_size} rows, {self.batching.batch_timeout_micros} µs"
            if self.batching
            else "off"
        )
        instances = ", ".join(
            f"#{i.index} {i.status} pid {i.pid} port {i.port} v{i.model_version}"
            + (f" ({i.restarts} restarts)" if i.restarts else "")
            for i in self.instances
        )
        return Properties(
            [
                ("status", f"{self.status} {self.reason}".strip()),
                ("model", f"{self.model_name} v{self.model_version} ({self.model_server})"),
                ("instances", f"{self.available_instances}/{self.requested_instances} {instances}"),
                ("batching", batching),
                ("inference log", self._log_setting()),
                ("endpoint", self.endpoint or ""),
                ("created", f"{self.created_at:%Y-%m-%d %H:%M:%S} by {self.created_by}"),
            ],
            title=f"serving {self.name}",
        )

    def _log_setting(self) -> str:
        if not self.inference_logging:
            return "off"
        if self.log_sampling < 1:
            return f"topic {self.topic}, {self.log_sampling:.0%} of successful requests sampled"
        return f"topic {self.topic}"

    def _repr_html_(self) -> str:
        return self._view()._repr_html_()

    def __repr__(self) -> str:
        return self._view().to_text()


def _find(s: Session, prow: ProjectRow, name: Any) -> ServingRow:
    row = None
    if isinstance(name, str):
        row = s.scalar(
            select(ServingRow).where(ServingRow.project_id == prow.id, ServingRow.name == name)
        )
    if row is None:
        raise NotFound(f"no serving {name!r} in project {prow.name!r}", details={"serving": name})
    return row


def _find_model(s: Session, prow: ProjectRow, name: str, version: int | None) -> ModelRow:
    return find_model_version(s, prow, name, version)


def _check_int(value: Any, field: str, low: int, high: int | None = None) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
    if not ok or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise InvalidInput(
            f"{field} must be an integer {bound}, got {value!r}", details={"field": field}
        )
    return value


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Do two specs serve the same thing (the generation aside)?"""
    strip = {"generation"}
    return {k: v for k, v in old.items() if k not in strip} == json.loads(
        json.dumps({k: v for k, v in new.items() if k not in strip})
    )


class Servings:
    """The servings of one project, as the project's caller (API-key scope ``serving``)."""

    def __init__(self, project: Project) -> None:
        self.project = project

    # ---- rows -------------------------------------------------------------------------------

    def _describe(self, s: Session, row: ServingRow) -> Serving:
        user = s.get(User, row.created_by)
        state = runtime.current_state(runtime.run_dir(self.project.root, row.name))
        instances = [
            ServingInstance(
                i["index"],
                i["pid"],
                i.get("port"),
                i["status"],
                i["model_version"],
                i.get("restarts", 0),
                i.get("started_at", ""),
                i.get("last_error", ""),
                i.get("missed_probes", 0),
            )  # fmt: skip
            for i in state.get("instances", [])
        ]
        return Serving(
            row.name,
            row.model_name,
            row.model_version,
            row.model_server,
            row.instances,
            BatchingConfig(**row.batching) if row.batching else None,
            row.inference_logging,
            row.log_sampling,
            row.topic,
            state["status"],
            state.get("reason", ""),
            state.get("proxy_port") if state["status"] == Status.RUNNING else None,
            instances,
            user.name if user else "",
            row.created_at,
            row.updated_at,
            row.id,
        )

    def get_serving(self, name: str) -> Serving:
        """The serving ``name``: configuration, status, instances."""
        with project_tx(self.project, SCOPE, write=False) as (s, prow):
            return self._describe(s, _find(s, prow, name))

    def get_servings(self) -> list[Serving]:
        """Every serving of the project, by name."""
        with project_tx(self.project, SCOPE, write=False) as (s, prow):
            rows = s.scalars(
                select(ServingRow).where(ServingRow.project_id == prow.id).order_by(ServingRow.name)
            )
            return [self._describe(s, row) for row in rows]

    def _require(self, name: str) -> None:
        """NotFound (or Forbidden for a non-member) unless the serving exists."""
        with project_tx(self.project, SCOPE, write=False) as (s, prow):
            _find(s, prow, name)

    def exists(self, name: str) -> bool:
        try:
            self.get_serving(name)
        except NotFound:
            return False
        return True

    def get_status(self, name: str) -> str:
        """Starting, Running, Stopping, Stopped or Failed (``get_serving(name).reason`` says
        why it failed)."""
        return self.get_serving(name).status

    def create_or_update(
        self,
        name: str,
        model_name: str,
        model_version: int | None = None,
        model_server: str = "tensorflow",
        instances: int = 1,
        batching: bool | BatchingConfig | dict[str, int] | None = False,
        inference_logging: bool = True,
        topic: str | None = None,
        log_sampling: float = 1.0,
    ) -> Serving:
        """Create the serving, or change it; a running serving switches to the new settings
        one instance at a time. ``model_version`` None serves the model's latest version.
        ``log_sampling`` in (0, 1] logs that fraction of the successful requests (chosen at
        random per request); failed requests are always logged, and monitoring scales its
        request rate back up."""
        check_name(name, "serving")
        check_name(model_name, "model")
        if model_version is not None:
            _check_int(model_version, "model_version", 1)
        if model_server not in MODEL_SERVERS:
            raise InvalidInput(
                f"model_server must be one of {list(MODEL_SERVERS)}, got {model_server!r}",
                details={"field": "model_server"},
            )
        _check_int(instances, "instances", 1, MAX_INSTANCES)
        config = BatchingConfig.from_value(batching)
        if not isinstance(inference_logging, bool):
            raise InvalidInput(
                f"inference_logging must be True or False, got {inference_logging!r}"
            )
        if (
            isinstance(log_sampling, bool)
            or not isinstance(log_sampling, int | float)
            or not 0 < log_sampling <= 1
        ):
            raise InvalidInput(
                f"log_sampling must be a fraction in (0, 1], got {log_sampling!r}",
                details={"field": "log_sampling"},
            )
        if topic is not None and (not isinstance(topic, str) or not TOPIC_NAME.match(topic)):
            raise InvalidInput(
                f"topic must match {TOPIC_NAME.pattern}, got {topic!r}", details={"field": "topic"}
            )
        with project_tx(self.project, SCOPE) as (s, prow):
            model = _find_model(s, prow, model_name, model_version)
            try:
                check_model_folder(model_server, self.project.root / model.location)
            except LoadError as exc:
                raise InvalidInput(
                    f"model {model_name} v{model.version} cannot be served with "
                    f"model_server={model_server!r}: {exc}",
                    details={"field": "model_server"},
                ) from None
            row = s.scalar(
                select(ServingRow).where(ServingRow.project_id == prow.id, ServingRow.name == name)
            )
            topic = topic or (row.topic if row is not None else f"{name}_inference_log")
            user = s.scalar(
                select(ServingRow.name).where(
                    ServingRow.project_id == prow.id,
                    ServingRow.topic == topic,
                    ServingRow.name != name,
                )
            )
            if user is not None:
                raise Conflict(
                    f"topic {topic!r} is the inference log of serving {user!r}; choose another",
                    details={"field": "topic", "serving": user},
                )
            if row is None:
                row = ServingRow(
                    project_id=prow.id, name=name, created_by=self.project.workspace.caller.user_id
                )
                s.add(row)
            previous = {k: getattr(row, k) for k in _SETTINGS}
            row.model_name = model_name
            row.model_version = model.version
            row.model_server = model_server
            row.instances = instances
            row.batching = config.to_dict() if config else None
            row.inference_logging = inference_logging
            row.log_sampling = float(log_sampling)
            row.topic = topic
            s.flush()
            spec = self._spec(prow, row, model)
        if inference_logging:
            self._backend(spec["log"]).create(INFERENCE_SCHEMA)
        folder = runtime.run_dir(self.project.root, name)
        state = runtime.current_state(folder)
        if state["status"] in (Status.STARTING, Status.RUNNING):
            self._update_running(name, spec, previous)
        return self.get_serving(name)

    def _update_running(self, name: str, spec: dict[str, Any], previous: dict[str, Any]) -> None:
        """Hand the new spec to the supervisor (SIGHUP) and wait for the rolling update; if the
        new instances cannot start, the old settings are put back and ServingFailed raised."""
        folder = runtime.run_dir(self.project.root, name)
        old_spec = runtime.read_json(folder / runtime.SPEC_FILE)
        if old_spec is not None and _same(old_spec, spec):
            return  # nothing changed: no restart
        runtime.write_json(folder / runtime.SPEC_FILE, spec)
        runtime.signal_process(runtime.current_state(folder).get("pid"), signal.SIGHUP)
        state = self._wait_update(name, spec["generation"])
        if not state.get("update_error"):
            return
        if old_spec is not None:
            runtime.write_json(folder / runtime.SPEC_FILE, old_spec)
        with project_tx(self.project, SCOPE) as (s, prow):
            row = _find(s, prow, name)
            for key, value in previous.items():
                setattr(row, key, value)
        raise ServingFailed(
            f"serving {name!r} kept its previous settings: {state['update_error']}",
            details={"serving": name, "log": str(runtime.log_dir(self.project.root, name))},
        )

    def _spec(self, prow: ProjectRow, row: ServingRow, model: ModelRow) -> dict[str, Any]:
        """What the supervisor and its instances need, with no catalog access."""
        root = self.project.root
        log = None
        if row.inference_logging:
            log = log_config(str(root / INFERENCE_FOLDER), row.topic, row.instances)
        return {
            "serving": row.name,
            "serving_id": row.id,
            "project": prow.name,
            "model_name": row.model_name,
            "model_version": row.model_version,
            "model_path": str(root / model.location),
            "model_server": row.model_server,
            "signature": model.signature,
            "instances": row.instances,
            "batching": row.batching,
            "log": log,
            "log_sampling": row.log_sampling,
            "health": self._health(),
            "run_dir": str(runtime.run_dir(root, row.name)),
            "log_dir": str(runtime.log_dir(root, row.name)),
            "max_request_bytes": DEFAULT_MAX_BODY,
            "start_timeout_s": 300,
            "generation": time.time_ns(),
        }

    def _health(self) -> dict[str, float]:
        """The supervisor's health probes of running instances (settings serving_health_*)."""
        settings = self.project.workspace.settings
        return {
            "interval_s": settings.serving_health_interval_s,
            "timeout_s": settings.serving_health_timeout_s,
            "failures": settings.serving_health_failures,
        }

    @staticmethod
    def _backend(log: dict[str, Any]) -> LogBackend:
        return open_backend(log)

    # ---- running ----------------------------------------------------------------------------

    def start(self, name: str, timeout_s: float = 300.0, progress: bool = True) -> Serving:
        """Start the serving's supervisor and wait until every instance answers its health
        check (a progress bar counts them); ServingFailed (with the loader's error) if it
        cannot start."""
        with project_tx(self.project, SCOPE) as (s, prow):
            row = _find(s, prow, name)
            model = _find_model(s, prow, row.model_name, row.model_version)
            spec = self._spec(prow, row, model)
        folder = runtime.run_dir(self.project.root, name)
        state = runtime.current_state(folder)
        if state["status"] not in (Status.STOPPED, Status.FAILED):
            if state["status"] == Status.STOPPING:
                raise Conflict(f"serving {name!r} is stopping; start it once it has stopped")
            return self._wait(name, timeout_s)
        runtime.log_dir(self.project.root, name).mkdir(parents=True, exist_ok=True)
        if spec["log"]:
            self._backend(spec["log"]).create(INFERENCE_SCHEMA)
        for stale in folder.glob("instance-*.json"):
            stale.unlink(missing_ok=True)
        runtime.write_json(folder / runtime.SPEC_FILE, spec)
        runtime.write_json(
            folder / runtime.STATE_FILE,
            {
                "status": Status.STARTING.value,
                "reason": "",
                "pid": None,
                "launched_at": time.time(),
                "instances": [],
            },
        )
        runtime.launch_supervisor(
            folder / runtime.SPEC_FILE,
            runtime.log_dir(self.project.root, name) / runtime.SUPERVISOR_LOG,
        )
        serving = self._wait(name, timeout_s, progress)
        if serving.status == Status.FAILED:
            raise ServingFailed(
                f"serving {name!r} failed to start: {serving.reason}",
                details={"serving": name, "log": str(runtime.log_dir(self.project.root, name))},
            )
        return serving

    def _wait(self, name: str, timeout_s: float, progress: bool = False) -> Serving:
        """Until the serving is no longer Starting; a bar counts the instances that answer."""
        deadline = time.monotonic() + timeout_s
        serving = self.get_serving(name)
        total = serving.requested_instances
        with progress_bar(total, f"starting {name}", progress, unit="instance") as bar:
            shown = 0
            while True:
                ready = min(serving.available_instances, total)
                if ready > shown:
                    bar.update(ready - shown)
                    shown = ready
                if serving.status != Status.STARTING or time.monotonic() > deadline:
                    return serving
                time.sleep(0.1)
                serving = self.get_serving(name)

    def _wait_update(self, name: str, generation: int, timeout_s: float = 300.0) -> dict[str, Any]:
        """Until the supervisor has replaced every instance (or said why it could not)."""
        folder = runtime.run_dir(self.project.root, name)
        deadline = time.monotonic() + timeout_s
        while True:
            state = runtime.current_state(folder)
            if state["status"] not in (Status.STARTING, Status.RUNNING):
                return state
            if state.get("generation") == generation and not state.get("updating"):
                return state
            if time.monotonic() > deadline:
                return state
            time.sleep(0.1)

    def stop(self, name: str, timeout_s: float = 30.0) -> Serving:
        """Stop the instances (each writes its queued inference log records) and the
        supervisor; a supervisor that does not stop in ``timeout_s`` is killed."""
        self._require(name)
        runtime.stop_supervisor(runtime.run_dir(self.project.root, name), timeout_s)
        return self.get_serving(name)

    def delete(self, name: str) -> None:
        """Stop and remove the serving (its creator or a data owner). Its logs under
        ``Logs/servings/`` and its inference log topic are kept."""
        with project_tx(self.project, SCOPE, write=False) as (s, prow):
            row = _find(s, prow, name)
            caller = self.project.workspace.caller
            require_creator_or_owner(s, caller, prow, row.created_by, f"serving {name}")
        self.stop(name)
        with project_tx(self.project, SCOPE) as (s, prow):
            s.delete(_find(s, prow, name))
        shutil.rmtree(runtime.run_dir(self.project.root, name), ignore_errors=True)

    # ---- requests ---------------------------------------------------------------------------

    def endpoint_port(self, name: str) -> int:
        """The proxy port of a running serving: NotFound, or ServingUnavailable (503)."""
        serving = self.get_serving(name)
        if serving.status != Status.RUNNING or serving.proxy_port is None:
            why = f": {serving.reason}" if serving.reason else ""
            raise ServingUnavailable(
                f"serving {name!r} is {serving.status.lower()}{why}; start it first",
                details={"serving": name, "status": serving.status},
            )
        return serving.proxy_port

    def make_inference_request(self, name: str, data: Any, verb: str = ":predict") -> Any:
        """Send a TF-Serving request body (or a list of instances) and return the response;
        TF Serving's errors become eolab errors (400 InvalidInput, 404, 413, 503)."""
        verb = verb if verb.startswith(":") else f":{verb}"
        if verb not in VERBS:
            raise InvalidInput(f"verb must be one of {list(VERBS)}, got {verb!r}")
        body = _jsonable(data) if isinstance(data, dict) else {"instances": _jsonable(data)}
        try:
            raw = json.dumps(body).encode()
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"the request data is not JSON-serialisable: {exc}") from None
        port = self.endpoint_port(name)
        status, payload = post(port, f"/v1/models/{name}{verb}", raw)
        if status == 200:
            return payload
        message = payload.get("error", str(payload)) if isinstance(payload, dict) else payload
        error = {
            400: InvalidInput,
            404: NotFound,
            413: PayloadTooLarge,
            503: ServingUnavailable,
        }.get(status, InferenceFailed)
        raise error(f"serving {name!r} answered {status}: {message}", details={"status": status})

    # ---- inference log and monitoring ------------------------------------------------------

    def topic_backend(self, name: str) -> LogBackend:
        serving = self.get_serving(name)
        root = str(self.project.root / INFERENCE_FOLDER)
        return open_backend(log_config(root, serving.topic, serving.requested_instances))

    def get_inference_log(
        self,
        name: str,
        from_offset: int | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[InferenceRecord]:
        """Decoded inference records of the serving's topic, oldest first: from ``from_offset``
        (in every partition), or since ``since`` (UTC), or else the last ``limit``."""
        from eolab.serving.consumer import read_records

        return read_records(self.topic_backend(name), from_offset, since, limit)

    def get_logs(self, name: str, source: str = "supervisor", tail: int = 200) -> LogTail:
        """The last ``tail`` lines of the serving's own log ``source`` (``supervisor`` or
        ``instance-<i>``; ``log_sources`` lists them), running or stopped."""
        from eolab.serving.instance_logs import read_log

        self._require(name)
        return read_log(self.project.root, name, source, tail)

    def log_sources(self, name: str) -> list[str]:
        from eolab.serving.instance_logs import log_sources

        self._require(name)
        return log_sources(self.project.root, name)

    def consumer(self, name: str, group: str) -> InferenceLogConsumer:
        """A consumer group on the serving's topic whose offsets are committed in the catalog."""
        from eolab.serving.consumer import InferenceLogConsumer

        return InferenceLogConsumer(self.project, self.topic_backend(name), group)

    def monitor(self, name: str, reference: Any = None, **options: Any) -> MonitorReport:
        """Request rate, errors, latency, predictions and input drift (see eolab.serving.monitoring)."""
        from eolab.serving.monitoring import monitor

        return monitor(self, name, reference, **options)


def post(port: int, path: str, body: bytes, timeout_s: float = 60.0) -> tuple[int, Any]:
    """POST JSON to a serving's proxy; (status, decoded body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        raw = response.read()
    except OSError as exc:
        raise ServingUnavailable(
            f"the serving's proxy on port {port} is unreachable: {exc}"
        ) from exc
    finally:
        connection.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw.decode("utf-8", "replace")
