"""Projects and their members."""

from __future__ import annotations

from eolab.server.base import ApiHandler
from eolab.server.models import (
    AddMember,
    CreateProject,
    DescribeMember,
    DescribeProject,
    ListProjectsResponse,
    UpdateMember,
)


class ProjectsResource(ApiHandler):
    async def get(self) -> None:
        infos = await self.run(self.ws.list_projects)
        self.send_model(
            ListProjectsResponse(projects=[DescribeProject.model_validate(i) for i in infos])
        )

    async def post(self) -> None:
        body = self.parse_body(CreateProject)
        project = await self.run(self.ws.create_project, body.name, body.description)
        self.send_model(DescribeProject.model_validate(await self.run(project.describe)), 201)


class ProjectResource(ApiHandler):
    async def get(self, project: str) -> None:
        handle = await self.run(self.ws.get_project, project)
        self.send_model(DescribeProject.model_validate(await self.run(handle.describe)))

    async def delete(self, project: str) -> None:
        await self.run(self.ws.delete_project, project, self.query("confirm"))
        self.set_status(204)
        self.finish()


class MembersResource(ApiHandler):
    async def get(self, project: str) -> None:
        handle = await self.run(self.ws.get_project, project)
        members = await self.run(handle.members)
        self.send_json(
            {"members": [DescribeMember.model_validate(m).model_dump(mode="json") for m in members]}
        )

    async def post(self, project: str) -> None:
        body = self.parse_body(AddMember)
        handle = await self.run(self.ws.get_project, project)
        member = await self.run(handle.add_member, body.user, body.role.value)
        self.send_model(DescribeMember.model_validate(member), 201)


class MemberResource(ApiHandler):
    async def put(self, project: str, user: str) -> None:
        body = self.parse_body(UpdateMember)
        handle = await self.run(self.ws.get_project, project)
        member = await self.run(handle.add_member, user, body.role.value)
        self.send_model(DescribeMember.model_validate(member))

    async def delete(self, project: str, user: str) -> None:
        handle = await self.run(self.ws.get_project, project)
        await self.run(handle.remove_member, user)
        self.set_status(204)
        self.finish()
