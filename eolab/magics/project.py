"""``%eo project [NAME]``: select the current project, or describe it.

Selecting goes through :func:`eolab.connect` (the workspace of EOLAB_HOME, as EOLAB_USER),
so the facades (``from eolab import experiment, models, serving``) and every later ``%eo``
sub-command work in the same project.
"""

from __future__ import annotations

from argparse import Namespace
from typing import TYPE_CHECKING

from IPython.core.magic_arguments import argument, magic_arguments

import eolab
from eolab.magics.registry import UsageError, subcommand
from eolab.projects import Project
from eolab.widgets import Properties, Stack, Table

if TYPE_CHECKING:
    from eolab.magics.core import EolabMagics


@subcommand("project", help="select the current project (NAME), or describe the current one")
@magic_arguments()
@argument("name", metavar="NAME", nargs="?", help="the project to work in, e.g. ExtremeEarth")
@argument("--create", action="store_true", help="create the project when it does not exist")
def project(magics: EolabMagics, args: Namespace, cell: str | None) -> Stack | None:
    """Make NAME the current project and describe it; without NAME describe the current one."""
    if args.name is None:
        if args.create:
            raise UsageError("--create needs a project NAME")
        selected = magics.selected_project()
        if selected is None:
            print("no project selected: select one with %eo project NAME")
            return None
        return describe(selected)
    handle = eolab.connect(project=args.name, create=args.create)
    eolab.set_current_project(handle)
    return describe(handle)


def describe(handle: Project) -> Stack:
    """A project's name, description, owner, the caller's role, and its members."""
    info = handle.describe()
    summary = Properties(
        [
            ("description", info.description),
            ("owner", info.owner),
            ("your role", info.role or "(not a member)"),
            ("user", handle.workspace.caller.name),
            ("engine", handle.engine),
            ("created", info.created_at),
        ],
        title=f"project {info.name}",
        data=info,
    )
    members = Table(
        ("member", "role", "added"),
        [(m.user, m.role, m.added_at) for m in info.members],
        "members",
        data=info.members,
    )
    return Stack(summary, members, data=info)
