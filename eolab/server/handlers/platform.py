"""Workspace-level resources: who am I, users, API keys, tag schemas."""

from __future__ import annotations

from eolab.server.base import ApiHandler
from eolab.server.models import (
    CreateApiKey,
    CreateApiKeyResponse,
    CreateTagSchema,
    CreateUser,
    DescribeApiKey,
    DescribeTagSchema,
    DescribeUser,
    ListApiKeysResponse,
    ListTagSchemasResponse,
    ListUsersResponse,
    WhoAmI,
)


class WhoAmIResource(ApiHandler):
    async def get(self) -> None:
        user = await self.run(self.ws.whoami)
        caller = self.ws.caller
        scopes = sorted(caller.scopes) if caller.scopes is not None else None
        project = await self.run(self.ws.bound_project_name)
        self.send_model(
            WhoAmI(user=DescribeUser.model_validate(user), scopes=scopes, project=project)
        )


class UsersResource(ApiHandler):
    async def get(self) -> None:
        users = await self.run(self.ws.list_users)
        self.send_model(ListUsersResponse(users=[DescribeUser.model_validate(u) for u in users]))

    async def post(self) -> None:
        body = self.parse_body(CreateUser)
        user = await self.run(self.ws.create_user, body.name, body.email, body.admin)
        self.send_model(DescribeUser.model_validate(user), 201)


class ApiKeysResource(ApiHandler):
    async def get(self) -> None:
        keys = await self.run(self.ws.list_api_keys, self.query("project"))
        self.send_model(
            ListApiKeysResponse(api_keys=[DescribeApiKey.model_validate(k) for k in keys])
        )

    async def post(self) -> None:
        body = self.parse_body(CreateApiKey)
        secret, info = await self.run(
            self.ws.create_api_key, body.name, body.scopes, body.expires_in_days, body.project
        )
        self.send_model(
            CreateApiKeyResponse(key=secret, info=DescribeApiKey.model_validate(info)), 201
        )


class ApiKeyResource(ApiHandler):
    async def delete(self, prefix: str) -> None:
        info = await self.run(self.ws.revoke_api_key, prefix)
        self.send_model(DescribeApiKey.model_validate(info))


class TagSchemasResource(ApiHandler):
    async def get(self) -> None:
        schemas = await self.run(self.ws.list_tag_schemas)
        self.send_model(
            ListTagSchemasResponse(
                tag_schemas=[DescribeTagSchema.model_validate(s) for s in schemas]
            )
        )

    async def post(self) -> None:
        body = self.parse_body(CreateTagSchema)
        info = await self.run(self.ws.create_tag_schema, body.name, body.schema_, body.description)
        self.send_model(DescribeTagSchema.model_validate(info), 201)


class TagSchemaResource(ApiHandler):
    async def get(self, name: str) -> None:
        info = await self.run(self.ws.get_tag_schema, name)
        self.send_model(DescribeTagSchema.model_validate(info))
