"""``%eo serve``: model servings of the current project, over ``project.serving``.

``create NAME --model M [--version V] [--model-server python] [--instances N] [--batching]
[--no-logging] [--log-sampling 0.1]``, ``start|stop|status|delete NAME``, ``list``,
``predict NAME '<json body>'`` (the TF-Serving response), ``log NAME [--tail 10]`` (decoded inference records) and
``monitor NAME [--reference TD_NAME [--version V]]`` (latency, errors, predictions, drift) and
``logs NAME [--source instance-0] [--tail 50]`` (the serving's own log files, as text).
"""

from __future__ import annotations

import json
from argparse import Namespace
from typing import TYPE_CHECKING, Any

from IPython.core.magic_arguments import argument, magic_arguments

from eolab.magics.registry import UsageError, subcommand
from eolab.widgets import Table

if TYPE_CHECKING:
    from eolab.magics.core import EolabMagics
    from eolab.serving.servings import Servings

ACTIONS = (
    "create", "start", "stop", "status", "delete", "list", "predict", "log", "monitor", "logs",
)  # fmt: skip
# how much of a logged request or response a log row shows
SHOWN_CHARS = 80
LOG_RECORDS = 10  # log: inference records shown by default
LOG_LINES = 50  # logs: log file lines shown by default


@subcommand(
    "serve", help="model servings: create, start, stop, status, predict, log, monitor, logs"
)
@magic_arguments()
@argument("action", metavar="ACTION", help=", ".join(ACTIONS))
@argument("name", metavar="NAME", nargs="?", help="the serving (all actions but list)")
@argument("body", metavar="BODY", nargs="?", help="predict: the JSON request body")
@argument("--model", default=None, help="create: the registered model to serve")
@argument(
    "--version", type=int, default=None,
    help="create: the model version (default: latest); monitor: the reference's version",
)  # fmt: skip
@argument("--model-server", default="tensorflow", help="create: tensorflow or python")
@argument("--instances", type=int, default=1, help="create: model server processes")
@argument("--batching", action="store_true", help="create: dynamic batching on")
@argument("--no-logging", action="store_true", help="create: no inference logging")
@argument(
    "--log-sampling", type=float, default=1.0,
    help="create: the fraction of successful requests logged (failures always are)",
)  # fmt: skip
@argument(
    "--tail", type=int, default=None,
    help=f"log: the last N records ({LOG_RECORDS}); logs: the last N lines ({LOG_LINES})",
)  # fmt: skip
@argument("--source", default="supervisor", help="logs: supervisor or instance-<i>")
@argument("--reference", default=None, help="monitor: a training dataset to measure drift")
def serve(magics: EolabMagics, args: Namespace, cell: str | None) -> Any:
    """Act on the servings of the current project."""
    if args.action not in ACTIONS:
        raise UsageError(f"ACTION must be one of {', '.join(ACTIONS)}, got {args.action!r}")
    if args.action != "predict" and args.body is not None:
        raise UsageError(f"%eo serve {args.action} takes one NAME, got also {args.body!r}")
    servings: Servings = magics.project().serving
    if args.action == "list":
        return _list(servings)
    if not args.name:
        raise UsageError(f"%eo serve {args.action} needs the serving NAME")
    name = args.name
    if args.action == "create":
        return _create(servings, args)
    if args.action == "start":
        return servings.start(name)
    if args.action == "stop":
        return servings.stop(name)
    if args.action == "status":
        return servings.get_serving(name)
    if args.action == "delete":
        servings.delete(name)
        print(f"serving {name} deleted")
        return None
    if args.action == "predict":
        return servings.make_inference_request(name, _body(args.body))
    if args.action == "log":
        return _log(servings, name, LOG_RECORDS if args.tail is None else args.tail)
    if args.action == "logs":
        return _logs(servings, name, args.source, LOG_LINES if args.tail is None else args.tail)
    return _monitor(magics, servings, name, args.reference, args.version)


def _create(servings: Servings, args: Namespace) -> Any:
    if not args.model:
        raise UsageError("%eo serve create needs --model, the registered model to serve")
    return servings.create_or_update(
        args.name,
        args.model,
        args.version,
        args.model_server,
        args.instances,
        args.batching,
        not args.no_logging,
        log_sampling=args.log_sampling,
    )


def _body(text: str | None) -> dict[str, Any]:
    """The predict body: a JSON object such as '{"instances": [[1, 2]]}', or UsageError."""
    example = "'{\"instances\": [[1.0, 2.0]]}'"
    if text is None:
        raise UsageError(f"%eo serve predict needs NAME and a JSON body, e.g. {example}")
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"the body must be JSON, e.g. {example}; got {text!r} ({exc})") from None
    if not isinstance(body, dict):
        raise UsageError(f"the body must be a JSON object, e.g. {example}; got {text!r}")
    return body


def _list(servings: Servings) -> Table:
    found = servings.get_servings()
    return Table(
        ("name", "model", "version", "server", "status", "instances", "endpoint"),
        [
            (
                s.name,
                s.model_name,
                s.model_version,
                s.model_server,
                f"{s.status} {s.reason}".strip(),
                f"{s.available_instances}/{s.requested_instances}",
                s.endpoint or "",
            )
            for s in found
        ],
        "servings",
        data=found,
    )


def _short(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _log(servings: Servings, name: str, tail: int) -> Table:
    if tail < 1:
        raise UsageError(f"--tail must be a positive number of records, got {tail}")
    records = servings.get_inference_log(name, limit=tail)
    return Table(
        ("time", "code", "latency ms", "instance", "version", "request", "response"),
        [
            (
                f"{r.request_timestamp:%Y-%m-%d %H:%M:%S}",
                r.response_http_code,
                round(r.latency_ms, 2),
                r.instance,
                r.model_version,
                _short(r.inference_request),
                _short(r.inference_response),
            )
            for r in records
        ],
        f"inference log of {name} (last {tail})",
        data=records,
    )


def _logs(servings: Servings, name: str, source: str, tail: int) -> None:
    """Print the last lines of the serving's own log file under a one-line header."""
    got = servings.get_logs(name, source, tail)
    more = "last " if got.truncated else ""
    print(f"{name} {got.source} ({more}{len(got.lines)} lines of {got.size_bytes} bytes)")
    print("\n".join(got.lines))


def _monitor(
    magics: EolabMagics, servings: Servings, name: str, reference: str | None, version: int | None
) -> Any:
    servings.get_serving(name)  # an unknown serving says so before the reference is read
    td = None
    if reference is not None:
        td = magics.project().get_feature_store().get_training_dataset(reference, version)
    elif version is not None:
        raise UsageError("--version of monitor is the reference's version; add --reference")
    return servings.monitor(name, td)


__all__ = ["serve"]
