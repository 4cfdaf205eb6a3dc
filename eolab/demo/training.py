"""Demo stage 4: train the CNN as tracked experiments — one run, a learning-rate search, a
2-worker MultiWorkerMirrored run — and register the best model as ``ship_iceberg_classifier``."""

from __future__ import annotations

import functools
import time

from eolab.demo.cnn import MODEL_NAME, train_cnn, train_cnn_mirrored
from eolab.demo.common import DemoRun

STAGE = "4 train"
# Epochs and model scale per demo size: the quick demo only proves the plumbing; the default
# single run reaches DEMONSTRATOR's accuracy (about 0.86) while the searches train shorter, so
# that `make demo` stays under 20 minutes on 2 cores.
EPOCHS = {"quick": 1, "default": 5, "full": 20}
SEARCH_EPOCHS = {"quick": 1, "default": 3, "full": 10}
SCALE = {"quick": 0.125, "default": 1.0, "full": 1.0}
LEARNING_RATES = {"quick": [1e-3, 3e-4], "default": [1e-3, 3e-4], "full": [3e-3, 1e-3, 3e-4, 1e-4]}


def stage_training(run: DemoRun) -> None:
    """Stage 4: a single run, a parallel learning-rate search and a 2-worker mirrored run; every
    trial (the chief, when mirrored) registers its model with its metrics, and the best by
    val_accuracy is the one later stages serve."""
    import eolab
    from eolab import experiment, models

    eolab.set_current_project(run.project)
    summary, size = run.summary, run.size
    args = {"epochs": EPOCHS[size], "scale": SCALE[size]}

    start = time.perf_counter()
    _, metrics = experiment.launch(
        train_cnn,
        {key: [value] for key, value in args.items()},
        name="iceberg_cnn",
        description="the D1.8 CNN on the TFRecord training dataset",
        metric_key="val_accuracy",
        progress=False,
    )
    single = _only_trial(metrics)
    summary.add(
        STAGE,
        "single run",
        f"val_accuracy {single['val_accuracy']:.3f} after {args['epochs']} epoch(s)",
        time.perf_counter() - start,
    )

    rates = LEARNING_RATES[size]
    start = time.perf_counter()
    _, best = experiment.grid_search(
        train_cnn,
        {"lr": rates, "epochs": [SEARCH_EPOCHS[size]], "scale": [args["scale"]]},
        direction="max",
        metric_key="val_accuracy",
        name="iceberg_cnn_lr_search",
        progress=False,
    )
    summary.add(
        STAGE,
        f"lr search ({len(rates)} trials)",
        f"best lr {best['best_params']['lr']:g}: val_accuracy {best['best_metric']:.3f}",
        time.perf_counter() - start,
    )

    start = time.perf_counter()
    _, chief = experiment.mirrored(
        functools.partial(train_cnn_mirrored, epochs=SEARCH_EPOCHS[size], scale=args["scale"]),
        name="iceberg_cnn_mirrored",
        num_workers=2,
        metric_key="val_accuracy",
        progress=False,
    )
    summary.add(
        STAGE,
        "mirrored (2 workers)",
        f"val_accuracy {chief['val_accuracy']:.3f}, {chief['workers']} replicas in sync",
        time.perf_counter() - start,
    )

    chosen = models.get_best_model(MODEL_NAME, "val_accuracy", "max")
    run.artifacts["model"] = chosen
    summary.add(
        STAGE,
        "best model",
        f"{MODEL_NAME} v{chosen.version} of {len(models.list_models(MODEL_NAME))}, "
        f"val_accuracy {chosen.metrics['val_accuracy']:.3f}",
        0.0,
    )


def _only_trial(trials: list[dict]) -> dict:
    """The metrics of a one-trial launch, or the trial's error as an exception."""
    (trial,) = trials
    if "error" in trial:
        raise RuntimeError(f"the training trial failed: {trial['error']}")
    return trial["metrics"]
