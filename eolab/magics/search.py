"""``%eo search TERM``: free-text search over what the caller may see in the workspace.

Hits come from :meth:`eolab.Workspace.search` (projects, datasets, files, features and their
tags), with the words that matched marked in the notebook.
"""

from __future__ import annotations

from argparse import Namespace
from typing import TYPE_CHECKING

from IPython.core.magic_arguments import argument, magic_arguments

from eolab.magics.registry import subcommand
from eolab.search import SCOPES, SearchHit
from eolab.widgets import Highlighted, Table

if TYPE_CHECKING:
    from eolab.magics.core import EolabMagics


def _marked(hit: SearchHit, field: str, text: str) -> Highlighted:
    spans = next((h.spans for h in hit.highlights if h.field == field), [])
    return Highlighted(text, tuple(spans))


def _path(hit: SearchHit) -> str:
    """A hit's path inside its project (empty for the project itself)."""
    if hit.kind == "project" or not hit.project:
        return ""
    return hit.ref.removeprefix(f"{hit.project}/")


@subcommand("search", help="search projects, datasets, files and features for TERM")
@magic_arguments()
@argument("term", metavar="TERM", nargs="+", help="words to look for (every word must match)")
@argument(
    "--scope",
    choices=list(SCOPES),
    default="everything",
    help="what to search (default: everything)",
)
@argument("--limit", type=int, default=20, help="show at most this many hits (default: 20)")
def search(magics: EolabMagics, args: Namespace, cell: str | None) -> Table:
    """The hits for TERM, best first, in every project the caller is a member of."""
    term = " ".join(args.term)
    result = magics.workspace().search(term, args.scope, limit=args.limit)
    title = f"{result.total} hit(s) for {term!r} in {result.scope}"
    if result.total > len(result.hits):
        title += f" (first {len(result.hits)}; --limit shows more)"
    return Table(
        ("kind", "project", "name", "path", "description", "matched in"),
        [
            (
                h.kind,
                h.project,
                _marked(h, "name", h.name),
                _path(h),
                _marked(h, "description", h.description),
                ", ".join(x.field for x in h.highlights),
            )
            for h in result.hits
        ],
        title,
        empty="(no hits)",
        data=result,
    )
