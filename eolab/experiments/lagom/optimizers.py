"""Optimizers: which hyperparameters the next trial gets, told how earlier trials ended.

Small ask/tell classes with no I/O, as optuna's samplers. The driver calls ``setup`` once, then
``ask(trial_id)`` whenever a worker is free (a params dict, or None when nothing can start now),
``report`` for intermediate metrics and ``tell(trial_id, value, state)`` when a trial ends;
``done`` says no trial will be asked for again. ``value`` is the final metric, None when the
trial failed or was lost.

- ``RandomSearch``: uniform samples, reproducible from the run's seed.
- ``GridSearch``: every combination of the (countable) space, in order.
- ``Asha``: asynchronous successive halving (Li et al. 2020): rungs with budgets
  ``resource_min * reduction_factor**k`` up to ``resource_max``; a free worker promotes the best
  ``1/reduction_factor`` of a rung's finished trials not yet promoted (top rung first), else
  starts a new configuration at the bottom rung. Trials get their budget as the ``budget``
  hyperparameter.
- ``OptunaSearch``: an optuna sampler (TPE, GP...) in ask/tell mode, intermediate values
  reported, early-stopped trials told as pruned.
- ``"gp"`` is optuna's GPSampler where torch and scipy import, else the numpy-only
  :class:`~eolab.experiments.lagom.gp.GaussianProcessSearch`.
"""

from __future__ import annotations

import importlib.util
import math
import random
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from eolab.errors import InvalidInput
from eolab.experiments.lagom.searchspace import (
    CATEGORICAL,
    DISCRETE,
    DOUBLE,
    INTEGER,
    Searchspace,
)
from eolab.experiments.states import EARLY_STOPPED, FINISHED

NAMES = ("randomsearch", "gridsearch", "asha", "tpe", "gp")


class Optimizer(ABC):
    """Suggests trials; told how they end."""

    searchspace: Searchspace
    num_trials: int
    direction: str

    def setup(self, searchspace: Searchspace, num_trials: int, direction: str, seed: int) -> None:
        """Bind the optimizer to one search (called once, before the first ``ask``)."""
        self.searchspace = searchspace
        self.num_trials = num_trials
        self.direction = direction
        self.rng = random.Random(seed)
        self.seed = seed
        self.asked = 0

    @abstractmethod
    def ask(self, trial_id: str) -> dict[str, Any] | None:
        """Params for trial ``trial_id``, or None when none can start now."""

    def report(self, trial_id: str, step: int, value: float) -> None:
        """An intermediate value of a running trial (optional)."""
        return None

    def tell(self, trial_id: str, value: float | None, state: str) -> None:
        """How trial ``trial_id`` ended (optional)."""
        return None

    @property
    def done(self) -> bool:
        """No trial will be suggested any more."""
        return self.asked >= self.num_trials

    @property
    def extra_params(self) -> tuple[str, ...]:
        """Arguments this optimizer adds to every trial's params (asha: ``budget``)."""
        return ()

    def describe(self) -> dict[str, Any]:
        return {"name": type(self).__name__}


class RandomSearch(Optimizer):
    """Uniform random samples of the search space."""

    def ask(self, trial_id: str) -> dict[str, Any] | None:
        if self.done:
            return None
        self.asked += 1
        return self.searchspace.sample(self.rng)

    def describe(self) -> dict[str, Any]:
        return {"name": "randomsearch"}


class GridSearch(Optimizer):
    """Every combination of the space, at most ``num_trials`` of them."""

    def setup(self, searchspace: Searchspace, num_trials: int, direction: str, seed: int) -> None:
        super().setup(searchspace, num_trials, direction, seed)
        self.points = searchspace.grid()
        if len(self.points) > num_trials:
            warnings.warn(
                f"the grid has {len(self.points)} combinations; num_trials={num_trials} runs the "
                "first of them only",
                stacklevel=3,
            )
        self.num_trials = min(num_trials, len(self.points))

    def ask(self, trial_id: str) -> dict[str, Any] | None:
        if self.done:
            return None
        point = self.points[self.asked]
        self.asked += 1
        return dict(point)

    def describe(self) -> dict[str, Any]:
        return {"name": "gridsearch"}


@dataclass
class _Rung:
    budget: float
    results: dict[str, float] = field(default_factory=dict)  # trial_id -> final value
    promoted: set[str] = field(default_factory=set)


class Asha(Optimizer):
    """Asynchronous successive halving with ``budget`` rungs from resource_min to resource_max."""

    def __init__(
        self,
        reduction_factor: int = 2,
        resource_min: int | float = 1,
        resource_max: int | float = 4,
    ) -> None:
        if isinstance(reduction_factor, bool) or not isinstance(reduction_factor, int):
            raise InvalidInput(
                f"reduction_factor must be an integer >= 2, got {reduction_factor!r}"
            )
        if reduction_factor < 2:
            raise InvalidInput(f"reduction_factor must be an integer >= 2, got {reduction_factor}")
        for what, value in (("resource_min", resource_min), ("resource_max", resource_max)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise InvalidInput(f"{what} must be a positive number, got {value!r}")
        if resource_max < resource_min * reduction_factor:
            raise InvalidInput(
                f"resource_max must be at least resource_min * reduction_factor "
                f"({resource_min} * {reduction_factor}) to make two rungs, got {resource_max}"
            )
        self.reduction_factor = reduction_factor
        self.resource_min = resource_min
        self.resource_max = resource_max
        count = int(math.floor(math.log(resource_max / resource_min, reduction_factor) + 1e-9)) + 1
        integral = isinstance(resource_min, int) and isinstance(resource_max, int)
        self.rungs = [
            _Rung(resource_min * reduction_factor**k if integral else
                  float(resource_min * reduction_factor**k))
            for k in range(count)
        ]  # fmt: skip
        self._params: dict[str, dict[str, Any]] = {}
        self._rung_of: dict[str, int] = {}

    @property
    def extra_params(self) -> tuple[str, ...]:
        return ("budget",)

    def _promotable(self, k: int) -> str | None:
        rung = self.rungs[k]
        ranked = sorted(rung.results, key=rung.results.__getitem__, reverse=self.direction == "max")
        top = ranked[: len(ranked) // self.reduction_factor]
        return next((t for t in top if t not in rung.promoted), None)

    def ask(self, trial_id: str) -> dict[str, Any] | None:
        if self.done:
            return None
        self.asked += 1
        for k in reversed(range(len(self.rungs) - 1)):
            parent = self._promotable(k)
            if parent is not None:
                self.rungs[k].promoted.add(parent)
                params = {**self._params[parent], "budget": self.rungs[k + 1].budget}
                self._params[trial_id], self._rung_of[trial_id] = params, k + 1
                return dict(params)
        params = {**self.searchspace.sample(self.rng), "budget": self.rungs[0].budget}
        self._params[trial_id], self._rung_of[trial_id] = params, 0
        return dict(params)

    def tell(self, trial_id: str, value: float | None, state: str) -> None:
        if trial_id in self._rung_of and state == FINISHED and value is not None:
            self.rungs[self._rung_of[trial_id]].results[trial_id] = value

    def rung_of(self, trial_id: str) -> int:
        return self._rung_of[trial_id]

    def describe(self) -> dict[str, Any]:
        return {
            "name": "asha",
            "reduction_factor": self.reduction_factor,
            "resource_min": self.resource_min,
            "resource_max": self.resource_max,
            "budgets": [r.budget for r in self.rungs],
        }


def _distribution(param: Any) -> Any:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if param.type == DOUBLE:
        return FloatDistribution(param.low, param.high)
    if param.type == INTEGER:
        return IntDistribution(param.low, param.high)
    assert param.type in (DISCRETE, CATEGORICAL)
    return CategoricalDistribution(list(param.values))


class OptunaSearch(Optimizer):
    """An optuna sampler asked and told by the driver (``tpe``, ``gp``, or any sampler)."""

    def __init__(self, sampler: Any = "tpe") -> None:
        self.sampler_spec = sampler
        self.study: Any = None
        self._trials: dict[str, Any] = {}
        self._steps: dict[str, set[int]] = {}

    def _sampler(self, seed: int) -> Any:
        import optuna

        spec = self.sampler_spec
        if not isinstance(spec, str):
            return spec
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            if spec == "tpe":
                # constant liar: trials still running count as bad, so parallel asks differ
                return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
            return optuna.samplers.GPSampler(seed=seed)

    def setup(self, searchspace: Searchspace, num_trials: int, direction: str, seed: int) -> None:
        import optuna

        super().setup(searchspace, num_trials, direction, seed)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.distributions = {p.name: _distribution(p) for p in searchspace}
        self.study = optuna.create_study(
            direction="maximize" if direction == "max" else "minimize",
            sampler=self._sampler(seed),
        )

    def ask(self, trial_id: str) -> dict[str, Any] | None:
        if self.done:
            return None
        self.asked += 1
        trial = self.study.ask(self.distributions)
        self._trials[trial_id] = trial
        self._steps[trial_id] = set()
        return {name: _plain(value) for name, value in trial.params.items()}

    def optuna_trial(self, trial_id: str) -> Any:
        return self._trials.get(trial_id)

    def report(self, trial_id: str, step: int, value: float) -> None:
        trial = self._trials.get(trial_id)
        if trial is None or step in self._steps[trial_id] or not math.isfinite(value):
            return
        self._steps[trial_id].add(step)
        trial.report(value, step)

    def tell(self, trial_id: str, value: float | None, state: str) -> None:
        from optuna.trial import TrialState

        trial = self._trials.pop(trial_id, None)
        if trial is None:
            return
        if state == FINISHED and value is not None and math.isfinite(value):
            self.study.tell(trial, value, skip_if_finished=True)
        elif state == EARLY_STOPPED:
            self.study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
        else:
            self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)

    def describe(self) -> dict[str, Any]:
        spec = self.sampler_spec
        if isinstance(spec, str):
            return {"name": spec, "sampler": {"tpe": "TPESampler", "gp": "GPSampler"}[spec]}
        return {"name": "optuna", "sampler": type(spec).__name__}


def _plain(value: Any) -> Any:
    """numpy scalars from optuna as plain Python numbers (JSON)."""
    if hasattr(value, "item") and not isinstance(value, str | bool | int | float):
        return value.item()
    return value


def gp_sampler_available() -> bool:
    """Whether optuna's GPSampler can run here (it imports torch and scipy)."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "scipy"))


def make_optimizer(spec: Any) -> Optimizer:
    """An optimizer from its name, an Optimizer, or an optuna sampler instance."""
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, str):
        name = spec.lower()
        if name == "randomsearch":
            return RandomSearch()
        if name == "gridsearch":
            return GridSearch()
        if name == "asha":
            return Asha()
        if name == "tpe":
            return OptunaSearch("tpe")
        if name == "gp":
            if gp_sampler_available():
                return OptunaSearch("gp")
            from eolab.experiments.lagom.gp import GaussianProcessSearch

            return GaussianProcessSearch()
    else:
        try:
            import optuna

            if isinstance(spec, optuna.samplers.BaseSampler):
                return OptunaSearch(spec)
        except ImportError:  # pragma: no cover - optuna is a dependency
            pass
    raise InvalidInput(
        f"optimizer must be one of {', '.join(NAMES)}, an Asha(...) or an optuna sampler, "
        f"got {spec!r}"
    )
