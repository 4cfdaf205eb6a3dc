"""The OpenAPI 3.1 document of the REST API, generated from the route table and the models."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from pydantic import BaseModel

import eolab
from eolab.server import models as m
from eolab.server.base import API_PREFIX, ApiHandler
from eolab.server.routes import ROUTES, Op, Route

ERROR_STATUSES = {
    "400": "Invalid input",
    "401": "Not authenticated",
    "403": "Forbidden",
    "404": "Not found",
    "409": "Conflict",
    "413": "Payload too large",
    "422": "Validation failed",
}


def _errors(error: type[BaseModel]) -> list[tuple[str, str, type[BaseModel]]]:
    """An operation's error answers. Routes with their own error body (inference speaks TF
    Serving's) use it everywhere but for 401, which no route reaches without an identity."""
    if error is m.ErrorResponse:
        return [(status, text, error) for status, text in ERROR_STATUSES.items()]
    statuses = {**ERROR_STATUSES, "503": "Serving not running", "504": "Instance timed out"}
    return [
        (status, text, m.ErrorResponse if status == "401" else error)
        for status, text in statuses.items()
    ]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _schemas(models: set[type[BaseModel]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in sorted(models, key=lambda c: c.__name__):
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


@cache
def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    models: set[type[BaseModel]] = {m.ErrorResponse}
    for route in ROUTES + [OPENAPI_ROUTE]:
        params = [
            {"name": name, "in": "path", "required": name != "path", "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", route.template)
        ]
        item: dict[str, Any] = {}
        for method, op in route.ops.items():
            responses: dict[str, Any] = {str(op.status): {"description": "OK"}}
            if op.response is not None:
                models.add(op.response)
                responses[str(op.status)]["content"] = {
                    "application/json": {"schema": _ref(op.response)}
                }
            models.add(op.error)
            for status, text, schema in _errors(op.error):
                responses[status] = {
                    "description": text,
                    "content": {"application/json": {"schema": _ref(schema)}},
                }
            operation: dict[str, Any] = {
                "summary": op.summary,
                "tags": [route.tag],
                "operationId": method + re.sub(r"\W+", "_", route.template).rstrip("_"),
                "parameters": params
                + [
                    {"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
                    for q in op.query
                ],
                "responses": responses,
            }
            if op.body is not None:
                models.add(op.body)
                operation["requestBody"] = {
                    "required": True,
                    "content": {op.content: {"schema": _ref(op.body)}},
                }
            elif op.content != "application/json":
                operation["requestBody"] = {
                    "required": True,
                    "content": {op.content: {"schema": {"type": "string", "format": "binary"}}},
                }
            item[method] = operation
        paths[API_PREFIX + route.template] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "eolab REST API", "version": eolab.__version__},
        "paths": paths,
        "components": {
            "schemas": _schemas(models),
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "Authorization"},
                "JupyterToken": {"type": "apiKey", "in": "header", "name": "Authorization"},
            },
        },
        "security": [{"ApiKey": []}, {"JupyterToken": []}],
    }


class OpenApiResource(ApiHandler):
    async def get(self) -> None:
        self.send_json(openapi_document())


OPENAPI_ROUTE = Route("/openapi.json", OpenApiResource, {"get": Op("This document")})


def all_routes() -> list[Route]:
    return ROUTES + [OPENAPI_ROUTE]
