"""Errors of model serving, members of the :mod:`eolab.errors` family."""

from __future__ import annotations

from eolab.errors import EolabError


class ServingUnavailable(EolabError):
    """The serving exists but is not running (stopped, starting, failed): try again later."""

    code = "serving_unavailable"
    http_status = 503


class ServingFailed(EolabError):
    """The serving could not start: ``message`` is the loader's (or the instance's) error."""

    code = "serving_failed"
    http_status = 422


class InferenceFailed(EolabError):
    """The model raised while answering a request that was valid."""

    code = "inference_failed"
    http_status = 500
