"""Who is calling, and what they may do: identity, project roles and API-key scopes.

Rules (DESIGN's 'Admin and roles'): the workspace's first user is admin and manages users and
tag schemas; a project's ``data_owner`` manages its members and API keys; a
``data_scientist`` creates and uses artifacts and deletes only its own. A caller who is not a
member of a project gets Forbidden for anything in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from eolab.catalog.models import Member, Project
from eolab.errors import Forbidden, NotFound

DATA_OWNER = "data_owner"
DATA_SCIENTIST = "data_scientist"
ROLES = (DATA_OWNER, DATA_SCIENTIST)

# API-key scopes, after Hopsworks' (PROJECT, DATASET_VIEW, ...), lower-cased.
SCOPES = (
    "project",
    "dataset_view",
    "dataset_create",
    "dataset_delete",
    "featurestore",
    "experiments",
    "models",
    "serving",
    "inference",
    "jobs",
    "admin",
)


@dataclass(frozen=True)
class Caller:
    """The identity an SDK or REST call runs as.

    ``scopes`` is None for a full identity (the local or Jupyter user); an API key narrows it
    to its scopes and, when bound, to one project.
    """

    user_id: int
    name: str
    is_admin: bool
    scopes: frozenset[str] | None = None
    key_project_id: int | None = None

    def require_scope(self, scope: str) -> None:
        if self.scopes is not None and scope not in self.scopes:
            raise Forbidden(
                f"this API key lacks the scope {scope!r} (it has {sorted(self.scopes)})",
                details={"required_scope": scope},
            )

    def require_admin(self) -> None:
        self.require_scope("admin")
        if not self.is_admin:
            raise Forbidden(f"user {self.name!r} is not a workspace admin")


def find_project(session: Session, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        raise NotFound(f"no project named {name!r}", details={"project": name})
    return project


def membership(session: Session, caller: Caller, project: Project) -> Member:
    """The caller's membership of ``project``, or Forbidden."""
    if caller.key_project_id is not None and caller.key_project_id != project.id:
        raise Forbidden(f"this API key is bound to another project, not {project.name!r}")
    member = session.scalar(
        select(Member).where(Member.project_id == project.id, Member.user_id == caller.user_id)
    )
    if member is None:
        raise Forbidden(
            f"user {caller.name!r} is not a member of project {project.name!r}",
            details={"project": project.name, "user": caller.name},
        )
    return member


def require_owner(session: Session, caller: Caller, project: Project) -> Member:
    member = membership(session, caller, project)
    if member.role != DATA_OWNER:
        raise Forbidden(
            f"only a data_owner of {project.name!r} may do this; {caller.name!r} is {member.role}",
            details={"role": member.role},
        )
    return member


def require_creator_or_owner(
    session: Session, caller: Caller, project: Project, created_by: int, what: str
) -> None:
    """Data scientists delete only what they created; data owners delete anything."""
    member = membership(session, caller, project)
    if member.role != DATA_OWNER and created_by != caller.user_id:
        raise Forbidden(f"{caller.name!r} may delete only its own artifacts, and {what} is not")


def visible_project_ids(session: Session, caller: Caller) -> list[int]:
    ids = list(session.scalars(select(Member.project_id).where(Member.user_id == caller.user_id)))
    if caller.key_project_id is not None:
        ids = [i for i in ids if i == caller.key_project_id]
    return ids
