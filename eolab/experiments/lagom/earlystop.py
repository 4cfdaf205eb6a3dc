"""Early stopping rules: whether a running trial should stop, from its intermediate metrics.

Small classes with no I/O. The driver calls ``start`` when a trial starts, ``report`` for each
intermediate value (``reporter.broadcast``), ``should_stop`` every ``es_interval`` seconds for
each running trial, and ``finish`` when a trial ends.

- ``MedianRule`` (Vizier's median stopping rule, maggy's default): once ``min_trials`` trials
  have completed, a trial that has reported ``s`` values is stopped when its best value so far is
  worse than the median, over completed trials that reported at least ``s`` values, of their
  running average over their first ``s`` values.
- ``OptunaPruning``: any optuna pruner (MedianPruner, SuccessiveHalvingPruner...) on an optuna
  study that mirrors the trials (the optimizer's own study when it is optuna's).
- ``NoStop``: never stops.
"""

from __future__ import annotations

import math
import statistics
from abc import ABC, abstractmethod
from typing import Any

from eolab.errors import InvalidInput
from eolab.experiments.states import EARLY_STOPPED, FINISHED

POLICIES = ("median", "none")


class EarlyStop(ABC):
    """Decides whether running trials stop early."""

    direction: str = "max"

    def setup(self, direction: str, min_trials: int) -> None:
        self.direction = direction
        self.min_trials = min_trials

    def start(self, trial_id: str, optuna_trial: Any = None) -> None:
        """A trial started (``optuna_trial``: the optimizer's, when it has one)."""
        return None

    @abstractmethod
    def report(self, trial_id: str, step: int, value: float) -> None:
        """An intermediate value of a running trial."""

    @abstractmethod
    def should_stop(self, trial_id: str) -> bool:
        """Whether the running trial should stop now."""

    def finish(self, trial_id: str, state: str, value: float | None) -> None:
        """The trial ended (FINISHED, EARLY_STOPPED, FAILED, LOST...)."""
        return None

    @property
    def name(self) -> str:
        return type(self).__name__


class NoStop(EarlyStop):
    def report(self, trial_id: str, step: int, value: float) -> None:
        return None

    def should_stop(self, trial_id: str) -> bool:
        return False

    @property
    def name(self) -> str:
        return "none"


class MedianRule(EarlyStop):
    """Stop a trial whose best value is worse than the median of completed running averages."""

    def __init__(self) -> None:
        self.running: dict[str, dict[int, float]] = {}
        self.completed: list[list[float]] = []

    def start(self, trial_id: str, optuna_trial: Any = None) -> None:
        self.running[trial_id] = {}

    def report(self, trial_id: str, step: int, value: float) -> None:
        if math.isfinite(value):
            self.running.setdefault(trial_id, {})[step] = value

    def _history(self, trial_id: str) -> list[float]:
        points = self.running.get(trial_id, {})
        return [points[s] for s in sorted(points)]

    def median_at(self, count: int) -> float | None:
        """The median of completed trials' running averages over their first ``count`` values."""
        averages = [sum(h[:count]) / count for h in self.completed if len(h) >= count]
        return statistics.median(averages) if averages else None

    def should_stop(self, trial_id: str) -> bool:
        if len(self.completed) < self.min_trials:
            return False
        history = self._history(trial_id)
        if not history:
            return False
        median = self.median_at(len(history))
        if median is None:
            return False
        if self.direction == "max":
            return max(history) < median
        return min(history) > median

    def finish(self, trial_id: str, state: str, value: float | None) -> None:
        history = self._history(trial_id)
        self.running.pop(trial_id, None)
        if state in (FINISHED, EARLY_STOPPED) and history:
            self.completed.append(history)

    @property
    def name(self) -> str:
        return "median"


class OptunaPruning(EarlyStop):
    """An optuna pruner deciding on a study that mirrors the running trials."""

    def __init__(self, pruner: Any) -> None:
        self.pruner = pruner
        self.study: Any = None
        self._trials: dict[str, Any] = {}
        self._own: set[str] = set()
        self._steps: dict[str, set[int]] = {}

    def setup(self, direction: str, min_trials: int) -> None:
        import optuna

        super().setup(direction, min_trials)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(
            direction="maximize" if direction == "max" else "minimize", pruner=self.pruner
        )

    def use_study(self, study: Any) -> None:
        """Decide on the optimizer's own study (its trials are the optimizer's optuna trials)."""
        study.pruner = self.pruner
        self.study = study

    def start(self, trial_id: str, optuna_trial: Any = None) -> None:
        if optuna_trial is None:
            optuna_trial = self.study.ask()
            self._own.add(trial_id)
        self._trials[trial_id] = optuna_trial
        self._steps[trial_id] = set()

    def report(self, trial_id: str, step: int, value: float) -> None:
        trial = self._trials.get(trial_id)
        if trial is None or step in self._steps[trial_id] or not math.isfinite(value):
            return
        self._steps[trial_id].add(step)
        if trial_id in self._own:  # the optimizer reports to its own trials itself
            trial.report(value, step)

    def should_stop(self, trial_id: str) -> bool:
        trial = self._trials.get(trial_id)
        return trial is not None and bool(self._steps.get(trial_id)) and trial.should_prune()

    def finish(self, trial_id: str, state: str, value: float | None) -> None:
        from optuna.trial import TrialState

        trial = self._trials.pop(trial_id, None)
        self._steps.pop(trial_id, None)
        if trial is None or trial_id not in self._own:
            return
        self._own.discard(trial_id)
        if state == FINISHED and value is not None and math.isfinite(value):
            self.study.tell(trial, value, skip_if_finished=True)
        elif state == EARLY_STOPPED:
            self.study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
        else:
            self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)

    @property
    def name(self) -> str:
        return type(self.pruner).__name__


def make_earlystop(spec: Any) -> EarlyStop:
    """An early-stopping rule from ``"median"``, ``"none"``, an EarlyStop or an optuna pruner."""
    if isinstance(spec, EarlyStop):
        return spec
    if isinstance(spec, str) and spec.lower() in POLICIES:
        return MedianRule() if spec.lower() == "median" else NoStop()
    if spec is None:
        return NoStop()
    try:
        import optuna

        if isinstance(spec, optuna.pruners.BasePruner):
            return OptunaPruning(spec)
    except ImportError:  # pragma: no cover - optuna is a dependency
        pass
    raise InvalidInput(
        f"es_policy must be 'median', 'none' or an optuna pruner (optuna.pruners.MedianPruner()"
        f"...), got {spec!r}"
    )
