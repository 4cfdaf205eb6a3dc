"""What a lagom experiment runs: ``HyperparameterOptConfig`` (a search) or ``AblationConfig``.

Both are checked when they are made, so that a bad config fails before anything is written.
The optimisation direction must agree with the metric (the D1.8 demonstrator maximised
``val_loss``): ``direction=None`` is inferred from the metric's name (loss, error, mae, mse,
rmse... are minimised; accuracy, auc, precision, recall, f1... maximised); an explicit
direction that contradicts a known name is refused unless ``force=True``; a metric whose name
says nothing must be given its direction.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any

from eolab.errors import InvalidInput
from eolab.experiments.lagom.earlystop import EarlyStop, NoStop, make_earlystop
from eolab.experiments.lagom.optimizers import Optimizer, make_optimizer
from eolab.experiments.lagom.searchspace import Searchspace

if TYPE_CHECKING:
    from eolab.experiments.lagom.ablation import AblationStudy

MINIMISED = ("loss", "error", "err", "mae", "mse", "rmse", "mape", "msle", "crossentropy")
MAXIMISED = ("accuracy", "acc", "auc", "precision", "recall", "f1", "iou", "r2")
MAX_TRIALS = 10_000


def infer_direction(metric: str) -> str | None:
    """'min' or 'max' when the metric's name says which, else None.

    The name is split into words (``val_loss`` -> val, loss); a word naming a minimised and one
    naming a maximised metric together say nothing."""
    words = set(re.split(r"[^a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1_\2", metric).lower()))
    low = bool(words & set(MINIMISED))
    high = bool(words & set(MAXIMISED))
    if low == high:
        return None
    return "min" if low else "max"


def resolve_direction(metric: str, direction: Any, force: bool) -> str:
    """The direction to optimise ``metric`` in; InvalidInput when it contradicts the name."""
    known = infer_direction(metric)
    if direction is None:
        if known is None:
            raise InvalidInput(
                f"metric {metric!r} does not say whether to maximise or minimise it: pass "
                "direction='max' or direction='min'"
            )
        return known
    if not isinstance(direction, str) or direction.lower() not in ("max", "min"):
        raise InvalidInput(f"direction must be 'max', 'min' or None, got {direction!r}")
    direction = direction.lower()
    if known is not None and direction != known:
        if not force:
            verb = {"max": "maximise", "min": "minimise"}
            raise InvalidInput(
                f"direction={direction!r} would {verb[direction]} {metric!r}, which is a metric "
                f"to {verb[known]}; use direction={known!r} (or force=True if you mean it)",
                details={"metric": metric, "direction": direction, "expected": known},
            )
        warnings.warn(
            f"direction={direction!r} contradicts metric {metric!r} (force=True)", stacklevel=3
        )
    return direction


def _check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 256:
        raise InvalidInput(f"{what} must be a non-empty string of at most 256 characters, got "
                           f"{value!r}")  # fmt: skip
    return value


def _positive(value: Any, what: str, integer: bool = False) -> Any:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
        need = "an integer >= 1" if integer else "a number > 0 (seconds)"
        raise InvalidInput(f"{what} must be {need}, got {value!r}")
    return value


class LagomConfig:
    """What both kinds share: the metric and its direction, names, heartbeat interval."""

    kind = "lagom"

    def __init__(
        self,
        metric: str,
        direction: str | None,
        force: bool,
        name: str,
        description: str,
        hb_interval: float,
    ) -> None:
        self.metric = _check_name(metric, "metric")
        if not isinstance(force, bool):
            raise InvalidInput(f"force must be True or False, got {force!r}")
        self.force = force
        self.direction = resolve_direction(metric, direction, force)
        self.name = _check_name(name, "name")
        if not isinstance(description, str):
            raise InvalidInput(f"description must be a string, got {description!r}")
        self.description = description
        self.hb_interval = _positive(hb_interval, "hb_interval")

    @property
    def wants_reporter(self) -> bool:
        """train_fn must take ``reporter`` (early stopping needs its broadcasts)."""
        return False


class HyperparameterOptConfig(LagomConfig):
    """An asynchronous hyperparameter search with early stopping (maggy's config).

    ``optimizer``: "randomsearch", "gridsearch", "asha", "tpe", "gp", an ``Asha(...)`` or an
    optuna sampler. ``es_policy``: "median", "none" or an optuna pruner; the median rule starts
    after ``es_min`` completed trials and is checked every ``es_interval`` seconds. Workers
    heartbeat every ``hb_interval`` seconds. ``optimization_key`` is maggy's name for ``metric``.
    """

    kind = "lagom"

    def __init__(
        self,
        num_trials: int,
        optimizer: Any = "randomsearch",
        searchspace: Searchspace | None = None,
        direction: str | None = None,
        es_policy: Any = "median",
        es_interval: float = 1,
        es_min: int = 10,
        hb_interval: float = 1,
        metric: str | None = None,
        name: str = "lagom",
        description: str = "",
        force: bool = False,
        optimization_key: str | None = None,
    ) -> None:
        if isinstance(num_trials, bool) or not isinstance(num_trials, int) or num_trials < 1:
            raise InvalidInput(f"num_trials must be an integer >= 1, got {num_trials!r}")
        if num_trials > MAX_TRIALS:
            raise InvalidInput(f"num_trials must be at most {MAX_TRIALS}, got {num_trials}")
        if metric is not None and optimization_key is not None and metric != optimization_key:
            raise InvalidInput(
                f"metric={metric!r} and optimization_key={optimization_key!r} name two metrics; "
                "give one"
            )
        metric = metric or optimization_key or "metric"
        super().__init__(metric, direction, force, name, description, hb_interval)
        if not isinstance(searchspace, Searchspace):
            raise InvalidInput(
                "searchspace must be a Searchspace(name=(TYPE, values), ...), got "
                f"{type(searchspace).__name__}"
            )
        if len(searchspace) == 0:
            raise InvalidInput(
                "the search space is empty: add hyperparameters, e.g. "
                "Searchspace(lr=('DOUBLE', [0.0001, 0.01]))"
            )
        self.num_trials = num_trials
        self.searchspace = searchspace
        self.optimizer: Optimizer = make_optimizer(optimizer)
        if "budget" in self.optimizer.extra_params and "budget" in searchspace:
            raise InvalidInput("asha gives trials their 'budget'; the search space may not")
        self.es_policy: EarlyStop = make_earlystop(es_policy)
        self.es_interval = _positive(es_interval, "es_interval")
        if isinstance(es_min, bool) or not isinstance(es_min, int) or es_min < 0:
            raise InvalidInput(f"es_min must be an integer >= 0, got {es_min!r}")
        self.es_min = es_min

    @property
    def wants_reporter(self) -> bool:
        return not isinstance(self.es_policy, NoStop)

    def to_dict(self) -> dict[str, Any]:
        """The config as recorded with the run (its params)."""
        return {
            "num_trials": self.num_trials,
            "optimizer": self.optimizer.describe(),
            "searchspace": self.searchspace.to_dict(),
            "metric": self.metric,
            "direction": self.direction,
            "es_policy": self.es_policy.name,
            "es_interval": self.es_interval,
            "es_min": self.es_min,
            "hb_interval": self.hb_interval,
        }


class AblationConfig(LagomConfig):
    """An ablation study: one trial per removed component (``ablator="loco"``)."""

    kind = "ablation"

    def __init__(
        self,
        ablation_study: AblationStudy,
        ablator: str = "loco",
        metric: str = "metric",
        direction: str | None = None,
        name: str = "ablation",
        description: str = "",
        hb_interval: float = 1,
        force: bool = False,
    ) -> None:
        from eolab.experiments.lagom.ablation import AblationStudy

        super().__init__(metric, direction, force, name, description, hb_interval)
        if not isinstance(ablation_study, AblationStudy):
            raise InvalidInput(
                f"ablation_study must be an AblationStudy, got {type(ablation_study).__name__}"
            )
        if not isinstance(ablator, str) or ablator.lower() != "loco":
            raise InvalidInput(f"ablator must be 'loco' (leave one component out), got {ablator!r}")
        self.ablation_study = ablation_study
        self.ablator = ablator.lower()

    def to_dict(self) -> dict[str, Any]:
        return {
            "ablator": self.ablator,
            "study": self.ablation_study.to_dict(),
            "metric": self.metric,
            "direction": self.direction,
            "hb_interval": self.hb_interval,
        }
