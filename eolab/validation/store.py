"""Catalog rows of validation: expectations, their attachment to feature groups, each group's
validation type, and the stored reports. Functions take the caller's open session, so that
each change is part of the transaction of the SDK call that makes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from eolab.catalog.models import (
    ExpectationAttachmentRow,
    ExpectationRow,
    FeatureGroupRow,
    ValidationRow,
    ValidationTypeRow,
)
from eolab.errors import InvalidInput

VALIDATION_TYPES = ("NONE", "STRICT", "WARNING", "ALL")
DEFAULT_VALIDATION_TYPE = "NONE"  # as hsfs: expectations validate nothing until asked to


def check_validation_type(value: Any) -> str:
    if value not in VALIDATION_TYPES:
        raise InvalidInput(
            f"validation_type must be one of {', '.join(VALIDATION_TYPES)}, got {value!r}",
            details={"field": "validation_type"},
        )
    return value


def expectation_row(s: Session, project_id: int, name: str) -> ExpectationRow | None:
    return s.scalar(
        select(ExpectationRow).where(
            ExpectationRow.project_id == project_id, ExpectationRow.name == name
        )
    )


def expectation_rows(s: Session, project_id: int) -> list[ExpectationRow]:
    return list(
        s.scalars(
            select(ExpectationRow)
            .where(ExpectationRow.project_id == project_id)
            .order_by(ExpectationRow.name)
        )
    )


def attached_rows(s: Session, feature_group_id: int) -> list[ExpectationRow]:
    """The expectations attached to a feature group version, in attachment order."""
    return list(
        s.scalars(
            select(ExpectationRow)
            .join(
                ExpectationAttachmentRow,
                ExpectationAttachmentRow.expectation_id == ExpectationRow.id,
            )
            .where(ExpectationAttachmentRow.feature_group_id == feature_group_id)
            .order_by(ExpectationAttachmentRow.attached_at, ExpectationRow.name)
        )
    )


def groups_using(s: Session, expectation_id: int) -> list[FeatureGroupRow]:
    return list(
        s.scalars(
            select(FeatureGroupRow)
            .join(
                ExpectationAttachmentRow,
                ExpectationAttachmentRow.feature_group_id == FeatureGroupRow.id,
            )
            .where(ExpectationAttachmentRow.expectation_id == expectation_id)
            .order_by(FeatureGroupRow.name, FeatureGroupRow.version)
        )
    )


def attach(s: Session, feature_group_id: int, expectation_id: int) -> None:
    """Attach (idempotent: attaching twice keeps one attachment)."""
    if s.get(ExpectationAttachmentRow, (feature_group_id, expectation_id)) is None:
        s.add(
            ExpectationAttachmentRow(
                feature_group_id=feature_group_id, expectation_id=expectation_id
            )
        )
        s.flush()


def detach(s: Session, feature_group_id: int, expectation_id: int) -> bool:
    row = s.get(ExpectationAttachmentRow, (feature_group_id, expectation_id))
    if row is None:
        return False
    s.delete(row)
    s.flush()
    return True


def validation_type(s: Session, feature_group_id: int) -> str:
    row = s.get(ValidationTypeRow, feature_group_id)
    return row.validation_type if row is not None else DEFAULT_VALIDATION_TYPE


def set_validation_type(s: Session, feature_group_id: int, value: str) -> None:
    row = s.get(ValidationTypeRow, feature_group_id)
    if row is None:
        s.add(ValidationTypeRow(feature_group_id=feature_group_id, validation_type=value))
    else:
        row.validation_type = value
    s.flush()


def add_validation(s: Session, row: ValidationRow) -> ValidationRow:
    s.add(row)
    s.flush()
    return row


def validation_rows(
    s: Session,
    project_id: int,
    name: str,
    version: int | None,
    feature_group_id: int | None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[ValidationRow]:
    """Reports of one feature group version, newest first: its own (by id), and for an
    unsaved group those of rejected first saves (by name and version)."""
    query = select(ValidationRow).where(ValidationRow.project_id == project_id)
    if feature_group_id is not None:
        query = query.where(ValidationRow.feature_group_id == feature_group_id)
    else:
        query = query.where(
            ValidationRow.feature_group_id.is_(None),
            ValidationRow.feature_group_name == name,
            or_(
                ValidationRow.feature_group_version.is_(None),
                ValidationRow.feature_group_version == version,
            )
            if version is not None
            else ValidationRow.feature_group_version.is_(None),
        )
    if until is not None:
        query = query.where(ValidationRow.validation_time <= until)
    query = query.order_by(ValidationRow.validation_time.desc(), ValidationRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(s.scalars(query))


def adopt(s: Session, project_id: int, row: FeatureGroupRow) -> None:
    """Give a newly registered feature group the reports of its rejected first saves."""
    for report in s.scalars(
        select(ValidationRow).where(
            ValidationRow.project_id == project_id,
            ValidationRow.feature_group_id.is_(None),
            ValidationRow.feature_group_name == row.name,
            or_(
                ValidationRow.feature_group_version.is_(None),
                ValidationRow.feature_group_version == row.version,
            ),
        )
    ):
        report.feature_group_id = row.id
        report.feature_group_version = row.version
    s.flush()
