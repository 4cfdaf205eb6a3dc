"""Search spaces, configs, direction inference, and bad input to ``experiment.lagom`` refused
with the exact error before anything is written."""

from __future__ import annotations

import random

import pytest

import eolab
from eolab import experiment
from eolab.errors import InvalidInput
from eolab.experiments.lagom import (
    AblationConfig,
    AblationStudy,
    Asha,
    HyperparameterOptConfig,
    OptunaSearch,
    Searchspace,
    infer_direction,
)

from . import lagom_fns


def nothing_written(project: eolab.Project) -> bool:
    return list((project.root / "Experiments").iterdir()) == [] and experiment.list_runs() == []


def space() -> Searchspace:
    return Searchspace(x=("DOUBLE", [0.0, 1.0]))


# ---- search spaces ----------------------------------------------------------------------------


def test_searchspace_types_sampling_and_grid():
    sp = Searchspace(kernel=("INTEGER", [3, 4]), pool=("integer", [2, 3]))
    sp.add("dropout", ("DOUBLE", [0.1, 0.5])).add("act", ("CATEGORICAL", ["relu", "elu"]))
    sp.add("units", ("DISCRETE", [16, 32]))
    assert sp.names() == ["kernel", "pool", "dropout", "act", "units"]
    assert sp.to_dict()["pool"] == ["INTEGER", [2, 3]]
    rng = random.Random(0)
    for _ in range(50):
        point = sp.sample(rng)
        assert point["kernel"] in (3, 4) and isinstance(point["kernel"], int)
        assert 0.1 <= point["dropout"] <= 0.5
        assert point["act"] in ("relu", "elu") and point["units"] in (16, 32)
    small = Searchspace(kernel=("INTEGER", [3, 4]), act=("CATEGORICAL", ["relu", "elu"]))
    assert small.grid() == [
        {"kernel": 3, "act": "relu"},
        {"kernel": 3, "act": "elu"},
        {"kernel": 4, "act": "relu"},
        {"kernel": 4, "act": "elu"},
    ]
    with pytest.raises(InvalidInput, match="gridsearch needs countable .* 'dropout' is DOUBLE"):
        sp.grid()


def test_searchspace_parses_the_magic_form():
    sp = Searchspace.parse("lr=DOUBLE[0.0001,0.01] kernel=INTEGER[3,4] act=CATEGORICAL[relu, elu]")
    assert sp.to_dict() == {
        "lr": ["DOUBLE", [0.0001, 0.01]],
        "kernel": ["INTEGER", [3, 4]],
        "act": ["CATEGORICAL", ["relu", "elu"]],
    }
    with pytest.raises(InvalidInput, match=r"cannot read the search space at 'kernel=\[3,4\]'"):
        Searchspace.parse("lr=DOUBLE[0.1,0.2] kernel=[3,4]")
    with pytest.raises(InvalidInput, match="the search space is empty"):
        Searchspace.parse("  ")


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        ("lr", ("DOUBLE", [0.01, 0.0001]), r"low < high, got \[0.01, 0.0001\] \(reversed\?\)"),
        ("k", ("INTEGER", [3.0, 4]), r"two integers; got \[3.0, 4\]"),
        ("k", ("INTEGER", [4, 4]), "low < high"),
        ("act", ("CATEGORICAL", []), r"needs at least one value, got \[\]"),
        ("u", ("DISCRETE", ["a"]), "DISCRETE.*takes numbers"),
        ("u", ("DISCRETE", [1, 1]), "repeats a value"),
        ("u", ("FLOAT", [0, 1]), "type must be one of DOUBLE, INTEGER, DISCRETE, CATEGORICAL"),
        ("u", ("CATEGORICAL", [object()]), "travel as JSON"),
        ("u", "DOUBLE[0,1]", r"is \(TYPE, values\)"),
        ("1x", ("DOUBLE", [0, 1]), "Python identifier"),
        ("reporter", ("DOUBLE", [0, 1]), "given to train_fn by lagom itself"),
    ],
)
def test_bad_hyperparameters_say_what_is_wrong(name, spec, message):
    with pytest.raises(InvalidInput, match=message):
        Searchspace().add(name, spec)


def test_a_hyperparameter_is_added_once():
    with pytest.raises(InvalidInput, match="'x' is already in the search space"):
        space().add("x", ("DOUBLE", [0, 1]))


# ---- direction ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "direction"),
    [
        ("val_loss", "min"), ("loss", "min"), ("mae", "min"), ("val_rmse", "min"),
        ("error_rate", "min"), ("val_accuracy", "max"), ("auc", "max"), ("f1", "max"),
        ("valPrecision", "max"), ("recall", "max"), ("metric", None), ("accuracy_loss", None),
    ],
)  # fmt: skip
def test_the_direction_is_inferred_from_the_metric_name(metric, direction):
    assert infer_direction(metric) == direction


def test_direction_is_inferred_refused_when_contradicting_and_forced():
    assert HyperparameterOptConfig(4, searchspace=space(), metric="val_loss").direction == "min"
    assert HyperparameterOptConfig(4, searchspace=space(), metric="val_accuracy").direction == "max"
    with pytest.raises(InvalidInput, match="would maximise 'val_loss', which is a metric to "
                                           "minimise; use direction='min'"):  # fmt: skip
        HyperparameterOptConfig(4, searchspace=space(), metric="val_loss", direction="max")
    with pytest.warns(UserWarning, match="contradicts metric 'val_loss'"):
        forced = HyperparameterOptConfig(
            4, searchspace=space(), metric="val_loss", direction="max", force=True
        )
    assert forced.direction == "max"
    with pytest.raises(InvalidInput, match="'score' does not say whether to maximise or minimise"):
        HyperparameterOptConfig(4, searchspace=space(), metric="score")
    stated = HyperparameterOptConfig(4, searchspace=space(), metric="score", direction="MIN")
    assert stated.direction == "min"
    assert HyperparameterOptConfig(4, searchspace=space(), optimization_key="acc").metric == "acc"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"num_trials": 0}, InvalidInput, "num_trials must be an integer >= 1, got 0"),
        ({"num_trials": 2.5}, InvalidInput, "num_trials must be an integer >= 1, got 2.5"),
        ({"searchspace": Searchspace()}, InvalidInput, "the search space is empty"),
        ({"searchspace": {"x": ("DOUBLE", [0, 1])}}, InvalidInput, "must be a Searchspace"),
        ({"optimizer": "bayes"}, InvalidInput, "optimizer must be one of randomsearch, gridsearch"),
        ({"es_policy": "mean"}, InvalidInput, "es_policy must be 'median', 'none' or an optuna"),
        ({"es_interval": 0}, InvalidInput, "es_interval must be a number > 0"),
        ({"es_min": -1}, InvalidInput, "es_min must be an integer >= 0"),
        ({"hb_interval": "1"}, InvalidInput, "hb_interval must be a number > 0"),
        ({"direction": "up"}, InvalidInput, "direction must be 'max', 'min' or None, got 'up'"),
        ({"metric": "acc", "optimization_key": "loss"}, InvalidInput, "name two metrics"),
        ({"name": ""}, InvalidInput, "name must be a non-empty string"),
    ],
)
def test_bad_configs_are_refused(kwargs, error, message):
    args = {"num_trials": 4, "searchspace": space(), "metric": "accuracy", **kwargs}
    with pytest.raises(error, match=message):
        HyperparameterOptConfig(**args)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Asha(1, 1, 4), "reduction_factor must be an integer >= 2, got 1"),
        (lambda: Asha(2, 0, 4), "resource_min must be a positive number, got 0"),
        (lambda: Asha(3, 1, 2), r"resource_max must be at least resource_min \* reduction_factor"),
    ],
)
def test_bad_asha_settings(make, message):
    with pytest.raises(InvalidInput, match=message):
        make()


def test_gp_runs_without_torch_and_scipy():
    import importlib.util

    from eolab.experiments.lagom.gp import GaussianProcessSearch

    chosen = HyperparameterOptConfig(4, "gp", space(), metric="accuracy").optimizer
    if importlib.util.find_spec("torch") and importlib.util.find_spec("scipy"):
        assert isinstance(chosen, OptunaSearch)  # optuna's GPSampler
    else:
        assert isinstance(chosen, GaussianProcessSearch)  # the numpy one


def test_ablation_config_checks():
    study = AblationStudy("td", 1, "label")
    assert AblationConfig(study, metric="val_accuracy").direction == "max"
    with pytest.raises(InvalidInput, match="ablator must be 'loco'"):
        AblationConfig(study, ablator="random", metric="val_accuracy")
    with pytest.raises(InvalidInput, match="must be an AblationStudy, got dict"):
        AblationConfig({}, metric="val_accuracy")
    with pytest.raises(InvalidInput, match="'metric' does not say whether"):
        AblationConfig(study)
    with pytest.raises(InvalidInput, match="layers.include\\(\\) takes names"):
        study.model.layers.include(3)
    with pytest.raises(InvalidInput, match="a layer group is a list of at least two"):
        study.model.layers.include_groups(["only"])
    with pytest.raises(InvalidInput, match="versions are integers from 1, got 0"):
        AblationStudy("td", 0, "label")


# ---- lagom() refuses bad input before writing anything --------------------------------------


def hpo(**kwargs):
    args = {"num_trials": 2, "searchspace": space(), "metric": "accuracy", **kwargs}
    return HyperparameterOptConfig(**args)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: experiment.lagom(lagom_fns.no_reporter, hpo()),
         r"early stopping is on \(es_policy='median'\) but train_fn\(x\) takes no "
         "reporter"),
        (lambda: experiment.lagom(lagom_fns.curve, hpo(searchspace=Searchspace(
            y=("DOUBLE", [0, 1])))), r"does not take \['y'\]"),
        (lambda: experiment.lagom(lagom_fns.dies_once, hpo()), r"needs \['marker_dir'\]"),
        (lambda: experiment.lagom(lagom_fns.curve, hpo(optimizer="asha")),
         r"does not take \['budget'\]"),
        (lambda: experiment.lagom(lagom_fns.curve, hpo(optimizer="gridsearch")),
         "gridsearch needs countable"),
        (lambda: experiment.lagom("train.py", hpo()), "train_fn must be a function, got str"),
        (lambda: experiment.lagom(lagom_fns.curve, {"num_trials": 2}),
         "config must be a HyperparameterOptConfig or an AblationConfig, got dict"),
        (lambda: experiment.lagom(lagom_fns.curve, hpo(), num_workers=999),
         r"num_workers=999 workers must run at once; the python engine runs at most \d+"),
        (lambda: experiment.lagom(lagom_fns.curve, hpo(), num_workers=0),
         "num_workers must be an integer >= 1"),
        (lambda: experiment.lagom(lagom_fns.curve, hpo(), seed=-1), "seed must be"),
        (lambda: experiment.lagom(lagom_fns.curve, hpo(), worker_timeout=0.5),
         "worker_timeout must be a number of seconds above hb_interval"),
        (lambda: experiment.lagom(lagom_fns.curve, hpo(), driver_host="a host"),
         "driver_host must be a host name"),
        (lambda: experiment.lagom(lagom_fns.curve, AblationConfig(AblationStudy("td", 1, "y"),
                                                                  metric="accuracy")),
         "the ablation study has no base model"),
    ],
)  # fmt: skip
def test_bad_input_to_lagom_writes_nothing(current, call, message):
    with pytest.raises(InvalidInput, match=message):
        call()
    assert nothing_written(current)
