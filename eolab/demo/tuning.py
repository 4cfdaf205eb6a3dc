"""Demo stage 4 (continued): a ``lagom`` search with median early stopping over learning rate
and dropout, and a leave-one-layer-out ablation study of the CNN's conv layers."""

from __future__ import annotations

import functools
import time

from eolab.demo.cnn import (
    LABEL,
    TRAIN_TD,
    build_cnn,
    train_cnn_ablation,
    train_cnn_lagom,
)
from eolab.demo.common import DemoRun
from eolab.demo.training import SEARCH_EPOCHS

STAGE = "4 train"
TRIALS = {"quick": 4, "default": 8, "full": 10}
# many short trials: a quarter-width CNN by default (the full sizes train the real one)
SCALE = {"quick": 0.125, "default": 0.25, "full": 1.0}
EARLY_STOPPING_MIN = {"quick": 2, "default": 3, "full": 4}
ABLATION_LR = 1e-3
# DEMONSTRATOR: the 4 conv layers by default; the quick demo ablates two.
ABLATED = {
    "quick": ["my_conv_2", "my_conv_3"],
    "default": ["my_conv_1", "my_conv_2", "my_conv_3", "my_conv_4"],
    "full": [f"my_{kind}_{i}" for kind in ("conv", "maxpool", "dropout") for i in range(1, 5)],
}


def stage_tuning(run: DemoRun) -> None:
    """The lagom search (asynchronous trials on 2 workers, median early stopping) and the LOCO
    ablation of the conv layers; both are tracked runs of the Experiments tab."""
    from eolab import experiment
    from eolab.experiments.lagom import (
        AblationConfig,
        AblationStudy,
        HyperparameterOptConfig,
        Searchspace,
    )

    summary, size = run.summary, run.size
    epochs, scale = SEARCH_EPOCHS[size], SCALE[size]

    space = Searchspace(lr=("DOUBLE", [1e-4, 3e-3]), dropout=("DOUBLE", [0.1, 0.4]))
    config = HyperparameterOptConfig(
        num_trials=TRIALS[size],
        optimizer="randomsearch",
        searchspace=space,
        direction="max",
        es_policy="median",
        es_min=EARLY_STOPPING_MIN[size],
        metric="val_accuracy",
        name="iceberg_cnn_lagom",
    )
    start = time.perf_counter()
    result = experiment.lagom(
        functools.partial(train_cnn_lagom, epochs=epochs, scale=scale), config, progress=False
    )
    best = result["best_config"] or {}
    summary.add(
        STAGE,
        f"lagom ({result['num_trials']} trials)",
        f"best val_accuracy {result['best_val']:.3f} (lr {best.get('lr', 0):.2g}, dropout "
        f"{best.get('dropout', 0):.2f}); {result['early_stopped']} stopped early",
        time.perf_counter() - start,
    )

    study = AblationStudy(TRAIN_TD, 1, LABEL)
    study.model.layers.include(*ABLATED[size])
    study.model.set_base_model_generator(functools.partial(build_cnn, 1e-3, scale))
    start = time.perf_counter()
    ablation = experiment.lagom(
        functools.partial(train_cnn_ablation, epochs=epochs, lr=ABLATION_LR),
        AblationConfig(study, metric="val_accuracy", direction="max", name="iceberg_cnn_ablation"),
        progress=False,
    )
    by_component = {
        t["params"]["component"]: t["metric"] for t in ablation["trials"] if t.get("metric")
    }
    summary.add(
        STAGE,
        f"ablation ({len(ABLATED[size])} layers, LOCO)",
        ", ".join(
            f"{component if component == 'base' else 'without ' + component} {value:.3f}"
            for component, value in by_component.items()
        ),
        time.perf_counter() - start,
    )
