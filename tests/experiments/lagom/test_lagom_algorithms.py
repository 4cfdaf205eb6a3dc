"""Optimizers, early-stopping rules and the reporter on their own: ask/tell, no processes."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from eolab.errors import InvalidInput
from eolab.experiments.lagom import (
    Asha,
    EarlyStopped,
    GridSearch,
    MedianRule,
    OptunaPruning,
    OptunaSearch,
    RandomSearch,
    Reporter,
    Searchspace,
)
from eolab.experiments.states import EARLY_STOPPED, FAILED, FINISHED


def objective(params: dict) -> float:
    """Best at x = 0.3, kernel = 4."""
    return 1.0 - (params["x"] - 0.3) ** 2 - 0.05 * (4 - params["kernel"])


SPACE = Searchspace(x=("DOUBLE", [0.0, 1.0]), kernel=("INTEGER", [2, 4]))


def drive(optimizer, trials: int, seed: int = 0, direction: str = "max") -> list[tuple]:
    """Ask and tell sequentially; returns (trial_id, params, value)."""
    optimizer.setup(SPACE, trials, direction, seed)
    seen = []
    while not optimizer.done:
        trial_id = f"trial_{len(seen):03d}"
        params = optimizer.ask(trial_id)
        value = objective(params)
        optimizer.tell(trial_id, value, FINISHED)
        seen.append((trial_id, params, value))
    assert optimizer.ask("one_more") is None
    return seen


def test_random_search_is_reproducible_and_within_bounds():
    first = drive(RandomSearch(), 20, seed=3)
    assert len(first) == 20
    assert all(0 <= p["x"] <= 1 and p["kernel"] in (2, 3, 4) for _, p, _ in first)
    assert [p for _, p, _ in drive(RandomSearch(), 20, seed=3)] == [p for _, p, _ in first]
    assert [p for _, p, _ in drive(RandomSearch(), 20, seed=4)] != [p for _, p, _ in first]


def test_grid_search_runs_every_combination_once_then_stops():
    grid = GridSearch()
    grid.setup(Searchspace(k=("INTEGER", [3, 4]), a=("CATEGORICAL", ["relu", "elu"])), 10, "max", 0)
    points = []
    while not grid.done:
        points.append(grid.ask(f"t{len(points)}"))
    assert points == [
        {"k": 3, "a": "relu"}, {"k": 3, "a": "elu"}, {"k": 4, "a": "relu"}, {"k": 4, "a": "elu"},
    ]  # fmt: skip
    with pytest.warns(UserWarning, match="the grid has 4 combinations; num_trials=2 runs the"):
        GridSearch().setup(Searchspace(k=("DISCRETE", [1, 2, 3, 4])), 2, "max", 0)


def test_asha_promotes_the_best_of_each_rung_to_a_larger_budget():
    asha = Asha(reduction_factor=2, resource_min=1, resource_max=4)
    assert [r.budget for r in asha.rungs] == [1, 2, 4]
    asha.setup(SPACE, 12, "max", 0)
    first = asha.ask("t0")
    second = asha.ask("t1")
    assert first["budget"] == second["budget"] == 1
    asha.tell("t0", 0.2, FINISHED)
    asha.tell("t1", 0.9, FINISHED)
    promoted = asha.ask("t2")  # the better of two finished at rung 0 goes to budget 2
    assert promoted == {**second, "budget": 2} and asha.rung_of("t2") == 1
    assert asha.ask("t3")["budget"] == 1  # nothing else to promote: a new configuration
    asha.tell("t2", 0.95, FINISHED)
    asha.tell("t3", 0.1, FINISHED)
    fresh = asha.ask("t4")  # rung 1 has one result (not enough to promote), rung 0: t1 taken
    assert fresh["budget"] == 1
    asha.tell("t4", 0.5, FINISHED)  # rung 0: 0.9 (t1, promoted), 0.5, 0.2, 0.1 -> top 2: t1, t4
    assert asha.ask("t5") == {**fresh, "budget": 2}
    asha.tell("t5", 0.6, FINISHED)  # rung 1: 0.95 (t2), 0.6 -> top 1 is t2
    assert asha.ask("t6") == {**second, "budget": 4}
    asha.tell("t6", 0.0, FAILED)  # a failed trial holds no place in its rung
    assert "t6" not in asha.rungs[2].results


def test_asha_minimising_promotes_the_lowest():
    asha = Asha(2, 1, 2)
    asha.setup(SPACE, 3, "min", 0)
    a, _ = asha.ask("a"), asha.ask("b")
    asha.tell("a", 0.2, FINISHED)
    asha.tell("b", 0.9, FINISHED)
    assert asha.ask("c") == {**a, "budget": 2}


def test_tpe_in_ask_tell_mode_beats_random_on_average():
    tpe = drive(OptunaSearch("tpe"), 30, seed=1)
    rand = drive(RandomSearch(), 30, seed=1)
    assert all(isinstance(p["kernel"], int) and isinstance(p["x"], float) for _, p, _ in tpe)
    late_tpe = sum(v for _, _, v in tpe[15:]) / 15
    late_random = sum(v for _, _, v in rand[15:]) / 15
    assert late_tpe > late_random  # TPE concentrates near the optimum after its start-up trials
    assert max(v for _, _, v in tpe) > 0.99


def test_optuna_search_tells_early_stopped_as_pruned_and_failed_as_fail():
    search = OptunaSearch("tpe")
    search.setup(SPACE, 3, "max", 0)
    search.ask("a"), search.ask("b"), search.ask("c")
    search.report("a", 0, 0.5)
    search.report("a", 0, 0.6)  # a repeated step is ignored, not an optuna warning
    search.tell("a", 0.5, EARLY_STOPPED)
    search.tell("b", None, FAILED)
    search.tell("c", 0.7, FINISHED)
    states = [t.state.name for t in search.study.trials]
    assert states == ["PRUNED", "FAIL", "COMPLETE"]
    assert search.study.trials[0].intermediate_values == {0: 0.5}


def finish(rule, trial_id: str, values: list[float]) -> None:
    rule.start(trial_id)
    for step, value in enumerate(values):
        rule.report(trial_id, step, value)
    rule.finish(trial_id, FINISHED, values[-1])


def test_median_rule_stops_a_trial_below_the_median_of_completed_running_averages():
    rule = MedianRule()
    rule.setup("max", min_trials=3)
    finish(rule, "a", [0.2, 0.4, 0.6])
    finish(rule, "b", [0.4, 0.6, 0.8])
    rule.start("bad")
    rule.report("bad", 0, 0.1)
    assert not rule.should_stop("bad")  # only 2 completed trials: the rule waits for es_min
    finish(rule, "c", [0.6, 0.8, 1.0])
    # at 1 value the running averages are 0.2, 0.4, 0.6 -> median 0.4; best 0.1 < 0.4
    assert rule.should_stop("bad")
    rule.start("good")
    rule.report("good", 0, 0.35)
    rule.report("good", 1, 0.7)  # averages over 2 values: 0.3, 0.5, 0.7 -> 0.5; best 0.7
    assert not rule.should_stop("good")
    rule.start("long")
    for step in range(5):  # longer than every completed trial: no median to compare with
        rule.report("long", step, 0.0)
    assert not rule.should_stop("long")
    assert rule.median_at(3) == pytest.approx(0.6)


def test_median_rule_minimising_and_failed_trials():
    rule = MedianRule()
    rule.setup("min", min_trials=2)
    finish(rule, "a", [1.0, 0.5])
    rule.start("failed")
    rule.report("failed", 0, 9.0)
    rule.finish("failed", FAILED, None)  # failed trials do not count as completed
    assert len(rule.completed) == 1
    finish(rule, "b", [0.8, 0.4])
    rule.start("worse")
    rule.report("worse", 0, 2.0)
    rule.report("worse", 1, math.nan)  # not finite: ignored
    assert rule.should_stop("worse")  # best 2.0 > median of 1.0 and 0.8


def test_an_optuna_pruner_decides_on_its_own_study():
    rule = OptunaPruning(optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
    rule.setup("max", 0)
    for trial_id, top in (("a", 0.8), ("b", 0.9)):
        finish(rule, trial_id, [top / 2, top])
    rule.start("bad")
    assert not rule.should_stop("bad")  # nothing reported yet
    rule.report("bad", 0, 0.05)
    assert rule.should_stop("bad")
    rule.finish("bad", EARLY_STOPPED, 0.05)
    assert [t.state.name for t in rule.study.trials] == ["COMPLETE", "COMPLETE", "PRUNED"]


def test_a_reporter_outside_a_trial_records_and_raises_once_stopped(capsys):
    reporter = Reporter("accuracy")
    reporter.broadcast(0.5)
    reporter.broadcast(np.float32(0.75))  # NumPy numbers are metrics too
    reporter.broadcast(0.8, step=5)
    assert reporter.history == [(0, 0.5), (1, 0.75), (5, 0.8)]
    assert reporter.drain() == [[0, 0.5], [1, 0.75], [5, 0.8]] and reporter.drain() == []
    reporter.log("epoch done")
    assert capsys.readouterr().out == "epoch done\n"
    with pytest.raises(InvalidInput, match="a metric value must be a number, got str"):
        reporter.broadcast("high")
    with pytest.raises(InvalidInput, match="step must be an integer >= 0 or None, got -1"):
        reporter.broadcast(0.1, step=-1)
    reporter.request_stop()
    with pytest.raises(EarlyStopped) as stopped:
        reporter.broadcast(0.9)
    assert (stopped.value.metric, stopped.value.step) == (0.9, 6)
