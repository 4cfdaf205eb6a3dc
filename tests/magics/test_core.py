"""The ``%eo`` dispatcher: loading, help, the sub-command registry, and how errors read."""

from __future__ import annotations

import subprocess
import sys
from argparse import Namespace
from collections.abc import Callable
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic_arguments import argument, magic_arguments

from eolab.magics import EolabMagics, registry
from eolab.magics.registry import SubCommand, subcommand
from eolab.widgets import Table

SUBCOMMANDS = [
    "experiment",
    "fs",
    "lagom",
    "ls",
    "preprocess",
    "project",
    "search",
    "serve",
    "spark",
    "tag",
    "upload",
]


def magics_of(shell: InteractiveShell) -> EolabMagics:
    return shell.magics_manager.registry["EolabMagics"]


def test_load_ext_registers_the_line_and_the_cell_magic(shell: InteractiveShell) -> None:
    magics = shell.magics_manager.magics
    assert "eo" in magics["line"] and "eo" in magics["cell"]
    assert list(magics_of(shell).subcommands) == SUBCOMMANDS


def test_import_eolab_does_not_import_ipython() -> None:
    code = "import sys, eolab; print('IPython' in sys.modules, 'eolab.magics' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("line", ["", "help", "--help"])
def test_help_lists_every_subcommand_on_one_line(eo: Callable[..., Any], line: str) -> None:
    result = eo(line)
    assert isinstance(result, Table)
    assert result.column("sub-command") == [f"%eo {n}" for n in SUBCOMMANDS] + ["%eo help SUB"]
    text = repr(result).splitlines()
    for name in SUBCOMMANDS:
        (row,) = [r for r in text if r.startswith(f"%eo {name} ")]
        assert "…" not in row  # the whole summary fits on its line
    assert "<th>what it does</th>" in result._repr_html_()


def test_the_cell_form_with_no_subcommand_shows_the_help_too(eo: Callable[..., Any]) -> None:
    assert isinstance(eo("", "anything"), Table)


@pytest.mark.parametrize("line", ["help tag", "tag --help", "tag -h"])
def test_help_of_one_subcommand_shows_its_arguments(
    eo: Callable[..., Any], capsys: pytest.CaptureFixture[str], line: str
) -> None:
    assert eo(line) is None
    out = capsys.readouterr().out
    assert "%eo tag PATH SCHEMA [JSON]" in out
    assert "the tag schema, e.g. location_polar" in out


def test_ipython_help_shows_the_subcommands_and_their_usage(shell: InteractiveShell) -> None:
    doc = shell.magics_manager.magics["line"]["eo"].__doc__
    for name in SUBCOMMANDS:
        assert f"  {name} " in doc
    upload = magics_of(shell).subcommands["upload"]
    assert "%eo upload [--overwrite] LOCAL [REMOTE]" in (upload.handler.__doc__ or "")
    assert upload.usage() == "%eo upload [--overwrite] LOCAL [REMOTE]"


def test_an_unknown_subcommand_is_one_line_naming_the_known_ones(
    eo: Callable[..., Any], error_line: Callable[[], str]
) -> None:
    assert eo("frobnicate now") is None
    line = error_line()
    assert line.startswith("eolab: usage: unknown sub-command 'frobnicate'")
    assert ", ".join(SUBCOMMANDS) in line
    assert eo("help frobnicate") is None
    assert "unknown sub-command 'frobnicate'" in error_line()


def test_missing_and_bad_arguments_are_one_line_with_the_usage(
    eo: Callable[..., Any], error_line: Callable[[], str]
) -> None:
    assert eo("upload") is None
    assert error_line() == (
        "eolab: usage: the following arguments are required: LOCAL "
        "(usage: %eo upload [--overwrite] LOCAL [REMOTE])"
    )
    assert eo("search iceberg --limit many") is None
    assert "argument --limit: invalid int value: 'many'" in error_line()
    assert eo("ls eodata extra") is None
    assert "unrecognized arguments: extra" in error_line()


def test_an_unclosed_quote_is_a_usage_error(
    eo: Callable[..., Any], error_line: Callable[[], str]
) -> None:
    assert eo('ls "eodata') is None
    assert error_line().startswith("eolab: usage: cannot split")


def test_subcommands_of_a_project_say_how_to_select_one(
    eo: Callable[..., Any], error_line: Callable[[], str]
) -> None:
    assert eo("ls") is None
    assert error_line() == "eolab: no_project: no current project: select one with %eo project NAME"


def test_a_new_subcommand_is_one_decorated_function(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "_registry", {})
    monkeypatch.setattr(EolabMagics.eo, "__doc__", EolabMagics.eo.__doc__)

    @subcommand("echo", help="say the words back")
    @magic_arguments()
    @argument("words", metavar="WORD", nargs="*")
    def echo(magics: EolabMagics, args: Namespace, cell: str | None) -> Any:
        return args.words, cell

    @subcommand("noargs", help="takes nothing")
    def noargs(magics: EolabMagics, args: Namespace, cell: str | None) -> Any:
        return "ok"

    magics = EolabMagics(shell)
    assert list(magics.subcommands) == ["echo", "noargs"]
    assert magics.eo("echo 'a b' c") == (["a b", "c"], None)
    assert magics.eo("echo x", "the body") == (["x"], "the body")
    assert magics.eo("noargs") == "ok"
    assert "%eo echo [WORD ...]" in (echo.__doc__ or "")
    assert "  echo    say the words back" in (EolabMagics.eo.__doc__ or "")
    with pytest.raises(ValueError, match="registered twice"):
        subcommand("echo", help="again")(lambda magics, args, cell: None)


def test_unexpected_errors_propagate(
    shell: InteractiveShell, eo: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(magics: EolabMagics, args: Namespace, cell: str | None) -> Any:
        raise RuntimeError("a bug")

    command = SubCommand("boom", "fails", boom, magic_arguments()(boom).parser)
    monkeypatch.setitem(magics_of(shell).subcommands, "boom", command)
    with pytest.raises(RuntimeError, match="a bug"):
        eo("boom")
