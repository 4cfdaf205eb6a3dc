"""What every eolab REST handler shares: authentication, JSON in and out, error envelopes.

Handlers are written once, as mixins on :class:`ApiHandler`, and combined with one of two
bases: Jupyter's own handler (cookie/token auth of the Jupyter server, plus API keys) inside
JupyterLab, or a bare tornado handler (API keys only) for ``eolab server``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any, TypeVar

import pydantic
from tornado import web

from eolab.errors import EolabError, InvalidInput, NotFound, Unauthorized
from eolab.workspace import Workspace

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)
API_PREFIX = "/eolab/api/v1"
WORKSPACE_SETTING = "eolab_workspace"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _status_message(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


class ApiHandler(web.RequestHandler):
    """Shared behaviour; ``identify`` is provided by the Jupyter or standalone base."""

    workspace_for_request: Workspace

    # ---- identity --------------------------------------------------------------------------

    @property
    def base_workspace(self) -> Workspace:
        return self.settings[WORKSPACE_SETTING]

    def api_key(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "apikey" and token.strip() else None

    def authenticate_api_key(self, token: str) -> None:
        self.workspace_for_request = self.base_workspace.as_api_key(token)

    @property
    def ws(self) -> Workspace:
        return self.workspace_for_request

    # ---- input -----------------------------------------------------------------------------

    def body_bytes(self) -> bytes:
        return self.request.body

    def parse_body(self, model: type[ModelT]) -> ModelT:
        raw = self.body_bytes() or b"{}"
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"request body is not valid JSON: {exc}") from exc
        try:
            return model.model_validate(data)
        except pydantic.ValidationError as exc:
            errors = [
                {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "message": e["msg"]}
                for e in exc.errors()
            ]
            first = errors[0]
            raise InvalidInput(
                f"invalid {model.__name__}: {first['field']}: {first['message']}",
                details={"violations": errors},
            ) from exc

    def query(self, name: str, default: Any = None, kind: type = str) -> Any:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        if kind is bool:
            return raw.lower() in ("1", "true", "yes", "on")
        try:
            return kind(raw)
        except ValueError as exc:
            raise InvalidInput(
                f"query parameter {name!r} expects {kind.__name__}, got {raw!r}"
            ) from exc

    # ---- output ----------------------------------------------------------------------------

    def send_model(self, model: pydantic.BaseModel, status: int = 200) -> None:
        self.send_json(model.model_dump(mode="json", by_alias=True), status)

    def send_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(payload, default=_json_default))

    async def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run blocking SDK work off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, EolabError):
            status_code, body = exc.http_status, exc.to_dict()
        elif isinstance(exc, web.HTTPError):
            status_code = exc.status_code
            code = {
                401: "unauthorized",
                403: "forbidden",
                404: "not_found",
                405: "method_not_allowed",
            }
            body = {
                "error": {
                    "code": code.get(status_code, "http_error"),
                    "message": exc.log_message or exc.reason or _status_message(status_code),
                    "details": None,
                }
            }
        else:
            body = {
                "error": {
                    "code": "internal",
                    "message": "internal server error; the server log has the details",
                    "details": None,
                }
            }
        self.set_status(status_code)
        self.clear_header("Content-Disposition")
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(body))

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[no-untyped-def]
        if isinstance(value, EolabError):
            self.log_expected(value)
            return
        super().log_exception(typ, value, tb)

    def log_expected(self, error: EolabError) -> None:
        """Expected errors are the caller's mistakes: one line, no traceback."""
        import logging

        logging.getLogger("eolab.server").info(
            "%s %s -> %s %s", self.request.method, self.request.path, error.http_status, error
        )


class StandaloneHandler(ApiHandler):
    """Base for ``eolab server``: every request must carry ``Authorization: ApiKey …``."""

    async def prepare(self) -> None:
        token = self.api_key()
        if token is None:
            raise Unauthorized("send 'Authorization: ApiKey <key>' (create one with eolab apikey)")
        await asyncio.get_running_loop().run_in_executor(None, self.authenticate_api_key, token)


class NotFoundHandler(ApiHandler):
    """Unknown routes under the API prefix answer with the JSON envelope."""

    async def prepare(self) -> None:
        await super().prepare()  # authenticate first: unknown routes reveal nothing either
        raise NotFound(f"no route {self.request.method} {self.request.path}")
