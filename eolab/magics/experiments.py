"""``%%eo experiment --name N [--args JSON] [--metric-key K] [--mirrored --workers 2]``.

The cell either defines ``train_fn`` (it then runs as a notebook cell, so ``train_fn`` stays
defined), or is the body of the train function: its parameters are the keys of ``--args`` and it
returns the metrics dict::

    %%eo experiment --name lr --args '{"lr": [0.1, 0.01]}' --metric-key accuracy
    experiment.log_metric("loss", 0.5)
    return {"accuracy": 1 - lr}

It launches with ``experiment.launch`` (one trial per zipped combination of ``--args``) or, with
``--mirrored``, ``experiment.mirrored`` on ``--workers`` workers; the progress bar is live while
the trials run, and the recorded run is the result.
"""

from __future__ import annotations

import ast
import hashlib
import json
import linecache
import textwrap
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.magic_arguments import argument, magic_arguments

from eolab.magics.registry import UsageError, subcommand

if TYPE_CHECKING:
    from eolab.experiments.run import Run
    from eolab.magics.core import EolabMagics

FUNCTION = "train_fn"


def parse_args_json(text: str | None) -> dict[str, list[Any]] | None:
    """``--args``: a JSON object of lists (one trial per position), or UsageError."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise UsageError(
            f"--args must be a JSON object of lists, e.g. '{{\"lr\": [0.1, 0.01]}}', got "
            f"{text!r} ({exc})"
        ) from None
    if not isinstance(value, dict) or not value:
        raise UsageError(f"--args must be a non-empty JSON object of lists, got {text!r}")
    return value


def _defines_train_fn(tree: ast.Module) -> bool:
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == FUNCTION
        for node in tree.body
    )


def _parse(source: str, what: str) -> ast.Module:
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        raise UsageError(
            f"the cell is not valid Python {what}: {exc.msg} (line {exc.lineno})"
        ) from None


def train_function(magics: EolabMagics, cell: str, params: list[str]) -> Any:
    """The cell's ``train_fn``: defined by the cell (run in the notebook), or made of the cell
    body with ``params`` as its parameters."""
    tree = _parse(cell, "code")
    namespace = magics.shell.user_ns
    if _defines_train_fn(tree):
        result = magics.shell.run_cell(cell, store_history=False, silent=True)
        if not result.success:
            raise UsageError("the cell that defines train_fn raised: see the error above")
        return namespace[FUNCTION]
    if not any(isinstance(node, ast.Return) for node in ast.walk(tree)):
        raise UsageError(
            "the cell must define train_fn, or be a train function's body that returns its "
            "metrics dict (no 'return' found)"
        )
    source = f"def {FUNCTION}({', '.join(params)}):\n{textwrap.indent(cell, '    ')}\n"
    _parse(source, "function body")
    # registered like IPython's cells, so that the run records the function's source
    filename = f"<%%eo experiment {hashlib.sha256(source.encode()).hexdigest()[:12]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = dict(namespace)  # notebook names are visible, nothing is added to the notebook
    exec(compile(source, filename, "exec"), scope)  # noqa: S102 (the user's cell)
    return scope[FUNCTION]


@subcommand("experiment", help="launch the cell's train_fn as a tracked run (a search, mirrored)")
@magic_arguments()
@argument("--name", required=True, help="the run's name")
@argument("--args", default=None, help="JSON object of lists, zipped: one trial per position")
@argument("--metric-key", default=None, help="the returned metric that ranks the trials")
@argument("--description", default="", help="the run's description")
@argument("--mirrored", action="store_true", help="MultiWorkerMirroredStrategy on --workers")
@argument("--workers", type=int, default=None, help="workers of a --mirrored run (default 2)")
@argument("--seed", type=int, default=None, help="the run's seed (default: a random one)")
def experiment(magics: EolabMagics, args: Namespace, cell: str | None) -> Run:
    """Launch the cell's train function in the current project; return the recorded run."""
    from eolab.experiments.launch import launch, zip_args
    from eolab.experiments.mirrored import mirrored
    from eolab.experiments.run import get_run

    if cell is None or not cell.strip():
        raise UsageError("%%eo experiment needs a cell that defines train_fn or is its body")
    if args.workers is not None and not args.mirrored:
        raise UsageError("--workers is for a --mirrored run; add --mirrored or drop --workers")
    if args.mirrored and args.args is not None:
        raise UsageError("--args runs a search; a --mirrored run takes no --args")
    args_dict = parse_args_json(args.args)
    if args_dict is not None:
        zip_args(args_dict)  # bad keys or unequal lengths: before the cell runs
    project = magics.project()
    train_fn = train_function(magics, cell, list(args_dict or ()))
    if args.mirrored:
        run_dir, _ = mirrored(
            project, train_fn, args.name, args.workers or 2, metric_key=args.metric_key,
            description=args.description, seed=args.seed,
        )  # fmt: skip
    else:
        run_dir, _ = launch(
            project, train_fn, args_dict, args.name, description=args.description,
            metric_key=args.metric_key, seed=args.seed,
        )  # fmt: skip
    return get_run(project, Path(run_dir).name)


__all__ = ["experiment", "parse_args_json", "train_function"]
