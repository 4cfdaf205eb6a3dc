"""lagom: asynchronous hyperparameter search with early stopping, and ablation studies (maggy).

from eolab import experiment
from eolab.experiments.lagom import HyperparameterOptConfig, Searchspace

sp = Searchspace(kernel=("INTEGER", [3, 4]), pool=("INTEGER", [2, 3]))
sp.add("dropout", ("DOUBLE", [0.1, 0.5]))
config = HyperparameterOptConfig(num_trials=8, optimizer="randomsearch", searchspace=sp,
                                 metric="val_accuracy", es_policy="median", es_min=4)
result = experiment.lagom(train_fn, config)   # train_fn(kernel, pool, dropout, reporter)
result["best_config"], result["best_val"], result["early_stopped"]

N workers (python engine: processes; spark: one long Spark task each) pull trials from a driver
over an authenticated ZeroMQ channel (:mod:`.rpc`), heartbeat their metrics, and are told to
stop bad trials early; each lagom experiment is one tracked run, each trial a trial of it.
Ablation: ``experiment.lagom(train_fn, AblationConfig(AblationStudy(...)))``.
"""

from __future__ import annotations

from eolab.experiments.lagom.ablation import AblationStudy
from eolab.experiments.lagom.config import (
    AblationConfig,
    HyperparameterOptConfig,
    infer_direction,
)
from eolab.experiments.lagom.earlystop import EarlyStop, MedianRule, NoStop, OptunaPruning
from eolab.experiments.lagom.optimizers import (
    Asha,
    GridSearch,
    Optimizer,
    OptunaSearch,
    RandomSearch,
)
from eolab.experiments.lagom.reporter import (
    EarlyStopped,
    KerasBatchEnd,
    KerasEpochEnd,
    Reporter,
)
from eolab.experiments.lagom.result import LagomResult
from eolab.experiments.lagom.searchspace import Searchspace

__all__ = [
    "AblationConfig",
    "AblationStudy",
    "Asha",
    "EarlyStop",
    "EarlyStopped",
    "GridSearch",
    "HyperparameterOptConfig",
    "KerasBatchEnd",
    "KerasEpochEnd",
    "LagomResult",
    "MedianRule",
    "NoStop",
    "Optimizer",
    "OptunaPruning",
    "OptunaSearch",
    "RandomSearch",
    "Reporter",
    "Searchspace",
    "infer_direction",
]
