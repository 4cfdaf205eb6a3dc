"""Errors of experiment runs, members of the :mod:`eolab.errors` family."""

from __future__ import annotations

from eolab.errors import Conflict, EolabError


class TrialFailed(EolabError):
    """The train function raised, or returned something that is not a dict of metrics.

    ``details`` holds the run id, and per trial its params, error and traceback.
    """

    code = "trial_failed"
    http_status = 422


class RunStopped(Conflict):
    """The run was stopped (``experiment.stop``) before its trials ended.

    ``details["trials"]`` lists every trial, with the metrics of those that finished.
    """

    code = "run_stopped"
