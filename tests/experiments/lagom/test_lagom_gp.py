"""The numpy Gaussian-process optimizer behind ``optimizer="gp"`` (no torch, no scipy): ask/tell
on its own, then one lagom search end to end."""

from __future__ import annotations

import math

import pytest

from eolab import experiment
from eolab.errors import InvalidInput
from eolab.experiments.lagom import HyperparameterOptConfig, OptunaSearch, RandomSearch, Searchspace
from eolab.experiments.lagom import optimizers as optimizers_module
from eolab.experiments.lagom.gp import GaussianProcessSearch, expected_improvement, matern52
from eolab.experiments.lagom.optimizers import make_optimizer
from eolab.experiments.states import EARLY_STOPPED, FAILED, FINISHED

from . import lagom_fns

PLANE = Searchspace(x=("DOUBLE", [-2.0, 2.0]), y=("DOUBLE", [-1.0, 3.0]))
OPTIMUM = (0.7, 1.3)
MIXED = Searchspace(
    x=("DOUBLE", [-1.5, 2.5]),
    k=("INTEGER", [3, 7]),
    rate=("DISCRETE", [0.1, 0.5, 2]),
    act=("CATEGORICAL", ["relu", "elu", "tanh", None]),
)


def distance(params: dict) -> float:
    return math.hypot(params["x"] - OPTIMUM[0], params["y"] - OPTIMUM[1])


def bowl(params: dict) -> float:
    """A 2-D quadratic, lowest (0) at OPTIMUM."""
    return distance(params) ** 2


def mixed_score(params: dict) -> float:
    """Highest (1.0) at x = 0.5, k = 6, rate = 0.5, act = "elu"."""
    return (
        1.0
        - (params["x"] - 0.5) ** 2
        - 0.1 * (params["k"] - 6) ** 2
        - abs(params["rate"] - 0.5)
        - (0.0 if params["act"] == "elu" else 1.0)
    )


def drive(optimizer, space, objective, trials: int, seed: int, direction: str) -> list[tuple]:
    """Ask and tell one trial at a time; returns (params, value) in order."""
    optimizer.setup(space, trials, direction, seed)
    seen = []
    while not optimizer.done:
        trial_id = f"trial_{len(seen):03d}"
        params = optimizer.ask(trial_id)
        value = objective(params)
        optimizer.tell(trial_id, value, FINISHED)
        seen.append((params, value))
    assert optimizer.ask("one_more") is None
    return seen


def test_gp_gets_far_closer_to_a_quadratics_minimum_than_random_search_with_the_same_budget():
    for seed in range(3):
        gp = drive(GaussianProcessSearch(), PLANE, bowl, 20, seed, "min")
        rs = drive(RandomSearch(), PLANE, bowl, 20, seed, "min")
        gp_best = min(distance(p) for p, _ in gp)
        rs_best = min(distance(p) for p, _ in rs)
        assert gp_best < 0.15, (seed, gp_best)
        assert gp_best < rs_best / 3, (seed, gp_best, rs_best)
        # the model does the work: the first 5 (random) trials are not where the best was found
        assert min(distance(p) for p, _ in gp[:5]) > 2 * gp_best


def test_bounds_and_kinds_are_respected_and_the_best_category_and_integer_are_found():
    seen = drive(GaussianProcessSearch(), MIXED, mixed_score, 25, 7, "max")
    for params, _ in seen:
        assert params.keys() == {"x", "k", "rate", "act"}
        assert type(params["x"]) is float and -1.5 <= params["x"] <= 2.5
        assert type(params["k"]) is int and 3 <= params["k"] <= 7
        assert params["rate"] in (0.1, 0.5, 2) and params["act"] in ("relu", "elu", "tanh", None)
    best, value = max(seen, key=lambda s: s[1])
    assert (best["k"], best["rate"], best["act"]) == (6, 0.5, "elu")
    assert abs(best["x"] - 0.5) < 0.3 and value > 0.9
    late = [p["act"] for p, _ in seen[10:]]
    assert late.count("elu") > len(late) / 2  # random would pick it a quarter of the time


def test_direction_max_maximises_and_min_minimises_the_value_it_is_told():
    def peak(params: dict) -> float:
        return -bowl(params)

    maxed = drive(GaussianProcessSearch(), PLANE, peak, 15, 1, "max")
    mined = drive(GaussianProcessSearch(), PLANE, bowl, 15, 1, "min")
    assert [p for p, _ in maxed] == [p for p, _ in mined]  # the same search, seen either way
    assert min(distance(p) for p, _ in maxed) < 0.3
    wrong_way = drive(GaussianProcessSearch(), PLANE, peak, 15, 1, "min")
    assert max(distance(p) for p, _ in wrong_way[5:]) > 2.0  # minimising -bowl runs to corners
    assert min(distance(p) for p, _ in wrong_way[5:]) > 1.0


def test_the_same_seed_gives_the_same_trials_and_another_seed_others():
    first = drive(GaussianProcessSearch(), MIXED, mixed_score, 12, 3, "max")
    again = drive(GaussianProcessSearch(), MIXED, mixed_score, 12, 3, "max")
    other = drive(GaussianProcessSearch(), MIXED, mixed_score, 12, 4, "max")
    assert first == again
    assert [p for p, _ in other] != [p for p, _ in first]


def test_running_trials_are_not_asked_again_so_parallel_workers_get_different_points():
    gp = GaussianProcessSearch(n_startup=3)
    gp.setup(PLANE, 30, "min", 0)
    for i in range(3):
        params = gp.ask(f"t{i}")
        gp.tell(f"t{i}", bowl(params), FINISHED)
    asked = [gp._decode(gp.points[f"t{i}"]) for i in range(3)]
    gaps = []
    for round_ in range(8):  # two workers: both ask, then both tell
        a, b = gp.ask(f"a{round_}"), gp.ask(f"b{round_}")
        assert a != b and a not in asked and b not in asked
        gaps.append(math.hypot(a["x"] - b["x"], a["y"] - b["y"]))
        gp.tell(f"a{round_}", bowl(a), FINISHED)
        gp.tell(f"b{round_}", bowl(b), FINISHED)
        asked += [a, b]
    # the constant liar sends the second worker elsewhere, not next to the first one's point
    # (without it the pair is a few hundredths apart)
    assert min(gaps) > 0.08 and sorted(gaps)[len(gaps) // 2] > 0.3, gaps


def test_a_small_countable_space_is_covered_without_repeats():
    space = Searchspace(k=("INTEGER", [1, 3]), act=("CATEGORICAL", ["a", "b"]))
    every = [(1, "a"), (1, "b"), (2, "a"), (2, "b"), (3, "a"), (3, "b")]
    for seed in range(3):  # nothing told: random points, none repeated
        gp = GaussianProcessSearch()
        gp.setup(space, 6, "max", seed)
        assert sorted((p["k"], p["act"]) for p in (gp.ask(f"t{i}") for i in range(6))) == every
    gp = GaussianProcessSearch(n_startup=2)
    gp.setup(space, 6, "max", 0)
    points = [gp.ask("t0"), gp.ask("t1")]
    gp.tell("t0", 0.5, FINISHED)
    points += [gp.ask(f"t{i}") for i in range(2, 6)]  # the model's, while t1..t5 still run
    assert sorted((p["k"], p["act"]) for p in points) == every
    assert gp.done and gp.ask("t6") is None
    grid = Searchspace(k=("INTEGER", [1, 4]), act=("CATEGORICAL", ["a", "b", "c"]))

    def score(params: dict) -> float:
        return -abs(params["k"] - 3) - (0.0 if params["act"] == "b" else 0.5)

    for seed in range(4):  # told one by one, the model never proposes a point it has
        seen = drive(GaussianProcessSearch(n_startup=2), grid, score, 12, seed, "max")
        assert len({(p["k"], p["act"]) for p, _ in seen}) == 12


def test_failed_lost_and_early_stopped_trials_stay_out_of_the_model_and_are_not_asked_again():
    gp = GaussianProcessSearch(n_startup=2)
    gp.setup(PLANE, 8, "min", 2)
    first = [gp.ask("t0"), gp.ask("t1")]
    gp.tell("t0", None, FAILED)
    gp.tell("t1", 0.2, EARLY_STOPPED)
    gp.tell("t1", 0.1, FINISHED)  # told twice, or about a trial it never asked: ignored
    gp.tell("nobody", 0.0, FINISHED)
    assert gp.observed == {}
    third = gp.ask("t2")  # nothing finished yet: still random, and new
    assert third not in first
    gp.tell("t2", float("nan"), FINISHED)
    assert gp.observed == {}
    gp.tell("t3", 1.0, FINISHED)
    fourth = gp.ask("t3")
    gp.tell("t3", bowl(fourth), FINISHED)
    assert gp.observed == {"t3": pytest.approx(bowl(fourth))}
    assert gp.ask("t4") not in [*first, third, fourth]  # the model's proposal


def test_the_kernel_and_expected_improvement():
    import numpy as np

    x = np.array([[0.0, 0.0], [0.3, 0.4], [1.0, 1.0]])
    k = matern52(x, x, 0.5)
    assert np.allclose(np.diag(k), 1.0) and np.allclose(k, k.T)
    assert 1.0 > k[0, 1] > k[0, 2] > 0.0  # closer points are more alike
    assert np.all(np.linalg.eigvalsh(k) > 0)
    ei = expected_improvement(np.array([0.0, 0.0, -1.0]), np.array([0.1, 1.0, 0.1]), best=0.0)
    assert np.all(ei >= 0) and ei[1] > ei[0] and ei[2] > ei[1]  # more spread, lower mean: more


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"n_startup": 0}, "n_startup must be an integer >= 1, got 0"),
        ({"n_startup": 2.5}, "n_startup must be an integer >= 1, got 2.5"),
        ({"candidates": True}, "candidates must be an integer >= 10, got True"),
        ({"candidates": 5}, "candidates must be an integer >= 10, got 5"),
    ],
)
def test_bad_settings_are_refused(args, message):
    with pytest.raises(InvalidInput, match=message):
        GaussianProcessSearch(**args)


def test_gp_is_optunas_gpsampler_where_torch_and_scipy_import_else_the_numpy_one(monkeypatch):
    monkeypatch.setattr(optimizers_module, "gp_sampler_available", lambda: False)
    chosen = make_optimizer("gp")
    assert isinstance(chosen, GaussianProcessSearch)
    assert chosen.describe()["sampler"] == "GaussianProcessSearch"
    monkeypatch.setattr(optimizers_module, "gp_sampler_available", lambda: True)
    chosen = make_optimizer("GP")
    assert isinstance(chosen, OptunaSearch) and chosen.describe()["sampler"] == "GPSampler"


def test_a_lagom_search_with_gp_runs_every_trial_and_tracks_them(current, monkeypatch):
    monkeypatch.setattr(optimizers_module, "gp_sampler_available", lambda: False)
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]), y=("INTEGER", [1, 3]))
    config = HyperparameterOptConfig(
        num_trials=8,
        optimizer="gp",
        searchspace=space,
        metric="accuracy",
        es_policy="none",
        hb_interval=0.05,
        es_interval=0.05,
    )
    result = experiment.lagom(lagom_fns.quadratic, config, seed=3, progress=False)
    assert result["num_trials"] == result["finished"] == 8
    trials = result["trials"]
    assert all(t["state"] == "FINISHED" for t in trials)
    assert all(0 <= t["params"]["x"] <= 1 and t["params"]["y"] in (1, 2, 3) for t in trials)
    assert len({(t["params"]["x"], t["params"]["y"]) for t in trials}) == 8
    best = max(trials, key=lambda t: t["metric"])
    assert result["best_config"] == best["params"]
    x, y = best["params"]["x"], best["params"]["y"]
    assert result["best_val"] == pytest.approx(1.0 - (x - 0.3) ** 2 - 0.1 * abs(y - 2))
    run = experiment.get_run(result["run_id"])
    assert run.state == "FINISHED" and run.direction == "max"
    assert run.params["optimizer"]["sampler"] == "GaussianProcessSearch"
    rows = {t.trial_id: t for t in run.trials}
    assert len(rows) == 8 and all(r.state == "FINISHED" for r in rows.values())
    assert {r.trial_id: r.metrics["accuracy"] for r in rows.values()} == {
        t["trial_id"]: pytest.approx(t["metric"]) for t in trials
    }
