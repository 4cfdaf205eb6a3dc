"""``%eo ls``, ``%eo upload`` and ``%eo tag``: the datasets of the current project.

Paths are dataset paths, as in the SDK: ``eodata``, ``eodata/raw/scene.tif``. Everything goes
through :class:`eolab.datasets.api.DatasetApi`, which checks membership and refuses paths
that leave the project.
"""

from __future__ import annotations

from argparse import Namespace
from typing import TYPE_CHECKING, Any

from IPython.core.magic_arguments import argument, magic_arguments

from eolab.datasets.api import DatasetApi, FileInfo
from eolab.errors import InvalidInput
from eolab.magics.registry import UsageError, subcommand
from eolab.widgets import Table

if TYPE_CHECKING:
    from eolab.magics.core import EolabMagics


def human_size(size: int) -> str:
    """Bytes as a person reads them: ``812 B``, ``1.4 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def files_table(files: list[FileInfo], title: str, empty: str = "(empty)") -> Table:
    """Files and folders: name, type, size, modification time (UTC)."""
    return Table(
        ("name", "type", "size", "modified (UTC)"),
        [
            (
                f.name,
                "folder" if f.is_dir else "file",
                "" if f.is_dir else human_size(f.size),
                f.modified,
            )
            for f in files
        ],
        title,
        empty=empty,
        data=files,
    )


def tags_table(path: str, tags: dict[str, Any]) -> Table:
    """The tags of one dataset or file: schema and value."""
    return Table(
        ("schema", "value"), sorted(tags.items()), f"tags of {path}", empty="(no tags)", data=tags
    )


@subcommand("ls", help="list the datasets of the current project, or the files under PATH")
@magic_arguments()
@argument("path", metavar="PATH", nargs="?", help="a dataset or a folder in it, e.g. eodata/raw")
def ls(magics: EolabMagics, args: Namespace, cell: str | None) -> Table:
    """List the datasets of the current project; with PATH, the files and folders under it."""
    project = magics.project()
    api = project.get_dataset_api()
    if args.path is None:
        infos = api.list()
        return Table(
            ("dataset", "description", "searchable", "created by", "created (UTC)"),
            [(d.name, d.description, d.searchable, d.created_by, d.created_at) for d in infos],
            f"datasets of {project.name}",
            empty="(no datasets)",
            data=infos,
        )
    return files_table(api.ls(args.path), args.path)


def only_dataset(api: DatasetApi) -> str:
    """The project's dataset when it has exactly one: the natural place for an upload."""
    names = [d.name for d in api.list()]
    if not names:
        raise InvalidInput(f"project {api.project.name!r} has no dataset to upload into")
    if len(names) > 1:
        raise UsageError(
            f"project {api.project.name!r} has {len(names)} datasets ({', '.join(names)}): "
            "give REMOTE, e.g. %eo upload LOCAL " + names[0]
        )
    return names[0]


@subcommand("upload", help="upload a local file into a dataset, with a progress bar")
@magic_arguments()
@argument("local", metavar="LOCAL", help="the local file")
@argument(
    "remote",
    metavar="REMOTE",
    nargs="?",
    help="a dataset folder or file path; may be left out when the project has one dataset",
)
@argument("--overwrite", action="store_true", help="replace a file of the same name")
def upload(magics: EolabMagics, args: Namespace, cell: str | None) -> Table:
    """Upload LOCAL into REMOTE (resumably: run it again after an interruption)."""
    api = magics.project().get_dataset_api()
    remote = args.remote or only_dataset(api)
    info = api.upload(args.local, remote, overwrite=args.overwrite, progress=True)
    return files_table([info], f"uploaded {args.local} to {info.path}")


@subcommand("tag", help="tag a dataset or file with a JSON value of a tag schema")
@magic_arguments()
@argument("path", metavar="PATH", help="a dataset (eodata) or a file in it (eodata/x.tif)")
@argument("schema", metavar="SCHEMA", help="the tag schema, e.g. location_polar")
@argument(
    "value",
    metavar="JSON",
    nargs="?",
    help="the tag value as JSON (quote it); in a %%%%eo tag cell, the cell body",
)
def tag(magics: EolabMagics, args: Namespace, cell: str | None) -> Table:
    """Attach (or replace) the SCHEMA tag of PATH and show all the tags of PATH."""
    body = cell.strip() if cell else ""
    if args.value is not None and body:
        raise UsageError("give the tag value on the line or in the cell body, not both")
    value = args.value if args.value is not None else body
    if not value:
        raise UsageError(
            "a tag value is needed: JSON after SCHEMA, or the body of a %%eo tag cell "
            "(usage: %eo tag PATH SCHEMA JSON)"
        )
    tags = magics.project().get_dataset_api().add_tag(args.path, args.schema, value)
    return tags_table(args.path, tags)
