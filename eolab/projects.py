"""Projects and their members.

A project is a folder under ``EOLAB_HOME/projects/`` plus its catalog rows. Its creator is its
first ``data_owner``; owners add and remove members and change roles; the last owner cannot be
removed. Deleting a project needs its name repeated as confirmation.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eolab import search
from eolab.access import (
    DATA_OWNER,
    DATA_SCIENTIST,
    ROLES,
    find_project,
    membership,
    require_owner,
    visible_project_ids,
)
from eolab.catalog.models import Member, User
from eolab.catalog.models import Project as ProjectRow
from eolab.errors import Conflict, InvalidInput
from eolab.names import check_name
from eolab.users import find_user

_log = logging.getLogger("eolab.projects")

PROJECT_FOLDERS = ("Resources", "DataSets", "FeatureStore", "Experiments", "Models", "Jobs", "Logs")

if TYPE_CHECKING:
    from eolab.datasets.api import DatasetApi
    from eolab.engine import Engine
    from eolab.featurestore import FeatureStore
    from eolab.serving.servings import Servings
    from eolab.workspace import Workspace


@dataclass(frozen=True)
class MemberInfo:
    user: str
    role: str
    added_at: datetime


@dataclass(frozen=True)
class ProjectInfo:
    name: str
    description: str
    owner: str
    created_at: datetime
    role: str | None  # the caller's role, None when not a member
    members: list[MemberInfo]


def _info(session: Session, row: ProjectRow, caller_id: int) -> ProjectInfo:
    members = [
        MemberInfo(m.user.name, m.role, m.added_at)
        for m in sorted(row.members, key=lambda m: (m.role, m.user.name))
    ]
    role = next((m.role for m in row.members if m.user_id == caller_id), None)
    owner = session.get(User, row.created_by)
    return ProjectInfo(
        row.name, row.description, owner.name if owner else "", row.created_at, role, members
    )


class Project:
    """A handle on one project, bound to the workspace's caller."""

    def __init__(self, workspace: Workspace, name: str, engine: str | None = None) -> None:
        self.workspace = workspace
        self.name = name
        self.engine = engine or workspace.settings.engine

    @property
    def root(self):  # type: ignore[no-untyped-def]
        return self.workspace.project_root(self.name)

    def _row(self, session: Session) -> ProjectRow:
        row = find_project(session, self.name)
        membership(session, self.workspace.caller, row)
        return row

    def describe(self) -> ProjectInfo:
        with self.workspace.tx(write=False) as s:
            return _info(s, self._row(s), self.workspace.caller.user_id)

    def role(self) -> str:
        with self.workspace.tx(write=False) as s:
            return membership(s, self.workspace.caller, find_project(s, self.name)).role

    def members(self) -> list[MemberInfo]:
        return self.describe().members

    @contextmanager
    def _membership_change(
        self, user: str
    ) -> Iterator[tuple[Session, ProjectRow, User, Member | None]]:
        """A transaction in which a data owner changes ``user``'s membership."""
        self.workspace.caller.require_scope("project")
        with self.workspace.tx() as s:
            row = find_project(s, self.name)
            require_owner(s, self.workspace.caller, row)
            target = find_user(s, user)
            member = s.scalar(
                select(Member).where(Member.project_id == row.id, Member.user_id == target.id)
            )
            yield s, row, target, member

    def add_member(self, user: str, role: str = DATA_SCIENTIST) -> MemberInfo:
        """Add ``user`` with ``role``, or change the role of an existing member."""
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {list(ROLES)}, got {role!r}")
        with self._membership_change(user) as (s, row, target, member):
            if member is None:
                member = Member(project_id=row.id, user_id=target.id, role=role)
                s.add(member)
            else:
                if member.role == DATA_OWNER and role != DATA_OWNER:
                    _refuse_last_owner(s, row, target.name)
                member.role = role
            s.flush()
            return MemberInfo(target.name, member.role, member.added_at)

    def remove_member(self, user: str) -> None:
        with self._membership_change(user) as (s, row, _target, member):
            if member is None:
                raise InvalidInput(f"{user!r} is not a member of {self.name!r}")
            if member.role == DATA_OWNER:
                _refuse_last_owner(s, row, user)
            s.delete(member)

    def get_engine(self) -> Engine:
        """This project's compute engine (``python`` or ``spark``, chosen per connection)."""
        from eolab.engine import get_engine

        return get_engine(self.engine, self.workspace.settings)

    def get_dataset_api(self) -> DatasetApi:
        from eolab.datasets.api import DatasetApi

        return DatasetApi(self)

    def get_feature_store(self) -> FeatureStore:
        """This project's feature store (hsfs ``connection.get_feature_store()``)."""
        from eolab.featurestore import FeatureStore

        return FeatureStore(self)

    @property
    def serving(self) -> Servings:
        """This project's model servings (hops' ``serving``: create_or_update, start, ...)."""
        from eolab.serving.servings import Servings

        return Servings(self)

    def delete(self, confirm: str | None = None) -> None:
        delete_project(self.workspace, self.name, confirm)

    def __repr__(self) -> str:
        return (
            f"Project({self.name!r}, user={self.workspace.caller.name!r}, engine={self.engine!r})"
        )

    def _repr_html_(self) -> str:
        from html import escape

        return f"<b>eolab project</b> {escape(self.name)} (engine {escape(self.engine)})"


def _refuse_last_owner(session: Session, row: ProjectRow, user: str) -> None:
    owners = session.scalar(
        select(func.count(Member.id)).where(Member.project_id == row.id, Member.role == DATA_OWNER)
    )
    if owners <= 1:
        raise Conflict(
            f"{user!r} is the last data_owner of {row.name!r}; make another member data_owner "
            "first",
            details={"project": row.name, "user": user},
        )


def create_project(workspace: Workspace, name: str, description: str = "") -> Project:
    check_name(name, "project")
    workspace.caller.require_scope("project")
    root = workspace.project_root(name)
    with workspace.tx() as s:
        if s.scalar(select(ProjectRow).where(ProjectRow.name == name)) is not None:
            raise Conflict(f"a project named {name!r} already exists", details={"project": name})
        if root.exists():
            raise Conflict(f"{root} already exists on disk but not in the catalog; move it away")
        row = ProjectRow(name=name, description=description, created_by=workspace.caller.user_id)
        s.add(row)
        s.flush()
        s.add(Member(project_id=row.id, user_id=workspace.caller.user_id, role=DATA_OWNER))
        search.index(s, "project", name, row.id, name, description)
    for folder in PROJECT_FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
    return Project(workspace, name)


def get_project(workspace: Workspace, name: str, engine: str | None = None) -> Project:
    with workspace.tx(write=False) as s:
        membership(s, workspace.caller, find_project(s, name))
    return Project(workspace, name, engine)


def list_projects(workspace: Workspace) -> list[ProjectInfo]:
    """The projects the caller is a member of (every project for an admin)."""
    with workspace.tx(write=False) as s:
        query = select(ProjectRow).order_by(ProjectRow.name)
        if not workspace.caller.is_admin or workspace.caller.key_project_id is not None:
            query = query.where(ProjectRow.id.in_(visible_project_ids(s, workspace.caller)))
        return [_info(s, row, workspace.caller.user_id) for row in s.scalars(query)]


def delete_project(workspace: Workspace, name: str, confirm: str | None = None) -> None:
    """Delete a project and all its files; ``confirm`` must repeat its name."""
    if confirm != name:
        raise InvalidInput(
            f"deleting project {name!r} removes all its data: pass confirm={name!r}",
            details={"field": "confirm"},
        )
    workspace.caller.require_scope("project")
    with workspace.tx(write=False) as s:
        require_owner(s, workspace.caller, find_project(s, name))
    from eolab.serving.runtime import stop_project_servings

    root = workspace.project_root(name)
    stopped = stop_project_servings(root)
    if stopped:
        _log.info("project %s: stopped servings %s before deleting it", name, stopped)
    trash = workspace.home / "trash" / f"{name}-{uuid.uuid4().hex[:8]}"
    if root.exists():
        trash.parent.mkdir(parents=True, exist_ok=True)
        root.rename(trash)
    try:
        with workspace.tx() as s:
            row = find_project(s, name)
            require_owner(s, workspace.caller, row)
            s.delete(row)
    except BaseException:
        if trash.exists():
            trash.rename(root)
        raise
    shutil.rmtree(trash, ignore_errors=True)
