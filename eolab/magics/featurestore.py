"""``%eo fs list | show NAME [--version N] [--as-of T] [--limit N] | stats NAME``,
``%eo fs validate NAME [--version N]``, ``%eo fs expectations [NAME]`` and
``%eo fs td list | td show NAME [--version N]`` (training datasets)."""

from __future__ import annotations

from argparse import Namespace
from typing import TYPE_CHECKING, Any

from IPython.core.magic_arguments import argument, magic_arguments

from eolab.magics.registry import UsageError, subcommand
from eolab.widgets import Properties, Stack, Table

if TYPE_CHECKING:
    from eolab.magics.core import EolabMagics

ACTIONS = ("list", "show", "stats", "validate", "expectations", "td")
TD_ACTIONS = ("list", "show")


@subcommand("fs", help="the feature store: list feature groups, show one (as of a time), stats")
@magic_arguments()
@argument("action", metavar="ACTION", help="list, show, stats, validate or expectations")
@argument("name", metavar="NAME", nargs="?", help="the feature group (show, stats, validate)")
@argument("td_name", metavar="TD_NAME", nargs="?", help="the training dataset (td show NAME)")
@argument("--version", type=int, default=None, help="its version (default: the latest)")
@argument("--as-of", default=None, help="a UTC time: 'YYYY-MM-DD HH:MM:SS' (show)")
@argument("--limit", type=int, default=10, help="rows to show (show)")
def fs(magics: EolabMagics, args: Namespace, cell: str | None) -> Any:
    """Feature groups of the current project."""
    if args.action not in ACTIONS:
        raise UsageError(f"ACTION must be one of {', '.join(ACTIONS)}, got {args.action!r}")
    store = magics.project().get_feature_store()
    if args.action in ("validate", "expectations"):
        return _validation(store, args)
    if args.action == "td":
        return _training_datasets(store, args)
    if args.action == "list":
        groups = store.get_feature_groups()
        return Table(
            ("name", "version", "primary key", "online", "features", "description"),
            [
                (
                    g.name,
                    g.version,
                    ", ".join(g.primary_key),
                    g.online_enabled,
                    len(g.features),
                    g.description,
                )
                for g in groups
            ],
            "feature groups",
            data=groups,
        )
    if not args.name:
        raise UsageError(f"%eo fs {args.action} needs the feature group NAME")
    group = store.get_feature_group(args.name, args.version)
    if args.action == "stats":
        return group.get_statistics(args.as_of)
    frame = group.read(wallclock_time=args.as_of, dataframe_type="pandas").head(args.limit)
    commits = group.commit_details(limit=5)
    summary = Properties(
        [
            ("version", group.version),
            ("primary key", ", ".join(group.primary_key)),
            ("event time", group.event_time or ""),
            ("online", group.online_enabled),
            ("as of", args.as_of or "latest"),
            ("last commits", ", ".join(f"{c}: {d['committedOn']}" for c, d in commits.items())),
        ],
        title=f"feature group {group.name}",
        data=group,
    )
    features = Table(
        ("feature", "type", "primary", "partition"),
        [(f.name, f.type, f.primary, f.partition) for f in group.features],
        "features",
    )
    rows = Table(
        tuple(frame.columns),
        [tuple(_short(v) for v in r) for r in frame.itertuples(index=False)],
        "rows",
    )
    return Stack(summary, features, rows, data=frame)


def _short(value: Any) -> Any:
    """Long arrays (bands) shown by their length, not 5,625 numbers."""
    if hasattr(value, "__len__") and not isinstance(value, str) and len(value) > 6:
        return f"[{len(value)} values]"
    return value


def _validation(store: Any, args: Namespace) -> Any:
    """``validate NAME``: a dry run of the group's expectations on its current data (the
    report, not stored); ``expectations [NAME]``: the project's, or those of one group."""
    if args.action == "expectations" and not args.name:
        found = store.get_expectations()
        return Table(
            ("expectation", "features", "rules", "description"),
            [
                (e.name, ", ".join(e.features), ", ".join(r.name for r in e.rules), e.description)
                for e in found
            ],
            "expectations",
            data=found,
        )
    if not args.name:
        raise UsageError(f"%eo fs {args.action} needs the feature group NAME")
    group = store.get_feature_group(args.name, args.version)
    if args.action == "validate":
        return group.validate()
    attached = group.get_expectations()
    last = group.get_validations(limit=1)
    summary = Properties(
        [
            ("validation type", group.validation_type),
            ("last validation", f"{last[0].status} at {last[0].validation_time}" if last else ""),
        ],
        title=f"expectations of {group.name} v{group.version}",
        data=attached,
    )
    rules = Table(
        ("expectation", "features", "rule", "level", "expected"),
        [
            (e.name, ", ".join(e.features), r.name, r.level, r.expected_text())
            for e in attached
            for r in e.rules
        ],
        "rules",
    )
    return Stack(summary, rules, data=attached)


def _training_datasets(store: Any, args: Namespace) -> Any:
    """``td list``: every training dataset version; ``td show NAME``: one version's format,
    splits and sizes, features and provenance."""
    if args.name not in TD_ACTIONS:
        raise UsageError(
            f"%eo fs td needs {' or '.join(TD_ACTIONS)}, got {args.name!r} (e.g. %eo fs td list)"
        )
    if args.name == "list":
        found = store.get_training_datasets()
        return Table(
            ("name", "version", "format", "splits", "rows", "label", "description"),
            [
                (
                    td.name,
                    td.version,
                    td.data_format,
                    ", ".join(f"{n} {size}" for n, size in td.split_sizes.items()) or "unsplit",
                    td.row_count,
                    ", ".join(td.label),
                    td.description,
                )
                for td in found
            ],
            "training datasets",
            data=found,
        )
    if not args.td_name:
        raise UsageError("%eo fs td show needs the training dataset NAME")
    td = store.get_training_dataset(args.td_name, args.version)
    info = td.to_dict()
    summary = Properties(
        [
            ("version", td.version),
            ("format", td.data_format),
            ("rows", td.row_count),
            ("seed", td.seed),
            ("split key", ", ".join(td.primary_key) or "the whole row"),
            ("label", ", ".join(td.label)),
            ("location", td.location),
            ("created", f"{info['created']} by {info['creator']}"),
        ],
        title=f"training dataset {td.name}",
        data=td,
    )
    splits = Table(
        ("split", "fraction", "rows"),
        [(n, fraction, td.split_sizes.get(n, 0)) for n, fraction in td.splits.items()],
        "splits",
    )
    features = Table(
        ("feature", "type", "shape", "nullable", "label"),
        [(f["name"], f["type"], f["shape"], f["nullable"], f["label"]) for f in td.features],
        "features",
    )
    provenance = Table(
        ("feature group", "version", "commit"),
        [(p["name"], p["version"], p["commit_id"]) for p in td.provenance],
        "built from",
    )
    return Stack(summary, splits, features, provenance, data=td)
