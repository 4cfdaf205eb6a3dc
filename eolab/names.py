"""Naming rules shared by every kind of artifact (DESIGN's 'Names' decision)."""

from __future__ import annotations

import re

from eolab.errors import InvalidName

ARTIFACT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{2,62}$")
# Datasets and users are folders and logins: a little looser, still one safe path component.
DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
USER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}$")


def check_name(name: object, kind: str, pattern: re.Pattern[str] = ARTIFACT_NAME) -> str:
    """Return ``name`` if it matches ``pattern``; otherwise raise InvalidName saying why."""
    if not isinstance(name, str) or not pattern.match(name) or name in (".", ".."):
        raise InvalidName(
            f"{kind} name must match {pattern.pattern}, got {name!r}",
            details={"field": "name", "pattern": pattern.pattern, "given": repr(name)},
        )
    return name
