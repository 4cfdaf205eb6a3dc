"""lagom: what asynchronous trials with early stopping buy, and what the driver protocol costs.

A synthetic objective reports a learning curve: ``x`` (the configuration's quality, 0..1) times
a saturating curve, one value per step, each step sleeping ``STEP_S * cost`` (``cost`` 1..3, so
trials differ in length as real ones do). Sleep-scaled, so it is deterministic and cheap; every
run sees the same configurations (the same seed), equal trial budget, 2 workers.

Rows:
(a) lagom random search + median early stopping (2 workers) vs synchronous batches of 2 with no
    early stopping (Maggy's baseline: a ProcessPoolExecutor, each batch waits for its slower
    trial): wall-clock ratio (goal <= 0.6) with the best metric within 1 %;
(b) the same lagom run vs optuna with SuccessiveHalvingPruner run sequentially (one process, its
    own random configurations: reported), and lagom with that optuna pruner on 2 workers;
(c) heartbeat/RPC overhead per trial: trials of a fixed duration one after another on one worker
    (each trial's time from its start on the driver to the next one's) vs a bare call
    (goal < 5 % of a 2 s trial; EOLAB_BENCH_QUICK=1 uses 0.2 s trials).
"""

from __future__ import annotations

import math
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import QUICK, median, row  # noqa: E402

TRIALS = 12 if QUICK else 40
STEPS = 8 if QUICK else 10
STEP_S = 0.01 if QUICK else 0.1
HB_S = 0.01 if QUICK else 0.02  # heartbeat and early-stop check: a fraction of a step
ES_MIN = 4
SEED = 11
FIXED_S = 0.2 if QUICK else 2.0
FIXED_TRIALS = 3 if QUICK else 5


def value_at(x: float, step: int) -> float:
    return x * (1 - math.exp(-(step + 1) / 3))


def objective(x: float, cost: int, reporter=None) -> float:  # type: ignore[no-untyped-def]
    """The learning curve of configuration (x, cost); its last value is the metric."""
    value = 0.0
    for step in range(STEPS):
        time.sleep(STEP_S * cost)
        value = value_at(x, step)
        if reporter is not None:
            reporter.broadcast(value, step)
    return value


def fixed(i: int, reporter) -> float:  # type: ignore[no-untyped-def]
    """A trial of FIXED_S seconds that reports once a second (or per tenth in quick mode)."""
    ticks = 10
    for step in range(ticks):
        time.sleep(FIXED_S / ticks)
        reporter.broadcast(float(i), step)
    return float(i)


def space():  # type: ignore[no-untyped-def]
    from eolab.experiments.lagom import Searchspace

    return Searchspace(x=("DOUBLE", [0.0, 1.0]), cost=("INTEGER", [1, 3]))


def configurations() -> list[dict]:
    """The configurations lagom's random search draws from SEED, in order."""
    rng = random.Random(SEED)
    return [space().sample(rng) for _ in range(TRIALS)]


def synchronous_batches(configs: list[dict]) -> tuple[float, float]:
    """Wall-clock seconds and best metric of the configs run 2 at a time, batch after batch."""
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(abs, [0, 0]))  # start the processes outside the timing
        start = time.perf_counter()
        values: list[float] = []
        for i in range(0, len(configs), 2):
            batch = [pool.submit(objective, c["x"], c["cost"]) for c in configs[i : i + 2]]
            values += [f.result() for f in batch]
        return time.perf_counter() - start, max(values)


def optuna_sequential() -> tuple[float, float, int]:
    """Seconds, best metric and pruned count of optuna + SuccessiveHalvingPruner, one process."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=SEED),
        pruner=optuna.pruners.SuccessiveHalvingPruner(),
    )

    def trial_fn(trial: optuna.Trial) -> float:
        x, cost = trial.suggest_float("x", 0.0, 1.0), trial.suggest_int("cost", 1, 3)
        value = 0.0
        for step in range(STEPS):
            time.sleep(STEP_S * cost)
            value = value_at(x, step)
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    start = time.perf_counter()
    study.optimize(trial_fn, n_trials=TRIALS)
    pruned = sum(1 for t in study.trials if t.state.name == "PRUNED")
    return time.perf_counter() - start, study.best_value, pruned


def main() -> None:
    import optuna

    from eolab import experiment, set_current_project
    from eolab.experiments.lagom import HyperparameterOptConfig
    from eolab.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp) / "home", user="bench", workers=2)
        set_current_project(ws.create_project("Bench"))
        common = {"metric": "accuracy", "hb_interval": HB_S, "es_interval": HB_S}
        warm = HyperparameterOptConfig(2, searchspace=space(), es_policy="none", **common)
        experiment.lagom(objective, warm, num_workers=2, progress=False)  # fork server, imports

        config = HyperparameterOptConfig(
            TRIALS, searchspace=space(), es_policy="median", es_min=ES_MIN, **common
        )
        start = time.perf_counter()
        result = experiment.lagom(objective, config, num_workers=2, seed=SEED, progress=False)
        lagom_s = time.perf_counter() - start
        assert [t["params"] for t in result["trials"]] == configurations()
        sync_s, sync_best = synchronous_batches(configurations())
        gap = abs(result["best_val"] - sync_best) / sync_best * 100
        row(
            "lagom",
            f"(a) {TRIALS} trials, random + median early stopping on 2 workers vs synchronous "
            f"batches of 2 ({result['early_stopped']} stopped early; best {result['best_val']:.4f}"
            f" vs {sync_best:.4f}, {gap:.2f} % apart; goal <= 0.6 within 1 %)",
            lagom_s,
            sync_s,
            "s",
        )

        optuna_s, optuna_best, pruned = optuna_sequential()
        row(
            "lagom",
            f"(b) lagom random + median on 2 workers vs optuna SuccessiveHalvingPruner "
            f"sequential (best {result['best_val']:.4f} vs {optuna_best:.4f}, optuna pruned "
            f"{pruned}; reported)",
            lagom_s,
            optuna_s,
            "s",
        )
        sha = HyperparameterOptConfig(
            TRIALS, searchspace=space(), es_policy=optuna.pruners.SuccessiveHalvingPruner(),
            **common,
        )  # fmt: skip
        start = time.perf_counter()
        pruned_run = experiment.lagom(objective, sha, num_workers=2, seed=SEED, progress=False)
        sha_s = time.perf_counter() - start
        row(
            "lagom",
            f"(b) lagom + optuna SuccessiveHalvingPruner on 2 workers vs the same pruner "
            f"sequential in optuna (best {pruned_run['best_val']:.4f} vs {optuna_best:.4f}, "
            f"{pruned_run['early_stopped']} vs {pruned} stopped; reported)",
            sha_s,
            optuna_s,
            "s",
        )

        bare = median([_timed(lambda: fixed(1, _Silent())) for _ in range(2)])
        steady = HyperparameterOptConfig(
            FIXED_TRIALS, "gridsearch", _fixed_space(), metric="accuracy", es_policy="none",
            hb_interval=1.0 if not QUICK else 0.1,
        )  # fmt: skip
        fixed_result = experiment.lagom(fixed, steady, num_workers=1, progress=False)
        trials = experiment.get_run(fixed_result["run_id"]).trials
        span = (trials[-1].finished_at - trials[0].started_at).total_seconds()
        per_trial = span / len(trials)
        row(
            "lagom",
            f"(c) one {FIXED_S:g} s trial through the driver (GET, heartbeats, FINAL, tracking) "
            f"vs a bare call ({(per_trial - bare) * 1000:.0f} ms added; goal < 5 %)",
            per_trial,
            bare,
            "s",
        )


class _Silent:
    def broadcast(self, metric: float, step: int | None = None) -> None:
        return None


def _fixed_space():  # type: ignore[no-untyped-def]
    from eolab.experiments.lagom import Searchspace

    return Searchspace(i=("DISCRETE", list(range(1, FIXED_TRIALS + 1))))


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
