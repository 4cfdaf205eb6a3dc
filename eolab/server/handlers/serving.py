"""Model serving over REST: servings (list, create or update, describe, start/stop, delete),
their inference log, monitoring report and own log files, and inference itself.

``POST projects/{p}/inference/models/{name}:predict|:classify|:regress`` passes the body
unchanged to the serving's proxy and its answer back unchanged, so that TF-Serving clients work
as they are; its errors (404 unknown serving, 403 non-member, 503 not running, 413 too large)
are TF Serving's ``{"error": "…"}``. Only a request that carries no valid identity at all gets
the API's 401 envelope: it never reached a serving, and every route of the API answers an
anonymous caller the same way.
"""

from __future__ import annotations

import json
from typing import Any

from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from eolab.errors import EolabError, InvalidInput, Unauthorized
from eolab.server.base import API_PREFIX, ApiHandler
from eolab.server.models import (
    CreateOrUpdateServing,
    DescribeInferenceRecord,
    DescribeMonitorReport,
    DescribeServing,
    DescribeServingLogs,
    ListInferenceLogResponse,
    ListServingsResponse,
)
from eolab.serving.errors import ServingUnavailable
from eolab.serving.model_server import DEFAULT_MAX_BODY, INSTANCE_HEADER
from eolab.serving.servings import Serving, Servings

MAX_BODY = DEFAULT_MAX_BODY
ACTIONS = ("start", "stop")


def describe(project: str, serving: Serving) -> DescribeServing:
    view = DescribeServing.model_validate(serving, from_attributes=True)
    view.inference_url = f"{API_PREFIX}/projects/{project}/inference/models/{serving.name}:predict"
    return view


class ServingScoped(ApiHandler):
    async def servings(self, project: str) -> Servings:
        handle = await self.run(self.ws.get_project, project)
        return Servings(handle)


class ServingsResource(ServingScoped):
    async def get(self, project: str) -> None:
        servings = await self.servings(project)
        found = await self.run(servings.get_servings)
        self.send_model(ListServingsResponse(servings=[describe(project, s) for s in found]))


class ServingResource(ServingScoped):
    async def get(self, project: str, name: str) -> None:
        servings = await self.servings(project)
        self.send_model(describe(project, await self.run(servings.get_serving, name)))

    async def put(self, project: str, name: str) -> None:
        body = self.parse_body(CreateOrUpdateServing)
        servings = await self.servings(project)
        batching: Any = body.batching
        if hasattr(batching, "model_dump"):
            batching = batching.model_dump()
        serving = await self.run(
            servings.create_or_update,
            name,
            body.model_name,
            body.model_version,
            body.model_server.value,
            body.instances,
            batching,
            body.inference_logging,
            body.topic,
            body.log_sampling,
        )
        self.send_model(describe(project, serving))

    async def post(self, project: str, name: str) -> None:
        action = self.query("action")
        if action not in ACTIONS:
            raise InvalidInput(f"?action= must be one of {list(ACTIONS)}, got {action!r}")
        servings = await self.servings(project)
        if action == "start":
            serving = await self.run(servings.start, name, progress=False)
        else:
            serving = await self.run(servings.stop, name)
        self.send_model(describe(project, serving))

    async def delete(self, project: str, name: str) -> None:
        servings = await self.servings(project)
        await self.run(servings.delete, name)
        self.set_status(204)
        self.finish()


class InferenceLogResource(ServingScoped):
    async def get(self, project: str, name: str) -> None:
        servings = await self.servings(project)
        from_offset = self.query("from_offset", None, int)
        limit = self.query("limit", 100, int)
        serving = await self.run(servings.get_serving, name)
        records = await self.run(servings.get_inference_log, name, from_offset, None, limit)
        self.send_model(
            ListInferenceLogResponse(
                name=name,
                topic=serving.topic,
                records=[DescribeInferenceRecord.model_validate(r) for r in records],
            )
        )


class ServingLogsResource(ServingScoped):
    """The last ``?tail=`` (default 200) lines of the serving's ``?source=`` log (default
    ``supervisor``), with the sources there are; readable after the serving stopped."""

    async def get(self, project: str, name: str) -> None:
        servings = await self.servings(project)
        source = self.query("source", "supervisor")
        tail = self.query("tail", 200, int)
        got = await self.run(servings.get_logs, name, source, tail)
        sources = await self.run(servings.log_sources, name)
        self.send_model(
            DescribeServingLogs(
                serving=name,
                sources=sources,
                source=got.source,
                lines=got.lines,
                size_bytes=got.size_bytes,
                truncated=got.truncated,
                modified_at=got.modified_at,
            )
        )


class MonitoringResource(ServingScoped):
    """``monitor`` over the last ``?limit=`` records; drift against ``?reference=`` (a training
    dataset, ``?version=`` or its latest)."""

    async def get(self, project: str, name: str) -> None:
        servings = await self.servings(project)
        limit = self.query("limit", 1000, int)
        reference = self.query("reference")
        version = self.query("version", None, int)
        if version is not None and not reference:
            raise InvalidInput(f"?version={version} is the reference's version; add ?reference=")
        await self.run(servings.get_serving, name)  # an unknown serving first
        td = None
        if reference:
            store = await self.run(servings.project.get_feature_store)
            td = await self.run(store.get_training_dataset, reference, version)
        report = await self.run(servings.monitor, name, td, limit=limit)
        self.send_model(DescribeMonitorReport.model_validate(report.to_dict()))


class InferenceResource(ServingScoped):
    """TF Serving's predict, classify and regress through the serving's proxy."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, Unauthorized) or (
            isinstance(exc, web.HTTPError) and exc.status_code == 401
        ):
            super().write_error(status_code, **kwargs)  # the API's 401 envelope, see above
            return
        if isinstance(exc, EolabError):
            status_code, message = exc.http_status, exc.message
        elif isinstance(exc, web.HTTPError):
            status_code = exc.status_code
            message = exc.log_message or exc.reason or "request refused"
        else:
            message = "internal server error; the server log has the details"
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))

    async def post(self, project: str, name: str) -> None:
        verb = self.request.path.rstrip("/").rsplit(":", 1)[-1]
        if len(self.request.body) > MAX_BODY:
            self.set_status(413)
            self.set_header("Content-Type", "application/json")
            self.finish(
                json.dumps({"error": f"request body is larger than the limit of {MAX_BODY} bytes"})
            )
            return
        servings = await self.servings(project)
        port = await self.run(servings.endpoint_port, name)
        request = HTTPRequest(
            f"http://127.0.0.1:{port}/v1/models/{name}:{verb}",
            method="POST",
            headers={"Content-Type": "application/json"},
            body=self.request.body,
            request_timeout=120,
        )
        try:
            response = await AsyncHTTPClient().fetch(request, raise_error=False)
        except (OSError, HTTPClientError) as exc:
            raise ServingUnavailable(f"serving {name!r} did not answer: {exc}") from None
        self.set_status(response.code)
        self.set_header("Content-Type", "application/json")
        if INSTANCE_HEADER in response.headers:
            self.set_header(INSTANCE_HEADER, response.headers[INSTANCE_HEADER])
        self.finish(response.body or b"")
