"""``%%eo lagom --searchspace "kernel=INTEGER[3,4] dropout=DOUBLE[0.1,0.5]" --optimizer asha
--trials 20 --direction max --metric val_accuracy``: a lagom search of the cell's train function.

The cell body runs in the notebook's namespace and defines the train function (``--train-fn``
names it, default ``train_fn``); the line form uses a function the namespace already has. The
search runs on the current project (``experiment.lagom``) and the summary is the cell's result.
"""

from __future__ import annotations

from argparse import Namespace
from typing import TYPE_CHECKING, Any

from IPython.core.magic_arguments import argument, magic_arguments

from eolab.magics.registry import UsageError, subcommand

if TYPE_CHECKING:
    from eolab.magics.core import EolabMagics


def _train_fn(magics: EolabMagics, name: str, cell: str | None) -> Any:
    namespace = magics.shell.user_ns if magics.shell is not None else {}
    if cell is not None and cell.strip():
        exec(compile(cell, "<%%eo lagom cell>", "exec"), namespace)  # noqa: S102 - the user's cell
    function = namespace.get(name)
    if function is None:
        where = "the cell does not define it" if cell else "the notebook has no such function"
        raise UsageError(f"no train function {name!r}: {where} (--train-fn names another)")
    return function


def _optimizer(args: Namespace) -> Any:
    from eolab.experiments.lagom import Asha

    if args.optimizer != "asha" or not args.asha:
        return args.optimizer
    try:
        factor, low, high = (float(v) for v in args.asha.split(","))
    except ValueError:
        raise UsageError(
            f"--asha is REDUCTION_FACTOR,RESOURCE_MIN,RESOURCE_MAX (e.g. 2,1,8), got {args.asha!r}"
        ) from None
    ints = [int(v) if v == int(v) else v for v in (low, high)]
    return Asha(int(factor), *ints)


@subcommand("lagom", help="asynchronous hyperparameter search with early stopping (lagom)")
@magic_arguments()
@argument("--searchspace", required=True, help='"name=TYPE[values] ...": DOUBLE[lo,hi] ...')
@argument("--optimizer", default="randomsearch",
          help="randomsearch, gridsearch, asha, tpe or gp (default: randomsearch)")  # fmt: skip
@argument("--asha", default=None, help="asha's REDUCTION_FACTOR,RESOURCE_MIN,RESOURCE_MAX")
@argument("--trials", type=int, default=10, help="number of trials (default: 10)")
@argument("--metric", default="metric", help="the metric train_fn broadcasts and returns")
@argument("--direction", default=None, choices=["max", "min"],
          help="default: inferred from the metric's name")  # fmt: skip
@argument("--force", action="store_true", help="accept a direction that contradicts the metric")
@argument("--es-policy", default="median", help="median or none (default: median)")
@argument("--es-min", type=int, default=10, help="completed trials before stopping any")
@argument("--es-interval", type=float, default=1.0, help="seconds between early-stop checks")
@argument("--hb-interval", type=float, default=1.0, help="seconds between worker heartbeats")
@argument("--workers", type=int, default=None, help="worker processes (default: the engine's)")
@argument("--name", default="lagom", help="the run's name")
@argument("--seed", type=int, default=None, help="the run's seed")
@argument("--train-fn", default="train_fn", help="the train function's name (default: train_fn)")
def lagom(magics: EolabMagics, args: Namespace, cell: str | None) -> Any:
    """Run the search; returns its summary (best/worst/average, early stopped, run id)."""
    from eolab.experiments.lagom import HyperparameterOptConfig, Searchspace
    from eolab.experiments.lagom.launch import lagom as run_lagom

    project = magics.project()
    config = HyperparameterOptConfig(
        args.trials,
        optimizer=_optimizer(args),
        searchspace=Searchspace.parse(args.searchspace),
        direction=args.direction,
        es_policy=args.es_policy,
        es_interval=args.es_interval,
        es_min=args.es_min,
        hb_interval=args.hb_interval,
        metric=args.metric,
        name=args.name,
        force=args.force,
    )
    train_fn = _train_fn(magics, args.train_fn, cell)
    return run_lagom(project, train_fn, config, num_workers=args.workers, seed=args.seed)
