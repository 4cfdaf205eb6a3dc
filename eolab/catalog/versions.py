"""The next free version of a versioned catalog entity (feature group, training dataset, model)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session


def next_version(s: Session, row_class: Any, project_id: int, name: str) -> int:
    """One above the highest version of ``name`` in the project (1 for a new name); runs
    inside the registering transaction, so two writers cannot take the same number."""
    latest = s.scalar(
        select(func.max(row_class.version)).where(
            row_class.project_id == project_id, row_class.name == name
        )
    )
    return (latest or 0) + 1
