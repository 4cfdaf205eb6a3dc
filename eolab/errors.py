"""The eolab exception family.

Every expected failure raises a subclass of :class:`EolabError`. Each carries a stable
``code``, the HTTP status REST maps it to, a message saying what was expected and what was
given, and optional ``details`` (e.g. the failing field of a tag value).
"""

from __future__ import annotations

from typing import Any


class EolabError(Exception):
    """Base of every error eolab raises on purpose."""

    code = "error"
    http_status = 400

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The REST error envelope body."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class InvalidInput(EolabError):
    """A value of the wrong type, shape or range."""

    code = "invalid_input"
    http_status = 400


class InvalidName(InvalidInput):
    """A name that does not match eolab's naming rule."""

    code = "invalid_name"


class InvalidPath(InvalidInput):
    """A path that resolves outside its project, or is otherwise unusable."""

    code = "invalid_path"


class ValidationFailed(EolabError):
    """A value that violates its schema (tag values, feature data)."""

    code = "validation_failed"
    http_status = 422


class Unauthorized(EolabError):
    """No identity, or an API key that is unknown, revoked or expired."""

    code = "unauthorized"
    http_status = 401


class Forbidden(EolabError):
    """The caller is known but may not do this."""

    code = "forbidden"
    http_status = 403


class NotFound(EolabError):
    """The named object does not exist (or the caller may not know it does)."""

    code = "not_found"
    http_status = 404


class Conflict(EolabError):
    """The change contradicts the current state (duplicate, last owner, non-empty...)."""

    code = "conflict"
    http_status = 409


class PayloadTooLarge(EolabError):
    """An upload over the configured size limit."""

    code = "payload_too_large"
    http_status = 413


class CatalogBusy(EolabError):
    """The catalog stayed locked by another process after all retries."""

    code = "catalog_busy"
    http_status = 503


class ConfigurationError(EolabError):
    """Settings that cannot work (unknown engine, bad catalog URL...)."""

    code = "configuration_error"
    http_status = 500
