"""Tag schemas and tags: typed metadata on any artifact, checked with JSON Schema 2020-12.

Schemas are created by a workspace admin and are immutable. A tag attaches one schema-valid
value to one artifact, named by ``(kind, ref)`` (``dataset``/``file`` now; feature groups,
training datasets and models later). Tag keys and values feed the search index.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from eolab import search
from eolab.access import Caller
from eolab.catalog.models import Tag, TagSchema
from eolab.errors import Conflict, InvalidInput, NotFound, ValidationFailed
from eolab.names import check_name


@dataclass(frozen=True)
class TagSchemaInfo:
    name: str
    description: str
    schema: dict[str, Any]
    created_at: datetime


def _schema_info(row: TagSchema) -> TagSchemaInfo:
    return TagSchemaInfo(row.name, row.description, row.schema, row.created_at)


def create_tag_schema(
    session: Session, caller: Caller, name: str, schema: dict[str, Any] | str, description: str = ""
) -> TagSchemaInfo:
    caller.require_admin()
    check_name(name, "tag schema")
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"tag schema {name!r} is not valid JSON: {exc}") from exc
    if not isinstance(schema, dict):
        raise InvalidInput(f"a tag schema is a JSON object, got {type(schema).__name__}")
    import jsonschema  # imported on use: loading its format checkers takes about a second

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InvalidInput(
            f"tag schema {name!r} is not a valid JSON Schema: {exc.message}",
            details={"path": "/".join(str(p) for p in exc.absolute_path)},
        ) from exc
    if session.scalar(select(TagSchema).where(TagSchema.name == name)) is not None:
        raise Conflict(
            f"tag schema {name!r} already exists; schemas are immutable, create a new name",
            details={"schema": name},
        )
    row = TagSchema(name=name, schema=schema, description=description, created_by=caller.user_id)
    session.add(row)
    session.flush()
    return _schema_info(row)


def get_tag_schema(session: Session, name: str) -> TagSchemaInfo:
    return _schema_info(_find_schema(session, name))


def list_tag_schemas(session: Session) -> list[TagSchemaInfo]:
    return [_schema_info(r) for r in session.scalars(select(TagSchema).order_by(TagSchema.name))]


def _find_schema(session: Session, name: str) -> TagSchema:
    row = session.scalar(select(TagSchema).where(TagSchema.name == name))
    if row is None:
        raise NotFound(f"no tag schema named {name!r}", details={"schema": name})
    return row


def _violations(schema: dict[str, Any], value: Any) -> list[dict[str, str]]:
    from jsonschema import Draft202012Validator

    found = []
    for error in sorted(Draft202012Validator(schema).iter_errors(value), key=lambda e: e.path):
        path = "/".join(str(p) for p in error.absolute_path)
        if error.validator == "required" and isinstance(error.message, str):
            missing = re.match(r"'([^']*)' is a required property", error.message)
            if missing:
                path = f"{path}/{missing.group(1)}" if path else missing.group(1)
        found.append({"field": path or "(value)", "message": error.message})
    return found


def add_tag(
    session: Session,
    caller: Caller,
    project_id: int,
    kind: str,
    ref: str,
    schema_name: str,
    value: Any,
) -> dict[str, Any]:
    """Attach (or replace) the ``schema_name`` tag of an artifact; the value must fit the schema."""
    schema = _find_schema(session, schema_name)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"tag value is not valid JSON: {exc}") from exc
    violations = _violations(schema.schema, value)
    if violations:
        first = violations[0]
        raise ValidationFailed(
            f"tag value violates schema {schema_name!r} at field {first['field']!r}: "
            f"{first['message']}",
            details={"schema": schema_name, "violations": violations},
        )
    tag = session.scalar(
        select(Tag).where(
            Tag.artifact_kind == kind, Tag.artifact_ref == ref, Tag.schema_id == schema.id
        )
    )
    if tag is None:
        session.add(
            Tag(
                project_id=project_id,
                artifact_kind=kind,
                artifact_ref=ref,
                schema_id=schema.id,
                value=value,
                created_by=caller.user_id,
            )
        )
    else:
        tag.value = value
    session.flush()
    _refresh_search(session, kind, ref)
    return get_tags(session, kind, ref)


def get_tags(session: Session, kind: str, ref: str) -> dict[str, Any]:
    rows = session.execute(
        select(TagSchema.name, Tag.value)
        .join(TagSchema, TagSchema.id == Tag.schema_id)
        .where(Tag.artifact_kind == kind, Tag.artifact_ref == ref)
        .order_by(TagSchema.name)
    ).all()
    return {name: value for name, value in rows}


def delete_tag(session: Session, kind: str, ref: str, schema_name: str) -> None:
    schema = _find_schema(session, schema_name)
    result = session.execute(
        delete(Tag).where(
            Tag.artifact_kind == kind, Tag.artifact_ref == ref, Tag.schema_id == schema.id
        )
    )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound(f"no {schema_name!r} tag on {kind} {ref!r}")
    _refresh_search(session, kind, ref)


def delete_all_tags(session: Session, kind: str, ref: str, prefix: bool = False) -> None:
    cond = Tag.artifact_ref.startswith(ref, autoescape=True) if prefix else Tag.artifact_ref == ref
    session.execute(delete(Tag).where(Tag.artifact_kind == kind, cond))


def move_tags(session: Session, kind: str, old: str, new: str) -> None:
    """Re-point the tags of ``old`` and of everything under ``old/`` to ``new``."""
    below = Tag.artifact_ref.startswith(old + "/", autoescape=True)
    for tag in session.scalars(
        select(Tag).where(Tag.artifact_kind == kind, (Tag.artifact_ref == old) | below)
    ):
        tag.artifact_ref = new + tag.artifact_ref[len(old) :]
    session.flush()


def refresh_search_tree(session: Session, kind: str, ref: str) -> None:
    """Put the tags of ``ref`` and of everything under it back into their search entries."""
    below = Tag.artifact_ref.startswith(ref + "/", autoescape=True)
    refs = set(
        session.scalars(
            select(Tag.artifact_ref).where(
                Tag.artifact_kind == kind, (Tag.artifact_ref == ref) | below
            )
        )
    )
    for tagged in refs:
        _refresh_search(session, kind, tagged)


def _flatten(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{k} {' '.join(_flatten(v))}" for k, v in value.items()]
    if isinstance(value, list):
        return [s for item in value for s in _flatten(item)]
    return [str(value)]


def _refresh_search(session: Session, kind: str, ref: str) -> None:
    text = " ".join(
        f"{name} {' '.join(_flatten(v))}" for name, v in get_tags(session, kind, ref).items()
    )
    search.set_tags_text(session, kind, ref, text)
