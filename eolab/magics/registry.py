"""The sub-commands of ``%eo``: each is a function with a ``magic_arguments`` parser.

A sub-command lives in a module of this package, one module per group (``project``,
``datasets``, ``search``...), and registers itself with :func:`subcommand`::

    @subcommand("ls", help="list the datasets of the current project, or files under PATH")
    @magic_arguments()
    @argument("path", metavar="PATH", nargs="?", help="a dataset path: eodata/raw")
    def ls(magics: EolabMagics, args: Namespace, cell: str | None) -> Table: ...

:func:`load` imports every module of the package, so adding a sub-command is adding a module.
Such modules import heavy dependencies (Spark, TensorFlow) inside their functions, since
``%load_ext eolab`` imports them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from argparse import Namespace
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from IPython.core.magic_arguments import MagicArgumentParser, magic_arguments

from eolab.errors import InvalidInput

if TYPE_CHECKING:
    from eolab.magics.core import EolabMagics

Handler = Callable[["EolabMagics", Namespace, "str | None"], Any]

# Modules of this package that hold the machinery, not sub-commands.
_MACHINERY = {"core", "registry"}


class UsageError(InvalidInput):
    """A ``%eo`` line that does not parse: unknown sub-command, missing or bad argument."""

    code = "usage"


class NoCurrentProject(InvalidInput):
    """A sub-command that works in a project ran before any project was selected."""

    code = "no_project"


@dataclass(frozen=True)
class SubCommand:
    """One ``%eo NAME ...`` sub-command: its one-line help, parser and handler."""

    name: str
    help: str
    handler: Handler
    parser: MagicArgumentParser

    def parse(self, argv: list[str]) -> Namespace:
        """The parsed arguments, or :class:`UsageError` saying what is wrong and the usage."""
        from IPython.core.error import UsageError as IPythonUsageError

        try:
            return self.parser.parse_args(argv)
        except IPythonUsageError as exc:
            raise UsageError(f"{exc} (usage: {self.usage()})") from None

    def usage(self) -> str:
        """The usage line, on one line: ``%eo tag PATH SCHEMA [JSON]``."""
        # IPython's formatter writes the usage as an RST block, "::" then "%" and the prog.
        text = self.parser.format_usage().strip().removeprefix("::").removeprefix("usage:")
        return " ".join(text.split())

    def full_help(self) -> str:
        """The parser's help: usage, description, every argument."""
        return self.parser.format_help()


_registry: dict[str, SubCommand] = {}


def subcommand(name: str, help: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as ``%eo name``; ``help`` is its one-line summary.

    The function is called as ``handler(magics, args, cell)``; ``cell`` is the body of a
    ``%%eo`` cell, None for the line form. It may carry ``@magic_arguments`` and ``@argument``
    decorators; without them it takes no arguments.
    """

    def register(func: Handler) -> Handler:
        if name in _registry and _registry[name].handler is not func:
            raise ValueError(f"%eo {name} is registered twice")
        if getattr(func, "parser", None) is None:
            func = magic_arguments()(func)
        parser: MagicArgumentParser = func.parser  # type: ignore[attr-defined]
        parser.prog = f"eo {name}"  # IPython's usage line puts the "%" in front
        if not parser.description:
            parser.description = help
        func.__doc__ = parser.format_help()  # what IPython's help shows
        _registry[name] = SubCommand(name, help, func, parser)
        return func

    return register


def load() -> dict[str, SubCommand]:
    """Every registered sub-command by name, after importing all modules of the package."""
    import eolab.magics as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in _MACHINERY and not module.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(sorted(_registry.items()))


__all__ = ["NoCurrentProject", "SubCommand", "UsageError", "load", "subcommand"]
