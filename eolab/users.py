"""Users and API keys.

An API key reads ``eol_<prefix>.<secret>``; the catalog keeps the prefix (to find the key) and
a SHA-256 of the secret (to check it), never the secret itself. Keys carry scopes, may expire,
may be bound to one project, and can be revoked by their user or by that project's data owner.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eolab.access import DATA_OWNER, SCOPES, Caller, find_project, membership
from eolab.catalog.models import ApiKey, Member, Project, User, utcnow
from eolab.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from eolab.names import USER_NAME, check_name

KEY_PREFIX = "eol_"


@dataclass(frozen=True)
class UserInfo:
    name: str
    email: str
    is_admin: bool
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyInfo:
    name: str
    prefix: str
    user: str
    project: str | None
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked: bool
    last_used_at: datetime | None


def _user_info(user: User) -> UserInfo:
    return UserInfo(user.name, user.email, user.is_admin, user.created_at)


def ensure_user(session: Session, name: str) -> User:
    """The user called ``name``, registered on first use; the workspace's first user is admin."""
    check_name(name, "user", USER_NAME)
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        first = session.scalar(select(func.count(User.id))) == 0
        user = User(name=name, is_admin=first)
        session.add(user)
        session.flush()
    return user


def find_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user named {name!r}", details={"user": name})
    return user


def caller_for(user: User) -> Caller:
    return Caller(user_id=user.id, name=user.name, is_admin=user.is_admin)


def create_user(
    session: Session, caller: Caller, name: str, email: str = "", admin: bool = False
) -> UserInfo:
    caller.require_admin()
    check_name(name, "user", USER_NAME)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise Conflict(f"a user named {name!r} already exists")
    user = User(name=name, email=email, is_admin=admin)
    session.add(user)
    session.flush()
    return _user_info(user)


def list_users(session: Session) -> list[UserInfo]:
    return [_user_info(u) for u in session.scalars(select(User).order_by(User.name))]


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _key_info(key: ApiKey, project_name: str | None) -> ApiKeyInfo:
    return ApiKeyInfo(
        name=key.name,
        prefix=key.prefix,
        user=key.user.name,
        project=project_name,
        scopes=list(key.scopes),
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked=key.revoked_at is not None,
        last_used_at=key.last_used_at,
    )


def create_api_key(
    session: Session,
    caller: Caller,
    name: str,
    scopes: list[str],
    expires_in_days: float | None = None,
    project: str | None = None,
) -> tuple[str, ApiKeyInfo]:
    """Create a key for the caller; return the secret (shown once) and its description."""
    if caller.scopes is not None:
        raise Forbidden("API keys are created by the user themself, not with another API key")
    if not isinstance(name, str) or not name.strip() or len(name) > 128:
        raise InvalidInput(f"API key name must be 1-128 characters, got {name!r}")
    unknown = sorted(set(scopes) - set(SCOPES))
    if not scopes or unknown:
        raise InvalidInput(
            f"scopes must be a non-empty subset of {list(SCOPES)}, got unknown {unknown}",
            details={"field": "scopes", "allowed": list(SCOPES)},
        )
    if "admin" in scopes and not caller.is_admin:
        raise Forbidden("only a workspace admin may create a key with the 'admin' scope")
    if expires_in_days is not None and expires_in_days <= 0:
        raise InvalidInput(f"expires_in_days must be positive, got {expires_in_days}")
    project_id = None
    if project is not None:
        project_id = membership(session, caller, find_project(session, project)).project_id
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        prefix=prefix,
        secret_hash=_hash(secret),
        name=name,
        user_id=caller.user_id,
        project_id=project_id,
        scopes=sorted(set(scopes)),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(key)
    session.flush()
    session.refresh(key)
    return f"{KEY_PREFIX}{prefix}.{secret}", _key_info(key, project)


def authenticate_api_key(session: Session, token: str) -> Caller:
    """The caller an API key stands for, or Unauthorized (unknown, malformed, revoked, expired)."""
    if not token.startswith(KEY_PREFIX) or "." not in token:
        raise Unauthorized("malformed API key: expected eol_<prefix>.<secret>")
    prefix, secret = token[len(KEY_PREFIX) :].split(".", 1)
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(secret)):
        raise Unauthorized("unknown API key")
    if key.revoked_at is not None:
        raise Unauthorized(f"API key {key.name!r} was revoked")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise Unauthorized(f"API key {key.name!r} expired at {key.expires_at:%Y-%m-%d %H:%M} UTC")
    key.last_used_at = utcnow()
    return Caller(
        user_id=key.user.id,
        name=key.user.name,
        is_admin=key.user.is_admin,
        scopes=frozenset(key.scopes),
        key_project_id=key.project_id,
    )


def _owned_project_ids(session: Session, caller: Caller) -> set[int]:
    return set(
        session.scalars(
            select(Member.project_id).where(
                Member.user_id == caller.user_id, Member.role == DATA_OWNER
            )
        )
    )


def list_api_keys(session: Session, caller: Caller, project: str | None = None) -> list[ApiKeyInfo]:
    """The caller's own keys, or (for a data owner) the keys bound to ``project``."""
    query = select(ApiKey).order_by(ApiKey.created_at)
    if project is None:
        query = query.where(ApiKey.user_id == caller.user_id)
        proj_name = None
    else:
        proj = find_project(session, project)
        if proj.id not in _owned_project_ids(session, caller):
            raise Forbidden(f"only a data_owner of {project!r} may list its API keys")
        query = query.where(ApiKey.project_id == proj.id)
        proj_name = proj.name
    keys = list(session.scalars(query))
    return [_key_info(k, proj_name or project_name(session, k.project_id)) for k in keys]


def project_name(session: Session, project_id: int | None) -> str | None:
    if project_id is None:
        return None
    project = session.get(Project, project_id)
    return project.name if project else None


def revoke_api_key(session: Session, caller: Caller, prefix: str) -> ApiKeyInfo:
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None:
        raise NotFound(f"no API key with prefix {prefix!r}")
    may = key.user_id == caller.user_id or key.project_id in _owned_project_ids(session, caller)
    if not may:
        raise Forbidden("an API key is revoked by its user or by its project's data owner")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return _key_info(key, project_name(session, key.project_id))
