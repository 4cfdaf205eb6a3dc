"""``%eo`` and ``%%eo``: one magic that dispatches to the sub-commands of the registry.

``%eo SUB ARGS`` runs a sub-command; ``%%eo SUB ARGS`` runs it with the cell's body (a tag
value, later a training function or a Spark job). Arguments are split like a shell line, so
quoted values keep their spaces. An expected failure (any :class:`eolab.errors.EolabError`,
a line that does not parse, no current project) prints one line on stderr,
``eolab: <code>: <message>``, and returns None: a notebook shows the reason, not a traceback.
Anything else is a bug and propagates.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, line_cell_magic, magics_class

import eolab
from eolab import errors
from eolab.magics import registry
from eolab.magics.registry import NoCurrentProject, SubCommand, UsageError
from eolab.projects import Project
from eolab.widgets import Table
from eolab.workspace import Workspace

_HELP_FLAGS = ("-h", "--help")


@magics_class
class EolabMagics(Magics):
    """The ``%eo`` magics of one IPython shell, with the sub-commands found at load time."""

    def __init__(self, shell: InteractiveShell | None = None) -> None:
        super().__init__(shell)
        self.subcommands: dict[str, SubCommand] = registry.load()
        type(self).eo.__doc__ = self._overview_text()  # what `%eo?` shows

    # ---- the magic -----------------------------------------------------------------------

    @line_cell_magic
    def eo(self, line: str, cell: str | None = None) -> Any:
        """Run an eolab sub-command (replaced by the list of sub-commands on load)."""
        try:
            return self._dispatch(line, cell)
        except errors.EolabError as exc:
            print(f"eolab: {exc.code}: {' '.join(exc.message.split())}", file=sys.stderr)
            return None

    def _dispatch(self, line: str, cell: str | None) -> Any:
        try:
            argv = shlex.split(line)
        except ValueError as exc:  # an unclosed quote
            raise UsageError(f"cannot split {line!r} into arguments: {exc}") from None
        if not argv or argv[0] in ("help", *_HELP_FLAGS):
            return self.help(argv[1] if len(argv) > 1 else None)
        name, rest = argv[0], argv[1:]
        command = self.subcommands.get(name)
        if command is None:
            raise UsageError(
                f"unknown sub-command {name!r}; one of {', '.join(self.subcommands)} "
                "(%eo help lists them)"
            )
        if any(arg in _HELP_FLAGS for arg in rest):
            return self.help(name)
        return command.handler(self, command.parse(rest), cell)

    # ---- help ----------------------------------------------------------------------------

    def help(self, name: str | None = None) -> Table | None:
        """The sub-commands, one line each; or the full help of one (printed)."""
        if name is None:
            rows = [(f"%eo {c.name}", c.help) for c in self.subcommands.values()]
            rows.append(("%eo help SUB", "the arguments of one sub-command"))
            return Table(
                ("sub-command", "what it does"),
                rows,
                "eolab magics: %eo SUB [ARGS]; %%eo SUB [ARGS] passes the cell body",
            )
        command = self.subcommands.get(name)
        if command is None:
            raise UsageError(f"unknown sub-command {name!r}; one of {', '.join(self.subcommands)}")
        print(command.full_help())
        return None

    def _overview_text(self) -> str:
        width = max(len(name) for name in self.subcommands)
        lines = [
            "Run an eolab sub-command: %eo SUB [ARGS], or %%eo SUB [ARGS] with a cell body.",
            "",
            "Sub-commands:",
            *(f"  {c.name.ljust(width)}  {c.help}" for c in self.subcommands.values()),
            "",
            "%eo help SUB (or %eo SUB --help) shows the arguments of one sub-command.",
        ]
        return "\n".join(lines)

    # ---- what sub-commands work on -------------------------------------------------------

    def selected_project(self) -> Project | None:
        """The current project (set by ``%eo project``, ``eolab.connect`` or EOLAB_PROJECT),
        or None when none is selected."""
        return eolab.selected_project()

    def project(self) -> Project:
        """The current project, or :class:`NoCurrentProject` saying how to select one."""
        selected = self.selected_project()
        if selected is None:
            raise NoCurrentProject("no current project: select one with %eo project NAME")
        return selected

    def workspace(self) -> Workspace:
        """The current project's workspace, or the default one (EOLAB_HOME, EOLAB_USER)."""
        selected = self.selected_project()
        return selected.workspace if selected is not None else eolab.workspace()


__all__ = ["EolabMagics"]
